import type { RawData } from 'ws';
import type { PageMessageType } from '../../protocol.js';
import type { PageClient } from '../client.js';
import { ack } from './ack.js';
import { cmd } from './cmd.js';
import { type Handler, type HandlerContext, refuse } from './context.js';
import { ping } from './ping.js';
import { ptz } from './ptz.js';
import { watch } from './watch.js';

/**
 * One handler per message type the page sends (protocol.ts PageMessage). The table's type makes a
 * new message type in the protocol a compile error here until it has a handler.
 */
const HANDLERS: Record<PageMessageType, Handler> = { ack, watch, cmd, ptz, ping };

/** One message from a page: parse, look up its handler, run it; anything wrong is refused to that page. */
export function dispatch(ctx: HandlerContext, client: PageClient, data: RawData, isBinary: boolean): void {
  if (isBinary) return refuse(client, 'binary messages are not accepted');
  let msg: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse((data as Buffer).toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    msg = parsed as Record<string, unknown>;
  } catch {
    return refuse(client, 'expected a JSON object');
  }
  const t = msg.t;
  // Own keys only: "constructor" or "toString" are not message types.
  const handler = typeof t === 'string' && Object.hasOwn(HANDLERS, t) ? HANDLERS[t as PageMessageType] : undefined;
  if (!handler) return refuse(client, `unknown message type ${JSON.stringify(t)}`, msg.rid);
  const done = handler(ctx, client, msg);
  // Handlers answer their own failures; this is for a bug, which must not become an unhandled rejection.
  if (done) done.catch((err) => ctx.log.error(`page ${client.remote}: "${t}" failed: ${(err as Error).stack ?? err}`));
}
