import type { CameraConfig } from '../../config/schema.js';
import type { Camera, CameraLink, PtzDirection } from '../../hub/camera.js';
import { type Command, CommandError, type CommandResult } from '../../hub/controls.js';
import { type Frame, SlicedFrame } from '../../hub/frame.js';
import { type CameraHub, CLOSE } from '../../hub/hub.js';
import type { Logger } from '../../logging.js';
import { redactTarget } from '../../util/redact.js';
import {
  type ControlKeys,
  controlCapabilities,
  controlUrl,
  normalizeStatus,
  statusPath,
  translateControl,
} from './control.js';
import type { FeedOwner, FrameFeed } from './feed.js';
import { type AuthCredentials, HttpAuth } from './http-auth.js';
import { describeError, getText, HttpStatusError, splitCredentials } from './http-client.js';
import { MjpegFeed } from './mjpeg-feed.js';
import type { Backoff } from './mjpeg-pull.js';
import { ServoController } from './servo.js';
import { SnapshotPoller } from './snapshot-poll.js';
import { StillsFeed } from './stills-feed.js';

export interface PulledCameraContext {
  hub: CameraHub;
  logger: Logger;
  commandTimeoutMs: number;
  cameraTimeoutMs: number;
}

/**
 * A camera that serves HTTP (MJPEG stream and/or stills) and that cam2mqtt pulls. To the hub it is a
 * camera like any other: attached while frames arrive, detached (offline) while the camera is away.
 * It is its own CameraLink (one object for the camera's lifetime; reconnects re-attach it). Frames come
 * from its FrameFeed (an MJPEG stream or a stills poller); commands go to control_url and servo_url.
 */
export class PulledCamera implements CameraLink, FeedOwner {
  readonly protocol: FrameFeed['protocol'];
  readonly remote: string;
  readonly feed: FrameFeed;
  /** Full-resolution stills next to the stream (both URLs set). */
  readonly stills: SnapshotPoller | undefined;
  readonly servo: ServoController | undefined;
  readonly onDemand: boolean;
  private readonly auth: HttpAuth | undefined;
  private readonly log: Logger;
  private attached = false;
  private stopped = true;
  private seq = 0;
  private waiters: ((f: Frame | undefined) => void)[] = [];
  private statusFetched = false;
  private readonly capabilities: string[];

