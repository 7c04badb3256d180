// AVI (RIFF) with one MJPEG video stream, written as a stream: the headers first, then each JPEG as a
// `00dc` chunk in `movi` as it arrives, and the `idx1` index at close (docs/recordings.md).
//
// AVI is constant-rate. Real frame times are kept with a fine tick (TICKS_PER_SECOND) and empty
// `00dc` chunks (8 bytes, no picture: "drop frames") for the ticks without a frame: ffmpeg, VLC and
// mpv advance the clock on them and show the previous picture. No JPEG byte is ever copied or repeated.
//
// While a clip is being written its header says "size 0" for RIFF and movi and 0 frames: ffmpeg then
// reads movi up to the end of the file, so a clip cut short by a crash plays up to its last whole
// frame. The recordings sink gives such a file its index and header counts at startup (scanChunks,
// idx1, finishFields).

/** Ticks per second of the AVI stream clock: frame times are rounded to 10 ms. */
export const TICKS_PER_SECOND = 100;

const AVIF_HASINDEX = 0x10;
const AVIF_ISINTERLEAVED = 0x100;
const AVIIF_KEYFRAME = 0x10;

/** Offsets in the header written by aviHeader() (fixed layout: 224 bytes). */
export const HEADER = {
  riffSize: 4,
  avihTotalFrames: 48,
  avihMaxBytesPerSec: 36,
  avihSuggestedBuffer: 60,
  strhLength: 140,
  strhSuggestedBuffer: 144,
  moviSize: 216,
  /** Where `movi`'s fourcc is: idx1 offsets count from here. */
  movi: 220,
  bytes: 224,
} as const;

export interface AviStreamInfo {
  width: number;
  height: number;
}

const fourcc = (b: Buffer, at: number, s: string) => b.write(s, at, 4, 'latin1');

/**
 * The file's first 224 bytes: RIFF/AVI, hdrl (avih, one strl with strh + strf for MJPG) and the start
 * of the movi LIST. Counts and sizes are 0 ("unknown, read to the end") until finishHeader() fills them.
 */
export function aviHeader(info: AviStreamInfo): Buffer {
  const b = Buffer.alloc(HEADER.bytes);
  fourcc(b, 0, 'RIFF');
  b.writeUInt32LE(0, 4); // RIFF size: 0 while writing
  fourcc(b, 8, 'AVI ');
  fourcc(b, 12, 'LIST');
  b.writeUInt32LE(192, 16); // hdrl: 4 + (8 + 56) + (8 + 116)
  fourcc(b, 20, 'hdrl');
  fourcc(b, 24, 'avih');
  b.writeUInt32LE(56, 28);
  // avih at 32: microseconds per frame, max bytes/s, padding, flags, total frames, initial frames,
  // streams, suggested buffer, width, height, 4 reserved.
  b.writeUInt32LE(Math.round(1_000_000 / TICKS_PER_SECOND), 32);
  b.writeUInt32LE(AVIF_HASINDEX | AVIF_ISINTERLEAVED, 44);
  b.writeUInt32LE(1, 56);
  b.writeUInt32LE(info.width, 64);
  b.writeUInt32LE(info.height, 68);
  fourcc(b, 88, 'LIST');
  b.writeUInt32LE(116, 92); // strl: 4 + (8 + 56) + (8 + 40)
  fourcc(b, 96, 'strl');
  fourcc(b, 100, 'strh');
  b.writeUInt32LE(56, 104);
  // strh at 108: type, handler, flags, priority+language, initial frames, scale, rate, start, length,
  // suggested buffer, quality, sample size, frame rectangle.
  fourcc(b, 108, 'vids');
  fourcc(b, 112, 'MJPG');
  b.writeUInt32LE(1, 128); // scale
  b.writeUInt32LE(TICKS_PER_SECOND, 132); // rate
  b.writeInt32LE(-1, 148); // quality: default
  b.writeUInt16LE(Math.min(info.width, 0xffff), 160);
  b.writeUInt16LE(Math.min(info.height, 0xffff), 162);
  fourcc(b, 164, 'strf');
  b.writeUInt32LE(40, 168);
  // BITMAPINFOHEADER at 172.
  b.writeUInt32LE(40, 172);
  b.writeInt32LE(info.width, 176);
  b.writeInt32LE(info.height, 180);
  b.writeUInt16LE(1, 184); // planes
  b.writeUInt16LE(24, 186); // bits per pixel
  fourcc(b, 188, 'MJPG');
  b.writeUInt32LE(info.width * info.height * 3, 192);
  fourcc(b, 212, 'LIST');
  b.writeUInt32LE(0, 216); // movi size: 0 while writing
  fourcc(b, 220, 'movi');
  return b;
}

