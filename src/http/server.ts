import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import express, { type Router } from 'express';
import type { Logger } from '../logging.js';
import { redactTarget } from '../util/redact.js';
import { ThrottledLog } from '../util/throttle-log.js';
import { errorHandler, methodNotAllowed, notFound, peerOf, type Refusals, refuseMalformedUrl } from './errors.js';
import { Ingress } from './ingress.js';
import { guardEmitter, printable } from './last-resort.js';
import { sendError } from './respond.js';
import { createWebServer, type TlsFiles } from './tls.js';

export { HttpError } from './errors.js';
export { sendError, sendJson } from './respond.js';

export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer, url: URL) => void;
/** Returns true to let the request through; otherwise it has answered (401, redirect...). */
export type Guard = (req: IncomingMessage, res: ServerResponse | undefined, url: URL) => boolean;

/** Where routes are added: `get(path, ...handlers)` as on an express Router. */
export interface Routes {
  get(path: string, ...handlers: Handlers): void;
  post(path: string, ...handlers: Handlers): void;
  put(path: string, ...handlers: Handlers): void;
  delete(path: string, ...handlers: Handlers): void;
}

/** Route parameters (`:id`), percent-decoded by the router. */
export type Params = Record<string, string>;
/** What a handler gets: Node's request with the router's `params` (and `body` after jsonBody/formBody). */
export type Request = IncomingMessage & { params: Params; body?: unknown };
/**
 * Node's request and response, as express's Router passes them: no express app around the router, so
 * no req/res helpers (res.send, req.query); see the class comment for why.
 */
export type Handler = (req: Request, res: ServerResponse, next: (err?: unknown) => void) => unknown;
/** Middleware and the handler, as express takes them (arrays are flattened: `jsonBody()` is one). */
export type Handlers = (Handler | Handler[])[];

type Method = keyof Routes;

/**
 * The one HTTP port: an express app (REST, MJPEG, the page) on the http.Server, whose WebSocket
 * upgrades are routed by path to the camera sources, the page socket and MQTT-over-WebSocket.
 *
 *   http.get('/api/cameras/:id', (req, res) => ...)          behind http.auth (the guard runs first)
 *   http.public.get('/healthz', (req, res) => ...)           anyone (cameras' endpoints, the login)
 *   http.post('/api/x', jsonBody(), async (req, res) => ...)  a body: src/http/body.ts
 *
 * Errors (thrown, rejected, HttpError, bad bodies, malformed escapes) end in one handler (errors.ts).
 * The hot paths (MJPEG, snapshots) write to `res` directly.
 *
 * express's Router, not an express() app: the app gives every request and response a new prototype
 * (Object.setPrototypeOf), which gives every response object its own hidden class in V8, so the frame
 * path's property accesses in Node's http and stream code (write, writableLength, drain) go megamorphic:
 * +40% CPU with 200 MJPEG viewers (docs/performance.md, "express and the frame path"). The middleware
 * (express.json, urlencoded, compression, cookie-parser, send) is the same as an app would use.
 */
export class HttpServer {
  readonly server: Server;
  /** The whole chain: malformed URLs, the routes, 405, 404, the error handler. */
  private readonly root: Router;
  /** Routes anyone may call: the guard does not run. */
  readonly public: Routes;
  private readonly router: Router;
  /** After `router`: a path that exists with another method gets 405, not 404. */
  private readonly fallback: Router;
  private readonly paths = new Set<string>();
  private readonly upgrades = new Map<string, { handler: UpgradeHandler; public: boolean }>();
  private guard: Guard | undefined;
  private authCheck: ((req: IncomingMessage, url: URL) => boolean) | undefined;
  private readonly log: Logger;
  /** Home Assistant ingress (http.ingress_gateway): src/http/ingress.ts. */
  readonly ingress: Ingress;
  // One throttled line per kind of bad input, so a flood of it cannot flood the log.
  private readonly refusals = new Map<string, ThrottledLog>();
  private readonly refused: Refusals = (kind) => {
    let t = this.refusals.get(kind);
    if (!t) this.refusals.set(kind, (t = new ThrottledLog(this.log)));
    return t;
  };
  /** The auth guard as route middleware: it runs once the path matched, so a malformed escape is a 400 first. */
  private readonly requireAuth: Handler = (req, res, next) => {
    if (!this.guard || this.guard(req, res, urlOf(req))) next();
  };

