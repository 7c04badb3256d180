import { isRelayed } from '../cluster/gate.js';
import type { CameraConfig } from '../config/schema.js';
import type { Camera } from '../hub/camera.js';
import type { Frame } from '../hub/frame.js';
import type { CameraHub } from '../hub/hub.js';
import type { Logger } from '../logging.js';
import { type DecoderName, GreyDecoder } from './decode.js';
import { type Analysis, MotionDetector } from './detector.js';

export type MotionSettings = CameraConfig['motion'];

/** Per-camera detection state and cost counters. */
class CameraMotion {
  readonly detector: MotionDetector;
  unsubscribe: (() => void) | undefined;
  latest: Frame | undefined;
  busy = false;
  lastRunAt = 0;
  /** Consecutive analysed frames with motion, and when motion was last seen. */
  streak = 0;
  lastMotionAt = 0;
  lastRegionAt = 0;
  /** The current motion event was started by this detector (not by the camera itself). */
  ours = false;
  last: Analysis | undefined;
  analysed = 0;
  skipped = 0;
  errors = 0;
  decodeMs = 0;
  analyseMs = 0;

  constructor(
    readonly cam: Camera,
    readonly settings: MotionSettings,
  ) {
    this.detector = new MotionDetector({
      sensitivity: settings.sensitivity,
      minArea: settings.min_area,
      ignore: settings.ignore,
    });
  }

  toJSON(): Record<string, unknown> {
    const n = Math.max(1, this.analysed);
    return {
      analysed: this.analysed,
      skipped: this.skipped,
      errors: this.errors,
      changed_percent: this.last?.changed ?? 0,
      avg_decode_ms: Math.round((this.decodeMs / n) * 100) / 100,
      avg_analyse_ms: Math.round((this.analyseMs / n) * 100) / 100,
      max_fps: this.settings.max_fps,
    };
  }
}

/**
 * Server-side motion detection for the cameras that have `motion_detection: true` (pulled cameras, which
 * report none, or dial-in cameras without their own). Watches each camera's frames, decodes at most
 * `max_fps` of them a second at reduced size (the others are skipped, newest frame wins), and drives the
 * hub's motion state: the same topics, events, snapshots and red box as camera-side motion.
 */