/** The 8-byte header of a `00dc` chunk of `size` bytes. */
export function chunkHeader(size: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  putChunkHeads(b, 0, 0, size);
  return b;
}

/** `00dc` as a little-endian u32. */
const DC = Buffer.from('00dc', 'latin1').readUInt32LE(0);

/**
 * Writes into `b` at `at` the `gap` empty `00dc` chunks before a frame, then the header of the frame's
 * own `size`-byte chunk (they are contiguous in the file); returns where they end.
 */
export function putChunkHeads(b: Buffer, at: number, gap: number, size: number): number {
  for (let i = 0; i < gap; i++, at += 8) {
    b.writeUInt32LE(DC, at);
    b.writeUInt32LE(0, at + 4);
  }
  b.writeUInt32LE(DC, at);
  b.writeUInt32LE(size, at + 4);
  return at + 8;
}

/** `n` empty `00dc` chunks (drop frames: the clock moves on, the picture stays). */
export function emptyChunks(n: number): Buffer {
  // Shared and never written to: a frame's gap is a view of it, not a new Buffer per frame.
  if (n <= EMPTY_SHARED) return EMPTY.subarray(0, 8 * n);
  return makeEmpty(n);
}

function makeEmpty(n: number): Buffer {
  const b = Buffer.alloc(8 * n);
  for (let i = 0; i < n; i++) fourcc(b, i * 8, '00dc');
  return b;
}

const EMPTY_SHARED = 1024;
const EMPTY = makeEmpty(EMPTY_SHARED);

const PAD = Buffer.alloc(1);
/** The pad byte after an odd-sized chunk (RIFF chunks start on even offsets). */
export const padding = (size: number): Buffer | undefined => (size & 1 ? PAD : undefined);

/**
 * A clip's index kept compactly while it is written (an hour-long segment has 360 000 chunks, most of
 * them empty): per frame, the offset of its first chunk (the empty ones before it come first), the
 * number of empty chunks before it and its size: 12 bytes a frame instead of an object per chunk.
 */
export class CompactIndex {
  private data = new Uint32Array(3 * 1024);
  frames = 0;
  /** Empty chunks after the last frame (the last frame's display time). */
  tailEmpties = 0;
  private tailOffset = 0;
  ticks = 0;
  maxChunk = 0;
  bytes = 0;

  /** A frame of `size` bytes whose first chunk (of `gap` empty ones, then the frame) is at `offset`. */
  add(offset: number, gap: number, size: number): void {
    if ((this.frames + 1) * 3 > this.data.length) {
      const d = new Uint32Array(this.data.length * 2);
      d.set(this.data);
      this.data = d;
    }
    const o = this.frames * 3;
    this.data[o] = offset;
    this.data[o + 1] = gap;
    this.data[o + 2] = size;
    this.frames++;
    this.ticks += gap + 1;
    this.bytes += size;
    if (size > this.maxChunk) this.maxChunk = size;
  }

  /** Empty chunks at `offset` after the last frame. */
  tail(offset: number, n: number): void {
    this.tailOffset = offset;
    this.tailEmpties = n;
    this.ticks += n;
  }

  /** Every frame with its tick, in order. */
  list(): { tick: number; pos: number; size: number }[] {
    const out: { tick: number; pos: number; size: number }[] = [];
    let tick = 0;
    for (let i = 0; i < this.frames; i++) {
      const gap = this.data[i * 3 + 1]!;
      tick += gap;
      out.push({ tick, pos: HEADER.movi + this.data[i * 3]! + gap * 8 + 8, size: this.data[i * 3 + 2]! });
      tick++;
    }
    return out;
  }

