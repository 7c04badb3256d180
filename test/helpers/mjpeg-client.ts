import { type IncomingMessage, request } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface Part {
  headers: Record<string, string>;
  body: Buffer;
  at: number;
}

/**
 * A real MJPEG viewer: parses multipart/x-mixed-replace by Content-Length, as HA and ffmpeg do, and
 * checks that every part ends with the boundary. `paused` makes it stop reading (a slow viewer).
 */
export class MjpegClient {
  readonly parts: Part[] = [];
  res: IncomingMessage | undefined;
  boundary = '';
  error: Error | undefined;
  private buf: Buffer = Buffer.alloc(0);
  private readonly req;

  /** `ca`: for https:// URLs, the certificate to trust (a bridge with a self-signed one). */
  constructor(
    url: string,
    opts: { headers?: Record<string, string>; highWaterMark?: number; ca?: string | Buffer } = {},
  ) {
    const get = url.startsWith('https:') ? httpsRequest : request;
    this.req = get(url, { headers: opts.headers ?? {}, ...(opts.ca ? { ca: opts.ca } : {}) }, (res) => {
      this.res = res;
      const ct = String(res.headers['content-type'] ?? '');
      this.boundary = /boundary=([^;]+)/.exec(ct)?.[1]?.trim() ?? '';
      res.on('data', (chunk: Buffer) => this.onData(chunk));
      res.on('error', () => {});
    });
    this.req.on('error', (err) => {
      this.error = err;
    });
    this.req.end();
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const open = Buffer.from(`--${this.boundary}\r\n`);
    for (;;) {
      if (this.buf.length < open.length) return;
      if (!this.buf.subarray(0, open.length).equals(open)) {
        this.error = new Error(`expected boundary, got ${JSON.stringify(this.buf.subarray(0, 40).toString('latin1'))}`);
        this.close();
        return;
      }
      const headEnd = this.buf.indexOf('\r\n\r\n', open.length);
      if (headEnd < 0) return;
      const headers: Record<string, string> = {};
      for (const line of this.buf.subarray(open.length, headEnd).toString('latin1').split('\r\n')) {
        const i = line.indexOf(':');
        headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      const len = Number(headers['content-length']);
      const start = headEnd + 4;
      if (this.buf.length < start + len + 2) return;
      const body = Buffer.from(this.buf.subarray(start, start + len));
      if (this.buf.subarray(start + len, start + len + 2).toString() !== '\r\n') {
        this.error = new Error('part not followed by CRLF');
        this.close();
        return;
      }
      this.parts.push({ headers, body, at: Date.now() });
      this.buf = this.buf.subarray(start + len + 2);
    }
  }

  pause(): void {
    this.res?.pause();
  }

  resume(): void {
    this.res?.resume();
  }

  get status(): number | undefined {
    return this.res?.statusCode;
  }

  close(): void {
    this.req.destroy();
    this.res?.destroy();
  }
}
