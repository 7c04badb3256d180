import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BlockList } from 'node:net';
import path from 'node:path';
import type { Config } from '../../config/schema.js';
import type { Extension, ExtensionContext, ExtensionFactory } from '../../extension.js';
import { clientAddress, trustedProxies } from '../../http/client-address.js';
import { HttpError, readBody } from '../../http/server.js';
import type { Logger } from '../../logging.js';
import { FailureLimiter } from '../../util/failure-limiter.js';
import { ThrottledLog } from '../../util/throttle-log.js';
import { LOGIN_CSP, loginPage } from './login-page.js';

export const SESSION_COOKIE = 'cam2mqtt_session';

type AuthConfig = NonNullable<Config['http']['auth']>;

/** Compare secrets in constant time, whatever their lengths (hash first, then timingSafeEqual). */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/**
 * Failed logins per client: five are free, then each further one locks that client for twice as
 * long (30 s, 60 s, ... up to 15 min). Forgotten 15 min after the last failure; a success clears it.
 */
export class LoginLimiter extends FailureLimiter {}

interface Session {
  /** Random id, so one session can be logged out. */
  sid: string;
  user: string;
  exp: number;
}

function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!header) return out;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

/**
 * Only same-site paths after login: no open redirect to another host. A path starting with one `/`
 * whose second character is neither `/` nor `\\`, without control characters, also once decoded
 * (`/%09/evil-host` is `/<tab>/evil-host`, which browsers read as `//evil-host`). Anything else is `/`.
 */
export function safeNext(next: unknown): string {
  if (typeof next !== 'string' || next.length > 2048) return '/';
  let decoded: string;
  try {
    decoded = decodeURIComponent(next);
  } catch {
    return '/';
  }
  for (const s of [next, decoded]) {
    if (s[0] !== '/' || s[1] === '/' || s[1] === '\\' || /\p{Cc}/u.test(s)) return '/';
  }
  if (next.startsWith('/login')) return '/';
  // What the browser will resolve it to must stay on this origin.
  try {
    if (new URL(next, 'http://cam2mqtt.invalid').host !== 'cam2mqtt.invalid') return '/';
  } catch {
    return '/';
  }
  return next;
}

async function readForm(req: IncomingMessage, maxBytes = 8 * 1024): Promise<Record<string, string>> {
  const text = await readBody(req, maxBytes);
  if (String(req.headers['content-type'] ?? '').includes('application/json')) {
    try {
      const body = JSON.parse(text) as Record<string, unknown>;
      return Object.fromEntries(Object.entries(body ?? {}).filter(([, v]) => typeof v === 'string')) as Record<
        string,
        string
      >;
    } catch {
      throw new HttpError(400, 'request body is not valid JSON');
    }
  }
  return Object.fromEntries(new URLSearchParams(text));
}

/**
 * http.auth: the page, the REST API, /api/ws and the streams need a session cookie (people, through the
 * login form), HTTP Basic (VLC, Home Assistant) or the token (`?token=`, `Authorization: Bearer`).
 * Cameras keep their own endpoints and tokens, so /ws and /api/camera stay public.
 *
 * Sessions are signed cookies (HMAC with a key kept in the data dir), so they survive restarts; the
 * key is mixed with the credentials, so changing the password or token signs everyone out.
 */
class AuthExtension implements Extension {
  readonly name = 'auth';
  private readonly log: Logger;
  private readonly refusedLog: ThrottledLog;
  private readonly limiter = new LoginLimiter();
  private readonly revoked = new Map<string, number>();
  private readonly key: Buffer;
  private readonly ttlMs: number;
  private readonly proxies: BlockList | undefined;

