import type { WebSocket } from 'ws';
import type { Logger } from '../../../logging.js';
import { ThrottledLog } from '../../../util/throttle-log.js';
import type { ServerMessage } from '../protocol.js';
import type { FrameMessage } from '../wire.js';
import { FlowControl, type FrameOutlet } from './flow.js';

/**
 * One browser tab: its WebSocket, JSON out, and the flow control of the frames of the cameras whose
 * tiles it shows.
 */
export class PageClient implements FrameOutlet {
  readonly flow: FlowControl;
  readonly since = Date.now();
  /** When the socket last started holding unsent data (liveness: socket/server.ts). */
  stalledSince: number | undefined;
  commandsInFlight = 0;
  /** Answered the last ping. */
  alive = true;
  /** Per page, so one page's flood of bad messages cannot hide another page's problem. */
  readonly badLog: ThrottledLog;

  private readonly onFlushed = (err?: Error) => {
    if (err) return;
    this.stalledSince = undefined;
    this.flow.pump();
  };

  constructor(
    readonly ws: WebSocket,
    readonly remote: string,
    queueBytes: number,
    log: Logger,
  ) {
    this.flow = new FlowControl(this, queueBytes);
    this.badLog = new ThrottledLog(log);
  }

  get open(): boolean {
    return this.ws.readyState === this.ws.OPEN;
  }

  get buffered(): number {
    return this.ws.bufferedAmount;
  }

  sendJson(msg: ServerMessage): void {
    this.sendText(JSON.stringify(msg));
  }

  /** Pre-serialised broadcast text: stringified once for all clients. */
  sendText(text: string): void {
    if (!this.open) return;
    this.ws.send(text, this.onFlushed);
  }

  sendFrame(msg: FrameMessage): void {
    // One message, two fragments, sent back to back so nothing can come between them.
    this.ws.send(msg.head, { binary: true, fin: false });
    this.ws.send(msg.jpeg, { binary: true, fin: true }, this.onFlushed);
  }

  toJSON(): Record<string, unknown> {
    return {
      remote: this.remote,
      since: new Date(this.since).toISOString(),
      watching: [...this.flow.tiles.keys()],
      ...this.flow.totals(),
      queued_bytes: this.buffered,
    };
  }
}
