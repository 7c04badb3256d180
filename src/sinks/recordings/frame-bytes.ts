import { jpegComplete } from '../../formats/avi.js';
import { type Frame, isJpeg, jpegSlices, slicesAreJpeg } from '../../hub/frame.js';

// The JPEG's edges the recorder checks (SOI, SOF size, EOI) without joining a sliced frame
// (src/hub/frame.ts: writers use jpegSlices()/jpegSize() directly).

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

/**
 * Does the frame hold a whole JPEG (its FF D8 start marker, and FF D9 within its last 32 bytes)? Reads
 * a few bytes where they are, allocating nothing: it runs for every frame of every recording camera.
 */
export function jpegEdgesOk(frame: Frame): boolean {
  const s = frame.slices;
  if (s === undefined || s.length === 1) {
    const d = s === undefined ? frame.data : s[0]!;
    return isJpeg(d) && jpegComplete(d);
  }
  if (!slicesAreJpeg(s)) return false;
  // The last 32 bytes may straddle slices: walk back through them.
  let next = -1;
  let left = 32;
  for (let k = s.length - 1; k >= 0 && left > 0; k--) {
    const b = s[k]!;
    for (let i = b.length - 1; i >= 0 && left > 0; i--, left--) {
      const v = b[i]!;
      if (v === 0xff && next === 0xd9) return true;
      next = v;
    }
  }
  return false;
}
