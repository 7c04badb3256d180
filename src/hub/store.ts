import { readFileSync, renameSync } from 'node:fs';
import type { Logger } from '../logging.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { CAMERA_ID_RE } from '../util/slug.js';
import { ThrottledLog } from '../util/throttle-log.js';
import type { Camera } from './camera.js';
import { BOUNDS } from './hub.js';

/** Strings in the file are cut to the hub's bounds, so one entry stays under ~1.5 KB on disk. */
const clip = (v: string, n: number): string => (v.length > n ? `${v.slice(0, n - 1)}…` : v);
const caps = (v: unknown): string[] =>
  Array.isArray(v)
    ? v
        .filter((x): x is string => typeof x === 'string')
        .slice(0, BOUNDS.caps)
        .map((x) => x.slice(0, BOUNDS.cap))
    : [];

/** What survives a restart about a camera that connected once (`<dataDir>/cameras.json`). */
export interface StoredCamera {
  id: string;
  name: string;
  /** The name was set by the user (rename); a camera's hello name no longer replaces it. */
  renamed?: boolean;
  protocol?: string;
  model?: string;
  firmware?: string;
  capabilities: string[];
  /** ISO times. */
  first_seen: string;
  last_seen?: string;
}

interface FileShape {
  version: 1;
  cameras: Record<string, StoredCamera>;
}

/**
 * The known-camera store: cameras stay known (with their capabilities) while they are offline and
 * across restarts, so Home Assistant entities stay stable and stale ones can be told apart.
 * Writes are debounced and atomic (temp file, fsync, rename: util/atomic-write.ts).
 */
export class CameraStore {
  private cameras = new Map<string, StoredCamera>();
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private dirty = false;
  private readonly log: Logger;
  /** A flood of new camera ids evicts one old entry each: one line per minute says so. */
  private readonly evictLog: ThrottledLog;

  constructor(
    readonly file: string,
    logger: Logger,
    private readonly debounceMs = 1000,
    /** limits.max_cameras: entries kept at most; past it the longest-unseen camera is forgotten. */
    private readonly maxCameras = 256,
  ) {
    this.log = logger.child({ mod: 'store' });
    this.evictLog = new ThrottledLog(this.log, 60_000);
  }