  /** The idx1 chunk. */
  idx1(): Buffer {
    const b = Buffer.allocUnsafe(8 + this.ticks * 16);
    fourcc(b, 0, 'idx1');
    b.writeUInt32LE(this.ticks * 16, 4);
    let at = 8;
    const empty = (offset: number) => {
      fourcc(b, at, '00dc');
      b.writeUInt32LE(0, at + 4);
      b.writeUInt32LE(offset, at + 8);
      b.writeUInt32LE(0, at + 12);
      at += 16;
    };
    for (let i = 0; i < this.frames; i++) {
      const off = this.data[i * 3]!;
      const gap = this.data[i * 3 + 1]!;
      const size = this.data[i * 3 + 2]!;
      for (let j = 0; j < gap; j++) empty(off + j * 8);
      fourcc(b, at, '00dc');
      b.writeUInt32LE(AVIIF_KEYFRAME, at + 4);
      b.writeUInt32LE(off + gap * 8, at + 8);
      b.writeUInt32LE(size, at + 12);
      at += 16;
    }
    for (let j = 0; j < this.tailEmpties; j++) empty(this.tailOffset + j * 8);
    return b;
  }
}

export interface Finish {
  /** Ticks (chunks, empty ones included) in movi. */
  ticks: number;
  /** Bytes of movi's content after its fourcc (the chunks). */
  moviBytes: number;
  /** Bytes of the idx1 chunk. */
  indexBytes: number;
  /** Largest chunk payload (suggested buffer size). */
  maxChunk: number;
  /** Frames with a picture and the clip's duration in seconds (for max bytes/s). */
  frames: number;
  bytes: number;
}

/** The header fields to write over the placeholders at close: [offset, value] pairs (u32 LE). */
export function finishFields(f: Finish): [number, number][] {
  const seconds = f.ticks / TICKS_PER_SECOND;
  return [
    [HEADER.riffSize, HEADER.bytes - 8 + f.moviBytes + f.indexBytes],
    [HEADER.avihTotalFrames, f.ticks],
    [HEADER.avihMaxBytesPerSec, seconds > 0 ? Math.min(0xffffffff, Math.ceil(f.bytes / seconds)) : 0],
    [HEADER.avihSuggestedBuffer, f.maxChunk],
    [HEADER.strhLength, f.ticks],
    [HEADER.strhSuggestedBuffer, f.maxChunk],
    [HEADER.moviSize, 4 + f.moviBytes],
  ];
}

/** Apply finishFields to a header Buffer (tests and repair). */
export function finishHeader(header: Buffer, f: Finish): Buffer {
  for (const [at, v] of finishFields(f)) header.writeUInt32LE(v >>> 0, at);
  return header;
}

/**
 * The tick clock of one clip: each frame goes at its real time (ms), rounded to ticks from the clip's
 * first frame, so rounding never drifts. A frame that rounds to a tick already used takes the next one.
 */
export class TickClock {
  private t0: number | undefined;
  private last = 0;
  /** Ticks (chunks) placed so far. */
  ticks = 0;
  frames = 0;

  /** Place a frame captured at `timeMs`: returns the empty chunks to write before it. */
  place(timeMs: number): number {
    if (this.t0 === undefined) this.t0 = timeMs;
    const tick = Math.round(((timeMs - this.t0) * TICKS_PER_SECOND) / 1000);
    const gap = Math.max(0, tick - this.ticks);
    this.ticks += gap + 1;
    this.frames++;
    this.last = timeMs;
    return gap;
  }

  /**
   * Empty chunks to end the clip with, so that its last frame is shown as long as the clip's frames
   * are on average (a clip of n frames at 10 fps lasts n / 10 s, as it did in real time).
   */
  tail(): number {
    if (this.frames < 2 || this.t0 === undefined) return 0;
    const avgTicks = ((this.last - this.t0) * TICKS_PER_SECOND) / 1000 / (this.frames - 1);
    return Math.max(0, Math.round(avgTicks) - 1);
  }

