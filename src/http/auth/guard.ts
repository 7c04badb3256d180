import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BlockList } from 'node:net';
import type { Logger } from '../../logging.js';
import { FailureLimiter } from '../../util/failure-limiter.js';
import { ThrottledLog } from '../../util/throttle-log.js';
import { clientAddress } from '../client-address.js';
import { redirect } from '../respond.js';
import type { Credentials } from './credentials.js';
import type { Sessions } from './sessions.js';

/**
 * Failed logins per client: five are free, then each further one locks that client for twice as
 * long (30 s, 60 s, ... up to 15 min). Forgotten 15 min after the last failure; a success clears it.
 */
export class LoginLimiter extends FailureLimiter {}

/**
 * The guard in front of every non-public route and upgrade (HttpServer.setGuard; as route middleware,
 * see server.ts requireAuth): a session cookie, HTTP Basic, a Bearer token or `?token=`, or a request
 * through Home Assistant's ingress gateway (http.ingress_gateway: HA has logged the user in).
 */
export class AuthGuard {
  readonly limiter = new LoginLimiter();
  readonly refusedLog: ThrottledLog;

  constructor(
    readonly credentials: Credentials,
    readonly sessions: Sessions,
    private readonly proxies: BlockList | undefined,
    private readonly log: Logger,
    /** Requests Home Assistant's ingress has already authenticated (src/http/ingress.ts): they pass. */
    private readonly viaIngress: (req: IncomingMessage) => boolean = () => false,
  ) {
    this.refusedLog = new ThrottledLog(log);
  }

  /** Who a request comes from: the peer, or the client a trusted proxy names (http.trusted_proxies). */
  addressOf(req: IncomingMessage): string {
    return clientAddress(req, this.proxies);
  }

  /** A valid session or valid credentials, checked without answering or counting a failure. */
  isAuthenticated(req: IncomingMessage, url: URL): boolean {
    if (this.viaIngress(req) || this.sessions.of(req)) return true;
    const p = this.credentials.presented(req, url);
    if (!p?.ok) return false;
    // A guessable password does not open details while its client is locked; the token does.
    return (
      p.how !== 'HTTP Basic' || this.limiter.lockedFor(this.addressOf(req)) === 0 || this.credentials.isTokenBasic(req)
    );
  }

  /**
   * True to let the request through; otherwise it has answered (when there is a `res`: 401, 429, or a
   * redirect to /login for a browser). A valid session or token always passes: a client's failures
   * (or a proxy's, when every client shares its address) never lock the owner out. A locked client's
   * password attempts are refused unchecked (a password can be guessed; the token and the signed
   * session cannot, in useful time).
   */
  check(req: IncomingMessage, res: ServerResponse | undefined, url: URL): boolean {
    if (this.viaIngress(req) || this.sessions.of(req)) return true;
    const addr = this.addressOf(req);
    const presented = this.credentials.presented(req, url);
    if (presented) {
      const wait = this.limiter.lockedFor(addr);
      const tokenOk = presented.how !== 'HTTP Basic' ? presented.ok : this.credentials.isTokenBasic(req);
      if (tokenOk) {
        // While locked, the token passes but does not unlock the client (others may share its address).
        if (wait === 0) this.limiter.succeed(addr);
        return true;
      }
      if (wait > 0) {
        this.refusedLog.warn(
          `refused ${presented.how} credentials from ${addr} for ${url.pathname}: too many failed logins, locked for ${Math.ceil(wait / 1000)} s more`,
        );
        if (res)
          sendJsonStatus(
            res,
            429,
            { error: 'too many failed logins; try again later' },
            { 'Retry-After': String(Math.ceil(wait / 1000)) },
          );
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
    sendJsonStatus(
      res,
      401,
      {
        error: presented
          ? 'wrong credentials'
          : 'authentication required: log in at /login, or use HTTP Basic or ?token=',
      },
      { 'WWW-Authenticate': 'Basic realm="cam2mqtt", charset="UTF-8"' },
    );
    return false;
  }

  /** One log line per refused login, with what the next failures will cost. */
  refuse(addr: string, user: string, how: string, where: string): void {
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
}

/** The guard's and the login's JSON answers (no-store: never cached by a proxy). */
export function sendJsonStatus(
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