  constructor(
    private readonly ctx: ExtensionContext,
    private readonly auth: AuthConfig,
  ) {
    this.log = ctx.logger.child({ mod: 'auth' });
    this.refusedLog = new ThrottledLog(this.log);
    this.ttlMs = ctx.config.http.session_ttl * 1000;
    const tp = ctx.config.http.trusted_proxies;
    this.proxies = tp.length ? trustedProxies(tp) : undefined;
    const secret = this.loadSecret();
    this.key = createHmac('sha256', secret)
      .update(`session|${auth.username ?? ''}|${auth.password ?? ''}|${auth.token ?? ''}`)
      .digest();
    const http = ctx.http;
    // Set before the port listens: no request ever passes unguarded.
    http.setGuard(
      (req, res, url) => this.guard(req, res, url),
      (req, url) => this.isAuthenticated(req, url),
    );
    http.route(
      'GET',
      '/login',
      (req, res, _p, url) => {
        if (this.sessionOf(req)) return redirect(res, safeNext(url.searchParams.get('next')));
        this.sendLogin(res, 200, safeNext(url.searchParams.get('next')));
      },
      { public: true },
    );
    http.route('POST', '/login', (req, res) => this.login(req, res), { public: true });
    http.route('POST', '/logout', (req, res) => this.logout(req, res), { public: true });
  }

  private get tokenOnly(): boolean {
    return this.auth.username === undefined;
  }

