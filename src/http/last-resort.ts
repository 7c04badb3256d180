import { AsyncLocalStorage } from 'node:async_hooks';
import type { Logger } from '../logging.js';

/** What a request (or WebSocket upgrade) is, for the last-resort guard: a name for the log, and how to drop it. */
export interface RequestScope {
  what: string;
  log: Logger;
  /** Drop the request: destroy its response or socket. */
  abort(): void;
}

const scope = new AsyncLocalStorage<RequestScope>();
let installed = false;

/**
 * Run `fn` as part of a client's request: timers, promises and callbacks it starts carry the scope,
 * so an exception escaping from any of them is pinned on that request, not on the process.
 */
export function inRequestScope<T>(s: RequestScope, fn: () => T): T {
  return scope.run(s, fn);
}

/**
 * The last resort: an exception no handler caught, thrown while serving a client's request, is
 * logged and drops that one request; the bridge keeps serving everyone else. A client's input must
 * never stop the process. Anything else (a bug outside any request) still ends the process as Node
 * would without this listener, unless another listener (a test runner) takes it. Installed once.
 */
export function installLastResortGuard(): void {
  if (installed) return;
  installed = true;
  process.on('uncaughtException', (err, origin) => {
    const s = scope.getStore();
    if (s) {
      try {
        s.log.error(
          `${s.what} failed (${origin}), the request was dropped and the bridge keeps serving: ${err?.stack ?? String(err)}`,
        );
        s.abort();
      } catch {
        // Nothing more can be done for this request.
      }
      return;
    }
    if (process.listenerCount('uncaughtException') > 1) return;
    process.stderr.write(`${err?.stack ?? String(err)}\n`);
    process.exit(1);
  });
}

/** A client-supplied string made safe for one log line: control characters shown as \xNN, length capped. */
export function printable(s: string, max = 200): string {
  const cut = s.length > max ? `${s.slice(0, max)}...` : s;
  return cut.replace(/\p{Cc}/gu, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
