import jpeg from 'jpeg-js';

/** A greyscale picture, one byte per pixel, row after row. */
export interface GreyImage {
  data: Uint8Array;
  width: number;
  height: number;
}

export type DecoderName = 'sharp' | 'jpeg-js';

type SharpFactory = typeof import('sharp');

let sharpLoad: Promise<SharpFactory | undefined> | undefined;

/**
 * sharp (libvips) decodes a JPEG at 1/2, 1/4 or 1/8 scale straight from the DCT ("shrink-on-load"), so a
 * VGA frame costs ~5 ms of CPU at 160 px wide, against ~36 ms for jpeg-js, which can only decode at full
 * size. sharp ships prebuilt libvips in its npm package; if it cannot load on a platform, jpeg-js is used.
 */
function loadSharp(): Promise<SharpFactory | undefined> {
  sharpLoad ??= import('sharp').then(
    (m) => {
      const s = (m as unknown as { default: SharpFactory }).default ?? (m as unknown as SharpFactory);
      // One libvips thread per picture (detection runs at a few fps per camera), and no operation cache.
      s.concurrency(1);
      s.cache(false);
      return s;
    },
    () => undefined,
  );
  return sharpLoad;
}

export class GreyDecoder {
  private sharp: SharpFactory | undefined;
  private ready: Promise<void> | undefined;
  name: DecoderName = 'jpeg-js';

  constructor(private readonly prefer: DecoderName | 'auto' = 'auto') {}

  init(): Promise<void> {
    this.ready ??= (async () => {
      if (this.prefer === 'jpeg-js') return;
      this.sharp = await loadSharp();
      if (this.sharp) this.name = 'sharp';
      else if (this.prefer === 'sharp') throw new Error('sharp is not available on this platform');
    })();
    return this.ready;
  }

  /** Decode to greyscale about `width` pixels wide (aspect kept). */
  async decode(jpegData: Buffer, width: number): Promise<GreyImage> {
    await this.init();
    if (this.sharp) {
      const { data, info } = await this.sharp(jpegData, { failOn: 'none', sequentialRead: true })
        .resize({ width, kernel: 'linear', fastShrinkOnLoad: true, withoutEnlargement: true })
        .greyscale()
        .raw()
        .toBuffer({ resolveWithObject: true });
      // Greyscale of a colour JPEG may still come out with one channel per pixel; make sure.
      if (info.channels !== 1)
        return { data: firstChannel(data, info.channels), width: info.width, height: info.height };
      return { data, width: info.width, height: info.height };
    }
    return decodeWithJpegJs(jpegData, width);
  }
}

function firstChannel(data: Buffer, channels: number): Uint8Array {
  const out = new Uint8Array(data.length / channels);
  for (let i = 0, j = 0; i < out.length; i++, j += channels) out[i] = data[j]!;
  return out;
}

/** Full-size decode, then a box-filter reduction to about `width` pixels wide. */
export function decodeWithJpegJs(jpegData: Buffer, width: number): GreyImage {
  const img = jpeg.decode(jpegData, {
    useTArray: true,
    formatAsRGBA: false,
    maxMemoryUsageInMB: 256,
    tolerantDecoding: true,
  });
  const W = img.width;
  const H = img.height;
  const f = Math.max(1, Math.floor(W / width));
  const w = Math.floor(W / f);
  const h = Math.floor(H / f);
  const out = new Uint8Array(w * h);
  const src = img.data;
  const n = f * f;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let sum = 0;
      for (let dy = 0; dy < f; dy++) {
        let o = ((y * f + dy) * W + x * f) * 3;
        for (let dx = 0; dx < f; dx++, o += 3) sum += (src[o]! * 77 + src[o + 1]! * 150 + src[o + 2]! * 29) >> 8;
      }
      out[y * w + x] = sum / n;
    }
  }
  return { data: out, width: w, height: h };
}
