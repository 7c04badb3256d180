import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { VERSION } from '../../util/version.js';
import type { HttpAuth } from './http-auth.js';

/** A camera URL with any user:password@ taken out (they become the camera's credentials). */
export interface CameraUrl {
  url: URL;
  username?: string;
  password?: string;
}

export function splitCredentials(raw: string): CameraUrl {
  const url = new URL(raw);
  const out: CameraUrl = { url };
  if (url.username || url.password) {
    out.username = decodeURIComponent(url.username);
    out.password = decodeURIComponent(url.password);
    url.username = '';
    url.password = '';
  }
  return out;
}

export class HttpStatusError extends Error {
  override name = 'HttpStatusError';
  constructor(
    readonly status: number,
    readonly body: string,
    message: string,
  ) {
    super(message);
  }
}

export class TooBigError extends Error {
  override name = 'TooBigError';
  constructor(
    readonly size: number | undefined,
    readonly limit: number,
  ) {
    super(`${size !== undefined ? `${size} bytes` : 'body'} larger than the limit of ${limit} bytes`);
  }
}

export interface GetOptions {
  auth?: HttpAuth | undefined;
  /** Until the response headers arrive. */
  timeoutMs: number;
  agent?: http.Agent | false;
  signal?: AbortSignal;
  headers?: Record<string, string>;
}

/** "connection refused" rather than "connect ECONNREFUSED 127.0.0.1:81". */
export function describeError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
      return 'connection reset by the camera';
    case 'EHOSTUNREACH':
      return 'host unreachable';
    case 'ENETUNREACH':
      return 'network unreachable';
    case 'ENOTFOUND':
      return 'host name not found';
    case 'ETIMEDOUT':
      // Our own timeouts say what stalled; the system's ("connect ETIMEDOUT 10.0.0.9:80") do not.
      return e.message && !e.message.startsWith('connect ') ? e.message : 'connection timed out';
    case 'EPIPE':
      return 'connection closed by the camera';
    case 'ABORT_ERR':
      return 'aborted';
    default:
      return e?.message ?? String(err);
  }
}

function requestOnce(url: URL, opts: GetOptions): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const mod = url.protocol === 'https:' ? https : http;
    const path = `${url.pathname}${url.search}`;
    const headers: Record<string, string> = { 'User-Agent': `cam2mqtt/${VERSION}`, Accept: '*/*', ...opts.headers };
    const authz = opts.auth?.header('GET', path);
    if (authz) headers.Authorization = authz;
    const req = mod.request(
      url,
      { method: 'GET', headers, agent: opts.agent ?? false, ...(opts.signal ? { signal: opts.signal } : {}) },
      (res) => {
        clearTimeout(timer);
        resolve(res);
      },
    );
    const timer = setTimeout(
      () => req.destroy(Object.assign(new Error(`no answer within ${opts.timeoutMs / 1000} s`), { code: 'ETIMEDOUT' })),
      opts.timeoutMs,
    );
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end();
  });
}

/**
 * GET with the camera's authentication: a 401 is answered once with the challenge the camera sent
 * (twice for a stale Digest nonce). Resolves with the response, whatever its status; the caller reads
 * or destroys it.
 */
export async function httpGet(url: URL, opts: GetOptions): Promise<IncomingMessage> {
  for (let attempt = 0; ; attempt++) {
    const res = await requestOnce(url, opts);
    if (res.statusCode === 401 && opts.auth && attempt < 2 && opts.auth.challenge(res)) {
      res.resume();
      continue;
    }
    if (res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300) opts.auth?.ok();
    return res;
  }
}

/**
 * Read a whole body, refusing more than maxBytes (checked against Content-Length first). With idleMs,
 * a body that stops arriving for that long is abandoned (ETIMEDOUT): an ESP32 on weak WiFi stops
 * halfway through a picture and keeps the socket open.
 */
export function readBody(res: IncomingMessage, maxBytes: number, idleMs?: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(res.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      res.destroy();
      reject(new TooBigError(declared, maxBytes));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      if (idleMs === undefined) return;
      clearTimeout(timer);
      timer = setTimeout(() => {
        const of = Number.isFinite(declared) ? ` of ${declared}` : '';
        res.destroy();
        reject(
          Object.assign(
            new Error(`the answer stopped after ${size}${of} bytes: nothing received for ${idleMs / 1000} s`),
            {
              code: 'ETIMEDOUT',
            },
          ),
        );
      }, idleMs);
    };
    const settle = () => clearTimeout(timer);
    arm();
    res.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxBytes) {
        settle();
        res.destroy();
        reject(new TooBigError(undefined, maxBytes));
        return;
      }
      chunks.push(c);
      arm();
    });
    res.on('end', () => {
      settle();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
    res.on('error', (err) => {
      settle();
      reject(err);
    });
    res.on('close', () => {
      settle();
      // After 'end' this does nothing (the promise is settled).
      if (!res.complete) reject(new Error('connection closed before the whole answer arrived'));
    });
  });
}

/** GET a small text answer (controls, servos): resolves with the body or rejects with HttpStatusError. */
export async function getText(
  url: URL,
  opts: GetOptions,
  maxBytes = 64 * 1024,
): Promise<{ status: number; body: string }> {
  const res = await httpGet(url, opts);
  const body = (await readBody(res, maxBytes, opts.timeoutMs)).toString('utf8').trim();
  const status = res.statusCode ?? 0;
  if (status < 200 || status >= 300) {
    const snippet = body.length > 200 ? `${body.slice(0, 197)}...` : body;
    throw new HttpStatusError(
      status,
      body,
      `HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}${snippet ? `: ${snippet}` : ''}`,
    );
  }
  return { status, body };
}
