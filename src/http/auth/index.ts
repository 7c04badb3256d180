import type { Extension, ExtensionContext, ExtensionFactory } from '../../extension.js';
import type { Logger } from '../../logging.js';
import { formBody } from '../body.js';
import { trustedProxies } from '../client-address.js';
import { redirect } from '../respond.js';
import { urlOf } from '../server.js';
import { type AuthConfig, Credentials } from './credentials.js';
import { AuthGuard } from './guard.js';
import { LoginRoutes } from './login.js';
import { loadSessionSecret, Sessions } from './sessions.js';

export { safeEqual } from './credentials.js';
export { LoginLimiter } from './guard.js';
export { safeNext } from './safe-next.js';
export { SESSION_COOKIE } from './sessions.js';

/**
 * http.auth: the page, the REST API, /api/ws and the streams need a session cookie (people, through the
 * login form), HTTP Basic (VLC, Home Assistant) or the token (`?token=`, `Authorization: Bearer`).
 * Cameras keep their own endpoints and tokens, so /ws and /api/camera stay public.
 * credentials.ts checks what is presented, sessions.ts signs the cookies, guard.ts is the guard with
 * the failed-login limiter, login.ts the login form's routes.
 */
class AuthExtension implements Extension {
  readonly name = 'auth';
  private readonly log: Logger;
  private readonly guard: AuthGuard;

  constructor(ctx: ExtensionContext, auth: AuthConfig) {
    this.log = ctx.logger.child({ mod: 'auth' });
    const credentials = new Credentials(auth);
    const { http: h } = ctx.config;
    const sessions = new Sessions(
      loadSessionSecret(ctx.dataDir, this.log),
      credentials.fingerprint,
      h.session_ttl * 1000,
      h.public_url,
    );
    const proxies = h.trusted_proxies.length ? trustedProxies(h.trusted_proxies) : undefined;
    this.guard = new AuthGuard(
      credentials,
      sessions,
      proxies,
      this.log,
      (req) => ctx.http.ingressPrefix(req) !== undefined,
    );
    const login = new LoginRoutes(this.guard, this.log);
    const http = ctx.http;
    // Set before the port listens: no request ever passes unguarded.
    http.setGuard(
      (req, res, url) => this.guard.check(req, res, url),
      (req, url) => this.guard.isAuthenticated(req, url),
    );
    http.public.get('/login', (req, res) => login.form(req, res, urlOf(req).searchParams.get('next')));
    http.public.post('/login', formBody(), (req, res) => login.login(req, res, req.body as Record<string, string>));
    http.public.post('/logout', (req, res) => login.logout(req, res));
  }

  start(): void {}
  stop(): void {}

  status(): Record<string, unknown> {
    return {
      enabled: true,
      mode: this.guard.credentials.mode,
      locked_addresses: this.guard.limiter.lockedCount,
    };
  }
}

/** Without http.auth the page is open (the bridge warns at startup); /login then just leads to the page. */
class OpenAccess implements Extension {
  readonly name = 'auth';
  constructor(ctx: ExtensionContext) {
    ctx.http.public.get('/login', (_req, res) => redirect(res, '/'));
    ctx.http.public.post('/logout', (_req, res) => redirect(res, '/'));
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
