/**
 * One JPEG from a camera. Parsed once by its source; the same object (and Buffer) reaches every sink.
 * Sinks may cache what they derive from it (e.g. the MJPEG part) on the object so it is built once.
 */
export interface Frame {
  readonly data: Buffer;
  /** Camera's sequence number (native) or the bridge's count (legacy, pulled). */
  readonly seq: number;
  /** Capture time in Unix ms: the camera's clock when it has one, else the receive time. */
  readonly cameraTime: number;
  /** Bridge receive time, Unix ms. */
  readonly receivedAt: number;
  /** Cached multipart part (headers + JPEG + next boundary), built by the MJPEG sink on first use. */
  mjpegPart?: Buffer;
}

export function isJpeg(buf: Buffer): boolean {
  return buf.length >= 4 && buf[0] === 0xff && buf[1] === 0xd8;
}
