import { connect } from 'node:net';
import type { CameraConfig } from '../../config/schema.js';
import type { Camera, CameraLink, PtzDirection } from '../../hub/camera.js';
import { type Command, CommandError, type CommandResult, FRAMESIZES } from '../../hub/controls.js';
import type { Frame } from '../../hub/frame.js';
import { type CameraHub, CLOSE } from '../../hub/hub.js';
import type { Logger } from '../../logging.js';
import { redactTarget } from '../../util/redact.js';
import { normalizeLegacyInfo } from '../legacy/info.js';
import { type ControlKeys, controlCapabilities, controlUrl, translateControl } from './control.js';
import { type AuthCredentials, HttpAuth } from './http-auth.js';
import { describeError, getText, HttpStatusError, splitCredentials } from './http-client.js';
import { type Backoff, MjpegStream } from './mjpeg-pull.js';
import { ServoController } from './servo.js';
import { SnapshotPoller } from './snapshot-poll.js';

/** How long an on-demand stream stays open after the last viewer left (page reloads, tile flips). */
const LINGER_MS = 3000;

export interface PulledCameraContext {
  hub: CameraHub;
  logger: Logger;
  commandTimeoutMs: number;
  cameraTimeoutMs: number;
}

/**
 * A camera that serves HTTP (MJPEG stream and/or stills) and that cam2mqtt pulls. To the hub it is a
 * camera like any other: attached while frames arrive, detached (offline) while the camera is away.
 * It is its own CameraLink (one object for the camera's lifetime; reconnects re-attach it).
 */
export class PulledCamera implements CameraLink {
  readonly protocol: 'mjpeg' | 'snapshot';
  readonly remote: string;
  readonly stream: MjpegStream | undefined;
  /** Polling source (no mjpeg_url), or full-resolution stills next to the stream (both URLs set). */
  readonly stills: SnapshotPoller | undefined;
  readonly servo: ServoController | undefined;
  readonly onDemand: boolean;
  private readonly auth: HttpAuth | undefined;
  private readonly log: Logger;
  private attached = false;
  private stopped = true;
  private wanted = false;
  private seq = 0;
  private waiters: ((f: Frame) => void)[] = [];
  private lingerTimer: NodeJS.Timeout | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private keepAliveTimer: NodeJS.Timeout | undefined;
  /** On-demand stream running only to fetch one frame (startup, snapshot requests). */
  private grabbing = false;
  private statusFetched = false;
  private readonly capabilities: string[];
  private readonly host: string;
  private readonly port: number;