  /** Read the file; a missing file is an empty store, a broken one is set aside (and logged). */
  load(): StoredCamera[] {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        this.log.warn(`cannot read ${this.file}: ${(err as Error).message}; starting with no known cameras`);
      return [];
    }
    let data: FileShape;
    try {
      data = JSON.parse(text) as FileShape;
      if (typeof data !== 'object' || data === null || typeof data.cameras !== 'object' || data.cameras === null)
        throw new Error('expected {"version":1,"cameras":{...}}');
    } catch (err) {
      const aside = `${this.file}.broken-${Date.now()}`;
      try {
        renameSync(this.file, aside);
      } catch {
        // leave it; it will be overwritten on the next save
      }
      this.log.warn(
        `${this.file} is not valid (${(err as Error).message}); moved to ${aside}, starting with no known cameras`,
      );
      return [];
    }
    for (const [id, c] of Object.entries(data.cameras)) {
      if (!CAMERA_ID_RE.test(id) || typeof c !== 'object' || c === null || typeof c.name !== 'string') {
        this.log.warn(`${this.file}: skipped invalid entry ${JSON.stringify(id)}`);
        continue;
      }
      const time = (t: unknown) => (typeof t === 'string' && !Number.isNaN(Date.parse(t)) ? t.slice(0, 40) : undefined);
      const lastSeen = time(c.last_seen);
      this.cameras.set(id, {
        id,
        name: clip(c.name, BOUNDS.name),
        ...(c.renamed ? { renamed: true } : {}),
        ...(typeof c.protocol === 'string' ? { protocol: c.protocol.slice(0, 16) } : {}),
        ...(typeof c.model === 'string' ? { model: clip(c.model, BOUNDS.name) } : {}),
        ...(typeof c.firmware === 'string' ? { firmware: clip(c.firmware, BOUNDS.name) } : {}),
        capabilities: caps(c.capabilities),
        first_seen: time(c.first_seen) ?? new Date().toISOString(),
        ...(lastSeen ? { last_seen: lastSeen } : {}),
      });
    }
    const over = this.cameras.size - this.maxCameras;
    if (over > 0) {
      const gone = this.evict(over);
      this.log.warn(
        `${this.file} holds ${this.cameras.size + over} cameras, more than limits.max_cameras (${this.maxCameras}): forgot the ${over} seen longest ago (${gone})`,
      );
      this.schedule();
    }
    return this.list();
  }

  list(): StoredCamera[] {
    return [...this.cameras.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  get(id: string): StoredCamera | undefined {
    return this.cameras.get(id);
  }

  /** Forget the `n` cameras seen longest ago (never seen counts as oldest); returns their ids. */
  private evict(n: number, keep?: string): string {
    const seen = (c: StoredCamera) => Date.parse(c.last_seen ?? c.first_seen) || 0;
    const victims = [...this.cameras.values()]
      .filter((c) => c.id !== keep)
      .sort((a, b) => seen(a) - seen(b))
      .slice(0, n);
    for (const v of victims) this.cameras.delete(v.id);
    const ids = victims.map((v) => v.id);
    return ids.length > 5 ? `${ids.slice(0, 5).join(', ')} and ${ids.length - 5} more` : ids.join(', ');
  }

  /** Record the camera's current identity; saves (debounced) only if something changed. */
  upsert(cam: Camera): void {
    const prev = this.cameras.get(cam.id);
    if (!prev && this.cameras.size >= this.maxCameras) {
      const gone = this.evict(this.cameras.size - this.maxCameras + 1, cam.id);
      this.evictLog.warn(
        `known cameras: limits.max_cameras (${this.maxCameras}) reached; forgot ${gone}, seen longest ago, to remember ${cam.id}`,
      );
    }
    const next: StoredCamera = {
      id: cam.id,
      name: clip(cam.name, BOUNDS.name),
      ...(cam.renamed ? { renamed: true } : {}),
      ...(cam.protocol ? { protocol: cam.protocol } : prev?.protocol ? { protocol: prev.protocol } : {}),
      ...(cam.model ? { model: cam.model } : prev?.model ? { model: prev.model } : {}),
      ...(cam.firmware ? { firmware: cam.firmware } : prev?.firmware ? { firmware: prev.firmware } : {}),
      capabilities: cam.capabilities.size > 0 || !prev ? [...cam.capabilities].sort() : prev.capabilities,
      first_seen: prev?.first_seen ?? new Date().toISOString(),
      ...(cam.lastSeen !== undefined
        ? { last_seen: new Date(cam.lastSeen).toISOString() }
        : prev?.last_seen
          ? { last_seen: prev.last_seen }
          : {}),
    };
    // last_seen alone does not justify a write; it is saved along with the next real change or on close.
    const same =
      prev !== undefined &&
      JSON.stringify({ ...prev, last_seen: undefined }) === JSON.stringify({ ...next, last_seen: undefined });
    this.cameras.set(cam.id, next);
    if (!same) this.schedule();
    else this.dirty = this.dirty || prev?.last_seen !== next.last_seen;
  }

  delete(id: string): void {
    if (this.cameras.delete(id)) this.schedule();
  }

  private schedule(): void {
    this.dirty = true;
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.save();
    }, this.debounceMs);
    this.timer.unref();
  }

  private serialize(): string {
    const data: FileShape = { version: 1, cameras: Object.fromEntries(this.list().map((c) => [c.id, c])) };
    return `${JSON.stringify(data, null, 2)}\n`;
  }

  /** Write now (async, serialised with other writes). */
  save(): Promise<void> {
    if (!this.dirty) return this.writing;
    this.dirty = false;
    const text = this.serialize();
    this.writing = this.writing.then(async () => {
      try {
        await writeFileAtomic(this.file, text);
      } catch (err) {
        this.log.warn(`cannot save known cameras to ${this.file}: ${(err as Error).message}`);
      }
    });
    return this.writing;
  }

  /** Write what is pending and stop the debounce timer (bridge stop). */
  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.save();
  }
}
