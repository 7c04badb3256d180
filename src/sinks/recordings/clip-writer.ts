import { writev } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import {
  type AviStreamInfo,
  aviHeader,
  CompactIndex,
  chunkHeader,
  emptyChunks,
  finishFields,
  HEADER,
  padding,
  putChunkHeads,
  TICKS_PER_SECOND,
  TickClock,
} from '../../formats/avi.js';
import { type Frame, jpegSize } from '../../hub/frame.js';

/** What a closed clip holds. */
export interface ClipFigures {
  frames: number;
  /** Bytes of the file. */
  bytes: number;
  durationS: number;
  /** Frames left out because the disk could not keep up (the queue bound). */
  dropped: number;
  /** Unix ms of the first and last frame. */
  start: number;
  end: number;
  /** The write error that ended the clip early, if any (ENOSPC, EACCES...). */
  error: NodeJS.ErrnoException | undefined;
}

/** Writes beyond this many queued bytes drop frames (a stalled NAS never grows memory). */
const MAX_QUEUED_BYTES = 32 * 1024 * 1024;
/**
 * Frames are written in batches, at most this long after they came (or once FLUSH_BYTES wait): one
 * writev a second instead of one per frame costs a tenth of the thread-pool round trips (the wake-ups
 * of a write per frame cost more than the copy into the page cache). A crash loses at most this much.
 */
const FLUSH_MS = 1000;
const FLUSH_BYTES = 1024 * 1024;
/** The chunk headers (a frame's empty chunks and its own header) are carved from arenas this big. */
const ARENA_BYTES = 16 * 1024;

/**
 * One AVI clip written as a stream: the header at once, each frame as it comes (one positional writev
 * per batch of frames: the chunk header, the frame's own Buffers and the pad byte), the index and the
 * header's counts at close. Frames queue while a write is under way; nothing is copied.
 */
export class ClipWriter {
  private fh: FileHandle | undefined;
  private readonly opening: Promise<void>;
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private pos = HEADER.bytes;
  private readonly index = new CompactIndex();
  private readonly clock = new TickClock();
  private prevCamera: number | undefined;
  private prevReceived = 0;
  private time = 0;
  private firstAt = 0;
  private lastAt = 0;
  private closed: Promise<ClipFigures> | undefined;
  frames = 0;
  bytes = 0;
  dropped = 0;
  error: NodeJS.ErrnoException | undefined;

  constructor(
    readonly path: string,
    info: AviStreamInfo,
    private readonly onError: (err: NodeJS.ErrnoException) => void,
    ready: Promise<unknown> = Promise.resolve(),
  ) {
    this.opening = ready
      .then(() => open(path, 'w'))
      .then(async (fh) => {
        this.fh = fh;
        await fh.write(aviHeader(info), 0, HEADER.bytes, 0);
      })
      .catch((err: NodeJS.ErrnoException) => this.fail(err));
  }

  /** Seconds from the first frame to the last one placed. */
  get seconds(): number {
    return this.clock.seconds;
  }

  get firstFrameAt(): number {
    return this.firstAt;
  }

  /**
   * The frame's time on the clip's clock: the camera's clock while it moves forward sanely (up to 10 s
   * between frames), else the bridge's receive time (a camera whose clock jumps).
   */
  private timeOf(frame: Frame): number {
    if (this.prevCamera === undefined) {
      this.time = frame.cameraTime;
    } else {
      let d = frame.cameraTime - this.prevCamera;
      if (!(d >= 0 && d < 10_000)) d = Math.max(0, frame.receivedAt - this.prevReceived);
      this.time += d;
    }
    this.prevCamera = frame.cameraTime;
    this.prevReceived = frame.receivedAt;
    return this.time;
  }

  /** Queue a frame (false if it was dropped: the clip failed, is closing, or the disk lags too far). */
  add(frame: Frame): boolean {
    if (this.error || this.closed) return false;
    const size = jpegSize(frame);
    if (this.queuedBytes + size > MAX_QUEUED_BYTES) {
      this.dropped++;
      return false;
    }
    const gap = this.clock.place(this.timeOf(frame));
    if (this.frames === 0) this.firstAt = frame.cameraTime;
    this.lastAt = frame.cameraTime;
    this.index.add(this.pos - HEADER.movi, gap, size);
    const q = this.queue;
    this.chunkHeads(gap, size);
    const slices = frame.slices;
    if (slices === undefined) q.push(frame.data);
    else for (const b of slices) q.push(b);
    const pad = padding(size);
    if (pad) q.push(pad);
    const n = 8 * gap + 8 + size + (size & 1);
    this.pos += n;
    this.queuedBytes += n;
    this.frames++;
    this.bytes += size;
    if (this.queuedBytes >= FLUSH_BYTES) this.kick();
    else this.flushTimer ??= setTimeout(this.onFlushTimer, FLUSH_MS).unref();
    return true;
  }

