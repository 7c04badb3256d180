import jpeg from 'jpeg-js';

/**
 * Synthetic camera pictures: a background in the camera's own colour, a white square that moves, and
 * a band of 8 black/white blocks at the top that encodes the frame's index in its cycle, so a test can
 * read which frame a browser shows from its pixels (JPEG keeps such big blocks intact).
 */
export interface FrameSpec {
  width: number;
  height: number;
  /** 0..359, the camera's colour. */
  hue: number;
  /** Frames in the cycle (at most 256: the band carries 8 bits). */
  cycle?: number;
  quality?: number;
  /** Add per-pixel noise to reach realistic JPEG sizes (benchmarks). */
  noise?: number;
  /** Keep the square still (a static scene for motion tests). */
  still?: boolean;
}

export const BAND_BITS = 8;

function hueToRgb(h: number, l = 0.35): [number, number, number] {
  const f = (n: number) => {
    const k = (n + h / 30) % 12;
    const a = 0.8 * Math.min(l, 1 - l);
    return Math.round(255 * (l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [f(0), f(8), f(4)];
}

export function renderRgba(spec: FrameSpec, index: number): Buffer {
  const { width: w, height: h } = spec;
  const cycle = spec.cycle ?? 32;
  const data = Buffer.alloc(w * h * 4);
  const [r, g, b] = hueToRgb(spec.hue);
  const band = Math.max(8, Math.floor(h / 8));
  const blockW = w / BAND_BITS;
  const sq = Math.max(8, Math.floor(h / 4));
  const pos = spec.still ? 0 : index / cycle;
  const sx = Math.floor((w - sq) * pos);
  const sy = Math.floor(band + (h - band - sq) / 2);
  let seed = index * 7919 + 17;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 4;
      let pr = r,
        pg = g,
        pb = b;
      if (y < band) {
        const bit = (index >> (BAND_BITS - 1 - Math.floor(x / blockW))) & 1;
        pr = pg = pb = bit ? 255 : 0;
      } else if (x >= sx && x < sx + sq && y >= sy && y < sy + sq) {
        pr = pg = pb = 240;
      } else if (spec.noise) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        const n = ((seed >> 16) % (2 * spec.noise + 1)) - spec.noise;
        pr = Math.max(0, Math.min(255, pr + n));
        pg = Math.max(0, Math.min(255, pg + n));
        pb = Math.max(0, Math.min(255, pb + n));
      }
      data[o] = pr;
      data[o + 1] = pg;
      data[o + 2] = pb;
      data[o + 3] = 255;
    }
  }
  return data;
}

/** Read the frame index back from decoded RGBA pixels (centre row of the band, centre of each block). */
export function readIndex(rgba: Uint8Array | Uint8ClampedArray, width: number, height: number): number {
  const band = Math.max(8, Math.floor(height / 8));
  const y = Math.floor(band / 2);
  let v = 0;
  for (let i = 0; i < BAND_BITS; i++) {
    const x = Math.floor((i + 0.5) * (width / BAND_BITS));
    const o = (y * width + x) * 4;
    const lum = (rgba[o]! + rgba[o + 1]! + rgba[o + 2]!) / 3;
    v = (v << 1) | (lum > 128 ? 1 : 0);
  }
  return v;
}

const cache = new Map<string, Buffer[]>();

/** The JPEG cycle for a spec, encoded once and shared by every simulated camera that uses it. */
export function jpegCycle(spec: FrameSpec): Buffer[] {
  const key = JSON.stringify(spec);
  let frames = cache.get(key);
  if (!frames) {
    const n = spec.cycle ?? 32;
    frames = [];
    for (let i = 0; i < n; i++)
      frames.push(
        Buffer.from(
          jpeg.encode({ data: renderRgba(spec, i), width: spec.width, height: spec.height }, spec.quality ?? 75).data,
        ),
      );
    cache.set(key, frames);
  }
  return frames;
}

export function parseSize(size: string): { width: number; height: number } {
  const m = /^(\d{2,5})x(\d{2,5})$/i.exec(size.trim());
  if (!m) throw new Error(`size "${size}": expected WIDTHxHEIGHT, e.g. 640x480`);
  return { width: Number(m[1]), height: Number(m[2]) };
}
