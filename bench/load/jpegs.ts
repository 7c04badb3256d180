import { jpegCycle } from '../../src/simulator/frames.js';

/**
 * Pre-encoded, realistic-size JPEGs (noise pushes the size up like a real scene does), so encoding
 * costs nothing during a run. Sizes follow the OV2640 table in shared/reference/streaming-and-peers.md.
 */
export const PROFILES = {
  VGA: { width: 640, height: 480, noise: 8, quality: 65 },      // ~25 KB
  SVGA: { width: 800, height: 600, noise: 8, quality: 67 },     // ~40 KB
  UXGA: { width: 1600, height: 1200, noise: 12, quality: 80 },  // ~310 KB
} as const;
export type Profile = keyof typeof PROFILES;

export function benchJpegs(profile: Profile, hue: number, count = 8): Buffer[] {
  const p = PROFILES[profile];
  return jpegCycle({ width: p.width, height: p.height, hue, cycle: count, noise: p.noise, quality: p.quality });
}