  private readonly onFlushTimer = () => this.kick();

  private arena = Buffer.allocUnsafe(0);
  private arenaAt = 0;

  /**
   * Queue the `gap` empty chunks before a frame and the frame's own chunk header as one Buffer, carved
   * from an arena (they are contiguous in the file): one small view per frame, not two new Buffers.
   */
  private chunkHeads(gap: number, size: number): void {
    const need = 8 * (gap + 1);
    if (need > ARENA_BYTES / 4) {
      if (gap > 0) this.queue.push(emptyChunks(gap));
      this.queue.push(chunkHeader(size));
      return;
    }
    if (this.arenaAt + need > this.arena.length) {
      this.arena = Buffer.allocUnsafe(ARENA_BYTES);
      this.arenaAt = 0;
    }
    const start = this.arenaAt;
    this.arenaAt = putChunkHeads(this.arena, start, gap, size);
    this.queue.push(this.arena.subarray(start, this.arenaAt));
  }

  private flushTimer: NodeJS.Timeout | undefined;

  private empties(n: number): void {
    this.queue.push(emptyChunks(n));
    this.pos += 8 * n;
    this.queuedBytes += 8 * n;
  }

  private kick(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.writing || this.error) return;
    this.writing = true;
    if (this.fh) this.writeBatch();
    else void this.opening.then(() => this.writeBatch());
  }

  /**
   * One positional writev of everything queued, then the next batch if more came meanwhile. A callback
   * on the file's fd rather than FileHandle.writev: no promise (and no async hooks) per batch.
   */
  private writeBatch(): void {
    if (this.queue.length === 0 || this.error || !this.fh) {
      this.writing = false;
      for (const w of this.idle.splice(0)) w();
      return;
    }
    const batch = this.queue;
    const n = this.queuedBytes;
    this.queue = [];
    this.queuedBytes = 0;
    writev(this.fh.fd, batch, HEADER.bytes + this.written, (err) => {
      if (err) this.fail(err);
      else this.written += n;
      this.writeBatch();
    });
  }

  private writing = false;
  private readonly idle: (() => void)[] = [];

  /** Resolves once no batch is being written. */
  private settled(): Promise<void> {
    return this.writing ? new Promise((resolve) => this.idle.push(resolve)) : Promise.resolve();
  }

  private written = 0;

  private fail(err: NodeJS.ErrnoException): void {
    if (this.error) return;
    this.error = err;
    this.queue = [];
    this.queuedBytes = 0;
    this.onError(err);
  }

  /**
   * Finish the file: the last frame's display time, idx1, and the header's sizes and counts. After a
   * write error the file keeps what reached the disk (a later startup indexes it).
   */
  close(): Promise<ClipFigures> {
    this.closed ??= this.finish();
    return this.closed;
  }

  private async finish(): Promise<ClipFigures> {
    if (!this.error && this.frames > 0) {
      const tail = this.clock.tail();
      if (tail > 0) {
        this.index.tail(this.pos - HEADER.movi, tail);
        this.empties(tail);
        this.clock.ticks += tail;
      }
    }
    await this.settled();
    if (this.queue.length > 0 && !this.error) {
      this.kick();
      await this.settled();
    }
    await this.opening;
    const fh = this.fh;
    const figures = (): ClipFigures => ({
      frames: this.frames,
      bytes: HEADER.bytes + this.written,
      durationS: this.clock.ticks / TICKS_PER_SECOND,
      dropped: this.dropped,
      start: this.firstAt,
      end: this.lastAt,
      error: this.error,
    });
    if (!fh) return figures();
    try {
      if (!this.error) {
        const index = this.index.idx1();
        const moviBytes = this.written;
        await fh.write(index, 0, index.length, HEADER.bytes + this.written);
        this.written += index.length;
        const x = this.index;
        await writeFields(
          fh,
          finishFields({
            ticks: x.ticks,
            moviBytes,
            indexBytes: index.length,
            maxChunk: x.maxChunk,
            frames: x.frames,
            bytes: x.bytes,
          }),
        );
      }
    } catch (err) {
      this.fail(err as NodeJS.ErrnoException);
    } finally {
      await fh.close().catch(() => {});
    }
    return figures();
  }
}

/** Write u32 LE values at their offsets (the header's placeholders). */
export async function writeFields(fh: FileHandle, fields: [number, number][]): Promise<void> {
  const b = Buffer.allocUnsafe(4);
  for (const [at, v] of fields) {
    b.writeUInt32LE(v >>> 0, 0);
    await fh.write(b, 0, 4, at);
  }
}
