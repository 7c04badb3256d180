import { mkdir, open } from 'node:fs/promises';
import path from 'node:path';
import { isRelayed } from '../../cluster/gate.js';
import { jpegDimensions } from '../../formats/avi.js';
import type { Camera } from '../../hub/camera.js';
import type { ClipEvent, MotionEvent } from '../../hub/events.js';
import { type Frame, jpegSize, jpegSlices } from '../../hub/frame.js';
import type { CameraHub } from '../../hub/hub.js';
import type { Logger } from '../../logging.js';
import { ThrottledLog } from '../../util/throttle-log.js';
import { ClipWriter } from './clip-writer.js';
import type { ClipIndex, ClipRow } from './db.js';
import { dayOf } from './files.js';
import { edgesOf, jpegEdgesOk } from './frame-bytes.js';
import { PrerollRing } from './ring.js';

export type RecordMode = 'motion' | 'continuous' | 'off';

export interface RecorderSettings {
  dir: string;
  preMs: number;
  postMs: number;
  maxMs: number;
  maxPrerollBytes: number;
  /** Length of a continuous segment (an hour; segments start on the hour). */
  segmentMs: number;
}

/** What a camera's recorder needs from the recordings sink. */
export interface RecorderHost {
  readonly hub: CameraHub;
  readonly index: ClipIndex;
  readonly log: Logger;
  readonly settings: RecorderSettings;
  /** May a clip be written now (not paused for disk space or a write error)? */
  canWrite(): boolean;
  /** A write failed (ENOSPC, EACCES...): the sink pauses recording. */
  writeFailed(err: NodeJS.ErrnoException, file: string): void;
  /** A clip was closed (retention may run). */
  clipClosed(row: ClipRow): void;
  /** Absolute URL of a bridge path. */
  url(p: string): string;
  /** A thumbnail not yet on disk, served from memory meanwhile. */
  pendingThumbs: Map<string, Frame>;
}

/** One clip being written: a motion event's (or its next part), or a continuous segment. */
interface OpenClip {
  row: ClipRow;
  writer: ClipWriter;
  /** Set at motion end: close at the first frame received at or after it. */
  postUntil: number | undefined;
  /** The motion event's figures over all its parts, and who waits for them (MQTT's motion_end). */
  event: EventTotals | undefined;
}

interface EventTotals {
  /** The event's first clip (where its thumbnail is). */
  firstId: string;
  frames: number;
  durationS: number;
  waiters: ((v: { durationS: number; frames: number }) => void)[];
  closed: Promise<{ durationS: number; frames: number }> | undefined;
}

export const clipPaths = (id: string) => ({
  clip: `/api/events/${id}/clip.avi`,
  thumbnail: `/api/events/${id}/thumbnail.jpg`,
  mjpeg: `/api/events/${id}/clip.mjpeg`,
});

/**
 * One camera's recording: its pre-roll ring (while recording is on), the motion clip being written
 * (pre-roll, the event, post-roll; in parts of max_seconds), and the continuous segment.
 */
export class CameraRecorder {
  private ring: PrerollRing | undefined;
  private unsubscribe: (() => void) | undefined;
  private clip: OpenClip | undefined;
  private segment: OpenClip | undefined;
  private readonly closing = new Set<Promise<unknown>>();
  corrupt = 0;
  private readonly corruptLog: ThrottledLog;
  private readonly failLog: ThrottledLog;

  constructor(
    private readonly host: RecorderHost,
    readonly cam: Camera,
    private mode: RecordMode,
  ) {
    this.corruptLog = new ThrottledLog(host.log, 60_000);
    this.failLog = new ThrottledLog(host.log, 60_000);
  }

  get on(): boolean {
    // A camera owned by another instance (cluster) is recorded there: here it would hold a relay open.
    return this.cam.recording === true && this.mode !== 'off' && !isRelayed(this.cam);
  }

  /** Effective mode once the switch is on (a camera configured `off` records motion when switched on). */
  setSwitch(on: boolean): void {
    if (on && this.mode === 'off') this.mode = 'motion';
    this.apply();
  }

  /** Hold a ring and receive frames while recording is on; let go of both when it is off. */
  apply(): void {
    if (this.on && !this.unsubscribe) {
      const s = this.host.settings;
      this.ring = new PrerollRing(s.preMs, s.maxPrerollBytes);
      // Frame listeners run on the source's hot path without a guard: a bug here must not reach it.
      this.unsubscribe = this.cam.subscribe((f) => {
        try {
          this.onFrame(f);
        } catch (err) {
          this.failLog.warn(`camera ${this.cam.id}: recording a frame failed: ${(err as Error).stack ?? err}`);
        }
      });
    } else if (!this.on && this.unsubscribe) {
      this.unsubscribe();
      this.unsubscribe = undefined;
      this.ring = undefined;
      this.closeAll();
    }
  }

  get ringBytes(): number {
    return this.ring?.bytes ?? 0;
  }
  get ringFrames(): number {
    return this.ring?.length ?? 0;
  }
  /** Ids of the clips being written. */
  openIds(): string[] {
    return [this.clip?.row.id, this.segment?.row.id].filter((x): x is string => x !== undefined);
  }

