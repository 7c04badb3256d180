import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../logging.js';
import { redirect } from '../respond.js';
import { type AuthGuard, sendJsonStatus } from './guard.js';
import { LOGIN_CSP, loginPage } from './login-page.js';
import { safeNext } from './safe-next.js';

/** GET /login (the form), POST /login (form or JSON), POST /logout. */
export class LoginRoutes {
  constructor(
    private readonly auth: AuthGuard,
    private readonly log: Logger,
  ) {}

  form(req: IncomingMessage, res: ServerResponse, nextParam: unknown): void {
    const next = safeNext(nextParam);
    if (this.auth.sessions.of(req)) return redirect(res, next);
    this.sendLogin(res, 200, next);
  }

  private sendLogin(res: ServerResponse, status: number, next: string, error?: string, username?: string): void {
    const html = loginPage({
      tokenOnly: this.auth.credentials.tokenOnly,
      next,
      ...(error ? { error } : {}),
      ...(username ? { username } : {}),
    });
    res.writeHead(status, {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Length': Buffer.byteLength(html),
      'Cache-Control': 'no-store',
      'Content-Security-Policy': LOGIN_CSP,
      'X-Frame-Options': 'DENY',
      'X-Content-Type-Options': 'nosniff',
    });
    res.end(html);
  }

  /** `form`: the body's string fields (src/http/body.ts formBody). */
  login(req: IncomingMessage, res: ServerResponse, form: Record<string, string>): void {
    const { credentials, limiter, sessions } = this.auth;
    const tokenOnly = credentials.tokenOnly;
    const next = safeNext(form.next);
    const json = String(req.headers['content-type'] ?? '').includes('application/json');
    const addr = this.auth.addressOf(req);
    const wait = limiter.lockedFor(addr);
    // The token signs in even while this client is locked (it cannot be guessed; a password can).
    const byToken = credentials.checkToken(tokenOnly ? (form.token ?? form.password ?? '') : (form.password ?? ''));
    if (wait > 0 && !byToken) {
      this.auth.refusedLog.warn(
        `login refused from ${addr}: too many failed logins, locked for ${Math.ceil(wait / 1000)} s more`,
      );
      const msg = `Too many failed attempts. Try again in ${Math.ceil(wait / 1000)} s.`;
      if (json)
        return sendJsonStatus(res, 429, { ok: false, error: msg }, { 'Retry-After': String(Math.ceil(wait / 1000)) });
      res.setHeader('Retry-After', String(Math.ceil(wait / 1000)));
      return this.sendLogin(res, 429, next, msg, form.username);
    }
    const user = tokenOnly ? 'token' : (form.username ?? '');
    const ok = tokenOnly ? byToken : credentials.checkPassword(user, form.password ?? '');
    if (!ok) {
      this.auth.refuse(addr, user, tokenOnly ? 'token login form' : 'login form', '/login');
      const msg = tokenOnly ? 'Wrong token.' : 'Wrong username or password.';
      if (json) return sendJsonStatus(res, 401, { ok: false, error: msg });
      return this.sendLogin(res, 401, next, msg, form.username);
    }
    if (wait === 0) limiter.succeed(addr);
    res.setHeader('Set-Cookie', sessions.cookie(req, sessions.issue(user), Math.floor(sessions.ttlMs / 1000)));
    this.log.info(`${tokenOnly ? 'token' : `user "${user}"`} logged in from ${addr}`);
    if (json) return sendJsonStatus(res, 200, { ok: true, next });
    redirect(res, next);
  }

  logout(req: IncomingMessage, res: ServerResponse): void {
    const s = this.auth.sessions.of(req);
    if (s) this.auth.sessions.revoke(s);
    res.setHeader('Set-Cookie', this.auth.sessions.cookie(req, '', 0));
    redirect(res, '/login');
  }
}