  constructor(
    readonly cam: Camera,
    readonly cfg: CameraConfig,
    private readonly ctx: PulledCameraContext,
  ) {
    this.log = ctx.logger.child({ mod: `http:${cam.id}` });
    const primary = splitCredentials((cfg.mjpeg_url ?? cfg.snapshot_url)!);
    const creds: AuthCredentials | undefined = cfg.auth
      ? { username: cfg.auth.username, password: cfg.auth.password, type: cfg.auth.type }
      : primary.username !== undefined
        ? { username: primary.username, password: primary.password ?? '', type: 'auto' }
        : undefined;
    this.auth = creds ? new HttpAuth(creds) : undefined;
    this.host = primary.url.hostname.replace(/^\[|\]$/g, '');
    this.port = Number(primary.url.port) || (primary.url.protocol === 'https:' ? 443 : 80);
    this.remote = `${primary.url.hostname}:${this.port}`;
    this.protocol = cfg.mjpeg_url ? 'mjpeg' : 'snapshot';
    this.onDemand = cfg.on_demand;
    const backoff: Backoff = {
      minMs: cfg.reconnect.min_delay * 1000,
      maxMs: Math.max(cfg.reconnect.min_delay, cfg.reconnect.max_delay) * 1000,
    };
    const readTimeoutMs = cfg.read_timeout * 1000;
    if (cfg.mjpeg_url) {
      this.stream = new MjpegStream({
        url: primary.url,
        auth: this.auth,
        maxFrameBytes: cfg.max_frame_bytes,
        readTimeoutMs,
        backoff,
        log: this.log,
        onFrame: (jpeg) => this.onJpeg(jpeg),
        onDown: (reason) => this.down(reason),
        onBad: () => this.cam.badMessages++,
      });
    }
    if (cfg.snapshot_url) {
      const s = cfg.mjpeg_url ? splitCredentials(cfg.snapshot_url) : primary;
      const auth =
        s.username !== undefined && !cfg.auth
          ? new HttpAuth({ username: s.username, password: s.password ?? '', type: 'auto' })
          : this.auth;
      const polling = !cfg.mjpeg_url;
      this.stills = new SnapshotPoller({
        url: s.url,
        auth,
        maxFrameBytes: cfg.max_frame_bytes,
        timeoutMs: readTimeoutMs,
        intervalMs: cfg.snapshot_poll_interval * 1000,
        backoff,
        log: this.log,
        // Stills next to a stream are snapshots, not stream frames.
        onFrame: polling ? (jpeg) => this.onJpeg(jpeg) : () => {},
        onDown: polling ? (reason) => this.down(reason) : () => {},
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
    return this.stream?.url ?? this.stills?.url ?? '?';
  }

  start(): void {
    this.stopped = false;
    this.wanted = this.cam.watchers > 0;
    const mode = this.onDemand ? 'on demand' : 'continuously';
    this.log.info(
      `camera ${this.cam.id}: pulling ${this.protocol === 'mjpeg' ? 'MJPEG' : 'stills'} from ${this.source} ${mode}${this.auth ? ` (${this.cfg.auth?.type ?? 'auto'} auth as ${this.auth.creds.username})` : ''}`,
    );
    if (this.protocol === 'snapshot') {
      this.applyPollRate();
      this.stills!.start();
      // Stills may come less often than limits.camera_timeout: a camera that answers its polls is alive.
      this.keepAliveTimer = setInterval(
        () => {
          if (this.attached && this.stills!.up) this.ctx.hub.touch(this.cam);
        },
        Math.max(1000, this.ctx.cameraTimeoutMs / 3),
      );
      this.keepAliveTimer.unref();
      return;
    }
    if (!this.onDemand || this.wanted) {
      this.stream!.start();
      return;
    }
    // On demand and nobody watching: fetch one frame so that snapshots and tiles have a picture.
    this.grabbing = true;
    this.stream!.start();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.lingerTimer);
    clearTimeout(this.probeTimer);
    clearInterval(this.keepAliveTimer);
    this.stream?.stop();
    this.stills?.close();
    if (this.attached) {
      this.attached = false;
      this.ctx.hub.detach(this.cam, this, 'bridge stopping');
    }
    for (const w of this.waiters.splice(0)) w(undefined as unknown as Frame);
  }

  private meta() {
    return {
      capabilities: this.capabilities,
      model: this.protocol === 'mjpeg' ? 'MJPEG over HTTP' : 'JPEG stills over HTTP',
    };
  }

  private attach(): void {
    if (this.attached || this.stopped) return;
    this.attached = true;
    this.ctx.hub.attach(this.cam.id, this.protocol, this, this.meta());
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

  private down(reason: string): void {
    if (!this.attached) return;
    this.attached = false;
    this.ctx.hub.detach(this.cam, this, reason);
  }

  private onJpeg(jpeg: Buffer): void {
    const now = Date.now();
    const frame: Frame = { data: jpeg, seq: ++this.seq, cameraTime: now, receivedAt: now };
    if (!this.attached) this.attach();
    if (!this.attached) return;
    this.ctx.hub.pushFrame(this.cam, frame);
    if (this.waiters.length) for (const w of this.waiters.splice(0)) w(frame);
    if (this.grabbing && !this.wanted && this.onDemand) {
      this.grabbing = false;
      this.idle();
    }
  }

  /** On demand, nobody watching: close the stream, keep checking that the camera is there. */
  private idle(): void {
    clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    this.stream?.stop();
    this.scheduleProbe();
  }

  private scheduleProbe(): void {
    clearTimeout(this.probeTimer);
    if (this.stopped) return;
    const every = Math.max(1000, Math.min(10_000, this.ctx.cameraTimeoutMs / 2));
    this.probeTimer = setTimeout(() => void this.probe(), every);
    this.probeTimer.unref();
  }

  /** A TCP connect to the camera: cheap, and does not take the camera's single stream slot. */
  private async probe(): Promise<void> {
    if (this.stopped || this.stream?.running) return;
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: this.host, port: this.port });
      const t = setTimeout(
        () => {
          s.destroy();
          resolve(false);
        },
        Math.min(5000, this.cfg.read_timeout * 1000),
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
    if (this.stopped || this.stream?.running) return;
    if (ok) {
      if (!this.attached) this.attach();
      else this.ctx.hub.touch(this.cam);
    } else {
      this.down(`camera unreachable (${this.remote})`);
    }
    this.scheduleProbe();
  }

  private applyPollRate(): void {
    if (!this.stills || this.protocol !== 'snapshot') return;
    const base = this.cfg.snapshot_poll_interval * 1000;
    // On demand: full rate while watched, else slow (enough to keep the camera online and the picture fresh).
    this.stills.intervalMs =
      this.onDemand && !this.wanted ? Math.max(base, Math.min(10_000, this.ctx.cameraTimeoutMs / 2)) : base;
  }

  // ---- CameraLink ----

  setDemand(watching: boolean): void {
    this.wanted = watching;
    if (this.stopped || !this.onDemand) return;
    if (this.protocol === 'snapshot') {
      const before = this.stills!.intervalMs;
      this.applyPollRate();
      // Someone started watching: poll at the full rate from now on, starting at once.
      if (this.stills!.intervalMs < before) this.stills!.pollNow();
      return;
    }
    if (watching) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = undefined;
      clearTimeout(this.probeTimer);
      this.grabbing = false;
      this.stream!.start();
      return;
    }
    if (!this.stream!.running || this.lingerTimer || this.grabbing) return;
    this.lingerTimer = setTimeout(() => {
      this.lingerTimer = undefined;
      if (!this.wanted) this.idle();
    }, LINGER_MS);
    this.lingerTimer.unref();
  }

  close(code: number, reason: string): void {
    this.attached = false;
    if (code === CLOSE.TIMEOUT) {
      // The hub heard nothing for camera_timeout: start over.
      this.stream?.restart();
      return;
    }
    if (code === CLOSE.REPLACED)
      this.log.warn(
        `camera ${this.cam.id}: another connection took over this camera id (${reason}); no longer pulling ${this.source}`,
      );
    this.stop();
  }

  async snapshot(timeoutMs: number): Promise<Frame> {
    if (this.stills && this.protocol === 'mjpeg') {
      // Full-resolution still from snapshot_url next to the stream.
      try {
        const jpeg = await this.stills.fetch();
        const now = Date.now();
        return { data: jpeg, seq: this.seq, cameraTime: now, receivedAt: now };
      } catch (err) {
        this.log.debug(`camera ${this.cam.id}: snapshot_url failed (${(err as Error).message}); using the stream`);
      }
    }
    if (this.protocol === 'snapshot') {
      await this.stills!.fetch().catch((err: Error) => {
        throw new CommandError('rejected', `camera ${this.cam.id}: ${err.message}`);
      });
      const f = this.cam.latest;
      if (!f) throw new CommandError('offline', `camera ${this.cam.id} has sent no picture yet`);
      return f;
    }
    const next = this.nextFrame(timeoutMs);
    if (!this.stream!.running) {
      this.grabbing = true;
      this.stream!.start();
    }
    return next;
  }

  private nextFrame(timeoutMs: number): Promise<Frame> {
    return new Promise<Frame>((resolve, reject) => {
      const w = (f: Frame) => {
        clearTimeout(t);
        if (f) resolve(f);
        else reject(new CommandError('offline', `camera ${this.cam.id}: stopped`));
      };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        const f = this.cam.latest;
        if (f) resolve(f);
        else reject(new CommandError('timeout', `camera ${this.cam.id} sent no frame within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.waiters.push(w);
    });
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
      const v = cmd.value as number;
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
    const url = new URL(keys === 'camerawebserver' ? '/status' : '/status?q', base.origin);
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
    if (keys === 'camerawebserver') {
      const info: Record<string, unknown> = { ...raw };
      const idx = Number(raw.framesize);
      if (Number.isInteger(idx) && FRAMESIZES[idx]) info.framesize = FRAMESIZES[idx];
      if (Number.isInteger(idx)) info.framesize_index = idx;
      const led = Number(raw.led_intensity);
      if (Number.isFinite(led)) info.lamp = Math.round((led / 255) * 100);
      for (const k of ['vflip', 'hmirror'])
        if (raw[k] !== undefined) info[k] = String(raw[k]) === '1' || raw[k] === true;
      this.ctx.hub.updateInfo(this.cam, info);
    } else {
      const fw = keys === 'mjpeg2sd_v8' ? '8' : typeof raw.fw_version === 'string' ? raw.fw_version : '10';
      this.ctx.hub.updateInfo(this.cam, normalizeLegacyInfo(raw, fw));
    }
    return raw;
  }

  statusJSON(): Record<string, unknown> {
    return {
      protocol: this.protocol,
      source: this.source,
      on_demand: this.onDemand,
      online: this.attached,
      streaming: this.stream?.running ?? false,
      connects: this.stream?.connects ?? this.stills?.requests ?? 0,
      frames: this.stream?.frames ?? this.stills?.frames ?? 0,
      oversize: (this.stream?.oversize ?? 0) + (this.stills?.oversize ?? 0),
      last_error: this.stream?.lastError ?? this.stills?.lastError ?? null,
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