  constructor(
    readonly cam: Camera,
    readonly cfg: CameraConfig,
    private readonly ctx: PulledCameraContext,
    /** Where frames come from; by default chosen from the config (mjpeg_url: MjpegFeed, else StillsFeed). */
    feed?: (owner: FeedOwner) => FrameFeed,
  ) {
    this.log = ctx.logger.child({ mod: `http:${cam.id}` });
    const primary = splitCredentials((cfg.mjpeg_url ?? cfg.snapshot_url)!);
    const creds: AuthCredentials | undefined = cfg.auth
      ? { username: cfg.auth.username, password: cfg.auth.password, type: cfg.auth.type }
      : primary.username !== undefined
        ? { username: primary.username, password: primary.password ?? '', type: 'auto' }
        : undefined;
    this.auth = creds ? new HttpAuth(creds) : undefined;
    const host = primary.url.hostname.replace(/^\[|\]$/g, '');
    const port = Number(primary.url.port) || (primary.url.protocol === 'https:' ? 443 : 80);
    this.remote = `${primary.url.hostname}:${port}`;
    this.onDemand = cfg.on_demand;
    const backoff: Backoff = {
      minMs: cfg.reconnect.min_delay * 1000,
      maxMs: Math.max(cfg.reconnect.min_delay, cfg.reconnect.max_delay) * 1000,
    };
    const readTimeoutMs = cfg.read_timeout * 1000;
    const common = {
      auth: this.auth,
      maxFrameBytes: cfg.max_frame_bytes,
      backoff,
      log: this.log,
      onDemand: cfg.on_demand,
      cameraTimeoutMs: ctx.cameraTimeoutMs,
    };
    this.feed = feed
      ? feed(this)
      : cfg.mjpeg_url
        ? new MjpegFeed({ ...common, url: primary.url, readTimeoutMs, host, port, remote: this.remote }, this)
        : new StillsFeed(
            { ...common, url: primary.url, timeoutMs: readTimeoutMs, intervalMs: cfg.snapshot_poll_interval * 1000 },
            this,
          );
    this.protocol = this.feed.protocol;
    if (cfg.mjpeg_url && cfg.snapshot_url) {
      const s = splitCredentials(cfg.snapshot_url);
      const auth =
        s.username !== undefined && !cfg.auth
          ? new HttpAuth({ username: s.username, password: s.password ?? '', type: 'auto' })
          : this.auth;
      this.stills = new SnapshotPoller({
        url: s.url,
        auth,
        maxFrameBytes: cfg.max_frame_bytes,
        timeoutMs: readTimeoutMs,
        intervalMs: cfg.snapshot_poll_interval * 1000,
        backoff,
        log: this.log,
        // Stills next to a stream are snapshots, not stream frames.
        onFrame: () => {},
        onDown: () => {},
        onBad: () => this.cam.badMessages++,
      });
    }
    if (cfg.servo_url) {
      this.servo = new ServoController(cfg.servo_url, {
        step: cfg.servo_step,
        home: cfg.servo_home,
        auth: this.auth,
        timeoutMs: ctx.commandTimeoutMs,
      });
    }
    this.capabilities = [
      'snapshot',
      ...(cfg.control_url ? controlCapabilities(cfg.control_keys as ControlKeys) : []),
      ...(cfg.servo_url ? ['servo'] : []),
      ...(cfg.motion_detection ? ['motion'] : []),
    ];
    // The hub asks the camera's link about demand; while this camera is detached there is no link,
    // so listen to the camera itself too (a viewer waiting for an offline on-demand camera).
    const prev = cam.onDemandChange;
    cam.onDemandChange = (watching) => {
      prev?.(watching);
      if (cam.link !== this) this.setDemand(watching);
    };
  }

  /** Where frames come from, for logs and status (no credentials). */
  get source(): string {
    return this.feed.url;
  }

  start(): void {
    this.stopped = false;
    const mode = this.onDemand ? 'on demand' : 'continuously';
    this.log.info(
      `camera ${this.cam.id}: pulling ${this.feed.what} from ${this.source} ${mode}${this.auth ? ` (${this.cfg.auth?.type ?? 'auto'} auth as ${this.auth.creds.username})` : ''}`,
    );
    this.feed.start(this.cam.watchers > 0);
  }

