import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../logging.js';
import { redactingReplacer, redactTarget } from '../util/redact.js';
import { ThrottledLog } from '../util/throttle-log.js';
import { inRequestScope, installLastResortGuard, printable } from './last-resort.js';
import { createWebServer, type TlsFiles } from './tls.js';

export type Params = Record<string, string>;
export type Handler = (req: IncomingMessage, res: ServerResponse, params: Params, url: URL) => void | Promise<void>;
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer, url: URL) => void;
/** Returns true to let the request through; otherwise it has answered (401, redirect...). */
export type Guard = (req: IncomingMessage, res: ServerResponse | undefined, url: URL) => boolean;

interface Route {
  method: string;
  re: RegExp;
  keys: string[];
  handler: Handler;
  public: boolean;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The one HTTP port: REST, MJPEG, the page, and WebSocket upgrades routed by path to the camera
 * sources, the page socket and MQTT-over-WebSocket. A tiny router: the hot paths write to `res` directly.
 */
export class HttpServer {
  readonly server: Server;
  private readonly routes: Route[] = [];
  private readonly upgrades = new Map<string, { handler: UpgradeHandler; public: boolean }>();
  private guard: Guard | undefined;
  private authCheck: ((req: IncomingMessage, url: URL) => boolean) | undefined;
  private readonly log: Logger;
  // One throttled line per kind of bad input, so a flood of it cannot flood the log.
  private readonly refusals = new Map<'url' | 'upgrade' | 'parser' | 'body', ThrottledLog>();

