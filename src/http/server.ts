import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../logging.js';
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
  private readonly log: Logger;

  /** With tls, an HTTPS server: src/http/tls.ts (its certificate is given by loadTls()). */
  constructor(logger: Logger, tls?: TlsFiles) {
    this.log = logger.child({ mod: 'http' });
    this.server = createWebServer((req, res) => this.dispatch(req, res), tls);
    this.server.on('upgrade', (req, socket, head) => this.dispatchUpgrade(req, socket, head));
    this.server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
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

  setGuard(guard: Guard): void {
    this.guard = guard;
  }

  private urlOf(req: IncomingMessage): URL {
    return new URL(req.url ?? '/', 'http://localhost');
  }

  private dispatch(req: IncomingMessage, res: ServerResponse): void {
    let url: URL;
    try {
      url = this.urlOf(req);
    } catch {
      sendError(res, 400, 'bad request URL');
      return;
    }
    let pathMatched = false;
    for (const r of this.routes) {
      const m = r.re.exec(url.pathname);
      if (!m) continue;
      pathMatched = true;
      if (r.method !== req.method && !(r.method === 'GET' && req.method === 'HEAD')) continue;
      if (!r.public && this.guard && !this.guard(req, res, url)) return;
      const params: Params = {};
      r.keys.forEach((k, i) => {
        params[k] = decodeURIComponent(m[i + 1]!);
      });
      Promise.resolve()
        .then(() => r.handler(req, res, params, url))
        .catch((err: unknown) => {
          if (err instanceof HttpError) return sendError(res, err.status, err.message);
          this.log.error(`${req.method} ${url.pathname} failed: ${(err as Error).stack ?? String(err)}`);
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

  private dispatchUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    let url: URL;
    try {
      url = this.urlOf(req);
    } catch {
      socket.destroy();
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

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
  });
  res.end(text);
}

export function sendError(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
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
