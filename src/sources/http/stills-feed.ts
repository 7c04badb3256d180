import type { FeedOwner, FeedStatus, FrameFeed } from './feed.js';
import { SnapshotPoller, type SnapshotPollOptions } from './snapshot-poll.js';

export interface StillsFeedOptions extends Omit<SnapshotPollOptions, 'onFrame' | 'onDown' | 'onBad'> {
  onDemand: boolean;
  cameraTimeoutMs: number;
}

/**
 * Still pictures polled from snapshot_url (a camera without a stream). On demand, polls at the full
 * rate while someone watches, else slowly (enough to keep the camera online and the picture fresh).
 */
export class StillsFeed implements FrameFeed {
  readonly protocol = 'snapshot' as const;
  readonly model = 'JPEG stills over HTTP';
  readonly what = 'stills';
  private readonly poller: SnapshotPoller;
  private readonly baseMs: number;
  private wanted = false;
  private stopped = true;
  private keepAliveTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly opts: StillsFeedOptions,
    private readonly owner: FeedOwner,
  ) {
    this.baseMs = opts.intervalMs;
    this.poller = new SnapshotPoller({
      ...opts,
      onFrame: (jpeg) => owner.frame(jpeg),
      onDown: (reason) => owner.down(reason),
      onBad: () => owner.bad(),
    });
  }

  get url(): string {
    return this.poller.url;
  }

  start(watched: boolean): void {
    this.stopped = false;
    this.wanted = watched;
    this.applyPollRate();
    this.poller.start();
    // Stills may come less often than limits.camera_timeout: a camera that answers its polls is alive.
    this.keepAliveTimer = setInterval(
      () => {
        if (this.poller.up) this.owner.touch();
      },
      Math.max(1000, this.opts.cameraTimeoutMs / 3),
    );
    this.keepAliveTimer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.keepAliveTimer);
    this.poller.close();
  }

  restart(): void {
    // Every poll is a new request already.
  }

  setDemand(watching: boolean): void {
    this.wanted = watching;
    if (this.stopped || !this.opts.onDemand) return;
    const before = this.poller.intervalMs;
    this.applyPollRate();
    // Someone started watching: poll at the full rate from now on, starting at once.
    if (this.poller.intervalMs < before) this.poller.pollNow();
  }

  async grab(): Promise<void> {
    // The picture reaches the owner through onFrame before fetch() resolves.
    await this.poller.fetch();
  }

  status(): FeedStatus {
    const p = this.poller;
    return { streaming: false, connects: p.requests, frames: p.frames, oversize: p.oversize, lastError: p.lastError };
  }

  private applyPollRate(): void {
    this.poller.intervalMs =
      this.opts.onDemand && !this.wanted
        ? Math.max(this.baseMs, Math.min(10_000, this.opts.cameraTimeoutMs / 2))
        : this.baseMs;
  }
}
