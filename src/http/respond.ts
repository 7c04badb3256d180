import type { ServerResponse } from 'node:http';
import type { CommandError, CommandErrorCode } from '../hub/controls.js';
import { redactingReplacer } from '../util/redact.js';

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

/** 303 to a same-site path (after a login, to the login). */
export function redirect(res: ServerResponse, location: string): void {
  res.writeHead(303, { Location: location, 'Cache-Control': 'no-store', 'Content-Length': 0 });
  res.end();
}

/** The HTTP status of each way a command can fail (REST commands, the page's PTZ). */
const COMMAND_STATUS: Record<CommandErrorCode, number> = {
  invalid: 400,
  unsupported: 422,
  unknown_camera: 404,
  offline: 409,
  rejected: 502,
  timeout: 504,
};

/** A refused command: its status and `{ ok: false, error, code }`. */
export function sendCommandError(res: ServerResponse, err: CommandError): void {
  sendJson(res, COMMAND_STATUS[err.code], { ok: false, error: err.message, code: err.code });
}
