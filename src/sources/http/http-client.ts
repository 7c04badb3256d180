import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { connect } from 'node:net';
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

/** The head of a response read by openRawStream. */
export interface RawHead {
  status: number;
  statusMessage: string;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
}

export interface RawStreamHandlers {
  /**
   * The response head. Return false to close the connection at once (the caller does something
   * else, e.g. the full HTTP client for a 401 or a single picture).
   */
  onHead(head: RawHead): boolean;
  /**
   * A piece of the body, de-chunked. TRANSIENT: a view of a read buffer that the next read reuses;
   * copy what is kept beyond the call.
   */
  onBody(piece: Buffer): void;
  /** The connection is over: `err` when it failed, none when the camera closed it. Called once. */
  onClose(err?: Error): void;
}

/**
 * One shared read buffer for every raw stream: reads land here, are parsed in the callback and copied
 * out only as whole frames. A 64 KiB read per socket and a right-sized copy of it, per read, is what
 * Node's sockets and HTTP client otherwise cost (and a Buffer per body piece on top): for ESP32s that
 * send in 1460-byte segments, that is dozens of allocations per frame (docs/performance.md).
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

/**
 * GET a long-running body over plain HTTP/1.1 on a raw socket: the response head is parsed here,
 * chunked transfer coding undone here, and the body handed out as transient views of the shared
 * read buffer. For MJPEG streams (the hot path of pulled cameras); everything else, and https, goes
 * through httpGet. Returns a function that closes the connection.
 */
export function openRawStream(url: URL, opts: GetOptions, on: RawStreamHandlers): () => void {
  const path = `${url.pathname}${url.search}`;
  const headers: Record<string, string> = {
    Host: url.host,
    'User-Agent': `cam2mqtt/${VERSION}`,
    Accept: '*/*',
    ...opts.headers,
    Connection: 'close',
  };
  const authz = opts.auth?.header('GET', path);
  if (authz) headers.Authorization = authz;
  let closed = false;
  let head: Buffer | undefined; // bytes of the response head so far (copied: reads are transient)
  let inBody = false;
  let chunked = false;
  // Chunked decoding: bytes left in the current chunk, and the size line being read (split over reads).
  let chunkLeft = 0;
  let sizeLine = '';
  let afterData = false; // the CRLF that ends a chunk's data comes next
  let lastChunk = false;
  const close = (err?: Error) => {
    if (closed) return;
    closed = true;
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', abort);
    socket.destroy();
    on.onClose(err);
  };
  const abort = () => close(Object.assign(new Error('aborted'), { code: 'ABORT_ERR' }));
  const fail = (msg: string) => close(new Error(msg));

  const body = (buf: Buffer, from: number, to: number) => {
    if (!chunked) {
      if (to > from) on.onBody(buf.subarray(from, to));
      return;
    }
    let pos = from;
    while (pos < to && !closed) {
      if (chunkLeft > 0) {
        const n = Math.min(chunkLeft, to - pos);
        on.onBody(buf.subarray(pos, pos + n));
        chunkLeft -= n;
        pos += n;
        if (chunkLeft === 0) afterData = true;
        continue;
      }
      // A size line "1a2b[;ext]\r\n" (after the CRLF that ends the previous chunk's data).
      const lf = buf.indexOf(0x0a, pos);
      const end = lf < 0 || lf >= to ? to : lf;
      sizeLine += buf.toString('latin1', pos, end);
      if (sizeLine.length > 1024) return fail('bad chunked encoding from the camera');
      if (end === to) return;
      pos = end + 1;
      const line = sizeLine.trim();
      sizeLine = '';
      if (afterData) {
        afterData = false;
        if (line === '') continue;
        return fail('bad chunked encoding from the camera');
      }
      if (lastChunk) {
        // Trailers, then the empty line: the body is over.
        if (line === '') return close();
        continue;
      }
      const size = Number.parseInt(line.split(';')[0]!, 16);
      if (!Number.isFinite(size) || size < 0 || !/^[0-9a-f]/i.test(line))
        return fail('bad chunked encoding from the camera');
      if (size === 0) lastChunk = true;
      else chunkLeft = size;
    }
  };

  const onRead = (n: number, buf: Buffer): boolean => {
    if (closed) return false;
    if (inBody) {
      body(buf, 0, n);
      return true;
    }
    const piece = Buffer.from(buf.subarray(0, n));
    head = head ? Buffer.concat([head, piece]) : piece;
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) {
      if (head.length > 16 * 1024) fail('response headers larger than 16 KiB');
      return true;
    }
    clearTimeout(timer);
    const lines = head.toString('latin1', 0, end).split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(lines[0] ?? '');
    if (!m) {
      fail('not an HTTP response');
      return false;
    }
    const hdrs: Record<string, string> = {};
    for (const l of lines.slice(1)) {
      const c = l.indexOf(':');
      if (c <= 0) continue;
      const k = l.slice(0, c).trim().toLowerCase();
      const v = l.slice(c + 1).trim();
      hdrs[k] = hdrs[k] === undefined ? v : `${hdrs[k]}, ${v}`;
    }
    const rest = head.subarray(end + 4);
    head = undefined;
    if (!on.onHead({ status: Number(m[1]), statusMessage: m[2] ?? '', headers: hdrs })) {
      closed = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', abort);
      socket.destroy();
      return false;
    }
    inBody = true;
    chunked = /\bchunked\b/i.test(hdrs['transfer-encoding'] ?? '');
    body(rest, 0, rest.length);
    return true;
  };

  const socket = connect({
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: Number(url.port || 80),
    onread: { buffer: READ_BUFFER, callback: onRead },
  });
  socket.setNoDelay(true);
  socket.on('connect', () =>
    socket.write(
      `GET ${path} HTTP/1.1\r\n${Object.entries(headers)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('')}\r\n`,
      'latin1',
    ),
  );
  socket.on('error', (err) => close(err));
  socket.on('end', () => close());
  socket.on('close', () => close());
  const timer = setTimeout(
    () => close(Object.assign(new Error(`no answer within ${opts.timeoutMs / 1000} s`), { code: 'ETIMEDOUT' })),
    opts.timeoutMs,
  );
  if (opts.signal?.aborted) abort();
  else opts.signal?.addEventListener('abort', abort, { once: true });
  return () => {
    if (closed) return;
    closed = true;
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', abort);
    socket.destroy();
  };
}
