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

/** Messages built per frame; a WeakMap so frames the hub drops are collected with their message. */
const cache = new WeakMap<Frame, { idx: number; msg: Buffer }>();

/**
 * Header + JPEG as one Buffer, built once per frame and camera index and shared by every page client
 * (ws writes it without copying). One copy of the JPEG per frame is the cost, whatever the number of pages.
 */
export function frameMessage(frame: Frame, idx: number): Buffer {
  const hit = cache.get(frame);
  if (hit && hit.idx === idx) return hit.msg;
  const msg = Buffer.allocUnsafe(FRAME_HEADER_BYTES + frame.data.length);
  msg.writeUInt8(FRAME_KIND, 0);
  msg.writeUInt8(0, 1);
  msg.writeUInt16BE(idx, 2);
  msg.writeUInt32BE(frame.seq >>> 0, 4);
  msg.writeDoubleBE(frame.cameraTime, 8);
  msg.writeDoubleBE(frame.receivedAt, 16);
  frame.data.copy(msg, FRAME_HEADER_BYTES);
  cache.set(frame, { idx, msg });
  return msg;
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
  if (buf.length < FRAME_HEADER_BYTES) throw new RangeError(`frame message of ${buf.length} bytes is shorter than its header`);
  return {
    kind: buf.readUInt8(0),
    idx: buf.readUInt16BE(2),
    seq: buf.readUInt32BE(4),
    cameraTime: buf.readDoubleBE(8),
    receivedAt: buf.readDoubleBE(16),
    jpeg: buf.subarray(FRAME_HEADER_BYTES),
  };
}
