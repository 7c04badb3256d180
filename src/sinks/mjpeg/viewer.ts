import type { ServerResponse } from 'node:http';
import { type Part, partLength } from './part.js';

/**
 * One HTTP viewer of one camera. Writes while less than `queueBytes` are waiting in its socket;
 * beyond that it keeps only the newest part (latest frame wins) and sends it on 'drain'. So a slow
 * viewer costs at most queueBytes + one frame of memory and never delays anyone else.
 */
export class MjpegViewer {
  delivered = 0;
  dropped = 0;
  readonly since = Date.now();
  /** When the socket last refused more data while a part was waiting, or undefined. */
  stalledSince: number | undefined;
  private pending: Part | undefined;

  constructor(
    readonly res: ServerResponse,
    readonly remote: string,
    private readonly queueBytes: number,
  ) {
    res.on('drain', () => this.flush());
  }

  offer(part: Part): void {
    if (this.res.writableLength < this.queueBytes) {
      this.write(part);
      return;
    }
    if (this.pending) this.dropped++;
    this.pending = part;
    this.stalledSince ??= Date.now();
  }

  private flush(): void {
    this.stalledSince = undefined;
    const p = this.pending;
    if (p) {
      this.pending = undefined;
      this.write(p);
    }
  }

  private write(part: Part): void {
    this.delivered++;
    // One writev for all the pieces.
    this.res.cork();
    for (const b of part) this.res.write(b);
    this.res.uncork();
  }

  get queued(): number {
    return this.res.writableLength + (this.pending ? partLength(this.pending) : 0);
  }

  toJSON(): Record<string, unknown> {
    return {
      remote: this.remote,
      since: new Date(this.since).toISOString(),
      delivered: this.delivered,
      dropped: this.dropped,
      queued_bytes: this.queued,
    };
  }
}
