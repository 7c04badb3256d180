/**
 * One JPEG from a camera. Parsed once by its source; the same object (and Buffer) reaches every sink.
 * A sink derives what it sends from it once per frame and gives the result to all its consumers.
 */
export interface Frame {
  readonly data: Buffer;
  /** Camera's sequence number (native) or the bridge's count (legacy, pulled). */
  readonly seq: number;
  /** Capture time in Unix ms: the camera's clock when it has one, else the receive time. */
  readonly cameraTime: number;
  /** Bridge receive time, Unix ms. */
  readonly receivedAt: number;
}

/** Does `buf` hold a JPEG from `at` on (its FF D8 start marker, and room for the end marker)? */
export function isJpeg(buf: Buffer, at = 0): boolean {
  return buf.length >= at + 4 && buf[at] === 0xff && buf[at + 1] === 0xd8;
}
