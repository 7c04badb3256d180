/**
 * One JPEG from a camera. Parsed once by its source; the same object (and Buffers) reaches every sink.
 * A sink derives what it sends from it once per frame and gives the result to all its consumers.
 *
 * A frame is one Buffer (dial-in cameras: a view of the WebSocket message) or, for pulled MJPEG
 * streams, the list of socket chunks it arrived in (`slices`, views, never copied). Writers send the
 * slices (`jpegSlices`, one corked writev); consumers that need contiguous bytes (decoders, MQTT,
 * snapshots) read `data`, which joins the slices on first use, once per frame, and keeps the result.
 */
export interface Frame {
  /** The JPEG in one contiguous Buffer. On a sliced frame this joins the slices once (memoized). */
  readonly data: Buffer;
  /** The JPEG as received, in order; absent means `[data]`. Use jpegSlices(). */
  readonly slices?: readonly Buffer[];
  /** JPEG bytes; absent means `data.length`. Use jpegSize(), which never joins. */
  readonly size?: number;
  /** Camera's sequence number (native) or the bridge's count (legacy, pulled). */
  readonly seq: number;
  /** Capture time in Unix ms: the camera's clock when it has one, else the receive time. */
  readonly cameraTime: number;
  /** Bridge receive time, Unix ms. */
  readonly receivedAt: number;
}

/** The frame's JPEG as Buffers to write in order (no copy). */
export function jpegSlices(f: Frame): readonly Buffer[] {
  return f.slices ?? [f.data];
}

/** The frame's JPEG length in bytes, without joining a sliced frame. */
export function jpegSize(f: Frame): number {
  return f.size ?? f.data.length;
}

/**
 * A frame made of socket chunks. `data` is joined on first access only (a frame nobody decodes or
 * publishes is never copied), then kept, so every contiguous consumer shares one copy.
 */
export class SlicedFrame implements Frame {
  readonly size: number;
  private joined: Buffer | undefined;

  constructor(
    readonly slices: readonly Buffer[],
    readonly seq: number,
    readonly cameraTime: number,
    readonly receivedAt: number,
  ) {
    let n = 0;
    for (const s of slices) n += s.length;
    this.size = n;
    if (slices.length === 1) this.joined = slices[0];
  }

  get data(): Buffer {
    this.joined ??= Buffer.concat(this.slices as Buffer[], this.size);
    return this.joined;
  }
}

/** Does `buf` hold a JPEG from `at` on (its FF D8 start marker, and room for the end marker)? */
export function isJpeg(buf: Buffer, at = 0): boolean {
  return buf.length >= at + 4 && buf[at] === 0xff && buf[at + 1] === 0xd8;
}

/** isJpeg() for a JPEG in slices (its start marker may straddle the first two). */
export function slicesAreJpeg(slices: readonly Buffer[]): boolean {
  const a = slices[0];
  if (!a) return false;
  let size = 0;
  for (const s of slices) size += s.length;
  if (size < 4) return false;
  const b0 = a[0];
  const b1 = a.length > 1 ? a[1] : slices[1]?.[0];
  return b0 === 0xff && b1 === 0xd8;
}
