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

export function isJpeg(buf: Buffer): boolean {
  return buf.length >= 4 && buf[0] === 0xff && buf[1] === 0xd8;
}
