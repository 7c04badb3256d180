import { createHmac, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import cookieParser from 'cookie-parser';
import type { Logger } from '../../logging.js';
import { safeEqual } from './credentials.js';

export const SESSION_COOKIE = 'cam2mqtt_session';

export interface Session {
  /** Random id, so one session can be logged out. */
  sid: string;
  user: string;
  exp: number;
}

// cookie-parser as a plain function, so a WebSocket upgrade (no express request) reads the same cookies.
const parseCookies = cookieParser();

function cookiesOf(req: IncomingMessage): Record<string, string> {
  const r = req as IncomingMessage & { cookies?: Record<string, string> };
  if (!r.cookies) parseCookies(r as never, undefined as never, () => {});
  return r.cookies ?? {};
}

/** A random signing secret in <dataDir>/session.key (0600), created on first use. */
export function loadSessionSecret(dataDir: string, log: Logger): Buffer {
  const file = path.join(dataDir, 'session.key');
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
    log.warn(
      `cannot keep the session key in ${file} (${(err as Error).message}): sessions will end when cam2mqtt restarts`,
    );
    return randomBytes(32);
  }
}

/**
 * Sessions are signed cookies (`<base64url JSON>.<HMAC>`, with a key kept in the data dir), so they
 * survive restarts; the key is mixed with the credentials, so changing the password or token signs
 * everyone out. A logged-out session id is remembered until it would have expired.
 */
export class Sessions {
  private readonly key: Buffer;
  private readonly revoked = new Map<string, number>();

  constructor(
    secret: Buffer,
    credentialsFingerprint: string,
    readonly ttlMs: number,
    private readonly publicUrl: string | undefined,
  ) {
    this.key = createHmac('sha256', secret).update(`session|${credentialsFingerprint}`).digest();
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.key).update(payload).digest('base64url');
  }

  /** A new session's cookie value. */
  issue(user: string): string {
    const session: Session = { sid: randomBytes(12).toString('base64url'), user, exp: Date.now() + this.ttlMs };
    const payload = Buffer.from(JSON.stringify(session)).toString('base64url');
    return `${payload}.${this.sign(payload)}`;
  }

  /** The request's valid session, if any. */
  of(req: IncomingMessage): Session | undefined {
    const raw = cookiesOf(req)[SESSION_COOKIE];
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

  revoke(s: Session): void {
    this.revoked.set(s.sid, s.exp);
    // Forget revocations once they would have expired anyway.
    const now = Date.now();
    for (const [sid, exp] of this.revoked) if (exp < now) this.revoked.delete(sid);
  }

  /** HttpOnly: no script can read it. SameSite=Strict: no other site can make the browser send it. */
  cookie(req: IncomingMessage, value: string, maxAge: number): string {
    const tls =
      (req.socket as { encrypted?: boolean }).encrypted === true ||
      String(req.headers['x-forwarded-proto'] ?? '')
        .split(',')[0]
        ?.trim() === 'https' ||
      (this.publicUrl ?? '').startsWith('https:');
    return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${tls ? '; Secure' : ''}`;
  }
}
