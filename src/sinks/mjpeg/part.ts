import type { Frame } from '../../hub/frame.js';

export const BOUNDARY = 'cam2mqtt-frame';
export const CONTENT_TYPE = `multipart/x-mixed-replace; boundary=${BOUNDARY}`;
/** Written once at the start of every stream; each part then ends with the next boundary. */
export const STREAM_PREAMBLE = Buffer.from(`--${BOUNDARY}\r\n`);
const TAIL = Buffer.from(`\r\n--${BOUNDARY}\r\n`);

/**
 * One multipart part: headers + JPEG + the next boundary. The boundary follows the JPEG at once
 * because browsers paint a part only when they see the next boundary.
 *
 * A part is either its three pieces (headers, the camera's own JPEG Buffer, the boundary), written
 * together as one corked writev, or one Buffer built by copying them. Pieces copy nothing and
 * allocate only the small headers; a built part costs a copy of the JPEG per frame but one write per
 * viewer. So a camera with few viewers gets pieces, one with many gets a built part (see
 * PIECES_MAX_VIEWERS). Allocating a frame-sized Buffer per frame matters beyond the copy: V8 counts
 * it as external memory and schedules full garbage collections by it (docs/performance.md).
 */
export type Part = Buffer | readonly [Buffer, Buffer, Buffer];

/** Up to this many viewers of one camera, its parts go out as pieces. */
export const PIECES_MAX_VIEWERS = 4;

/** Derived per frame, once: a WeakMap so a frame the hub drops is collected with them. */
const heads = new WeakMap<Frame, Buffer>();
const built = new WeakMap<Frame, Buffer>();

function headOf(frame: Frame): Buffer {
  let head = heads.get(frame);
  if (!head) {
    head = Buffer.from(
      `Content-Type: image/jpeg\r\nContent-Length: ${frame.data.length}\r\nX-Frame-Seq: ${frame.seq}\r\nX-Frame-Time: ${frame.cameraTime}\r\nX-Timestamp: ${(frame.cameraTime / 1000).toFixed(3)}\r\n\r\n`,
      'latin1',
    );
    heads.set(frame, head);
  }
  return head;
}

/** The part as pieces: nothing copied. */
export function piecesOf(frame: Frame): readonly [Buffer, Buffer, Buffer] {
  return [headOf(frame), frame.data, TAIL];
}

/** The part as one Buffer, built once per frame: every viewer of every stream gets the same Buffer. */
export function builtPartOf(frame: Frame): Buffer {
  let part = built.get(frame);
  if (part) return part;
  const head = headOf(frame);
  part = Buffer.allocUnsafe(head.length + frame.data.length + TAIL.length);
  head.copy(part, 0);
  frame.data.copy(part, head.length);
  TAIL.copy(part, head.length + frame.data.length);
  built.set(frame, part);
  return part;
}

/** The part for a camera with `viewers` viewers. */
export function partOf(frame: Frame, viewers: number): Part {
  return viewers <= PIECES_MAX_VIEWERS ? piecesOf(frame) : builtPartOf(frame);
}

export function partLength(part: Part): number {
  return Buffer.isBuffer(part) ? part.length : part[0].length + part[1].length + part[2].length;
}
