import { readFileSync, renameSync } from 'node:fs';
import type { Logger } from '../logging.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { CAMERA_ID_RE } from '../util/slug.js';
import type { Camera } from './camera.js';

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

  constructor(
    readonly file: string,
    logger: Logger,
    private readonly debounceMs = 1000,
  ) {
    this.log = logger.child({ mod: 'store' });
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
      this.cameras.set(id, {
        id,
        name: c.name,
        ...(c.renamed ? { renamed: true } : {}),
        ...(typeof c.protocol === 'string' ? { protocol: c.protocol } : {}),
        ...(typeof c.model === 'string' ? { model: c.model } : {}),
        ...(typeof c.firmware === 'string' ? { firmware: c.firmware } : {}),
        capabilities: Array.isArray(c.capabilities)
          ? c.capabilities.filter((x): x is string => typeof x === 'string')
          : [],
        first_seen: typeof c.first_seen === 'string' ? c.first_seen : new Date().toISOString(),
        ...(typeof c.last_seen === 'string' ? { last_seen: c.last_seen } : {}),
      });
    }
    return this.list();
  }

  list(): StoredCamera[] {
    return [...this.cameras.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  get(id: string): StoredCamera | undefined {
    return this.cameras.get(id);
  }

  /** Record the camera's current identity; saves (debounced) only if something changed. */
  upsert(cam: Camera): void {
    const prev = this.cameras.get(cam.id);
    const next: StoredCamera = {
      id: cam.id,
      name: cam.name,
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
