import type { Frame } from '../../hub/frame.js';

export const BOUNDARY = 'cam2mqtt-frame';
export const CONTENT_TYPE = `multipart/x-mixed-replace; boundary=${BOUNDARY}`;
/** Written once at the start of every stream; each part then ends with the next boundary. */
export const STREAM_PREAMBLE = Buffer.from(`--${BOUNDARY}\r\n`);
const TAIL = Buffer.from(`\r\n--${BOUNDARY}\r\n`);
/** Parts by frame; a WeakMap so a frame the hub drops is collected with its part. */
const parts = new WeakMap<Frame, Buffer>();

/**
 * Headers + JPEG + the next boundary, built once per frame: every viewer of
 * every stream gets the same Buffer. The boundary follows the JPEG at once because browsers paint a
 * part only when they see the next boundary.
 */
export function partOf(frame: Frame): Buffer {
  let part = parts.get(frame);
  if (part) return part;
  const head = Buffer.from(
    `Content-Type: image/jpeg\r\nContent-Length: ${frame.data.length}\r\nX-Frame-Seq: ${frame.seq}\r\nX-Frame-Time: ${frame.cameraTime}\r\nX-Timestamp: ${(frame.cameraTime / 1000).toFixed(3)}\r\n\r\n`,
    'latin1',
  );
  part = Buffer.allocUnsafe(head.length + frame.data.length + TAIL.length);
  head.copy(part, 0);
  frame.data.copy(part, head.length);
  TAIL.copy(part, head.length + frame.data.length);
  parts.set(frame, part);
  return part;
}
