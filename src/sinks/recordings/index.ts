import { mkdir, open, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Extension, ExtensionContext, ExtensionFactory } from '../../extension.js';
import type { Camera } from '../../hub/camera.js';
import type { Frame } from '../../hub/frame.js';
import type { Logger } from '../../logging.js';
import { registerEventRoutes } from './api.js';
import { ClipIndex, type ClipRow } from './db.js';
import { freeBytes, listClipFiles, removeFile, removeIfEmpty, repairClip, sizeOrZero } from './files.js';
import { CameraRecorder, clipEvent, type RecorderHost, type RecorderSettings, type RecordMode } from './recorder.js';

/** Errors that mean "this disk will not take the clip now": recording pauses and retries by itself. */
const DISK_ERRORS = new Set(['ENOSPC', 'EDQUOT', 'EACCES', 'EPERM', 'EROFS', 'EIO', 'ENOENT', 'ENOTDIR']);
/** How often free space is checked (and a paused recording tries again). */
const CHECK_MS = 5000;
/** How often retention runs (it also runs after each clip). */
const RETENTION_MS = 60_000;

export interface RecordingsOptions {
  /** The clock retention ages clips by (tests). */
  now?: () => number;
  /** Continuous segment length (tests; default an hour). */
  segmentMs?: number;
}

/**
 * Motion clips with pre-roll, continuous segments, the SQLite event index, retention and the events
 * API (docs/recordings.md). Listed before MQTT and the page in src/extensions.ts: its motion listener
 * adds the clip's URLs to the event before they publish it.
 */
export class RecordingsExtension implements Extension, RecorderHost {
  readonly name = 'recordings';
  readonly dir: string;
  readonly index: ClipIndex;
  readonly log: Logger;
  readonly settings: RecorderSettings;
  readonly pendingThumbs = new Map<string, Frame>();
  private readonly recorders = new Map<string, CameraRecorder>();
  private readonly now: () => number;
  /** Why recording is paused (low space, a write error), or undefined while it records. */
  paused: string | undefined;
  private pausedByError = false;
  private free: number | undefined;
  private checkTimer: NodeJS.Timeout | undefined;
  private retentionTimer: NodeJS.Timeout | undefined;
  private retaining: Promise<void> | undefined;
  private retainAgain = false;
  private indexClosed = false;
  stats = { removed: 0, repaired: 0, indexed: 0, writeErrors: 0 };

  constructor(
    private readonly ctx: ExtensionContext,
    opts: RecordingsOptions = {},
  ) {
    const r = ctx.config.recordings;
    this.log = ctx.logger.child({ mod: 'recordings' });
    this.dir = path.resolve(r.dir ?? path.join(ctx.dataDir, 'recordings'));
    this.now = opts.now ?? Date.now;
    this.settings = {
      dir: this.dir,
      preMs: r.pre_seconds * 1000,
      postMs: r.post_seconds * 1000,
      maxMs: r.max_seconds * 1000,
      maxPrerollBytes: r.max_preroll_bytes,
      segmentMs: opts.segmentMs ?? 3_600_000,
    };
    this.index = new ClipIndex(path.join(ctx.dataDir, 'recordings.sqlite'));
    registerEventRoutes(this, ctx.http);
  }

  get hub() {
    return this.ctx.hub;
  }

  url(p: string): string {
    return `${this.ctx.bridge.publicUrl}${p}`;
  }

  async start(): Promise<void> {
    const hub = this.ctx.hub;
    await mkdir(this.dir, { recursive: true }).catch((err: Error) =>
      this.pause(`recordings.dir ${this.dir} cannot be created: ${err.message}`, true),
    );
    await this.recover();
    const switches = this.index.switches();
    hub.listen(this, 'camera', (cam) => this.add(cam, switches));
    hub.listen(this, 'removed', (cam) => {
      void this.recorders.get(cam.id)?.stop();
      this.recorders.delete(cam.id);
    });
    hub.listen(this, 'offline', (cam) => this.recorders.get(cam.id)?.offline());
    // Cluster: a camera that moved to or from another instance records on its owner only (recorder.on).
    hub.listen(this, 'online', (cam) => this.recorders.get(cam.id)?.apply());
    hub.listen(this, 'motion', (ev) => this.recorders.get(ev.camera.id)?.onMotion(ev));
    hub.listen(this, 'recording', (cam) => {
      this.index.setSwitch(cam.id, cam.recording === true);
      this.recorders.get(cam.id)?.setSwitch(cam.recording === true);
    });
    hub.listen(this, 'stats', () => {
      const now = Date.now();
      for (const r of this.recorders.values()) r.tick(now);
    });
    for (const cam of hub.list()) this.add(cam, switches);
    await this.checkSpace();
    this.checkTimer = setInterval(() => void this.checkSpace(), CHECK_MS);
    this.checkTimer.unref();
    this.retentionTimer = setInterval(() => void this.retain(), RETENTION_MS);
    this.retentionTimer.unref();
    await this.retain();
  }

