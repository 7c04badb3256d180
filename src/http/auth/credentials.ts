import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Config } from '../../config/schema.js';

export type AuthConfig = NonNullable<Config['http']['auth']>;

/** Compare secrets in constant time, whatever their lengths (hash first, then timingSafeEqual). */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/** Credentials a program presents (the session cookie is sessions.ts). */
export interface Presented {
  ok: boolean;
  user: string;
  how: 'HTTP Basic' | 'Bearer token' | '?token=';
}

function basicOf(req: IncomingMessage): { user: string; pass: string } | undefined {
  const [scheme, value = ''] = (req.headers.authorization ?? '').split(/\s+/, 2);
  if (!/^basic$/i.test(scheme ?? '')) return undefined;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  return i < 0 ? { user: decoded, pass: '' } : { user: decoded.slice(0, i), pass: decoded.slice(i + 1) };
}

/** http.auth's username, password and token, checked in constant time. */
export class Credentials {
  constructor(private readonly auth: AuthConfig) {}

  /** Token only (no username): the login form asks for the token. */
  get tokenOnly(): boolean {
    return this.auth.username === undefined;
  }

  get mode(): string {
    return this.tokenOnly ? 'token' : this.auth.token ? 'password+token' : 'password';
  }

  /** What the session key is mixed with: changing the password or token signs everyone out. */
  get fingerprint(): string {
    return `${this.auth.username ?? ''}|${this.auth.password ?? ''}|${this.auth.token ?? ''}`;
  }

  /** Check credentials a program presents; undefined = none presented. */
  presented(req: IncomingMessage, url: URL): Presented | undefined {
    const basic = basicOf(req);
    if (basic) return { ok: this.checkPassword(basic.user, basic.pass), user: basic.user, how: 'HTTP Basic' };
    const [scheme, value = ''] = (req.headers.authorization ?? '').split(/\s+/, 2);
    if (/^bearer$/i.test(scheme ?? '')) return { ok: this.checkToken(value), user: 'token', how: 'Bearer token' };
    const token = url.searchParams.get('token');
    if (token !== null) return { ok: this.checkToken(token), user: 'token', how: '?token=' };
    return undefined;
  }

  checkToken(token: string): boolean {
    return this.auth.token !== undefined && safeEqual(token, this.auth.token);
  }

  /** Username + password, or the token as the password (any username), for clients that only do Basic. */
  checkPassword(user: string, pass: string): boolean {
    // Evaluate both so the time taken does not tell which one matched.
    const byPassword =
      this.auth.username !== undefined &&
      this.auth.password !== undefined &&
      safeEqual(user, this.auth.username) &&
      safeEqual(pass, this.auth.password);
    const byToken = this.checkToken(pass);
    return byPassword || byToken;
  }

  /** HTTP Basic carrying the token as its password (Home Assistant, VLC). */
  isTokenBasic(req: IncomingMessage): boolean {
    const basic = basicOf(req);
    return basic !== undefined && this.checkToken(basic.pass);
  }
}