  stop(): void {
    this.stopped = true;
    this.feed.stop();
    this.stills?.close();
    if (this.attached) {
      this.attached = false;
      this.ctx.hub.detach(this.cam, this, 'bridge stopping');
    }
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  private attach(): void {
    if (this.attached || this.stopped) return;
    this.attached = true;
    this.ctx.hub.attach(this.cam.id, this.protocol, this, {
      capabilities: this.capabilities,
      model: this.feed.model,
    });
    this.ctx.hub.updateInfo(this.cam, {
      source: this.source,
      on_demand: this.onDemand,
      ...(this.servo ? { pan: this.servo.position.pan, tilt: this.servo.position.tilt } : {}),
    });
    if (this.cfg.control_url && !this.statusFetched) {
      this.statusFetched = true;
      this.fetchStatus(this.ctx.commandTimeoutMs).catch((err: unknown) =>
        this.log.debug(`camera ${this.cam.id}: no status from the camera: ${(err as Error).message}`),
      );
    }
  }

  // ---- FeedOwner ----

  frame(jpeg: Buffer | readonly Buffer[]): void {
    const now = Date.now();
    const frame: Frame = Buffer.isBuffer(jpeg)
      ? { data: jpeg, seq: ++this.seq, cameraTime: now, receivedAt: now }
      : new SlicedFrame(jpeg, ++this.seq, now, now);
    if (!this.attached) this.attach();
    if (!this.attached) return;
    this.ctx.hub.pushFrame(this.cam, frame);
    if (this.waiters.length) for (const w of this.waiters.splice(0)) w(frame);
  }

  down(reason: string): void {
    if (!this.attached) return;
    this.attached = false;
    this.ctx.hub.detach(this.cam, this, reason);
  }

  bad(): void {
    this.cam.badMessages++;
  }

  reachable(): void {
    if (!this.attached) this.attach();
    else this.ctx.hub.touch(this.cam);
  }

  touch(): void {
    if (this.attached) this.ctx.hub.touch(this.cam);
  }

  // ---- CameraLink ----

  setDemand(watching: boolean): void {
    if (!this.stopped) this.feed.setDemand(watching);
  }

  close(code: number, reason: string): void {
    this.attached = false;
    if (code === CLOSE.TIMEOUT) {
      // The hub heard nothing for camera_timeout: start over.
      this.feed.restart();
      return;
    }
    if (code === CLOSE.REPLACED)
      this.log.warn(
        `camera ${this.cam.id}: another connection took over this camera id (${reason}); no longer pulling ${this.source}`,
      );
    this.stop();
  }

  async snapshot(timeoutMs: number): Promise<Frame> {
    if (this.stills) {
      // Full-resolution still from snapshot_url next to the stream.
      try {
        const jpeg = await this.stills.fetch();
        const now = Date.now();
        return { data: jpeg, seq: this.seq, cameraTime: now, receivedAt: now };
      } catch (err) {
        this.log.debug(`camera ${this.cam.id}: snapshot_url failed (${(err as Error).message}); using the stream`);
      }
    }
    const next = this.nextFrame(timeoutMs);
    try {
      await this.feed.grab();
    } catch (err) {
      next.cancel();
      throw new CommandError('rejected', `camera ${this.cam.id}: ${(err as Error).message}`);
    }
    return next.frame;
  }

  /** The next frame the feed delivers; after timeoutMs the latest one, if any. */
  private nextFrame(timeoutMs: number): { frame: Promise<Frame>; cancel(): void } {
    let w: (f: Frame | undefined) => void = () => {};
    let t: NodeJS.Timeout | undefined;
    const frame = new Promise<Frame>((resolve, reject) => {
      w = (f) => {
        clearTimeout(t);
        if (f) resolve(f);
        else reject(new CommandError('offline', `camera ${this.cam.id}: stopped`));
      };
      t = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        const f = this.cam.latest;
        if (f) resolve(f);
        else reject(new CommandError('timeout', `camera ${this.cam.id} sent no frame within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.waiters.push(w);
    });
    return {
      frame,
      cancel: () => {
        clearTimeout(t);
        this.waiters = this.waiters.filter((x) => x !== w);
      },
    };
  }

  async move(direction: PtzDirection, step: number | undefined, _timeoutMs: number): Promise<CommandResult> {
    if (!this.servo) throw new CommandError('unsupported', `camera ${this.cam.id} has no servo_url`);
    const r = await this.runServo(`move ${direction}${step ? ` ${step}` : ''}`, () =>
      this.servo!.move(direction, step),
    );
    return { answer: r };
  }

  async send(cmd: Command, timeoutMs: number): Promise<CommandResult> {
    if ((cmd.name === 'pan' || cmd.name === 'tilt') && this.servo) {
      const v = cmd.value;
      const r = await this.runServo(`${cmd.name}=${v}`, () =>
        this.servo!.moveTo(cmd.name === 'pan' ? v : undefined, cmd.name === 'tilt' ? v : undefined),
      );
      return { answer: r };
    }
    if (cmd.name === 'status') {
      if (this.cfg.control_url) return { answer: await this.fetchStatus(timeoutMs) };
      return { answer: this.statusJSON() };
    }
    if (!this.cfg.control_url) {
      throw new CommandError(
        'unsupported',
        `camera ${this.cam.id} is pulled over HTTP without control_url, so ${cmd.name} cannot be sent to it (set cameras.${this.cam.id}.control_url)`,
      );
    }
    const req = translateControl(this.cfg.control_keys as ControlKeys, cmd);
    const { url } = splitCredentials(controlUrl(this.cfg.control_url, req.key, req.value));
    const shown = `${req.key}=${req.value}`;
    this.ctx.hub.addLog(this.cam, '>', shown);
    let body: string;
    try {
      ({ body } = await getText(url, { auth: this.auth, timeoutMs }));
    } catch (err) {
      const e = this.commandError(err, `${url.pathname}${url.search}`, timeoutMs);
      this.ctx.hub.addLog(this.cam, '!', e.message);
      throw e;
    }
    if (body) this.ctx.hub.addLog(this.cam, '<', body);
    if (Object.keys(req.info).length) this.ctx.hub.updateInfo(this.cam, req.info);
    return { answer: parseMaybeJson(body) };
  }

  private async runServo<T extends { pan: number; tilt: number; reply: string; request: string }>(
    what: string,
    fn: () => Promise<T>,
  ): Promise<Record<string, unknown>> {
    this.ctx.hub.addLog(this.cam, '>', `servo ${what}`);
    try {
      const r = await fn();
      this.ctx.hub.addLog(this.cam, '<', `${r.request} -> ${r.reply || 'ok'}`);
      this.ctx.hub.updateInfo(this.cam, { pan: r.pan, tilt: r.tilt });
      return { pan: r.pan, tilt: r.tilt, reply: r.reply };
    } catch (err) {
      this.ctx.hub.addLog(this.cam, '!', (err as Error).message);
      throw err;
    }
  }

  private commandError(err: unknown, target: string, timeoutMs: number): CommandError {
    if (err instanceof CommandError) return err;
    // The control URL's query may carry a password (MJPEG2SD ?pwd=): never in an error the API shows.
    const path = redactTarget(target);
    if (err instanceof HttpStatusError)
      return new CommandError('rejected', `camera ${this.cam.id} answered ${path} with ${err.message}`);
    if ((err as NodeJS.ErrnoException).code === 'ETIMEDOUT')
      return new CommandError('timeout', `camera ${this.cam.id} did not answer ${path} within ${timeoutMs / 1000} s`);
    return new CommandError('rejected', `camera ${this.cam.id}: ${path}: ${describeError(err)}`);
  }

  /** The camera's own status JSON (CameraWebServer /status, MJPEG2SD /status?q), merged into its info. */
  private async fetchStatus(timeoutMs: number): Promise<unknown> {
    const keys = this.cfg.control_keys as ControlKeys;
    const base = splitCredentials(this.cfg.control_url!.replace(/\{(key|value)\}/g, 'x')).url;
    const url = new URL(statusPath(keys), base.origin);
    let body: string;
    try {
      ({ body } = await getText(url, { auth: this.auth, timeoutMs }, 256 * 1024));
    } catch (err) {
      throw this.commandError(err, `${url.pathname}${url.search}`, timeoutMs);
    }
    const data = parseMaybeJson(body);
    if (typeof data !== 'object' || data === null || Array.isArray(data))
      throw new CommandError(
        'rejected',
        `camera ${this.cam.id}: ${redactTarget(url.pathname + url.search)} did not answer JSON`,
      );
    const raw = data as Record<string, unknown>;
    this.ctx.hub.addLog(this.cam, '<', body);
    this.ctx.hub.updateInfo(this.cam, normalizeStatus(keys, raw));
    return raw;
  }

  statusJSON(): Record<string, unknown> {
    const f = this.feed.status();
    return {
      protocol: this.protocol,
      source: this.source,
      on_demand: this.onDemand,
      online: this.attached,
      streaming: f.streaming,
      connects: f.connects,
      frames: f.frames,
      oversize: f.oversize + (this.stills?.oversize ?? 0),
      last_error: f.lastError ?? this.stills?.lastError ?? null,
      ...(this.servo ? { pan: this.servo.position.pan, tilt: this.servo.position.tilt } : {}),
    };
  }
}

function parseMaybeJson(body: string): unknown {
  const t = body.trim();
  if (t.startsWith('{') || t.startsWith('[')) {
    try {
      return JSON.parse(t);
    } catch {
      // not JSON after all
    }
  }
  return t;
}