  /** Real duration of the ticks placed, in seconds. */
  get seconds(): number {
    return this.ticks / TICKS_PER_SECOND;
  }
}

export interface Scan {
  /** Every whole `00dc` chunk of movi, in order (the empty ones counted, not listed). */
  index: CompactIndex;
  /** Bytes of movi's whole chunks. */
  moviBytes: number;
  /** File offset just past the last whole chunk (where idx1 goes). */
  end: number;
  /** The file already had an idx1 after movi. */
  indexed: boolean;
}

/** Read the stream info from a header written by aviHeader(), or undefined if it is not one. */
export function readHeader(head: Buffer): AviStreamInfo | undefined {
  if (head.length < HEADER.bytes) return undefined;
  if (head.toString('latin1', 0, 4) !== 'RIFF' || head.toString('latin1', 8, 12) !== 'AVI ') return undefined;
  if (head.toString('latin1', 212, 216) !== 'LIST' || head.toString('latin1', 220, 224) !== 'movi') return undefined;
  if (head.toString('latin1', 112, 116) !== 'MJPG') return undefined;
  return { width: head.readUInt32LE(64), height: head.readUInt32LE(68) };
}

/** Reads `length` bytes at `position` (fewer at the end of the file). */
export type ReadAt = (position: number, length: number) => Promise<Buffer>;

const SCAN_BLOCK = 1 << 20;

/**
 * Walk the chunks of movi from the file's offset HEADER.bytes on: every whole `00dc` chunk, up to the
 * first incomplete or foreign one (what a crash leaves). A closed file stops at its idx1. Reads the
 * chunk headers through a 1 MiB window, never a whole JPEG it does not need.
 */
export async function scanChunks(read: ReadAt, fileSize: number): Promise<Scan> {
  const index = new CompactIndex();
  let at = HEADER.bytes;
  let indexed = false;
  let win: Buffer = Buffer.alloc(0);
  let winAt = 0;
  let gap = 0;
  let gapAt = 0;
  while (at + 8 <= fileSize) {
    if (at < winAt || at + 8 > winAt + win.length) {
      winAt = at;
      win = await read(at, SCAN_BLOCK);
      if (win.length < 8) break;
    }
    const o = at - winAt;
    const tag = win.toString('latin1', o, o + 4);
    const size = win.readUInt32LE(o + 4);
    if (tag === 'idx1') {
      indexed = at + 8 + size <= fileSize;
      break;
    }
    if (tag !== '00dc' || at + 8 + size > fileSize) break;
    if (size === 0) {
      if (gap === 0) gapAt = at - HEADER.movi;
      gap++;
    } else {
      index.add(gap > 0 ? gapAt : at - HEADER.movi, gap, size);
      gap = 0;
    }
    at += 8 + size + (size & 1);
  }
  if (gap > 0) index.tail(gapAt, gap);
  const end = Math.min(at, fileSize);
  return { index, moviBytes: end - HEADER.bytes, end, indexed };
}

/** Width and height from a JPEG's SOF marker, or undefined if none is found in the first 64 KiB. */
export function jpegDimensions(jpeg: Buffer): AviStreamInfo | undefined {
  let i = 2;
  const end = Math.min(jpeg.length, 65536);
  while (i + 9 < end) {
    if (jpeg[i] !== 0xff) {
      i++;
      continue;
    }
    const m = jpeg[i + 1]!;
    if (m === 0xff || m === 0x01 || (m >= 0xd0 && m <= 0xd7)) {
      i += m === 0xff ? 1 : 2;
      continue;
    }
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc)
      return { height: jpeg.readUInt16BE(i + 5), width: jpeg.readUInt16BE(i + 7) };
    i += 2 + jpeg.readUInt16BE(i + 2);
  }
  return undefined;
}

/** Does the JPEG end with its EOI marker (FF D9), allowing a few bytes of padding after it? */
export function jpegComplete(jpeg: Buffer): boolean {
  for (let i = jpeg.length - 2, stop = Math.max(2, jpeg.length - 32); i >= stop; i--)
    if (jpeg[i] === 0xff && jpeg[i + 1] === 0xd9) return true;
  return false;
}
