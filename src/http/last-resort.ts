import type { EventEmitter } from 'node:events';
import type { Logger } from '../logging.js';

/** What a request (or WebSocket upgrade) is, for the last-resort guard: a name for the log, and how to drop it. */
export interface RequestScope {
  what: string;
  log: Logger;
  /** Drop the request: destroy its response or socket. */
  abort(): void;
}

/**
 * The last resort: an exception no handler caught, thrown while serving a client's request, is
 * logged in one line and drops that one request; the bridge keeps serving everyone else. A client's
 * input must never stop the process.
 *
 * Everything a client's request runs after its handler returned is an event of one of its emitters:
 * the request and response (body, 'finish', 'close', 'drain'), the upgraded socket (every WebSocket
 * message is parsed inside its 'data' event) and the WebSocket itself. So the guard wraps those
 * emitters' `emit` in a try/catch. (Handlers' own throws and rejected promises already end in
 * express's error handler.) It replaced an AsyncLocalStorage, which turned on async-hooks bookkeeping
 * for every promise and callback of the process: 50-100 ms per 10-s bench window (docs/performance.md).
 * The price: a timer or a promise a handler starts and leaves behind is not the request's any more;
 * an exception there is a bug outside any request and ends the process, as Node does by default.
 */
export function guardEmitter(emitter: EventEmitter, s: RequestScope): void {
  const emit = emitter.emit;
  let failed = false;
  emitter.emit = function guardedEmit(this: EventEmitter, ...args: unknown[]): boolean {
    try {
      return Reflect.apply(emit, this, args) as boolean;
    } catch (err) {
      if (!failed) {
        // One line per request: dropping it may raise more events ('close') that fail the same way.
        failed = true;
        try {
          s.log.error(
            `${s.what} failed (in a '${String(args[0])}' event), the request was dropped and the bridge keeps serving: ${(err as Error)?.stack ?? String(err)}`,
          );
        } catch {
          // Nothing more to say.
        }
      }
      try {
        s.abort();
      } catch {
        // Nothing more can be done for this request.
      }
      return true;
    }
  };
}

/** A client-supplied string made safe for one log line: control characters shown as \xNN, length capped. */
export function printable(s: string, max = 200): string {
  const cut = s.length > max ? `${s.slice(0, max)}...` : s;
  return cut.replace(/\p{Cc}/gu, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