  /** A random signing secret in <dataDir>/session.key (0600), created on first use. */
  private loadSecret(): Buffer {
    const file = path.join(this.ctx.dataDir, 'session.key');
    try {
      if (existsSync(file)) {
        const s = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64url');
        if (s.length >= 32) return s;
      }
      const s = randomBytes(32);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, `${s.toString('base64url')}\n`, { mode: 0o600 });
      chmodSync(file, 0o600);
      return s;
    } catch (err) {
      this.log.warn(
        `cannot keep the session key in ${file} (${(err as Error).message}): sessions will end when cam2mqtt restarts`,
      );
      return randomBytes(32);
    }
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.key).update(payload).digest('base64url');
  }

  private issue(user: string): { value: string; session: Session } {
    const session: Session = { sid: randomBytes(12).toString('base64url'), user, exp: Date.now() + this.ttlMs };
    const payload = Buffer.from(JSON.stringify(session)).toString('base64url');
    return { value: `${payload}.${this.sign(payload)}`, session };
  }

  sessionOf(req: IncomingMessage): Session | undefined {
    const raw = parseCookies(req.headers.cookie)[SESSION_COOKIE];
    if (!raw) return undefined;
    const dot = raw.indexOf('.');
    if (dot < 0) return undefined;
    const payload = raw.slice(0, dot);
    if (!safeEqual(raw.slice(dot + 1), this.sign(payload))) return undefined;
    try {
      const s = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Session;
      if (typeof s.exp !== 'number' || s.exp < Date.now() || this.revoked.has(s.sid)) return undefined;
      return s;
    } catch {
      return undefined;
    }
  }

  /** Check credentials a program presents; undefined = none presented. */
  private checkPresented(req: IncomingMessage, url: URL): { ok: boolean; user: string; how: string } | undefined {
    const authz = req.headers.authorization;
    if (authz) {
      const [scheme, value = ''] = authz.split(/\s+/, 2);
      if (/^basic$/i.test(scheme ?? '')) {
        const decoded = Buffer.from(value, 'base64').toString('utf8');
        const i = decoded.indexOf(':');
        const user = i < 0 ? decoded : decoded.slice(0, i);
        const pass = i < 0 ? '' : decoded.slice(i + 1);
        return { ok: this.checkPassword(user, pass), user, how: 'HTTP Basic' };
      }
      if (/^bearer$/i.test(scheme ?? '')) return { ok: this.checkToken(value), user: 'token', how: 'Bearer token' };
    }
    const token = url.searchParams.get('token');
    if (token !== null) return { ok: this.checkToken(token), user: 'token', how: '?token=' };
    return undefined;
  }

  private checkToken(token: string): boolean {
    return this.auth.token !== undefined && safeEqual(token, this.auth.token);
  }

  /** Username + password, or the token as the password (any username), for clients that only do Basic. */
  private checkPassword(user: string, pass: string): boolean {
    // Evaluate both so the time taken does not tell which one matched.
    const byPassword =
      this.auth.username !== undefined &&
      this.auth.password !== undefined &&
      safeEqual(user, this.auth.username) &&
      safeEqual(pass, this.auth.password);
    const byToken = this.checkToken(pass);
    return byPassword || byToken;
  }

  /** Who a request comes from: the peer, or the client a trusted proxy names (http.trusted_proxies). */
  private addressOf(req: IncomingMessage): string {
    return clientAddress(req, this.proxies);
  }

  /** A valid session or valid credentials, checked without answering or counting a failure. */
  private isAuthenticated(req: IncomingMessage, url: URL): boolean {
    if (this.sessionOf(req)) return true;
    const p = this.checkPresented(req, url);
    if (!p?.ok) return false;
    // A guessable password does not open details while its client is locked; the token does.
    return p.how !== 'HTTP Basic' || this.limiter.lockedFor(this.addressOf(req)) === 0 || this.isTokenBasic(req);
  }

  private isTokenBasic(req: IncomingMessage): boolean {
    const [scheme, value = ''] = (req.headers.authorization ?? '').split(/\s+/, 2);
    if (!/^basic$/i.test(scheme ?? '')) return false;
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    return this.checkToken(i < 0 ? '' : decoded.slice(i + 1));
  }

  /**
   * A valid session or token always passes: a client's failures (or a proxy's, when every client
   * shares its address) never lock the owner out. A locked client's password attempts are refused
   * unchecked (a password can be guessed; the token and the signed session cannot, in useful time).
   */
  private guard(req: IncomingMessage, res: ServerResponse | undefined, url: URL): boolean {
    if (this.sessionOf(req)) return true;
    const addr = this.addressOf(req);
    const presented = this.checkPresented(req, url);
    if (presented) {
      const wait = this.limiter.lockedFor(addr);
      const tokenOk = presented.how !== 'HTTP Basic' ? presented.ok : this.isTokenBasic(req);
      if (tokenOk) {
        // While locked, the token passes but does not unlock the client (others may share its address).
        if (wait === 0) this.limiter.succeed(addr);
        return true;
      }
      if (wait > 0) {
        this.refusedLog.warn(
          `refused ${presented.how} credentials from ${addr} for ${url.pathname}: too many failed logins, locked for ${Math.ceil(wait / 1000)} s more`,
        );
        if (res) {
          res.writeHead(429, {
            'Content-Type': 'application/json; charset=utf-8',
            'Retry-After': String(Math.ceil(wait / 1000)),
            'Cache-Control': 'no-store',
          });
          res.end(JSON.stringify({ error: 'too many failed logins; try again later' }));
        }
        return false;
      }
      if (presented.ok) {
        this.limiter.succeed(addr);
        return true;
      }
      this.refuse(addr, presented.user, presented.how, url.pathname);
    }
    if (!res) return false;
    const wantsHtml =
      (req.method === 'GET' || req.method === 'HEAD') && String(req.headers.accept ?? '').includes('text/html');
    if (wantsHtml && !presented) {
      redirect(res, `/login?next=${encodeURIComponent(url.pathname + url.search)}`);
      return false;
    }
    res.writeHead(401, {
      'Content-Type': 'application/json; charset=utf-8',
      'WWW-Authenticate': 'Basic realm="cam2mqtt", charset="UTF-8"',
      'Cache-Control': 'no-store',
    });
    res.end(
      JSON.stringify({
        error: presented
          ? 'wrong credentials'
          : 'authentication required: log in at /login, or use HTTP Basic or ?token=',
      }),
    );
    return false;
  }

  /** One log line per refused login, with what the next failures will cost. */
  private refuse(addr: string, user: string, how: string, where: string): void {
    const f = this.limiter.fail(addr);
    const lock =
      f.lockedUntil > Date.now() ? `; address locked for ${Math.round((f.lockedUntil - Date.now()) / 1000)} s` : '';
    const who =
      how === 'HTTP Basic' || how === 'login form'
        ? `user "${user.slice(0, 64).replace(/[^\x20-\x7e]/g, '?')}"`
        : 'a token';
    this.log.warn(
      `login refused for ${who} from ${addr} (${how}, ${where}): wrong credentials (${f.count} failure${f.count > 1 ? 's' : ''}${lock})`,
    );
  }

  private sendLogin(res: ServerResponse, status: number, next: string, error?: string, username?: string): void {
    const html = loginPage({
      tokenOnly: this.tokenOnly,
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

  private async login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const form = await readForm(req);
    const next = safeNext(form.next);
    const json = String(req.headers['content-type'] ?? '').includes('application/json');
    const addr = this.addressOf(req);
    const wait = this.limiter.lockedFor(addr);
    // The token signs in even while this client is locked (it cannot be guessed; a password can).
    const byToken = this.checkToken(this.tokenOnly ? (form.token ?? form.password ?? '') : (form.password ?? ''));
    if (wait > 0 && !byToken) {
      this.refusedLog.warn(
        `login refused from ${addr}: too many failed logins, locked for ${Math.ceil(wait / 1000)} s more`,
      );
      const msg = `Too many failed attempts. Try again in ${Math.ceil(wait / 1000)} s.`;
      if (json)
        return sendJsonStatus(res, 429, { ok: false, error: msg }, { 'Retry-After': String(Math.ceil(wait / 1000)) });
      res.setHeader('Retry-After', String(Math.ceil(wait / 1000)));
      return this.sendLogin(res, 429, next, msg, form.username);
    }
    const user = this.tokenOnly ? 'token' : (form.username ?? '');
    const ok = this.tokenOnly ? byToken : this.checkPassword(user, form.password ?? '');
    if (!ok) {
      this.refuse(addr, user, this.tokenOnly ? 'token login form' : 'login form', '/login');
      const msg = this.tokenOnly ? 'Wrong token.' : 'Wrong username or password.';
      if (json) return sendJsonStatus(res, 401, { ok: false, error: msg });
      return this.sendLogin(res, 401, next, msg, form.username);
    }
    if (wait === 0) this.limiter.succeed(addr);
    const { value } = this.issue(user);
    res.setHeader('Set-Cookie', this.cookie(req, value, Math.floor(this.ttlMs / 1000)));
    this.log.info(`${this.tokenOnly ? 'token' : `user "${user}"`} logged in from ${addr}`);
    if (json) return sendJsonStatus(res, 200, { ok: true, next });
    redirect(res, next);
  }

  private logout(req: IncomingMessage, res: ServerResponse): void {
    const s = this.sessionOf(req);
    if (s) {
      this.revoked.set(s.sid, s.exp);
      // Forget revocations once they would have expired anyway.
      const now = Date.now();
      for (const [sid, exp] of this.revoked) if (exp < now) this.revoked.delete(sid);
    }
    res.setHeader('Set-Cookie', this.cookie(req, '', 0));
    redirect(res, '/login');
  }

  /** HttpOnly: no script can read it. SameSite=Strict: no other site can make the browser send it. */
  private cookie(req: IncomingMessage, value: string, maxAge: number): string {
    const tls =
      (req.socket as { encrypted?: boolean }).encrypted === true ||
      String(req.headers['x-forwarded-proto'] ?? '')
        .split(',')[0]
        ?.trim() === 'https' ||
      (this.ctx.config.http.public_url ?? '').startsWith('https:');
    return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${tls ? '; Secure' : ''}`;
  }

  start(): void {}
  stop(): void {}

  status(): Record<string, unknown> {
    return {
      enabled: true,
      mode: this.tokenOnly ? 'token' : this.auth.token ? 'password+token' : 'password',
      locked_addresses: this.limiter.lockedCount,
    };
  }
}

function redirect(res: ServerResponse, location: string): void {
  res.writeHead(303, { Location: location, 'Cache-Control': 'no-store', 'Content-Length': 0 });
  res.end();
}

function sendJsonStatus(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(text);
}

/** Without http.auth the page is open (the bridge warns at startup); /login then just leads to the page. */
class OpenAccess implements Extension {
  readonly name = 'auth';
  constructor(ctx: ExtensionContext) {
    ctx.http.route('GET', '/login', (_req, res) => redirect(res, '/'), { public: true });
    ctx.http.route('POST', '/logout', (_req, res) => redirect(res, '/'), { public: true });
  }
  start(): void {}
  stop(): void {}
  status(): Record<string, unknown> {
    return { enabled: false };
  }
}

export const authExtension: ExtensionFactory = (ctx) => {
  const auth = ctx.config.http.auth;
  return auth ? new AuthExtension(ctx, auth) : new OpenAccess(ctx);
};
