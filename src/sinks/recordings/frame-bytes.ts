import type { Frame } from '../../hub/frame.js';

// How the recordings sink reads a frame's bytes without copying them: the one place that knows the
// shape of Frame's payload (src/hub/frame.ts).

/** The frame's JPEG as the Buffers to write (one writev: never joined into a new Buffer). */
export function buffersOf(frame: Frame): readonly Buffer[] {
  return [frame.data];
}

/** The JPEG's length in bytes. */
export function sizeOf(frame: Frame): number {
  return frame.data.length;
}

/** The first and last bytes of the JPEG (SOI and EOI checks), without joining slices. */
export function edgesOf(frame: Frame): { head: Buffer; tail: Buffer } {
  const d = frame.data;
  return { head: d.subarray(0, 64 * 1024), tail: d.subarray(Math.max(0, d.length - 32)) };
}
