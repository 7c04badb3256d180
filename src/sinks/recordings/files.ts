import { open, readdir, rmdir, stat, statfs, unlink } from 'node:fs/promises';
import path from 'node:path';
import { finishFields, HEADER, readHeader, scanChunks, TICKS_PER_SECOND } from '../../formats/avi.js';
import { writeFields } from './clip-writer.js';

/** A clip's file name without extension: its id (event ids are `<camera>-<unix ms>`). */
export const CLIP_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

/** `YYYY-MM-DD` of a Unix ms time in the bridge's local time zone (the folder a person looks in). */
export function dayOf(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

export interface FrameRef {
  /** Tick of the frame (1/TICKS_PER_SECOND s from the clip's start). */
  tick: number;
  /** File offset of the JPEG's first byte, and its length. */
  pos: number;
  size: number;
}

/** The frames of an AVI clip with their ticks, read from its chunks (closed, open or cut short). */
export async function readFrames(file: string): Promise<{ frames: FrameRef[]; ticks: number } | undefined> {
  const fh = await open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    const head = Buffer.alloc(HEADER.bytes);
    await fh.read(head, 0, HEADER.bytes, 0);
    if (!readHeader(head)) return undefined;
    const scan = await scanChunks(async (p, n) => {
      const b = Buffer.allocUnsafe(Math.min(n, Math.max(0, size - p)));
      const { bytesRead } = await fh.read(b, 0, b.length, p);
      return b.subarray(0, bytesRead);
    }, size);
    return { frames: scan.index.list(), ticks: scan.index.ticks };
  } finally {
    await fh.close();
  }
}

export interface Repaired {
  frames: number;
  bytes: number;
  durationS: number;
  /** It was already whole (had its idx1). */
  wasIndexed: boolean;
}

/**
 * Give a clip cut short (crash, power loss, full disk) its index and header counts: scan movi's whole
 * chunks, cut off a half-written one, write idx1 after them and fix the sizes. A whole file is left
 * as it is. undefined: not an AVI this bridge wrote.
 */
export async function repairClip(file: string): Promise<Repaired | undefined> {
  const fh = await open(file, 'r+');
  try {
    const size = (await fh.stat()).size;
    const head = Buffer.alloc(HEADER.bytes);
    const { bytesRead } = await fh.read(head, 0, HEADER.bytes, 0);
    if (bytesRead < HEADER.bytes || !readHeader(head)) return undefined;
    const scan = await scanChunks(async (p, n) => {
      const b = Buffer.allocUnsafe(Math.min(n, Math.max(0, size - p)));
      const r = await fh.read(b, 0, b.length, p);
      return b.subarray(0, r.bytesRead);
    }, size);
    const x = scan.index;
    if (!scan.indexed) {
      const index = x.idx1();
      await fh.truncate(scan.end);
      await fh.write(index, 0, index.length, scan.end);
      await writeFields(
        fh,
        finishFields({
          ticks: x.ticks,
          moviBytes: scan.moviBytes,
          indexBytes: index.length,
          maxChunk: x.maxChunk,
          frames: x.frames,
          bytes: x.bytes,
        }),
      );
      await fh.sync();
    }
    return {
      frames: x.frames,
      bytes: (await fh.stat()).size,
      durationS: x.ticks / TICKS_PER_SECOND,
      wasIndexed: scan.indexed,
    };
  } finally {
    await fh.close();
  }
}

/** Every `<camera>/<YYYY-MM-DD>/<id>.avi` under `dir`, as paths relative to it. */
export async function listClipFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const entries = async (p: string) => {
    try {
      return await readdir(p, { withFileTypes: true });
    } catch {
      return [];
    }
  };
  for (const cam of await entries(dir)) {
    if (!cam.isDirectory()) continue;
    for (const day of await entries(path.join(dir, cam.name))) {
      if (!day.isDirectory() || !/^\d{4}-\d{2}-\d{2}$/.test(day.name)) continue;
      for (const f of await entries(path.join(dir, cam.name, day.name)))
        if (f.isFile() && f.name.endsWith('.avi') && CLIP_ID_RE.test(f.name.slice(0, -4)))
          out.push(path.join(cam.name, day.name, f.name));
    }
  }
  return out;
}

/** Size of a file, 0 if it is gone. */
export async function sizeOrZero(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
}

/** Remove a file; a missing one is fine. */
export async function removeFile(file: string): Promise<void> {
  try {
    await unlink(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Remove a directory if it is empty (a day's folder after its last clip went). */
export async function removeIfEmpty(dir: string): Promise<void> {
  await rmdir(dir).catch(() => {});
}

/** Free bytes for this process on the file system holding `dir`. */
export async function freeBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}
