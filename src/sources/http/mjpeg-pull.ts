import type { IncomingMessage } from 'node:http';
import { isJpeg, slicesAreJpeg } from '../../hub/frame.js';
import type { Logger } from '../../logging.js';
import { redactUrl } from '../../util/redact.js';
import { ThrottledLog } from '../../util/throttle-log.js';
import type { HttpAuth } from './http-auth.js';
import { describeError, httpGet, openRawStream, readBody } from './http-client.js';
import { boundaryFromContentType, MultipartParser, type PartHeaders } from './multipart-parser.js';

export interface Backoff {
  minMs: number;
  maxMs: number;
}

/** Next wait after `failures` consecutive failures: doubling from min to max, +-20 % jitter. */
export function backoffDelay(b: Backoff, failures: number): number {
  const base = Math.min(b.maxMs, b.minMs * 2 ** Math.max(0, Math.min(failures - 1, 30)));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

/** What every pulled source (stream or stills) is given. */
export interface PullOptions {
  url: URL;
  auth: HttpAuth | undefined;
  maxFrameBytes: number;
  backoff: Backoff;
  log: Logger;
  /** The connection is gone (error, end, stall); a retry is scheduled if the source still runs. */
  onDown(reason: string): void;
  /** Refused data worth counting against the camera (oversize frames, non-JPEG parts). */
  onBad?(): void;
}

export interface MjpegStreamOptions extends PullOptions {
  readTimeoutMs: number;
  /**
   * A complete JPEG: one Buffer, or the views of the socket chunks it arrived in (never copied; see
   * Frame). Runs on the socket's data event: keep it cheap.
   */
  onFrame(jpeg: Buffer | Buffer[], headers: PartHeaders): void;
}

/**
 * One MJPEG upstream connection, kept alive: reconnects with backoff while `running`. Never more than
 * one request to the camera exists at a time, whatever happens (restarts, stops, stalls).
 */
export class MjpegStream {
  running = false;
  /** Requests made and frames received, for status and tests. */
  connects = 0;
  frames = 0;
  oversize = 0;
  connected = false;
  lastError: string | undefined;

  private ac: AbortController | undefined;
  private res: IncomingMessage | undefined;
  /** Closes the raw-socket connection (openRawStream), when that is what runs. */
  private closeRaw: (() => void) | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private stallTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private lastData = 0;
  private readonly displayUrl: string;
  private readonly warn: ThrottledLog;
  private readonly oversizeLog: ThrottledLog;
  private singleJpegWarned = false;

  constructor(private readonly opts: MjpegStreamOptions) {
    const u = opts.url;
    this.displayUrl = redactUrl(`${u.origin}${u.pathname}${u.search}`);
    this.warn = new ThrottledLog(opts.log, 60_000);
    this.oversizeLog = new ThrottledLog(opts.log, 10_000);
  }

  get url(): string {
    return this.displayUrl;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.failures = 0;
    if (!this.ac && !this.retryTimer) void this.connect();
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.drop();
  }

  /** Drop the current connection and connect again at once (the hub timed the camera out, ...). */
  restart(): void {
    if (!this.running) return;
    this.drop();
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.schedule(this.opts.backoff.minMs);
  }

  private drop(): void {
    const ac = this.ac;
    this.ac = undefined;
    clearInterval(this.stallTimer);
    this.stallTimer = undefined;
    if (this.res) {
      this.res.removeAllListeners('data');
      this.res.destroy();
      this.res = undefined;
    }
    this.closeRaw?.();
    this.closeRaw = undefined;
    ac?.abort();
    this.connected = false;
  }

  private schedule(ms: number): void {
    if (!this.running || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.running && !this.ac) void this.connect();
    }, ms);
    this.retryTimer.unref();
  }

  /** The connection ended for `reason`: tell the owner, wait, try again. */
  private fail(ac: AbortController, reason: string): void {
    if (this.ac !== ac) return; // already dropped on purpose
    this.drop();
    this.lastError = reason;
    this.failures++;
    this.opts.onDown(reason);
    const delay = backoffDelay(this.opts.backoff, this.failures);
    this.warn.warn(`${this.displayUrl}: ${reason}; reconnecting in ${(delay / 1000).toFixed(1)} s`);
    this.schedule(delay);
  }

  private async connect(): Promise<void> {
    const ac = new AbortController();
    this.ac = ac;
    this.connects++;
    // Plain HTTP: the raw-socket reader (the hot path). It hands back to the full client below for
    // anything but a 200 stream (a 401 to answer, a single picture, an error page).
    if (this.opts.url.protocol === 'http:' && (await this.connectRaw(ac))) return;
    if (this.ac !== ac) return;
    let res: IncomingMessage;
    try {
      res = await httpGet(this.opts.url, {
        auth: this.opts.auth,
        timeoutMs: this.opts.readTimeoutMs,
        signal: ac.signal,
        headers: { Accept: 'multipart/x-mixed-replace, image/jpeg' },
      });
    } catch (err) {
      if (this.ac === ac) this.fail(ac, describeError(err));
      return;
    }
    if (this.ac !== ac) {
      res.destroy();
      return;
    }
    this.res = res;
    res.on('error', () => {});
    const status = res.statusCode ?? 0;
    if (status !== 200) {
      res.resume();
      const hint =
        status === 401
          ? this.opts.auth
            ? ' (wrong username or password?)'
            : ' (the camera wants a password: set auth)'
          : status === 404
            ? ' (wrong path in mjpeg_url?)'
            : '';
      this.fail(ac, `HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}${hint}`);
      return;
    }
    const ct = String(res.headers['content-type'] ?? '');
    if (/^image\/jpe?g/i.test(ct)) {
      // Not a stream: one picture per request. Keep asking (like a snapshot URL), without backoff.
      if (!this.singleJpegWarned) {
        this.singleJpegWarned = true;
        this.opts.log.warn(
          `${this.displayUrl} answers with single JPEG pictures, not an MJPEG stream: polling it (snapshot_url is the better key for this URL)`,
        );
      }
      try {
        const jpeg = await readBody(res, this.opts.maxFrameBytes, this.opts.readTimeoutMs);
        if (this.ac !== ac) return;
        this.connected = true;
        this.failures = 0;
        this.deliver(jpeg, {});
        this.drop();
        this.schedule(100);
      } catch (err) {
        this.fail(ac, describeError(err));
      }
      return;
    }
    const parser = this.startStream(ac, ct, false, () => res.destroy());
    res.on('data', (chunk: Buffer) => this.feed(ac, parser, chunk));
    res.on('end', () => {
      parser.finish();
      this.fail(ac, 'the camera ended the stream');
    });
    res.on('close', () => this.fail(ac, 'connection closed by the camera'));
  }

  /**
   * The stream over a raw socket (openRawStream): resolves true once the stream runs or the
   * connection failed (handled), false when the full HTTP client should make this request.
   */
  private connectRaw(ac: AbortController): Promise<boolean> {
    return new Promise((resolve) => {
      let parser: MultipartParser | undefined;
      let settled = false;
      const settle = (v: boolean) => {
        settled = true;
        resolve(v);
      };
      this.closeRaw = openRawStream(
        this.opts.url,
        {
          auth: this.opts.auth,
          timeoutMs: this.opts.readTimeoutMs,
          signal: ac.signal,
          headers: { Accept: 'multipart/x-mixed-replace, image/jpeg' },
        },
        {
          onHead: (head) => {
            const ct = head.headers['content-type'] ?? '';
            if (this.ac !== ac || head.status !== 200 || /^image\/jpe?g/i.test(ct)) {
              this.closeRaw = undefined;
              settle(this.ac !== ac);
              return false;
            }
            this.opts.auth?.ok();
            // The raw reader's pieces are views of a shared read buffer: the parser copies each frame out once.
            parser = this.startStream(ac, ct, true, () => this.closeRaw?.());
            settle(true);
            return true;
          },
          onBody: (piece) => this.feed(ac, parser!, piece),
          onClose: (err) => {
            if (!settled) {
              settle(true);
              if (this.ac === ac) this.fail(ac, describeError(err ?? new Error('connection closed by the camera')));
              return;
            }
            if (!err) parser?.finish();
            this.fail(ac, err ? describeError(err) : 'the camera ended the stream');
          },
        },
      );
    });
  }

  /** A 200 stream is open: the parser, the stall watch. `end` closes the connection (closing delimiter). */
  private startStream(ac: AbortController, ct: string, transient: boolean, end: () => void): MultipartParser {
    const boundary = boundaryFromContentType(ct);
    if (!/multipart/i.test(ct))
      this.opts.log.debug(
        `${this.displayUrl}: Content-Type ${JSON.stringify(ct)} is not multipart; looking for a boundary in the body`,
      );
    const parser = new MultipartParser(
      { boundary, maxFrameBytes: this.opts.maxFrameBytes, transient },
      {
        onPart: (body, headers) => this.deliver(body, headers),
        onOversize: (size, limit) => {
          this.oversize++;
          this.opts.onBad?.();
          this.oversizeLog.warn(
            `${this.displayUrl}: refused a frame of ${size ?? 'unknown'} bytes, larger than max_frame_bytes (${limit}); raise max_frame_bytes or lower the camera's frame size/quality`,
          );
        },
        onGarbage: (n) => this.opts.log.trace(`${this.displayUrl}: skipped ${n} bytes between parts`),
        onEnd: end,
      },
    );
    this.connected = true;
    this.lastData = Date.now();
    this.stallTimer = setInterval(
      () => {
        if (Date.now() - this.lastData > this.opts.readTimeoutMs)
          this.fail(ac, `nothing received for ${Math.round(this.opts.readTimeoutMs / 1000)} s`);
      },
      Math.min(1000, this.opts.readTimeoutMs / 2),
    );
    this.stallTimer.unref();
    return parser;
  }

  private feed(ac: AbortController, parser: MultipartParser, chunk: Buffer): void {
    this.lastData = Date.now();
    try {
      parser.push(chunk);
    } catch (err) {
      this.opts.log.error(`${this.displayUrl}: frame handling failed: ${(err as Error).stack ?? String(err)}`);
      this.fail(ac, 'internal error while parsing the stream');
    }
  }

  private deliver(jpeg: Buffer | Buffer[], headers: PartHeaders): void {
    if (Buffer.isBuffer(jpeg) ? !isJpeg(jpeg) : !slicesAreJpeg(jpeg)) {
      this.opts.onBad?.();
      const size = Buffer.isBuffer(jpeg) ? jpeg.length : jpeg.reduce((a, b) => a + b.length, 0);
      this.warn.warn(
        `${this.displayUrl}: refused a part of ${size} bytes that is not a JPEG (Content-Type ${headers['content-type'] ?? 'none'})`,
      );
      return;
    }
    this.frames++;
    this.failures = 0;
    this.opts.onFrame(jpeg, headers);
  }
}
