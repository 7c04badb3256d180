import { type Frame, jpegSize, jpegSlices } from '../../hub/frame.js';

// How the recordings sink reads a frame's bytes without copying them: a pulled frame is a list of
// socket slices (src/hub/frame.ts), written as they are and never joined.

/** The frame's JPEG as the Buffers to write (one writev: never joined into a new Buffer). */
export function buffersOf(frame: Frame): readonly Buffer[] {
  return jpegSlices(frame);
}

/** The JPEG's length in bytes. */
export function sizeOf(frame: Frame): number {
  return jpegSize(frame);
}

/**
 * Up to 64 KiB from the start (for SOI and the SOF's size) and the last 32 bytes (EOI) of the JPEG,
 * copied only when they straddle slices (a few bytes, never the picture).
 */
export function edgesOf(frame: Frame): { head: Buffer; tail: Buffer } {
  const slices = jpegSlices(frame);
  if (slices.length === 1) {
    const d = slices[0]!;
    return { head: d.subarray(0, 64 * 1024), tail: d.subarray(Math.max(0, d.length - 32)) };
  }
  return { head: gather(slices, 64 * 1024, false), tail: gather(slices, 32, true) };
}

function gather(slices: readonly Buffer[], n: number, fromEnd: boolean): Buffer {
  const parts: Buffer[] = [];
  let left = n;
  const order = fromEnd ? [...slices].reverse() : slices;
  for (const s of order) {
    if (left <= 0) break;
    const take = Math.min(left, s.length);
    parts.push(fromEnd ? s.subarray(s.length - take) : s.subarray(0, take));
    left -= take;
  }
  if (fromEnd) parts.reverse();
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}
