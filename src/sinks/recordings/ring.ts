import { type Frame, jpegSize } from '../../hub/frame.js';

/**
 * The last seconds of one camera's frames, held by reference (the Frame the source made, never a copy
 * of its bytes), bounded by seconds and by bytes: the oldest frames leave first.
 */
export class PrerollRing {
  private frames: Frame[] = [];
  private head = 0;
  bytes = 0;

  constructor(
    private readonly maxMs: number,
    private readonly maxBytes: number,
  ) {}

  push(frame: Frame): void {
    if (this.maxMs <= 0) return;
    this.frames.push(frame);
    this.bytes += jpegSize(frame);
    const oldest = frame.receivedAt - this.maxMs;
    while (this.head < this.frames.length - 1) {
      const f = this.frames[this.head]!;
      if (f.receivedAt >= oldest && this.bytes <= this.maxBytes) break;
      this.bytes -= jpegSize(f);
      this.frames[this.head++] = undefined as never;
    }
    // Compact now and then rather than shift() per frame.
    if (this.head > 64 && this.head * 2 > this.frames.length) {
      this.frames = this.frames.slice(this.head);
      this.head = 0;
    }
  }

  /** The frames held, oldest first (the array is new; the frames are the ring's own). */
  toArray(): Frame[] {
    return this.frames.slice(this.head);
  }

  get length(): number {
    return this.frames.length - this.head;
  }

  clear(): void {
    this.frames = [];
    this.head = 0;
    this.bytes = 0;
  }
}