  /** With tls, an HTTPS server: src/http/tls.ts (its certificate is given by loadTls()). */
  constructor(logger: Logger, tls?: TlsFiles) {
    this.log = logger.child({ mod: 'http' });
    installLastResortGuard();
    this.server = createWebServer((req, res) => this.dispatchScoped(req, res), tls);
    this.server.on('upgrade', (req, socket, head) => this.dispatchUpgradeScoped(req, socket, head));
    // What Node's parser refuses (malformed request line, headers, chunked body, oversize headers).
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
      socket.on('error', () => {});
      if (err.code === 'ECONNRESET' || !socket.writable) {
        socket.destroy();
        return;
      }
      const tooBig = err.code === 'HPE_HEADER_OVERFLOW';
      const peer = (socket as { remoteAddress?: string }).remoteAddress ?? '?';
      this.refused('parser').warn(`refused a malformed request from ${peer}: ${err.code ?? err.message}`);
      socket.end(
        tooBig
          ? 'HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'
          : 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n',
      );
    });
    // MJPEG responses live for hours: no request timeout.
    this.server.requestTimeout = 0;
    this.server.keepAliveTimeout = 5000;
  }

  /** `pattern` like /api/cameras/:id/stream.mjpeg. Public routes skip the guard (cameras, login). */
  route(method: string, pattern: string, handler: Handler, opts: { public?: boolean } = {}): void {
    const keys: string[] = [];
    const re = new RegExp(
      `^${pattern.replace(/[.]/g, '\\.').replace(/:(\w+)/g, (_m, k: string) => {
        keys.push(k);
        return '([^/]+)';
      })}$`,
    );
    this.routes.push({ method, re, keys, handler, public: opts.public ?? false });
  }

  upgrade(path: string, handler: UpgradeHandler, opts: { public?: boolean } = {}): void {
    this.upgrades.set(path, { handler, public: opts.public ?? false });
  }

  /** `check` tells, without answering or counting a failure, whether a request carries valid credentials. */
  setGuard(guard: Guard, check?: (req: IncomingMessage, url: URL) => boolean): void {
    this.guard = guard;
    this.authCheck = check;
  }

  /** Whether a request may see details (on public routes like /healthz): always, when there is no login. */
  isAuthenticated(req: IncomingMessage, url: URL): boolean {
    if (!this.guard) return true;
    return this.authCheck ? this.authCheck(req, url) : false;
  }

  private urlOf(req: IncomingMessage): URL {
    return new URL(req.url ?? '/', 'http://localhost');
  }

  /** Every request runs in its own scope (see last-resort.ts); nothing it throws reaches the process. */
  private dispatchScoped(req: IncomingMessage, res: ServerResponse): void {
    const what = `${printable(req.method ?? '?', 16)} ${printable(redactTarget(req.url ?? ''), 120)}`;
    res.on('error', () => {});
    inRequestScope({ what, log: this.log, abort: () => res.destroy() }, () => {
      try {
        this.dispatch(req, res);
      } catch (err) {
        this.log.error(`${what} failed: ${(err as Error)?.stack ?? String(err)}`);
        sendError(res, 500, 'internal error');
      }
    });
  }

  private refused(kind: 'url' | 'upgrade' | 'parser' | 'body'): ThrottledLog {
    let t = this.refusals.get(kind);
    if (!t) this.refusals.set(kind, (t = new ThrottledLog(this.log)));
    return t;
  }

  private refuseUrl(req: IncomingMessage, why: string, kind: 'url' | 'upgrade' = 'url'): void {
    this.refused(kind).warn(
      `refused ${printable(req.method ?? '?', 16)} ${printable(redactTarget(req.url ?? ''), 120)} from ${peerOf(req)}: ${why}`,
    );
  }

  private dispatch(req: IncomingMessage, res: ServerResponse): void {
    let url: URL;
    try {
      url = this.urlOf(req);
    } catch {
      this.refuseUrl(req, 'malformed URL');
      sendError(res, 400, 'bad request URL');
      return;
    }
    let pathMatched = false;
    for (const r of this.routes) {
      const m = r.re.exec(url.pathname);
      if (!m) continue;
      pathMatched = true;
      if (r.method !== req.method && !(r.method === 'GET' && req.method === 'HEAD')) continue;
      const params = decodeParams(r.keys, m);
      if (!params) {
        // Before the guard: a malformed escape is refused the same way with or without credentials.
        this.refuseUrl(req, 'malformed percent-escape in the path');
        sendError(res, 400, 'malformed percent-escape in the URL path');
        return;
      }
      if (!r.public && this.guard && !this.guard(req, res, url)) return;
      const peer = peerOf(req);
      Promise.resolve()
        .then(() => r.handler(req, res, params, url))
        .catch((err: unknown) => {
          if (err instanceof HttpError) {
            // A client's mistake (bad body, too big): one line, throttled, and the answer says why.
            if (err.status < 500)
              this.refused('body').warn(
                `refused ${printable(req.method ?? '?', 16)} ${printable(url.pathname, 120)} from ${peer}: ${err.status} ${printable(err.message)}`,
              );
            return sendError(res, err.status, err.message);
          }
          this.log.error(
            `${printable(req.method ?? '?', 16)} ${printable(url.pathname, 120)} failed: ${(err as Error).stack ?? String(err)}`,
          );
          sendError(res, 500, 'internal error');
        });
      return;
    }
    sendError(
      res,
      pathMatched ? 405 : 404,
      pathMatched ? `method ${req.method} not allowed on ${url.pathname}` : `no such endpoint: ${url.pathname}`,
    );
  }

  private dispatchUpgradeScoped(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const what = `upgrade ${printable(redactTarget(req.url ?? ''), 120)}`;
    inRequestScope({ what, log: this.log, abort: () => socket.destroy() }, () => {
      try {
        this.dispatchUpgrade(req, socket, head);
      } catch (err) {
        this.log.error(`${what} failed: ${(err as Error)?.stack ?? String(err)}`);
        socket.destroy();
      }
    });
  }

  private dispatchUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    let url: URL;
    try {
      url = this.urlOf(req);
    } catch {
      this.refuseUrl(req, 'malformed URL', 'upgrade');
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const up = this.upgrades.get(url.pathname);
    if (!up) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    if (!up.public && this.guard && !this.guard(req, undefined, url)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    up.handler(req, socket, head, url);
  }

  listen(port: number, host: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
  }

  get port(): number {
    const a = this.server.address();
    return typeof a === 'object' && a ? a.port : 0;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

function peerOf(req: IncomingMessage): string {
  const a = req.socket?.remoteAddress ?? '?';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

/** Route parameters, percent-decoded; undefined when an escape is malformed (%ZZ, a cut UTF-8 sequence). */
function decodeParams(keys: string[], m: RegExpExecArray): Params | undefined {
  const params: Params = {};
  for (const [i, k] of keys.entries()) {
    try {
      params[k] = decodeURIComponent(m[i + 1]!);
    } catch {
      return undefined;
    }
  }
  return params;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, opts: { redact?: boolean } = {}): void {
  // redact: for documents that show camera sources or errors (a URL's credentials never leave).
  const text = opts.redact ? JSON.stringify(body, redactingReplacer) : JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    // Error bodies echo parts of the URL: never let a browser sniff them as HTML.
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(text);
}

export function sendError(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // Refused before its body was read (too big, bad escape): the connection cannot be reused; say so,
  // so the client does not send its next request on a socket about to close.
  if (res.req && !res.req.complete) res.setHeader('Connection', 'close');
  sendJson(res, status, { error: message });
}

/** Read a request body as text, refusing more than maxBytes (413). */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw new HttpError(413, `request body larger than ${maxBytes} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Read a JSON body with a size cap. */
export async function readJson(req: IncomingMessage, maxBytes = 64 * 1024): Promise<unknown> {
  const text = await readBody(req, maxBytes);
  if (!text.trim()) throw new HttpError(400, 'expected a JSON body');
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'request body is not valid JSON');
  }
}
