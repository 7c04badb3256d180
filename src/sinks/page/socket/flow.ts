import type { FrameMessage } from '../wire.js';

/** Frames a tile may have unacknowledged: the page acks each frame once drawn (or skipped). */
export const CREDITS_PER_TILE = 2;
/** A tile whose frames are not acknowledged for this long gets its credits back (a lost page bug must not freeze it). */
export const ACK_TIMEOUT_MS = 5000;

/** Where one client's frames go: its WebSocket (socket/client.ts), or a recorder in unit tests. */
export interface FrameOutlet {
  /** False once the socket is closing or closed: frames are then not kept. */
  readonly open: boolean;
  /** Bytes written and not yet taken by the network. */
  readonly buffered: number;
  /** Send one frame message. The outlet calls FlowControl.pump() when its data has been flushed. */
  sendFrame(msg: FrameMessage): void;
}

/** One tile's frame flow: `pending` is the newest frame that could not go yet. */
export interface TileFlow {
  readonly id: string;
  readonly idx: number;
  /** Frames sent and not yet acknowledged (0..CREDITS_PER_TILE). */
  inflight: number;
  pending: FrameMessage | undefined;
  /** Last send from idle or ack: the ack timeout counts from here. */
  lastProgressAt: number;
  sent: number;
  dropped: number;
}

/**
 * Per-client flow control. Each tile is, for its pending frame, idle (none) or waiting (one, the
 * newest: a frame offered while one waits replaces it and counts as dropped), and holds 0..2 credits
 * in flight. A waiting frame goes out when its tile has a credit and the socket holds fewer than
 * queueBytes; tiles go in the order they started waiting. An ack returns a credit; credits not
 * returned within ACK_TIMEOUT_MS come back by themselves. So a slow page or link costs at most
 * queueBytes + one frame per tile, and never delays another client.
 */
export class FlowControl {
  readonly tiles = new Map<string, TileFlow>();
  private readonly byIdx = new Map<number, TileFlow>();
  /** Tiles with a pending frame, oldest first. */
  private readonly waiting = new Set<TileFlow>();

  constructor(
    private readonly out: FrameOutlet,
    private readonly queueBytes: number,
    private readonly now: () => number = Date.now,
  ) {}

  watch(id: string, idx: number): TileFlow {
    let t = this.tiles.get(id);
    if (!t) {
      t = { id, idx, inflight: 0, pending: undefined, lastProgressAt: this.now(), sent: 0, dropped: 0 };
      this.tiles.set(id, t);
      this.byIdx.set(idx, t);
    }
    return t;
  }

  unwatch(id: string): void {
    const t = this.tiles.get(id);
    if (!t) return;
    this.tiles.delete(id);
    this.byIdx.delete(t.idx);
    this.waiting.delete(t);
  }

  /** A new frame for tile `id` (ignored if the client does not watch it). */
  offer(id: string, msg: FrameMessage): void {
    const t = this.tiles.get(id);
    if (!t || !this.out.open) return;
    if (t.pending) t.dropped++;
    t.pending = msg;
    // Re-insert so the tile that waited longest goes first.
    this.waiting.delete(t);
    this.waiting.add(t);
    this.pump();
  }

  /** Send what may go now: called on offer, ack, expiry and whenever the socket flushed. */
  pump(): void {
    if (!this.waiting.size || !this.out.open) return;
    for (const t of this.waiting) {
      if (this.out.buffered >= this.queueBytes) return;
      if (t.inflight >= CREDITS_PER_TILE) continue;
      const msg = t.pending!;
      t.pending = undefined;
      this.waiting.delete(t);
      if (t.inflight === 0) t.lastProgressAt = this.now();
      t.inflight++;
      t.sent++;
      this.out.sendFrame(msg);
    }
  }

  /** The page is done with one frame of each camera index listed (unknown indexes are ignored). */
  ack(indexes: readonly unknown[]): void {
    const now = this.now();
    for (const i of indexes) {
      const t = typeof i === 'number' ? this.byIdx.get(i) : undefined;
      if (!t) continue;
      if (t.inflight > 0) t.inflight--;
      t.lastProgressAt = now;
    }
    this.pump();
  }

  /** Housekeeping: give back credits a page never returned. */
  expireCredits(now = this.now()): void {
    for (const t of this.tiles.values()) {
      if (t.inflight > 0 && now - t.lastProgressAt > ACK_TIMEOUT_MS) {
        t.inflight = 0;
        t.lastProgressAt = now;
      }
    }
    this.pump();
  }

  totals(): { sent: number; dropped: number } {
    let sent = 0;
    let dropped = 0;
    for (const t of this.tiles.values()) {
      sent += t.sent;
      dropped += t.dropped;
    }
    return { sent, dropped };
  }
}
