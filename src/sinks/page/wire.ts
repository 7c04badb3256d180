import type { Frame } from '../../hub/frame.js';

// The page socket (/api/ws) carries JSON text messages both ways and binary frames from the bridge
// to the page. A binary message is a fixed 24-byte header followed by the camera's JPEG, untouched:
//
//   offset  size  field
//   0       u8    kind: 1 = frame
//   1       u8    flags (0, reserved)
//   2       u16   camera index (from the camera's `idx` in hello/cam messages), big endian
//   4       u32   frame seq, big endian
//   8       f64   camera time, Unix ms (the camera's clock), big endian
//   16      f64   bridge receive time, Unix ms, big endian
//   24      ...   JPEG bytes
//
// The page's public/wire.js decodes the same layout.

export const FRAME_KIND = 1;
export const FRAME_HEADER_BYTES = 24;

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
  head.writeUInt8(FRAME_KIND, 0);
  head.writeUInt8(0, 1);
  head.writeUInt16BE(idx, 2);
  head.writeUInt32BE(frame.seq >>> 0, 4);
  head.writeDoubleBE(frame.cameraTime, 8);
  head.writeDoubleBE(frame.receivedAt, 16);
  cache.set(frame, { idx, head });
  return { head, jpeg: frame.data };
}

export interface FrameHeader {
  kind: number;
  idx: number;
  seq: number;
  cameraTime: number;
  receivedAt: number;
}

/** For tests and tools: read a binary message's header. */
export function decodeFrameMessage(buf: Buffer): FrameHeader & { jpeg: Buffer } {
  if (buf.length < FRAME_HEADER_BYTES)
    throw new RangeError(`frame message of ${buf.length} bytes is shorter than its header`);
  return {
    kind: buf.readUInt8(0),
    idx: buf.readUInt16BE(2),
    seq: buf.readUInt32BE(4),
    cameraTime: buf.readDoubleBE(8),
    receivedAt: buf.readDoubleBE(16),
    jpeg: buf.subarray(FRAME_HEADER_BYTES),
  };
}
