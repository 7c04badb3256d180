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
