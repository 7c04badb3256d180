// Atomic file replacement for the data dir (cameras.json, presets.json): write a temp file next to the
// target, fsync it, rename it over the target, fsync the directory. A crash (kill -9, power loss) or a
// full disk leaves either the old file or the new one, never half of one; on failure the temp file is
// removed and the error is thrown, the target untouched.
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';

export interface AtomicWriteOptions {
  /** File mode of the new file (default 0o666 minus the umask). */
  mode?: number;
}

let counter = 0;
/** Unique per process and call: two writers of the same file never share a temp file. */
const tempName = (file: string) => `${file}.${process.pid}.${++counter}.tmp`;

/** Replace `file` with `data` atomically (parent directories are created). */
export async function writeFileAtomic(
  file: string,
  data: string | Uint8Array,
  opts: AtomicWriteOptions = {},
): Promise<void> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true });
  const tmp = tempName(file);
  try {
    const fh = await open(tmp, 'w', opts.mode);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await syncDir(dir);
}

/** The same, synchronous (small files written on a request, such as the presets). */
export function writeFileAtomicSync(file: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): void {
  const dir = path.dirname(file);
  mkdirSync(dir, { recursive: true });
  const tmp = tempName(file);
  try {
    const fd = openSync(tmp, 'w', opts.mode);
    try {
      const buf = typeof data === 'string' ? Buffer.from(data) : data;
      for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off, buf.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // it may not exist (open failed)
    }
    throw err;
  }
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // directories cannot be opened for fsync on every platform (Windows); the rename is done anyway
  }
}

/** Make the rename itself durable. Best effort: not every platform can fsync a directory. */
async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // see writeFileAtomicSync
  }
}
