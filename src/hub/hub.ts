import { EventEmitter } from 'node:events';
import type { Logger } from '../logging.js';
import { Camera, type CameraLink, type CameraMeta, type LogEntry, type MotionRegion, type Protocol } from './camera.js';
import { type Command, CommandError, type CommandResult } from './controls.js';
import type { ClipEvent, HubEvent, HubEvents, HubListener, MotionEvent, SnapshotReason } from './events.js';
import { type Frame, jpegSize } from './frame.js';

export type { ClipEvent, EventRecording, MotionEvent, SnapshotReason } from './events.js';

export interface HubOptions {
  logger: Logger;
  /** Known camera ids with their per-camera settings (from cameras:). */
  configured: Record<string, { name?: string; token?: string; mjpeg_url?: string; snapshot_url?: string }>;
  allowUnknown: boolean;
  maxCameras: number;
  cameraTimeoutMs: number;
  commandTimeoutMs: number;
}

export interface Admission {
  ok: boolean;
  code?: number;
  reason?: string;
}

/** Close codes shared by the camera sources (see docs/protocol.md). */
export const CLOSE = {
  GOING_AWAY: 1001,
  TOO_BIG: 1009,
  TRY_LATER: 1013,
  PROTOCOL: 4000,
  UNAUTHORIZED: 4001,
  UNKNOWN_CAMERA: 4003,
  REPLACED: 4004,
  TIMEOUT: 4008,
  VERSION: 4009,
} as const;

/**
 * Bounds on what a camera may tell about itself (issue 13): every value below is stored, published
 * over MQTT and shown on the page, so none may grow with what a client sends.
 */
export const BOUNDS = {
  /** Camera ids as sent in a hello (before slugging) and names, model, firmware (characters). */
  id: 64,
  name: 64,
  /** Info keys kept per camera, the length of a key, and of a value (strings; others as JSON). */
  infoKeys: 64,
  infoKey: 64,
  infoValue: 256,
  /** Capabilities in a hello, and the length of each. */
  caps: 32,
  cap: 32,
} as const;

const clip = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** Meta with every string clipped to its bound (see BOUNDS). */
export function boundMeta(meta: CameraMeta): CameraMeta {
  return {
    ...(meta.name !== undefined ? { name: clip(meta.name, BOUNDS.name) } : {}),
    ...(meta.model !== undefined ? { model: clip(meta.model, BOUNDS.name) } : {}),
    ...(meta.firmware !== undefined ? { firmware: clip(meta.firmware, BOUNDS.name) } : {}),
    ...(meta.capabilities !== undefined
      ? { capabilities: meta.capabilities.slice(0, BOUNDS.caps).map((c) => c.slice(0, BOUNDS.cap)) }
      : {}),
  };
}

/** An info value within BOUNDS.infoValue: long strings are cut, big objects become cut JSON text. */
function boundValue(v: unknown): unknown {
  if (typeof v === 'string') return clip(v, BOUNDS.infoValue);
  if (typeof v !== 'object' || v === null) return v;
  const json = JSON.stringify(v);
  return json.length > BOUNDS.infoValue ? clip(json, BOUNDS.infoValue) : v;
}

/**
 * JSON of an object for the per-camera log, built only as far as the log keeps (500 characters):
 * a camera's big info message costs its first keys, not a full JSON.stringify.
 */
export function logPreview(obj: Record<string, unknown>, max = 500): string {
  let out = '{';
  for (const k in obj) {
    if (!Object.hasOwn(obj, k)) continue;
    const v = obj[k];
    const val = typeof v === 'string' ? JSON.stringify(v.slice(0, max)) : (JSON.stringify(v) ?? 'null');
    out += `${out.length > 1 ? ',' : ''}${JSON.stringify(k.slice(0, max))}:${val}`;
    if (out.length > max) return out;
  }
  return `${out}}`;
}