  get openClips(): number {
    return (this.clip ? 1 : 0) + (this.segment ? 1 : 0);
  }

  // ---------------------------------------------------------------- frames

  private onFrame(frame: Frame): void {
    if (!jpegEdgesOk(frame)) {
      this.corrupt++;
      if (this.clip) this.clip.row.corrupt++;
      this.corruptLog.warn(
        `camera ${this.cam.id}: a corrupt frame (seq ${frame.seq}, no JPEG start or end marker) is left out of its recording (${this.corrupt} so far)`,
      );
      return;
    }
    this.ring?.push(frame);
    const c = this.clip;
    if (c) {
      if (!c.writer.add(frame) && !c.writer.error) c.row.dropped++;
      if (c.postUntil !== undefined && frame.receivedAt >= c.postUntil) this.closeClip();
      else if (c.writer.seconds * 1000 >= this.host.settings.maxMs) this.nextPart(frame);
    }
    if (this.mode === 'continuous') this.onSegmentFrame(frame);
  }

  private onSegmentFrame(frame: Frame): void {
    const s = this.segment;
    const seg = this.host.settings.segmentMs;
    if (s && (Math.floor(frame.receivedAt / seg) !== Math.floor(s.row.start / seg) || s.writer.error))
      this.closeSegment();
    if (!this.segment) {
      if (!this.host.canWrite()) return;
      this.segment = this.openClip({
        id: `${this.cam.id}-rec-${Math.round(frame.receivedAt)}`,
        eventId: undefined,
        kind: 'continuous',
        part: 1,
        start: frame.receivedAt,
        first: [frame],
        thumb: frame,
        region: null,
        seq: frame.seq,
      });
      return;
    }
    this.segment.writer.add(frame);
  }

  // ---------------------------------------------------------------- motion

  onMotion(ev: MotionEvent): void {
    if (ev.state === 'start') {
      if (!this.on || !this.host.canWrite()) return;
      // A new event during the last one's post-roll: that clip ends here, this one starts with its
      // own full pre-roll (the two clips may share a few seconds).
      if (this.clip) this.closeClip();
      const pre = this.ring?.toArray() ?? [];
      const thumb = this.cam.latest ?? pre.at(-1);
      if (!thumb) return;
      const id = this.uniqueId(safeId(ev.eventId));
      this.clip = this.openClip({
        id,
        eventId: ev.eventId,
        kind: 'motion',
        part: 1,
        start: pre[0]?.receivedAt ?? thumb.receivedAt,
        first: pre,
        thumb,
        region: ev.region ?? null,
        seq: ev.frameSeq ?? null,
      });
      this.clip.event = { firstId: id, frames: 0, durationS: 0, waiters: [], closed: undefined };
      const p = clipPaths(id);
      ev.recording = { clipUrl: this.host.url(p.clip), thumbnailUrl: this.host.url(p.thumbnail) };
      return;
    }
    const c = this.clip;
    if (!c || c.row.event_id !== ev.eventId || !c.event) return;
    const e = c.event;
    e.closed ??= new Promise((resolve) => e.waiters.push(resolve));
    const first = clipPaths(e.firstId);
    ev.recording = {
      clipUrl: this.host.url(first.clip),
      thumbnailUrl: this.host.url(first.thumbnail),
      closed: e.closed,
    };
    // From the last frame received (not the clock): the same frames end the clip however late this runs.
    c.postUntil = (this.cam.latest?.receivedAt ?? Date.now()) + this.host.settings.postMs;
    if (this.host.settings.postMs <= 0 || !this.cam.online) this.closeClip();
  }

  /** Once a second: end a post-roll the camera sends no frames for. */
  tick(now: number): void {
    const c = this.clip;
    if (c?.postUntil !== undefined && now >= c.postUntil + 1000) this.closeClip();
  }

  /** The camera went offline: close its clips now (no post-roll can come) and forget the pre-roll. */
  offline(): void {
    this.closeAll();
    this.ring?.clear();
  }

  /** Recording paused (disk) or stopping: close what is open. */
  closeAll(): void {
    this.closeClip();
    this.closeSegment();
  }

