import type { Frame } from '../../hub/frame.js';
import { FRAME_HEADER_BYTES, type FrameHeader, readFrameHeader, writeFrameHeader } from './protocol.js';

// The bridge's side of the page socket's binary frames; the layout is in protocol.ts, shared with the page.

export { FRAME_HEADER_BYTES, type FrameHeader } from './protocol.js';

/** A frame message in two pieces: the header, and the camera's own JPEG Buffer (never copied). */
export interface FrameMessage {
  readonly head: Buffer;
  readonly jpeg: Buffer;
}

/**
 * Headers built per frame; a WeakMap so frames the hub drops are collected with their header. Only the
 * header: a WeakMap value that referenced the JPEG would keep it alive through young-generation
 * collections and get it promoted (docs/performance.md, "Garbage collection").
 */
const cache = new WeakMap<Frame, { idx: number; head: Buffer }>();

const viewOf = (buf: Buffer) => new DataView(buf.buffer, buf.byteOffset, buf.byteLength);

/**
 * The frame message for a camera index, built once per frame and shared by every page client. It goes
 * out as one WebSocket message in two fragments (header, then the JPEG as it came from the camera), so
 * the JPEG is not copied: a per-frame copy would cost a memcpy and, worse, a frame-sized allocation that
 * V8 counts towards its next full garbage collection (docs/performance.md).
 */
export function frameMessage(frame: Frame, idx: number): FrameMessage {
  const hit = cache.get(frame);
  if (hit && hit.idx === idx) return { head: hit.head, jpeg: frame.data };
  const head = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  writeFrameHeader(viewOf(head), { idx, seq: frame.seq, cameraTime: frame.cameraTime, receivedAt: frame.receivedAt });
  cache.set(frame, { idx, head });
  return { head, jpeg: frame.data };
}

/** For tests and tools: read a binary message's header. */
export function decodeFrameMessage(buf: Buffer): FrameHeader & { jpeg: Buffer } {
  if (buf.length < FRAME_HEADER_BYTES)
    throw new RangeError(`frame message of ${buf.length} bytes is shorter than its header`);
  return { ...readFrameHeader(viewOf(buf)), jpeg: buf.subarray(FRAME_HEADER_BYTES) };
}