  /** With tls, an HTTPS server: src/http/tls.ts (its certificate is given by loadTls()). */
  constructor(logger: Logger, tls?: TlsFiles, options: { ingressGateway?: string | undefined } = {}) {
    this.log = logger.child({ mod: 'http' });
    this.ingress = new Ingress(options.ingressGateway);
    // Paths as written: /API/cameras and /api/cameras/ are not /api/cameras.
    const opts = { caseSensitive: true, strict: true };
    this.root = express.Router(opts);
    this.router = express.Router(opts);
    this.fallback = express.Router(opts);
    this.root.use(refuseMalformedUrl(this.refused), this.router, this.fallback, notFound as never);
    this.root.use(errorHandler(this.log, this.refused) as never);
    this.public = {
      get: (path, ...h) => this.add('get', path, false, h),
      post: (path, ...h) => this.add('post', path, false, h),
      put: (path, ...h) => this.add('put', path, false, h),
      delete: (path, ...h) => this.add('delete', path, false, h),
    };
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

  /** A route behind the guard (http.auth). */
  get(path: string, ...handlers: Handlers): void {
    this.add('get', path, true, handlers);
  }

  post(path: string, ...handlers: Handlers): void {
    this.add('post', path, true, handlers);
  }

  put(path: string, ...handlers: Handlers): void {
    this.add('put', path, true, handlers);
  }

  delete(path: string, ...handlers: Handlers): void {
    this.add('delete', path, true, handlers);
  }

  private add(method: Method, path: string, guarded: boolean, handlers: Handlers): void {
    this.router[method](path, ...((guarded ? [this.requireAuth, ...handlers] : handlers) as never[]));
    if (this.paths.has(path)) return;
    this.paths.add(path);
    this.fallback.all(path, methodNotAllowed as never);
  }

  /** WebSocket upgrades on `path` (exact). Public ones skip the guard (cameras have their own tokens). */
  upgrade(path: string, handler: UpgradeHandler, opts: { public?: boolean } = {}): void {
    this.upgrades.set(path, { handler, public: opts.public ?? false });
  }

  /** `check` tells, without answering or counting a failure, whether a request carries valid credentials. */
  setGuard(guard: Guard, check?: (req: IncomingMessage, url: URL) => boolean): void {
    this.guard = guard;
    this.authCheck = check;
  }

  /** The X-Ingress-Path prefix of a request that came through Home Assistant's ingress gateway, else undefined. */
  ingressPrefix(req: IncomingMessage): string | undefined {
    return this.ingress.prefixOf(req);
  }

  /**
   * Run the login guard on a public route's request (a route with its own credentials besides the
   * login, like /metrics' scraper token): true to go on, else it has answered (401, 429, a redirect).
   */
  authorize(req: IncomingMessage, res: ServerResponse): boolean {
    return !this.guard || this.guard(req, res, urlOf(req));
  }

  /** Whether a request may see details (on public routes like /healthz): always, when there is no login. */
  isAuthenticated(req: IncomingMessage): boolean {
    if (!this.guard) return true;
    return this.authCheck ? this.authCheck(req, urlOf(req)) : false;
  }

  /**
   * Nothing a request throws reaches the process: the router sends handlers' throws and rejections to
   * the error handler, and the guard (last-resort.ts) catches what the request's events throw later.
   */
  private dispatchScoped(req: IncomingMessage, res: ServerResponse): void {
    const what = `${printable(req.method ?? '?', 16)} ${printable(redactTarget(req.url ?? ''), 120)}`;
    res.on('error', () => {});
    const scope = { what, log: this.log, abort: () => res.destroy() };
    guardEmitter(req, scope);
    guardEmitter(res, scope);
    try {
      // The error handler answers everything; `done` only sees what it could not (a bug in it).
      this.root(req as never, res as never, (err?: unknown) => {
        if (err) this.log.error(`${what} failed: ${(err as Error)?.stack ?? String(err)}`);
        sendError(res, err ? 500 : 404, err ? 'internal error' : 'not found');
      });
    } catch (err) {
      this.log.error(`${what} failed: ${(err as Error)?.stack ?? String(err)}`);
      sendError(res, 500, 'internal error');
    }
  }

  /** The upgraded socket is guarded: every WebSocket message is parsed and handled inside its 'data' event. */
  private dispatchUpgradeScoped(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const what = `upgrade ${printable(redactTarget(req.url ?? ''), 120)}`;
    guardEmitter(socket, { what, log: this.log, abort: () => socket.destroy() });
    try {
      this.dispatchUpgrade(req, socket, head);
    } catch (err) {
      this.log.error(`${what} failed: ${(err as Error)?.stack ?? String(err)}`);
      socket.destroy();
    }
  }

  private dispatchUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    let url: URL;
    try {
      url = urlOf(req);
    } catch {
      this.refused('upgrade').warn(
        `refused ${printable(req.method ?? '?', 16)} ${printable(redactTarget(req.url ?? ''), 120)} from ${peerOf(req)}: malformed URL`,
      );
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

const urls = new WeakMap<IncomingMessage, URL>();

/** The request's URL, parsed once (throws on one that cannot be parsed; refuseMalformedUrl answers those first). */
export function urlOf(req: IncomingMessage): URL {
  let url = urls.get(req);
  if (!url) {
    url = new URL((req as { originalUrl?: string }).originalUrl ?? req.url ?? '/', 'http://localhost');
    urls.set(req, url);
  }
  return url;
}
