/**
 * One JPEG from a camera. Parsed once by its source; the same object (and Buffer) reaches every sink.
 * Sinks cache what they derive from it in a WeakMap keyed by the frame, so it is built once.
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