/**
 * The event bus between sources and sinks: events and their payloads are typed in events.ts.
 * Features subscribe with `listen(owner, ...)`, which isolates their exceptions, and are
 * unsubscribed all at once with `unlisten(owner)` (the bridge does it after each extension's stop).
 */
export class CameraHub extends EventEmitter<HubEvents> {
  private readonly cameras = new Map<string, Camera>();
  private readonly owners = new Map<object, [HubEvent, (...args: never[]) => void][]>();
  private statsTimer: NodeJS.Timeout | undefined;
  private lastStatsAt = Date.now();
  private readonly log: Logger;

  constructor(private readonly opts: HubOptions) {
    super();
    this.setMaxListeners(100);
    this.log = opts.logger.child({ mod: 'hub' });
    for (const [id, c] of Object.entries(opts.configured)) {
      const cam = this.create(id, c.name);
      cam.configured = true;
    }
  }

  /**
   * Subscribe `fn` on behalf of `owner`. A listener that throws is logged (one line) and the others
   * still run: one feature's bug never reaches the source that emitted.
   */
  listen<K extends HubEvent>(owner: object, event: K, fn: HubListener<K>): void {
    const name = (owner as { name?: unknown }).name ?? owner.constructor.name;
    const safe = ((...args: HubEvents[K]) => {
      try {
        fn(...args);
      } catch (err) {
        this.log.error(`${String(name)}: its "${event}" listener failed: ${(err as Error).stack ?? err}`);
      }
    }) as HubListener<K>;
    let list = this.owners.get(owner);
    if (!list) this.owners.set(owner, (list = []));
    list.push([event, safe as (...args: never[]) => void]);
    // biome-ignore lint/suspicious/noExplicitAny: EventEmitter<HubEvents>'s listener type is a conditional type TS cannot narrow by K.
    this.on(event, safe as any);
  }

  /** Remove every listener `owner` registered with listen(). */
  unlisten(owner: object): void {
    const list = this.owners.get(owner);
    if (!list) return;
    this.owners.delete(owner);
    // biome-ignore lint/suspicious/noExplicitAny: as in listen().
    for (const [event, fn] of list) this.off(event, fn as any);
  }

  start(): void {
    this.statsTimer = setInterval(() => this.tick(), 1000);
    this.statsTimer.unref();
  }

  stop(): void {
    if (this.statsTimer) clearInterval(this.statsTimer);
  }

  get(id: string): Camera | undefined {
    return this.cameras.get(id);
  }