  stop(): Promise<unknown> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.ring = undefined;
    this.closeAll();
    return Promise.allSettled([...this.closing]);
  }

  private nextPart(frame: Frame): void {
    const c = this.clip!;
    const part = c.row.part + 1;
    const event = c.event;
    const postUntil = c.postUntil;
    this.closeClip(false);
    if (!this.host.canWrite()) return this.resolveEvent(event);
    this.clip = this.openClip({
      id: this.uniqueId(`${safeId(c.row.event_id)}_p${part}`),
      eventId: c.row.event_id,
      kind: 'motion',
      part,
      start: frame.receivedAt,
      first: [],
      thumb: frame,
      region: c.row.region,
      seq: frame.seq,
    });
    this.clip.event = event;
    this.clip.postUntil = postUntil;
  }

  private uniqueId(id: string): string {
    if (!this.host.index.get(id)) return id;
    for (let n = 2; ; n++) if (!this.host.index.get(`${id}_${n}`)) return `${id}_${n}`;
  }

  private openClip(o: {
    id: string;
    eventId: string | undefined;
    kind: 'motion' | 'continuous';
    part: number;
    start: number;
    first: Frame[];
    thumb: Frame;
    region: ClipRow['region'];
    seq: number | null;
  }): OpenClip {
    const { dir } = this.host.settings;
    const rel = path.join(this.cam.id, dayOf(o.start));
    const clipPath = path.join(rel, `${o.id}.avi`);
    const thumbPath = path.join(rel, `${o.id}.jpg`);
    const abs = path.join(dir, clipPath);
    const info = jpegDimensions(edgesOf(o.thumb).head) ?? { width: 640, height: 480 };
    // The folder exists before the writer opens its file (mkdir first, then open, in order).
    const ready = mkdir(path.join(dir, rel), { recursive: true });
    const writer = new ClipWriter(abs, info, (err) => this.host.writeFailed(err, abs), ready);
    const row: ClipRow = {
      id: o.id,
      event_id: o.eventId ?? o.id,
      camera: this.cam.id,
      kind: o.kind,
      part: o.part,
      start: Math.round(o.start),
      end: null,
      duration: 0,
      frames: 0,
      bytes: 0,
      thumb_bytes: jpegSize(o.thumb),
      clip_path: clipPath,
      thumb_path: thumbPath,
      region: o.region,
      snapshot_seq: o.seq,
      corrupt: 0,
      dropped: 0,
    };
    this.host.index.insert(row);
    this.host.pendingThumbs.set(o.id, o.thumb);
    void ready
      .then(() => writeThumb(path.join(dir, thumbPath), o.thumb))
      .then(
        () => this.host.pendingThumbs.delete(o.id),
        (err: NodeJS.ErrnoException) => {
          this.host.pendingThumbs.delete(o.id);
          this.host.writeFailed(err, path.join(dir, thumbPath));
        },
      );
    for (const f of o.first) writer.add(f);
    const open: OpenClip = { row, writer, postUntil: undefined, event: undefined };
    this.emit(row, 'open');
    this.host.log.info(
      `camera ${this.cam.id}: recording ${o.kind === 'motion' ? `motion event ${row.event_id}${o.part > 1 ? ` (part ${o.part})` : ''}` : 'a continuous segment'} to ${clipPath}${o.first.length > 1 ? ` with ${o.first.length} frames of pre-roll` : ''}`,
    );
    return open;
  }

  private closeClip(resolve = true): void {
    const c = this.clip;
    if (!c) return;
    this.clip = undefined;
    this.finish(c, resolve);
  }

  private closeSegment(): void {
    const s = this.segment;
    if (!s) return;
    this.segment = undefined;
    this.finish(s, false);
  }

  private finish(c: OpenClip, resolveEvent: boolean): void {
    const p = c.writer.close().then((fig) => {
      const row = c.row;
      row.frames = fig.frames;
      row.bytes = fig.bytes;
      row.duration = Math.round(fig.durationS * 100) / 100;
      row.dropped += fig.dropped;
      if (c.event) {
        c.event.frames += fig.frames;
        c.event.durationS += row.duration;
      }
      // A clip that failed to write stays "open" in the index: the next start (or resume) repairs it.
      if (!fig.error) {
        row.end = Math.round(row.start + fig.durationS * 1000);
        this.host.index.update(row);
        this.emit(row, 'closed');
        this.host.clipClosed(row);
      }
      if (resolveEvent) this.resolveEvent(c.event);
    });
    this.closing.add(p);
    void p.finally(() => this.closing.delete(p));
  }

  private resolveEvent(e: EventTotals | undefined): void {
    if (!e) return;
    const v = { durationS: Math.round(e.durationS * 100) / 100, frames: e.frames };
    for (const w of e.waiters.splice(0)) w(v);
    e.closed ??= Promise.resolve(v);
  }

  private emit(row: ClipRow, state: ClipEvent['state']): void {
    this.host.hub.clipEvent(clipEvent(this.cam, row, state));
  }
}

export function clipEvent(cam: Camera, row: ClipRow, state: ClipEvent['state']): ClipEvent {
  const p = clipPaths(row.id);
  return {
    camera: cam,
    state,
    id: row.id,
    eventId: row.event_id,
    kind: row.kind,
    start: row.start,
    end: row.end ?? undefined,
    durationS: row.duration,
    frames: row.frames,
    bytes: row.bytes,
    clipPath: p.clip,
    thumbnailPath: p.thumbnail,
  };
}

/** An event id as a file name: only [A-Za-z0-9_-] (camera ids and Unix ms already are). */
export function safeId(eventId: string): string {
  const s = eventId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 100);
  return /^[A-Za-z0-9]/.test(s) ? s : `e${s}`;
}

async function writeThumb(file: string, frame: Frame): Promise<void> {
  const fh = await open(file, 'w');
  try {
    await fh.writev(jpegSlices(frame) as Buffer[], 0);
  } finally {
    await fh.close();
  }
}
