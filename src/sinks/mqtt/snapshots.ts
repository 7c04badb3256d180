import type { Camera } from '../../hub/camera.js';
import { type Frame, jpegSize } from '../../hub/frame.js';
import type { CameraHub } from '../../hub/hub.js';
import type { Logger } from '../../logging.js';

/** Why a snapshot is published; 'first' = the first frame after a camera comes online. */
export type SnapshotCause = 'motion' | 'request' | 'interval' | 'camera' | 'first';

const PRIORITY: Record<SnapshotCause, number> = { motion: 3, request: 3, camera: 2, interval: 1, first: 0 };

export interface SnapshotOptions {
  /** At most one snapshot per camera per this many ms; more are held back (latest, most important wins). */
  minIntervalMs: number;
  /** Bigger frames are not published (one log line). */
  maxBytes: number;
  publish(cam: Camera, frame: Frame, cause: SnapshotCause): void;
  logger: Logger;
}

interface PerCamera {
  lastAt: number;
  lastPrio: number;
  pending: { cam: Camera; frame: Frame; cause: SnapshotCause } | undefined;
  timer: NodeJS.Timeout | undefined;
  lastTooBigLogAt: number;
}

/**
 * Rate and size limits for `<base>/<id>/snapshot`. The frame's own Buffer is published (no copy).
 * A snapshot that comes too soon after the previous one waits until the interval is over, unless it is
 * more important than that one (motion/request over camera over interval over the first frame); if
 * more arrive meanwhile, the most important, then the newest, wins.
 */
export class SnapshotLimiter {
  private readonly cams = new Map<string, PerCamera>();
  dropped = { too_big: 0, superseded: 0 };
  private readonly log: Logger;

  constructor(private readonly opts: SnapshotOptions) {
    this.log = opts.logger;
  }

  offer(cam: Camera, frame: Frame, cause: SnapshotCause): void {
    if (jpegSize(frame) > this.opts.maxBytes) {
      this.dropped.too_big++;
      const st = this.state(cam.id);
      const now = Date.now();
      if (now - st.lastTooBigLogAt > 60_000) {
        st.lastTooBigLogAt = now;
        this.log.warn(
          `camera ${cam.id}: ${cause} snapshot of ${jpegSize(frame)} bytes not published (larger than mqtt.snapshot_max_bytes = ${this.opts.maxBytes}; lower the frame size or raise the limit)`,
        );
      }
      return;
    }
    const st = this.state(cam.id);
    const now = Date.now();
    const prio = PRIORITY[cause];
    const wait = st.lastAt + this.opts.minIntervalMs - now;
    // More important than what went out last (motion after the periodic one): no waiting, so the
    // image is on the broker before the motion event that refers to it.
    const publishNow = wait <= 0 || prio > st.lastPrio;
    if (publishNow && (!st.pending || PRIORITY[st.pending.cause] <= prio)) {
      if (st.pending) {
        this.dropped.superseded++;
        st.pending = undefined;
      }
      if (st.timer) clearTimeout(st.timer);
      st.timer = undefined;
      st.lastAt = now;
      st.lastPrio = prio;
      this.opts.publish(cam, frame, cause);
      return;
    }
    if (st.pending && prio < PRIORITY[st.pending.cause]) {
      this.dropped.superseded++;
      return;
    }
    if (st.pending) this.dropped.superseded++;
    st.pending = { cam, frame, cause };
    if (!st.timer) {
      st.timer = setTimeout(
        () => {
          st.timer = undefined;
          const p = st.pending;
          st.pending = undefined;
          if (!p) return;
          st.lastAt = Date.now();
          st.lastPrio = PRIORITY[p.cause];
          this.opts.publish(p.cam, p.frame, p.cause);
        },
        Math.max(0, wait),
      );
      st.timer.unref();
    }
  }

  forget(id: string): void {
    const st = this.cams.get(id);
    if (st?.timer) clearTimeout(st.timer);
    this.cams.delete(id);
  }

  stop(): void {
    for (const id of [...this.cams.keys()]) this.forget(id);
  }

  private state(id: string): PerCamera {
    let st = this.cams.get(id);
    if (!st) {
      st = { lastAt: 0, lastPrio: -1, pending: undefined, timer: undefined, lastTooBigLogAt: 0 };
      this.cams.set(id, st);
    }
    return st;
  }
}

/** `cameras.<id>.snapshot_interval`: take a snapshot every N seconds while the camera is online. */
export class SnapshotIntervals {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly hub: CameraHub,
    private readonly log: Logger,
  ) {}

  start(intervals: Record<string, number>): void {
    for (const [id, seconds] of Object.entries(intervals)) {
      if (!(seconds > 0)) continue;
      const t = setInterval(() => {
        const cam = this.hub.get(id);
        if (!cam?.online || !cam.latest) return;
        this.hub
          .takeSnapshot(cam, 'interval')
          .catch((err: Error) => this.log.debug(`camera ${id}: interval snapshot failed: ${err.message}`));
      }, seconds * 1000);
      t.unref();
      this.timers.set(id, t);
    }
  }

  stop(): void {
    for (const t of this.timers.values()) clearInterval(t);
    this.timers.clear();
  }
}
