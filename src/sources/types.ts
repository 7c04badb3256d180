import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Config } from '../config/schema.js';
import type { CameraHub } from '../hub/hub.js';
import type { Logger } from '../logging.js';

export interface SourceContext {
  hub: CameraHub;
  logger: Logger;
  config: Config;
  /** Shared count of camera sockets that have not identified themselves yet (flood guard). */
  pending: PendingCounter;
}

export interface PendingCounter {
  count: number;
  readonly max: number;
}

/** A source that takes WebSocket cameras on a path of the HTTP port. */
export interface UpgradeSource {
  readonly path: string;
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Tell every camera the bridge is going away and close their sockets. */
  close(): Promise<void>;
}

export function remoteOf(req: IncomingMessage): string {
  const a = req.socket.remoteAddress ?? '?';
  return `${a.startsWith('::ffff:') ? a.slice(7) : a}:${req.socket.remotePort ?? '?'}`;
}

/** Refuse a WebSocket upgrade with a plain HTTP status before any WebSocket exists. */
export function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
  const body = `${reason}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${status === 503 ? 'Service Unavailable' : status === 401 ? 'Unauthorized' : 'Error'}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
