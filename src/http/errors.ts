import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../logging.js';
import { redactTarget } from '../util/redact.js';
import type { ThrottledLog } from '../util/throttle-log.js';
import { printable } from './last-resort.js';
import { sendError } from './respond.js';
import { type Handler, type Request, urlOf } from './server.js';

/** Throw (or reject with) one in a handler: the error handler answers `status` with `{ error: message }`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The throttled log line of one kind of refusal (url, upgrade, parser, body). */
export type Refusals = (kind: 'url' | 'upgrade' | 'parser' | 'body') => ThrottledLog;

export function peerOf(req: IncomingMessage): string {
  const a = req.socket?.remoteAddress ?? '?';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

const target = (req: IncomingMessage) =>
  `${printable(req.method ?? '?', 16)} ${printable(redactTarget((req as { originalUrl?: string }).originalUrl ?? req.url ?? ''), 120)}`;

/**
 * First in the chain: a target that is no URL (`//[`) is a 400 and one throttled line, and so is a path
 * with a malformed percent-escape (%ZZ, a cut UTF-8 sequence): answered here, before any routing, so a
 * flood of them costs little, and the same with or without credentials.
 */
export function refuseMalformedUrl(refused: Refusals): Handler {
  return (req, res, next) => {
    let url: URL;
    try {
      url = urlOf(req);
    } catch {
      refused('url').warn(`refused ${target(req)} from ${peerOf(req)}: malformed URL`);
      return sendError(res, 400, 'bad request URL');
    }
    if (url.pathname.includes('%')) {
      try {
        decodeURIComponent(url.pathname);
      } catch {
        return malformedEscape(refused, req, res);
      }
    }
    next();
  };
}

function malformedEscape(refused: Refusals, req: IncomingMessage, res: ServerResponse): void {
  refused('url').warn(`refused ${target(req)} from ${peerOf(req)}: malformed percent-escape in the path`);
  sendError(res, 400, 'malformed percent-escape in the URL path');
}

const pathOf = (req: IncomingMessage) => urlOf(req).pathname;

export const notFound: Handler = (req, res) => sendError(res, 404, `no such endpoint: ${pathOf(req)}`);

export const methodNotAllowed: Handler = (req, res) =>
  sendError(res, 405, `method ${req.method} not allowed on ${pathOf(req)}`);

/** What body-parser and the router throw: http-errors with a status and, for body-parser, a type. */
interface LibraryError {
  status?: number;
  type?: string;
  limit?: number;
}

/**
 * The one error handler. A client's mistake (malformed escape, bad or oversize body, HttpError < 500)
 * gets one throttled line and an answer that says why; anything else is a bug: its stack and a 500.
 */
export function errorHandler(
  log: Logger,
  refused: Refusals,
): (err: unknown, req: Request, res: ServerResponse, next: () => void) => void {
  return (err, req, res, _next) => {
    const e = err as LibraryError;
    // The client went away mid-body: nobody to answer.
    if (e?.type === 'request.aborted' || req.socket.destroyed) return void res.destroy();
    // The router's decoding of a route parameter (refuseMalformedUrl catches these first).
    if (err instanceof URIError && e.status === 400) return malformedEscape(refused, req, res);
    let status: number;
    let message: string;
    if (err instanceof HttpError) {
      status = err.status;
      message = err.message;
    } else if (e?.type === 'entity.parse.failed') {
      status = 400;
      message = 'request body is not valid JSON';
    } else if (e?.type === 'entity.too.large') {
      status = 413;
      message = `request body larger than ${e.limit} bytes`;
    } else if (e?.type && typeof e.status === 'number' && e.status < 500) {
      status = e.status;
      message = (err as Error).message;
    } else {
      log.error(
        `${printable(req.method ?? '?', 16)} ${printable(pathOf(req), 120)} failed: ${(err as Error)?.stack ?? String(err)}`,
      );
      return sendError(res, 500, 'internal error');
    }
    if (status < 500)
      refused('body').warn(
        `refused ${printable(req.method ?? '?', 16)} ${printable(pathOf(req), 120)} from ${peerOf(req)}: ${status} ${printable(message)}`,
      );
    sendError(res, status, message);
  };
}