  async stop(): Promise<void> {
    clearInterval(this.checkTimer);
    clearInterval(this.retentionTimer);
    this.ctx.hub.unlisten(this);
    await Promise.allSettled([...this.recorders.values()].map((r) => r.stop()));
    while (this.retaining) await this.retaining;
    if (!this.indexClosed) this.index.close();
    this.indexClosed = true;
  }

  status(): Record<string, unknown> {
    let ringBytes = 0;
    let ringFrames = 0;
    let open = 0;
    let corrupt = 0;
    for (const r of this.recorders.values()) {
      ringBytes += r.ringBytes;
      ringFrames += r.ringFrames;
      open += r.openClips;
      corrupt += r.corrupt;
    }
    const t = !this.indexClosed ? this.index.totals() : { bytes: 0, clips: 0 };
    return {
      dir: this.dir,
      recording: [...this.recorders.values()].filter((r) => r.on).length,
      paused: this.paused ?? false,
      preroll_bytes: ringBytes,
      preroll_frames: ringFrames,
      open_clips: open,
      clips: t.clips,
      bytes: t.bytes,
      free_bytes: this.free ?? null,
      corrupt_frames: corrupt,
      ...this.stats,
    };
  }

  private add(cam: Camera, switches: Map<string, boolean>): void {
    if (this.recorders.has(cam.id)) return;
    const mode: RecordMode = this.ctx.config.cameras[cam.id]?.record ?? 'motion';
    cam.recording = switches.get(cam.id) ?? mode !== 'off';
    const r = new CameraRecorder(this, cam, mode);
    this.recorders.set(cam.id, r);
    r.apply();
    this.ctx.hub.emit('recording', cam);
  }

  // ---------------------------------------------------------------- disk

  canWrite(): boolean {
    return this.paused === undefined;
  }

  writeFailed(err: NodeJS.ErrnoException, file: string): void {
    this.stats.writeErrors++;
    if (DISK_ERRORS.has(err.code ?? '')) {
      this.pause(`writing ${file} failed: ${err.code} (${err.message})`, true);
    } else {
      this.log.error(`writing ${file} failed: ${err.message}`);
    }
  }

  private pause(reason: string, byError: boolean): void {
    if (this.paused !== undefined) return;
    this.paused = reason;
    this.pausedByError = byError;
    this.log.warn(`recording paused: ${reason}; live view goes on, recording resumes by itself`);
    for (const r of this.recorders.values()) r.closeAll();
  }

  /** Free space (and, after a write error, a probe write): pause below min_free_bytes, resume above. */
  private async checkSpace(): Promise<void> {
    const min = this.ctx.config.recordings.min_free_bytes;
    try {
      this.free = await freeBytes(this.dir);
    } catch (err) {
      this.free = undefined;
      this.pause(`recordings.dir ${this.dir} is not usable: ${(err as Error).message}`, true);
      return;
    }
    if (this.paused === undefined) {
      if (this.free < min)
        this.pause(`${this.free} bytes free on ${this.dir}, less than recordings.min_free_bytes (${min})`, false);
      return;
    }
    if (this.free < min) return;
    if (this.pausedByError && !(await this.probe())) return;
    this.log.info(`recording resumed: ${this.free} bytes free on ${this.dir}`);
    this.paused = undefined;
    this.pausedByError = false;
    await this.recover();
  }

  /** Can a file be written in the recordings dir (after EACCES or ENOSPC)? */
  private async probe(): Promise<boolean> {
    const file = path.join(this.dir, `.probe-${process.pid}`);
    try {
      await mkdir(this.dir, { recursive: true });
      const fh = await open(file, 'w');
      try {
        await fh.write(Buffer.alloc(64 * 1024));
      } finally {
        await fh.close();
        await unlink(file).catch(() => {});
      }
      return true;
    } catch {
      return false;
    }
  }

  // ---------------------------------------------------------------- startup: the index and the files

  /**
   * Rows still marked as being written (a crash, a full disk) and files without a row (a lost index,
   * a copied folder) get their clip repaired (index and header counts) and their row.
   */
  private async recover(): Promise<void> {
    const writing = new Set<string>();
    for (const r of this.recorders.values()) for (const id of r.openIds()) writing.add(id);
    for (const row of this.index.open()) {
      if (writing.has(row.id)) continue;
      await this.repairRow(row);
    }
    let files: string[];
    try {
      files = await listClipFiles(this.dir);
    } catch {
      return;
    }
    for (const rel of files) {
      if (this.index.hasPath(rel)) continue;
      await this.indexFile(rel);
    }
  }

