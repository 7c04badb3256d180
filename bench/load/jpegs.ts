import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jpegCycle } from '../../src/simulator/frames.js';

/**
 * Pre-encoded, realistic-size JPEGs (noise pushes the size up like a real scene does), so encoding
 * costs nothing during a run. Sizes follow the OV2640 table in shared/reference/streaming-and-peers.md.
 */
export const PROFILES = {
  VGA: { width: 640, height: 480, noise: 8, quality: 65 }, // ~25 KB
  SVGA: { width: 800, height: 600, noise: 8, quality: 67 }, // ~40 KB
  UXGA: { width: 1600, height: 1200, noise: 12, quality: 80 }, // ~310 KB
} as const;
export type Profile = keyof typeof PROFILES;

// Encoding a UXGA cycle takes seconds in pure JS: keep them on disk between runs and processes.
const CACHE = path.join(tmpdir(), 'cam2mqtt-bench-jpegs');

export function benchJpegs(profile: Profile, hue: number, count = 8): Buffer[] {
  const p = PROFILES[profile];
  const spec = { width: p.width, height: p.height, hue, cycle: count, noise: p.noise, quality: p.quality };
  const file = path.join(CACHE, `${profile}-${p.noise}-${p.quality}-${hue}-${count}.bin`);
  try {
    const blob = readFileSync(file);
    const out: Buffer[] = [];
    for (let o = 0; o < blob.length; ) {
      const n = blob.readUInt32BE(o);
      out.push(blob.subarray(o + 4, o + 4 + n));
      o += 4 + n;
    }
    if (out.length === count) return out;
  } catch {
    // not cached yet
  }
  const frames = jpegCycle(spec);
  mkdirSync(CACHE, { recursive: true });
  const parts: Buffer[] = [];
  for (const f of frames) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(f.length);
    parts.push(len, f);
  }
  writeFileSync(file, Buffer.concat(parts));
  return frames;
}
