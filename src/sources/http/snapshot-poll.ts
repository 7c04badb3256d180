import http from 'node:http';
import https from 'node:https';
import { isJpeg } from '../../hub/frame.js';
import { redactUrl } from '../../util/redact.js';
import { ThrottledLog } from '../../util/throttle-log.js';
import { describeError, httpGet, readBody, TooBigError } from './http-client.js';
import { backoffDelay, type PullOptions } from './mjpeg-pull.js';

export interface SnapshotPollOptions extends PullOptions {
  timeoutMs: number;
  intervalMs: number;
  onFrame(jpeg: Buffer): void;
}

/**
 * Still pictures from a camera that has no stream (/capture, /control?still=1, /snapshot.jpg), one
 * request at a time over one kept-alive connection. `fetch()` (a snapshot request) joins the next poll
 * instead of opening a second connection.
 */
export class SnapshotPoller {
  running = false;
  requests = 0;
  frames = 0;
  oversize = 0;
  up = false;
  lastError: string | undefined;
  intervalMs: number;

  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<Buffer> | undefined;
  private failures = 0;
  private readonly agent: http.Agent;
  private readonly displayUrl: string;
  private readonly warn: ThrottledLog;
  private readonly oversizeLog: ThrottledLog;

  constructor(private readonly opts: SnapshotPollOptions) {
    this.intervalMs = opts.intervalMs;
    const Agent = opts.url.protocol === 'https:' ? https.Agent : http.Agent;
    this.agent = new Agent({ keepAlive: true, maxSockets: 1, maxFreeSockets: 1 });
    this.displayUrl = redactUrl(`${opts.url.origin}${opts.url.pathname}${opts.url.search}`);
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
    this.tick(0);
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  close(): void {
    this.stop();
    this.agent.destroy();
  }

  /** Poll at once and carry on at the (new) interval from there. */
  pollNow(): void {
    if (this.running && !this.inFlight) this.tick(0);
  }

  /** One picture now (or the one already on its way). */
  fetch(): Promise<Buffer> {
    if (this.inFlight) return this.inFlight;
    const p = this.request().finally(() => {
      this.inFlight = undefined;
    });
    this.inFlight = p;
    return p;
  }

  private tick(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.poll(), delayMs);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    if (!this.running) return;
    const started = Date.now();
    try {
      await this.fetch();
      if (!this.running) return;
      this.tick(Math.max(0, this.intervalMs - (Date.now() - started)));
    } catch (err) {
      if (!this.running) return;
      const delay = Math.max(this.intervalMs, backoffDelay(this.opts.backoff, this.failures));
      this.warn.warn(`${this.displayUrl}: ${(err as Error).message}; trying again in ${(delay / 1000).toFixed(1)} s`);
      this.tick(delay);
    }
  }

  private async request(): Promise<Buffer> {
    this.requests++;
    let jpeg: Buffer;
    try {
      const res = await httpGet(this.opts.url, {
        auth: this.opts.auth,
        timeoutMs: this.opts.timeoutMs,
        agent: this.agent,
        headers: { Accept: 'image/jpeg' },
      });
      const status = res.statusCode ?? 0;
      if (status !== 200) {
        res.resume();
        const hint =
          status === 401
            ? this.opts.auth
              ? ' (wrong username or password?)'
              : ' (the camera wants a password: set auth)'
            : '';
        throw new Error(`HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}${hint}`);
      }
      jpeg = await readBody(res, this.opts.maxFrameBytes, this.opts.timeoutMs);
    } catch (err) {
      if (err instanceof TooBigError) {
        this.oversize++;
        this.opts.onBad?.();
        this.oversizeLog.warn(
          `${this.displayUrl}: refused a picture of ${err.size ?? 'more than'} ${err.size === undefined ? `${err.limit} ` : ''}bytes, larger than max_frame_bytes (${err.limit})`,
        );
        // The camera is there; only the picture is too big.
        throw err;
      }
      return this.failed(err);
    }
    if (!isJpeg(jpeg)) {
      this.opts.onBad?.();
      throw new Error(`answered ${jpeg.length} bytes that are not a JPEG`);
    }
    this.failures = 0;
    this.frames++;
    this.up = true;
    this.opts.onFrame(jpeg);
    return jpeg;
  }

  private failed(err: unknown): never {
    const reason = describeError(err);
    this.failures++;
    this.lastError = reason;
    // One lost picture on WiFi is normal: the camera is offline after two failures in a row.
    if (this.up && this.failures >= 2) {
      this.up = false;
      this.opts.onDown(reason);
    } else if (!this.up) {
      this.opts.onDown(reason);
    }
    throw new Error(reason);
  }
}