  private async repairRow(row: ClipRow): Promise<void> {
    const abs = path.join(this.dir, row.clip_path);
    try {
      const r = await repairClip(abs);
      if (!r || r.frames === 0) {
        this.index.delete(row.id);
        await removeFile(abs);
        if (row.thumb_path) await removeFile(path.join(this.dir, row.thumb_path));
        return;
      }
      row.frames = r.frames;
      row.bytes = r.bytes;
      row.duration = Math.round(r.durationS * 100) / 100;
      row.end = Math.round(row.start + r.durationS * 1000);
      row.thumb_bytes = row.thumb_path ? await sizeOrZero(path.join(this.dir, row.thumb_path)) : 0;
      this.index.update(row);
      this.stats.repaired++;
      this.log.info(`clip ${row.clip_path} was cut short: repaired, ${r.frames} frames, ${row.duration} s`);
      const cam = this.ctx.hub.get(row.camera);
      if (cam) this.ctx.hub.clipEvent(clipEvent(cam, row, 'closed'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.index.delete(row.id);
        return;
      }
      this.log.warn(`clip ${row.clip_path} could not be repaired: ${(err as Error).message}`);
    }
  }

  private async indexFile(rel: string): Promise<void> {
    const abs = path.join(this.dir, rel);
    const [camera = '', , name = ''] = rel.split(path.sep);
    const id = name.slice(0, -4);
    try {
      const r = await repairClip(abs);
      if (!r) {
        this.log.warn(`${rel} is not a clip this bridge wrote: left alone, not indexed`);
        return;
      }
      const thumbRel = rel.replace(/\.avi$/, '.jpg');
      const thumbBytes = await sizeOrZero(path.join(this.dir, thumbRel));
      // Event ids end in the Unix ms of the event; else the file's time, minus its duration.
      const m = /-(\d{12,14})(?:_p\d+)?(?:_\d+)?$/.exec(id);
      const start = m ? Number(m[1]) : (await stat(abs)).mtimeMs - r.durationS * 1000;
      const part = /_p(\d+)/.exec(id);
      this.index.insert({
        id: this.index.get(id) ? `${id}_${Date.now()}` : id,
        event_id: id.replace(/_p\d+$/, ''),
        camera,
        kind: id.includes('-rec-') ? 'continuous' : 'motion',
        part: part ? Number(part[1]) : 1,
        start: Math.round(start),
        end: Math.round(start + r.durationS * 1000),
        duration: Math.round(r.durationS * 100) / 100,
        frames: r.frames,
        bytes: r.bytes,
        thumb_bytes: thumbBytes,
        clip_path: rel,
        thumb_path: thumbBytes > 0 ? thumbRel : null,
        region: null,
        snapshot_seq: null,
        corrupt: 0,
        dropped: 0,
      });
      this.stats.indexed++;
      this.log.info(`indexed ${rel} found without a row (${r.frames} frames${r.wasIndexed ? '' : ', repaired'})`);
    } catch (err) {
      this.log.warn(`${rel} could not be indexed: ${(err as Error).message}`);
    }
  }

  // ---------------------------------------------------------------- retention

  clipClosed(_row: ClipRow): void {
    void this.retain();
  }

  /** Remove clips older than retain_days, then the oldest until all fit in max_bytes. */
  retain(): Promise<void> {
    if (this.retaining) {
      this.retainAgain = true;
      return this.retaining;
    }
    const run = async () => {
      do {
        this.retainAgain = false;
        await this.retainOnce();
      } while (this.retainAgain);
    };
    this.retaining = run()
      .catch((err: Error) => this.log.warn(`retention failed: ${err.message}`))
      .finally(() => {
        this.retaining = undefined;
      });
    return this.retaining;
  }

  private async retainOnce(): Promise<void> {
    const r = this.ctx.config.recordings;
    if (r.retain_days > 0) {
      const cutoff = this.now() - r.retain_days * 86_400_000;
      for (;;) {
        const old = this.index.oldest(200, cutoff);
        if (old.length === 0) break;
        for (const row of old) await this.remove(row, `older than ${r.retain_days} days`);
      }
    }
    if (r.max_bytes > 0) {
      while (this.index.totals().bytes > r.max_bytes) {
        const [row] = this.index.oldest(1);
        if (!row) break;
        await this.remove(row, `recordings over recordings.max_bytes (${r.max_bytes})`);
      }
    }
  }

  /** Delete a clip: its files, its row, and tell the page. */
  async remove(row: ClipRow, why: string): Promise<void> {
    this.index.delete(row.id);
    const abs = path.join(this.dir, row.clip_path);
    await removeFile(abs).catch((err: Error) => this.log.warn(`could not remove ${abs}: ${err.message}`));
    if (row.thumb_path) await removeFile(path.join(this.dir, row.thumb_path)).catch(() => {});
    await removeIfEmpty(path.dirname(abs));
    this.stats.removed++;
    this.log.debug(`removed clip ${row.clip_path}: ${why}`);
    const cam = this.ctx.hub.get(row.camera);
    if (cam) this.ctx.hub.clipEvent(clipEvent(cam, row, 'removed'));
  }

  /** Is this clip being written right now? */
  isOpen(id: string): boolean {
    for (const r of this.recorders.values()) if (r.openIds().includes(id)) return true;
    return false;
  }
}

export const recordingsExtension: ExtensionFactory = (ctx) =>
  ctx.config.recordings.enabled ? new RecordingsExtension(ctx) : undefined;
