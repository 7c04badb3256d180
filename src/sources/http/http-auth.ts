import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** HTTP authentication towards a camera: Basic and Digest (RFC 7617, RFC 7616: MD5, MD5-sess, SHA-256). */
export type AuthType = 'auto' | 'basic' | 'digest';

export interface AuthCredentials {
  username: string;
  password: string;
  /** auto: answer whatever the camera asks for (Basic is then sent up front on later requests). */
  type: AuthType;
}

interface DigestChallenge {
  realm: string;
  nonce: string;
  opaque: string | undefined;
  algorithm: string;
  qop: string | undefined;
}

/** Split one WWW-Authenticate value into its parameters (quoted strings may hold commas). */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const m = /^\s*([A-Za-z0-9_-]+)\s*(.*)$/s.exec(header);
  const scheme = (m?.[1] ?? '').toLowerCase();
  const params: Record<string, string> = {};
  const re = /([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  const rest = m?.[2] ?? '';
  let p: RegExpExecArray | null;
  while ((p = re.exec(rest)))
    params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : (p[3] ?? '');
  return { scheme, params };
}

/** Every WWW-Authenticate header of a response, one entry per header line. */
export function challengesOf(res: IncomingMessage): string[] {
  const out: string[] = [];
  for (let i = 0; i < res.rawHeaders.length; i += 2) {
    if (res.rawHeaders[i]!.toLowerCase() === 'www-authenticate') out.push(res.rawHeaders[i + 1]!);
  }
  return out;
}

function hashOf(algorithm: string): (s: string) => string {
  const name = algorithm.toUpperCase().startsWith('SHA-256') ? 'sha256' : 'md5';
  return (s) => createHash(name).update(s).digest('hex');
}

/**
 * Per-camera authenticator. Call `header(method, path)` before each request; on a 401 call
 * `challenge(res)`: it returns true when retrying with new credentials makes sense.
 */
export class HttpAuth {
  private scheme: 'basic' | 'digest' | undefined;
  private digest: DigestChallenge | undefined;
  private nc = 0;
  /** Consecutive 401s answered: stop after a fresh challenge still fails (wrong password). */
  private failures = 0;

  constructor(readonly creds: AuthCredentials) {
    if (creds.type === 'basic') this.scheme = 'basic';
  }

  /** The Authorization header for a request, or undefined before the camera has said what it wants. */
  header(method: string, path: string): string | undefined {
    if (this.scheme === 'basic')
      return `Basic ${Buffer.from(`${this.creds.username}:${this.creds.password}`).toString('base64')}`;
    if (this.scheme === 'digest' && this.digest) return this.digestHeader(method, path);
    return undefined;
  }

  /** A 2xx arrived: the credentials work. */
  ok(): void {
    this.failures = 0;
  }

  /**
   * The camera answered 401. Learn its challenge; true = retry the request now. False when the camera
   * asks for nothing we can do or the same credentials were just refused (a wrong password).
   */
  challenge(res: IncomingMessage): boolean {
    this.failures++;
    const list = challengesOf(res).map(parseChallenge);
    const digest = list.find((c) => c.scheme === 'digest');
    const basic = list.find((c) => c.scheme === 'basic');
    const want = this.creds.type;
    if (digest && want !== 'basic') {
      const stale = digest.params.stale?.toLowerCase() === 'true';
      this.scheme = 'digest';
      this.digest = {
        realm: digest.params.realm ?? '',
        nonce: digest.params.nonce ?? '',
        opaque: digest.params.opaque,
        algorithm: digest.params.algorithm ?? 'MD5',
        qop: digest.params.qop,
      };
      this.nc = 0;
      // A stale nonce is not a wrong password: retry without counting it.
      if (stale) this.failures = 1;
      return this.failures <= 1;
    }
    if ((basic || list.length === 0) && want !== 'digest') {
      this.scheme = 'basic';
      return this.failures <= 1;
    }
    return false;
  }

  /** Human summary for the 401 log line. */
  describe(res: IncomingMessage): string {
    const list = challengesOf(res);
    return list.length ? list.map((c) => c.split(/[\s,]/)[0]).join('/') : 'no WWW-Authenticate header';
  }

  private digestHeader(method: string, uri: string): string {
    const d = this.digest!;
    const H = hashOf(d.algorithm);
    const { username, password } = this.creds;
    const cnonce = randomBytes(8).toString('hex');
    this.nc++;
    const nc = this.nc.toString(16).padStart(8, '0');
    let ha1 = H(`${username}:${d.realm}:${password}`);
    if (d.algorithm.toLowerCase().endsWith('-sess')) ha1 = H(`${ha1}:${d.nonce}:${cnonce}`);
    const ha2 = H(`${method}:${uri}`);
    const qop = d.qop
      ?.split(',')
      .map((q) => q.trim())
      .includes('auth')
      ? 'auth'
      : undefined;
    const response = qop ? H(`${ha1}:${d.nonce}:${nc}:${cnonce}:${qop}:${ha2}`) : H(`${ha1}:${d.nonce}:${ha2}`);
    const q = (s: string) => `"${s.replace(/(["\\])/g, '\\$1')}"`;
    const parts = [
      `username=${q(username)}`,
      `realm=${q(d.realm)}`,
      `nonce=${q(d.nonce)}`,
      `uri=${q(uri)}`,
      `algorithm=${d.algorithm}`,
      `response=${q(response)}`,
    ];
    if (d.opaque !== undefined) parts.push(`opaque=${q(d.opaque)}`);
    if (qop) parts.push(`qop=${qop}`, `nc=${nc}`, `cnonce=${q(cnonce)}`);
    return `Digest ${parts.join(', ')}`;
  }
}

/** Server side of Digest, for the camera emulators in the tests: verify an Authorization header. */
export function verifyDigest(
  header: string | undefined,
  method: string,
  creds: { username: string; password: string; realm: string; nonce: string },
): boolean {
  if (!header || !/^digest\s/i.test(header)) return false;
  const { params } = parseChallenge(header);
  if (params.username !== creds.username || params.realm !== creds.realm || params.nonce !== creds.nonce) return false;
  const H = hashOf(params.algorithm ?? 'MD5');
  const ha1 = H(`${creds.username}:${creds.realm}:${creds.password}`);
  const ha2 = H(`${method}:${params.uri ?? ''}`);
  const expect = params.qop
    ? H(`${ha1}:${creds.nonce}:${params.nc}:${params.cnonce}:${params.qop}:${ha2}`)
    : H(`${ha1}:${creds.nonce}:${ha2}`);
  return expect === params.response;
}
