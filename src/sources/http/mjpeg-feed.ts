import { connect } from 'node:net';
import type { Logger } from '../../logging.js';
import type { FeedOwner, FeedStatus, FrameFeed } from './feed.js';
import type { HttpAuth } from './http-auth.js';
import { type Backoff, MjpegStream } from './mjpeg-pull.js';

/** How long an on-demand stream stays open after the last viewer left (page reloads, tile flips). */
const LINGER_MS = 3000;

export interface MjpegFeedOptions {
  url: URL;
  auth: HttpAuth | undefined;
  maxFrameBytes: number;
  readTimeoutMs: number;
  backoff: Backoff;
  log: Logger;
  onDemand: boolean;
  cameraTimeoutMs: number;
  /** For the reachability probe of an idle on-demand camera. */
  host: string;
  port: number;
  /** host:port as logs show it. */
  remote: string;
}

/**
 * An MJPEG stream (mjpeg_url). On demand, the stream runs while someone watches (and LINGER_MS after);
 * otherwise a TCP probe keeps checking that the camera is there, without taking its single stream slot.
 */
export class MjpegFeed implements FrameFeed {
  readonly protocol = 'mjpeg' as const;
  readonly model = 'MJPEG over HTTP';
  readonly what = 'MJPEG';
  private readonly stream: MjpegStream;
  private stopped = true;
  private wanted = false;
  /** On-demand stream running only to fetch one frame (startup, snapshot requests). */
  private grabbing = false;
  private lingerTimer: NodeJS.Timeout | undefined;
  private probeTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly opts: MjpegFeedOptions,
    private readonly owner: FeedOwner,
  ) {
    this.stream = new MjpegStream({
      url: opts.url,
      auth: opts.auth,
      maxFrameBytes: opts.maxFrameBytes,
      readTimeoutMs: opts.readTimeoutMs,
      backoff: opts.backoff,
      log: opts.log,
      onFrame: (jpeg) => this.onFrame(jpeg),
      onDown: (reason) => owner.down(reason),
      onBad: () => owner.bad(),
    });
  }

  get url(): string {
    return this.stream.url;
  }

  start(watched: boolean): void {
    this.stopped = false;
    this.wanted = watched;
    // On demand and nobody watching: fetch one frame so that snapshots and tiles have a picture.
    if (this.opts.onDemand && !watched) this.grabbing = true;
    this.stream.start();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.lingerTimer);
    clearTimeout(this.probeTimer);
    this.stream.stop();
  }

  restart(): void {
    this.stream.restart();
  }

  setDemand(watching: boolean): void {
    this.wanted = watching;
    if (this.stopped || !this.opts.onDemand) return;
    if (watching) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = undefined;
      clearTimeout(this.probeTimer);
      this.grabbing = false;
      this.stream.start();
      return;
    }
    if (!this.stream.running || this.lingerTimer || this.grabbing) return;
    this.lingerTimer = setTimeout(() => {
      this.lingerTimer = undefined;
      if (!this.wanted) this.idle();
    }, LINGER_MS);
    this.lingerTimer.unref();
  }

  async grab(): Promise<void> {
    if (this.stream.running) return;
    this.grabbing = true;
    this.stream.start();
  }

  status(): FeedStatus {
    const s = this.stream;
    return {
      streaming: s.running,
      connects: s.connects,
      frames: s.frames,
      oversize: s.oversize,
      lastError: s.lastError,
    };
  }

  private onFrame(jpeg: Buffer | Buffer[]): void {
    this.owner.frame(jpeg);
    if (this.grabbing && !this.wanted && this.opts.onDemand && !this.stopped) {
      this.grabbing = false;
      this.idle();
    }
  }

  /** On demand, nobody watching: close the stream, keep checking that the camera is there. */
  private idle(): void {
    clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    this.stream.stop();
    this.scheduleProbe();
  }

  private scheduleProbe(): void {
    clearTimeout(this.probeTimer);
    if (this.stopped) return;
    const every = Math.max(1000, Math.min(10_000, this.opts.cameraTimeoutMs / 2));
    this.probeTimer = setTimeout(() => void this.probe(), every);
    this.probeTimer.unref();
  }

  /** A TCP connect to the camera: cheap, and does not take the camera's single stream slot. */
  private async probe(): Promise<void> {
    if (this.stopped || this.stream.running) return;
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: this.opts.host, port: this.opts.port });
      const t = setTimeout(
        () => {
          s.destroy();
          resolve(false);
        },
        Math.min(5000, this.opts.readTimeoutMs),
      );
      s.once('connect', () => {
        clearTimeout(t);
        s.destroy();
        resolve(true);
      });
      s.once('error', () => {
        clearTimeout(t);
        resolve(false);
      });
    });
    if (this.stopped || this.stream.running) return;
    if (ok) this.owner.reachable();
    else this.owner.down(`camera unreachable (${this.opts.remote})`);
    this.scheduleProbe();
  }
}