export class MotionService {
  private readonly cams = new Map<string, CameraMotion>();
  private readonly decoder: GreyDecoder;
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly hub: CameraHub,
    logger: Logger,
    private readonly configured: Record<string, CameraConfig>,
    decoder: DecoderName | 'auto' = 'auto',
  ) {
    this.log = logger.child({ mod: 'motion' });
    this.decoder = new GreyDecoder(decoder);
  }

  get enabled(): string[] {
    return Object.entries(this.configured)
      .filter(([, c]) => c.motion_detection)
      .map(([id]) => id);
  }

  async start(): Promise<void> {
    const ids = this.enabled;
    if (ids.length === 0) return;
    this.running = true;
    await this.decoder.init();
    this.log.info(`server-side motion detection on ${ids.join(', ')} (decoder: ${this.decoder.name})`);
    for (const id of ids) {
      const cam = this.hub.get(id);
      if (cam) this.watch(cam);
    }
    this.hub.listen(this, 'camera', this.onCamera);
    this.hub.listen(this, 'offline', this.onOffline);
    this.hub.listen(this, 'online', this.onOnline);
    this.timer = setInterval(() => this.tick(), 500);
    this.timer.unref();
  }

  stop(): void {
    this.running = false;
    clearInterval(this.timer);
    this.hub.unlisten(this);
    for (const m of this.cams.values()) m.unsubscribe?.();
    this.cams.clear();
  }

  status(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [id, m] of this.cams) out[id] = m.toJSON();
    return out;
  }

  get decoderName(): DecoderName {
    return this.decoder.name;
  }

  private readonly onCamera = (cam: Camera) => {
    if (this.configured[cam.id]?.motion_detection && !this.cams.has(cam.id)) this.watch(cam);
  };

  private readonly onOffline = (cam: Camera) => {
    const m = this.cams.get(cam.id);
    if (!m) return;
    // The scene may look different when it comes back; learn it again.
    m.detector.reset();
    m.streak = 0;
    m.latest = undefined;
  };

  /** Dial-in cameras announce their own capabilities: add 'motion' so sinks offer the motion sensor. */
  private readonly onOnline = (cam: Camera) => {
    if (this.cams.has(cam.id) && !cam.capabilities.has('motion'))
      this.hub.setMeta(cam, { capabilities: [...cam.capabilities, 'motion'] });
  };

  private watch(cam: Camera): void {
    const settings = this.configured[cam.id]!.motion;
    const m = new CameraMotion(cam, settings);
    this.cams.set(cam.id, m);
    if (this.configured[cam.id]!.on_demand) {
      this.log.info(
        `camera ${cam.id}: motion detection needs its frames, so it stays connected although on_demand is set`,
      );
    }
    m.unsubscribe = cam.subscribe((f) => this.onFrame(m, f));
  }

  /** Hot path: keep the newest frame, start an analysis if one is due and none is running. */
  private onFrame(m: CameraMotion, frame: Frame): void {
    // cluster: a camera owned by another instance is analysed there (its owner sets its motion).
    if (isRelayed(m.cam)) return;
    if (m.latest) m.skipped++;
    m.latest = frame;
    if (!m.busy && frame.receivedAt - m.lastRunAt >= 1000 / m.settings.max_fps) void this.run(m);
  }

  private async run(m: CameraMotion): Promise<void> {
    const frame = m.latest;
    if (!frame || !this.running) return;
    m.latest = undefined;
    m.busy = true;
    m.lastRunAt = Date.now();
    try {
      const t0 = performance.now();
      const img = await this.decoder.decode(frame.data, m.settings.width);
      const t1 = performance.now();
      const a = m.detector.analyse(img);
      const t2 = performance.now();
      m.decodeMs += t1 - t0;
      m.analyseMs += t2 - t1;
      m.analysed++;
      m.last = a;
      if (this.running && this.cams.get(m.cam.id) === m) this.apply(m, a, frame);
    } catch (err) {
      m.errors++;
      if (m.errors === 1 || m.errors % 100 === 0)
        this.log.warn(`camera ${m.cam.id}: cannot analyse a frame (${m.errors} so far): ${(err as Error).message}`);
    } finally {
      m.busy = false;
    }
  }

  private apply(m: CameraMotion, a: Analysis, frame: Frame): void {
    const cam = m.cam;
    const now = Date.now();
    if (a.motion) {
      m.streak++;
      m.lastMotionAt = now;
    } else {
      m.streak = 0;
    }
    if (!cam.online) return;
    if (!cam.motion && m.streak >= m.settings.start_frames) {
      this.log.debug(`camera ${cam.id}: ${a.changed}% of the picture changed for ${m.streak} frames`);
      m.lastRegionAt = now;
      m.ours = true;
      this.hub.setMotion(cam, true, frame.cameraTime, a.region);
    } else if (cam.motion && m.ours && a.motion && a.region && now - m.lastRegionAt >= 1000) {
      // Let the red box follow the movement, at most once a second.
      m.lastRegionAt = now;
      this.hub.setMotion(cam, true, frame.cameraTime, a.region);
    }
  }

  /** Motion ends after end_seconds without a changed frame (also when frames stop coming). */
  private tick(): void {
    const now = Date.now();
    for (const m of this.cams.values()) {
      const cam = m.cam;
      if (!cam.motion) {
        m.ours = false;
      } else if (m.ours && now - m.lastMotionAt >= m.settings.end_seconds * 1000) {
        m.ours = false;
        this.hub.setMotion(cam, false, now);
      }
    }
  }
}