  list(): Camera[] {
    return [...this.cameras.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  get commandTimeoutMs(): number {
    return this.opts.commandTimeoutMs;
  }

  /** May this camera connect? Token is checked only for cameras that have one configured. */
  admit(id: string, token: string | undefined): Admission {
    const conf = this.opts.configured[id];
    // The bridge pulls this camera itself: its id is not free for a dial-in connection (issue 13).
    if (conf?.mjpeg_url !== undefined || conf?.snapshot_url !== undefined) {
      return {
        ok: false,
        code: CLOSE.UNKNOWN_CAMERA,
        reason: `camera id "${id}" belongs to a camera the bridge pulls over HTTP (cameras.${id}.${conf.mjpeg_url !== undefined ? 'mjpeg_url' : 'snapshot_url'}); a dial-in camera cannot take it`,
      };
    }
    if (conf?.token !== undefined && conf.token !== token) {
      return { ok: false, code: CLOSE.UNAUTHORIZED, reason: token === undefined ? 'token required' : 'wrong token' };
    }
    if (!conf && !this.opts.allowUnknown && !this.cameras.get(id)?.configured) {
      return {
        ok: false,
        code: CLOSE.UNKNOWN_CAMERA,
        reason: `unknown camera "${id}" (allow_unknown_cameras is false)`,
      };
    }
    if (!this.cameras.has(id) && this.cameras.size >= this.opts.maxCameras) {
      return {
        ok: false,
        code: CLOSE.TRY_LATER,
        reason: `camera limit reached (limits.max_cameras = ${this.opts.maxCameras})`,
      };
    }
    return { ok: true };
  }

  requiresToken(id: string): boolean {
    return this.opts.configured[id]?.token !== undefined;
  }

  private create(id: string, name?: string, setup?: (cam: Camera) => void): Camera {
    const cam = new Camera(id, name);
    setup?.(cam);
    cam.onDemandChange = (watching) => cam.link?.setDemand?.(watching);
    this.cameras.set(id, cam);
    this.emit('camera', cam);
    return cam;
  }

  /**
   * A source has a live connection for `id`. Newest wins: an existing connection for the same id is
   * closed with CLOSE.REPLACED (a rebooted camera reconnects before its old socket times out).
   */
  attach(id: string, protocol: Protocol, link: CameraLink, rawMeta: CameraMeta = {}): Camera {
    const meta = boundMeta(rawMeta);
    let cam = this.cameras.get(id);
    if (!cam) {
      cam = this.create(id, meta.name);
      this.log.info(`new camera ${id} registered (${protocol}, ${link.remote})`);
    }
    const old = cam.link;
    if (old && old !== link) {
      this.log.warn(`camera ${id}: new connection from ${link.remote} replaces the one from ${old.remote}`);
      cam.link = undefined;
      old.close(CLOSE.REPLACED, 'replaced by a newer connection with the same camera id');
    }
    if (meta.name && !cam.configured && !cam.renamed) cam.name = meta.name;
    cam.protocol = protocol;
    cam.model = meta.model ?? cam.model;
    cam.firmware = meta.firmware ?? cam.firmware;
    if (meta.capabilities) cam.capabilities = new Set(meta.capabilities);
    cam.link = link;
    cam.remote = link.remote;
    cam.connectedAt = Date.now();
    cam.connections++;
    cam.lastSeen = cam.connectedAt;
    const wasOnline = cam.online;
    cam.online = true;
    this.emit('updated', cam);
    if (!wasOnline) {
      this.log.info(`camera ${id} online (${protocol}, ${link.remote})`);
      this.emit('online', cam);
    }
    link.setDemand?.(cam.watchers > 0);
    return cam;
  }

  /** The source's connection ended. Ignored if the camera has already moved to a newer link. */
  detach(cam: Camera, link: CameraLink, reason: string): void {
    if (cam.link !== link) return;
    cam.link = undefined;
    cam.online = false;
    this.log.info(`camera ${cam.id} offline: ${reason}`);
    if (cam.motion) this.setMotion(cam, false, Date.now());
    this.emit('offline', cam);
  }

  /** Hot path: one call per received frame. */
  pushFrame(cam: Camera, frame: Frame): void {
    cam.latest = frame;
    cam.lastSeen = frame.receivedAt;
    cam.frames++;
    cam.bytes += jpegSize(frame);
    cam.deliver(frame);
  }

  touch(cam: Camera): void {
    cam.lastSeen = Date.now();
  }

  /**
   * Merge what a camera reports into its info, within BOUNDS: values are cut to size, keys past
   * BOUNDS.infoKeys (and over-long or prototype keys) are dropped, with one summary line per camera.
   * Listeners get the bounded patch.
   */
  updateInfo(cam: Camera, patch: Record<string, unknown>): void {
    const out: Record<string, unknown> = {};
    let changed = false;
    let dropped = 0;
    let firstDropped: string | undefined;
    let count = Object.keys(cam.info).length;
    for (const k in patch) {
      if (!Object.hasOwn(patch, k)) continue;
      const known = Object.hasOwn(cam.info, k);
      if (!known && (k.length > BOUNDS.infoKey || k === '__proto__' || count >= BOUNDS.infoKeys)) {
        dropped++;
        firstDropped ??= k;
        continue;
      }
      const v = boundValue(patch[k]);
      out[k] = v;
      if (known && cam.info[k] === v) continue;
      if (!known) count++;
      cam.info[k] = v;
      changed = true;
    }
    if (dropped > 0) {
      cam.droppedInfoKeys += dropped;
      if (!cam.droppedInfoLogged) {
        cam.droppedInfoLogged = true;
        this.log.warn(
          `camera ${cam.id}: dropped ${dropped} info key(s) (first: ${JSON.stringify(clip(firstDropped!, BOUNDS.infoKey))}): a camera keeps at most ${BOUNDS.infoKeys} keys of at most ${BOUNDS.infoKey} characters; later drops are not logged`,
        );
      }
    }
    if (changed) this.emit('info', cam, out);
  }

  setMeta(cam: Camera, rawMeta: CameraMeta): void {
    const meta = boundMeta(rawMeta);
    if (meta.name && !cam.configured && !cam.renamed) cam.name = meta.name;
    if (meta.model) cam.model = meta.model;
    if (meta.firmware) cam.firmware = meta.firmware;
    if (meta.capabilities) cam.capabilities = new Set(meta.capabilities);
    this.emit('updated', cam);
  }

  rename(id: string, name: string): Camera {
    const cam = this.cameras.get(id);
    if (!cam) throw new CommandError('unknown_camera', `unknown camera "${id}"`);
    cam.name = clip(name, BOUNDS.name);
    cam.renamed = true;
    this.emit('updated', cam);
    return cam;
  }

  /**
   * Re-register a camera known from an earlier run (the known-camera store): offline, with the
   * protocol, model, firmware and capabilities it last had, until it connects again. A camera that is
   * already online is left alone; a configured one only gets the remembered details.
   */
  restore(
    id: string,
    protocol: Protocol | undefined,
    raw: CameraMeta & { renamed?: boolean; lastSeen?: number } = {},
  ): Camera {
    const meta = { ...raw, ...boundMeta(raw) };
    const apply = (cam: Camera) => {
      if (meta.name && (meta.renamed || !cam.configured) && !this.opts.configured[id]?.name) cam.name = meta.name;
      if (meta.renamed) cam.renamed = true;
      cam.protocol = cam.protocol ?? protocol;
      cam.model = cam.model ?? meta.model;
      cam.firmware = cam.firmware ?? meta.firmware;
      if (cam.capabilities.size === 0 && meta.capabilities) cam.capabilities = new Set(meta.capabilities);
      cam.lastSeen = cam.lastSeen ?? meta.lastSeen;
    };
    const existing = this.cameras.get(id);
    if (!existing) return this.create(id, meta.name, apply);
    if (existing.online) return existing;
    apply(existing);
    this.emit('updated', existing);
    return existing;
  }

  /** Forget a camera: closes its connection and tells the sinks (MQTT clears its topics). */
  remove(id: string): boolean {
    const cam = this.cameras.get(id);
    if (!cam) return false;
    const link = cam.link;
    cam.link = undefined;
    cam.online = false;
    link?.close(CLOSE.GOING_AWAY, 'camera removed from the bridge');
    this.cameras.delete(id);
    this.emit('removed', cam);
    this.log.info(`camera ${id} removed`);
    return true;
  }

  setMotion(cam: Camera, on: boolean, cameraTime: number, region?: MotionRegion): void {
    if (on) cam.motionRegion = region ?? cam.motionRegion;
    if (cam.motion === on) {
      if (on && region) this.emit('updated', cam);
      return;
    }
    cam.motion = on;
    if (on) cam.motionEventId = `${cam.id}-${cameraTime}`;
    const event: MotionEvent = {
      camera: cam,
      state: on ? 'start' : 'end',
      eventId: cam.motionEventId ?? `${cam.id}-${cameraTime}`,
      cameraTime,
      frameSeq: cam.latest?.seq,
      region: on ? cam.motionRegion : undefined,
    };
    if (!on) cam.motionRegion = undefined;
    this.log.info(`camera ${cam.id} motion ${on ? 'started' : 'ended'}`);
    // The frame at the start of motion becomes the snapshot, before the event, so an automation that
    // reacts to the event finds the matching image already published.
    if (on && cam.latest) {
      cam.snapshot = cam.latest;
      this.emit('snapshot', cam, cam.latest, 'motion');
    }
    this.emit('motion', event);
  }

  /**
   * Turn a camera's recording on or off (MQTT's switch, the API). Refused while recordings are off
   * (Camera.recording undefined); the recordings sink acts on the `recording` event.
   */
  setRecording(cam: Camera, on: boolean): void {
    if (cam.recording === undefined)
      throw new CommandError('unsupported', 'recordings are off (set recordings.enabled: true)');
    if (cam.recording === on) return;
    cam.recording = on;
    this.log.info(`camera ${cam.id}: recording switched ${on ? 'on' : 'off'}`);
    this.emit('recording', cam);
  }

  /** The recordings sink tells about a clip (the page and MQTT show it). */
  clipEvent(clip: ClipEvent): void {
    this.emit('clip', clip);
  }

  addLog(cam: Camera, dir: LogEntry['dir'], text: string): void {
    const entry: LogEntry = { t: Date.now(), dir, text: text.length > 500 ? `${text.slice(0, 497)}...` : text };
    cam.log.push(entry);
    this.emit('log', cam, entry);
  }

  /** Send a validated command to a camera through whatever protocol it speaks. */
  async command(id: string, cmd: Command, timeoutMs = this.opts.commandTimeoutMs): Promise<CommandResult> {
    const cam = this.cameras.get(id);
    if (!cam) throw new CommandError('unknown_camera', `unknown camera "${id}"`);
    if (cmd.name === 'snapshot') {
      const f = await this.takeSnapshot(cam, 'request', timeoutMs);
      return { answer: { seq: f.seq, bytes: jpegSize(f), camera_time: f.cameraTime } };
    }
    if (!cam.online || !cam.link) throw new CommandError('offline', `camera ${id} is offline`);
    return cam.link.send(cmd, timeoutMs);
  }

  /**
   * Publish a snapshot: a fresh full-resolution frame from cameras that can take one, else the
   * latest frame (kept even while the camera is offline).
   */
  async takeSnapshot(cam: Camera, reason: SnapshotReason, timeoutMs = this.opts.commandTimeoutMs): Promise<Frame> {
    let frame: Frame | undefined;
    if (reason === 'request' && cam.online && cam.link?.snapshot && cam.capabilities.has('snapshot')) {
      frame = await cam.link.snapshot(timeoutMs);
    } else {
      frame = cam.latest;
    }
    if (!frame) throw new CommandError('offline', `camera ${cam.id} has sent no frame yet`);
    cam.snapshot = frame;
    this.emit('snapshot', cam, frame, reason);
    return frame;
  }

  /** A snapshot the camera sent on its own (native frame with the snapshot flag). */
  pushSnapshot(cam: Camera, frame: Frame): void {
    cam.snapshot = frame;
    this.emit('snapshot', cam, frame, 'camera');
  }

  private tick(): void {
    const now = Date.now();
    const dt = (now - this.lastStatsAt) / 1000;
    this.lastStatsAt = now;
    for (const cam of this.cameras.values()) {
      cam.fps = dt > 0 ? (cam.frames - cam.statFrames) / dt : 0;
      cam.bitrate = dt > 0 ? ((cam.bytes - cam.statBytes) * 8) / dt : 0;
      cam.statFrames = cam.frames;
      cam.statBytes = cam.bytes;
      if (cam.online && cam.link && cam.lastSeen !== undefined && now - cam.lastSeen > this.opts.cameraTimeoutMs) {
        const link = cam.link;
        this.log.warn(
          `camera ${cam.id}: nothing received for ${Math.round((now - cam.lastSeen) / 1000)} s, closing its connection`,
        );
        this.detach(cam, link, 'timeout');
        link.close(CLOSE.TIMEOUT, 'no data received within camera_timeout');
      }
    }
    this.emit('stats');
  }
}
