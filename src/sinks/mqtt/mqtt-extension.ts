import { clusterInstanceId, clusterMqtt, isRelayed } from '../../cluster/gate.js';
import type { Extension, ExtensionContext, ExtensionFactory, SinkFigures } from '../../extension.js';
import {
  bridgeDiscovery,
  type CameraDescriptor,
  cameraDiscovery,
  cameraNode,
  type DiscoveryConfig,
  type DiscoveryContext,
} from '../../formats/ha-discovery.js';
import { RESERVED_IDS, Topics } from '../../formats/mqtt-topics.js';
import type { Camera } from '../../hub/camera.js';
import { cameraSummary } from '../../hub/camera.js';
import type { Frame } from '../../hub/frame.js';
import type { ClipEvent, MotionEvent, SnapshotReason } from '../../hub/hub.js';
import type { Logger } from '../../logging.js';
import { EmbeddedBroker } from './broker.js';
import { EmbeddedTransport, ExternalTransport, redactUrl, type Transport } from './client.js';
import { CommandHandler, requestCameraId } from './commands.js';
import { Diagnostics } from './diagnostics.js';
import { ImagePublisher } from './image.js';
import { type SnapshotCause, SnapshotIntervals, SnapshotLimiter } from './snapshots.js';
import { DiscoveryPublisher, infoPayload, Publisher } from './state.js';

const ONLINE = JSON.stringify({ state: 'online' });
const OFFLINE = JSON.stringify({ state: 'offline' });
/**
 * Coalesce bursts: a new camera is registered, attached and sends its info within milliseconds, and a
 * legacy status reply touches a dozen keys; HA should get one discovery config and one info each.
 */
const FLUSH_DELAY_MS = 50;
/** A changed frame rate alone republishes <id>/info at most this often. */
const FPS_MIN_INTERVAL_MS = 5000;
/** HA birth: wait a moment so HA has subscribed to the state topics of the entities it just created. */
const BIRTH_DELAY_MS = 500;

interface CamState {
  /** Pending coalesced publish of <id>/info (and discovery / availability when flagged). */
  flushTimer: NodeJS.Timeout | undefined;
  flushDiscovery: boolean;
  flushState: boolean;
  infoAt: number;
  fps: number;
  /** Waiting for the first frame since the camera came online (published as the first snapshot). */
  firstAfter: number | undefined;
  /** cluster: this instance published the camera offline (its owner was gone); it says online again when it is back. */
  saidOffline?: boolean;
}

/**
 * MQTT and Home Assistant discovery (docs/mqtt.md): the embedded Aedes broker or the user's broker,
 * every camera announced, state/motion/snapshots published, commands routed back to the cameras.
 */
export class MqttExtension implements Extension {
  readonly name = 'mqtt';
  readonly topics: Topics;
  readonly broker: EmbeddedBroker | undefined;
  readonly transport: Transport;
  readonly publisher: Publisher;
  readonly discovery: DiscoveryPublisher;
  readonly commands: CommandHandler;
  private readonly snapshots: SnapshotLimiter;
  private readonly intervals: SnapshotIntervals;
  /** image.<id> (homeassistant.image_interval; undefined when 0). */
  readonly images: ImagePublisher | undefined;
  private readonly diagnostics: Diagnostics;
  private readonly log: Logger;
  private readonly cams = new Map<string, CamState>();
  private bridgeTimer: NodeJS.Timeout | undefined;
  private birthTimer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | undefined;
  private started = false;
  private readonly startedAt = Date.now();

  constructor(private readonly ctx: ExtensionContext) {
    const { config } = ctx;
    const m = config.mqtt;
    this.log = ctx.logger.child({ mod: 'mqtt' });
    this.topics = new Topics({
      base: m.base_topic,
      discoveryPrefix: config.homeassistant.discovery_prefix,
      haStatus: config.homeassistant.status_topic,
      // cluster: each instance its own bridge topics and device (docs/scale-out.md).
      ...(config.cluster ? { instance: clusterInstanceId(config.cluster) } : {}),
    });
    if (m.server) {
      this.transport = new ExternalTransport({
        server: m.server,
        username: m.username,
        password: m.password,
        clientId: m.client_id,
        ca: m.ca,
        cert: m.cert,
        key: m.key,
        rejectUnauthorized: m.reject_unauthorized,
        keepalive: m.keepalive,
        will: { topic: this.topics.bridgeState, payload: OFFLINE },
        logger: ctx.logger,
      });
    } else {
      this.broker = new EmbeddedBroker({
        host: m.host,
        port: m.port,
        users: m.users,
        maxPacketBytes: m.max_packet_bytes,
        maxRetainedBytes: m.max_retained_bytes,
        topics: this.topics,
        http: ctx.http,
        logger: ctx.logger,
        ...(config.cluster
          ? {
              cluster: {
                redis: config.cluster.redis,
                prefix: config.cluster.prefix,
                instanceId: clusterInstanceId(config.cluster),
              },
            }
          : {}),
      });
      this.transport = new EmbeddedTransport(this.broker);
    }
    this.publisher = new Publisher(this.transport);
    this.discovery = new DiscoveryPublisher(this.transport, this.topics, this.log);
    this.commands = new CommandHandler(ctx.hub, this.publisher, this.topics, this.log, { health: () => this.health() });
    this.snapshots = new SnapshotLimiter({
      minIntervalMs: m.snapshot_min_interval * 1000,
      maxBytes: m.snapshot_max_bytes,
      publish: (cam, frame, cause) => this.publishSnapshot(cam, frame, cause),
      logger: this.log,
    });
    this.intervals = new SnapshotIntervals(ctx.hub, this.log);
    const every = config.homeassistant.image_interval;
    if (every > 0)
      this.images = new ImagePublisher(ctx.hub, this.publisher, {
        intervalMs: every * 1000,
        topic: (id) => this.topics.image(id),
        maxBytes: m.snapshot_max_bytes,
        skip: (id) => RESERVED_IDS.has(id) || isRelayed(ctx.hub.get(id)),
      });
    this.diagnostics = new Diagnostics(
      ctx.bridge,
      this.publisher,
      (id) => this.topics.diagnostics(id),
      this.topics.bridgeDiagnostics,
      () => (this.broker ? this.broker.clientCount : null),
    );
  }

  private get discoveryOn(): boolean {
    return this.ctx.config.homeassistant.discovery;
  }

  async start(): Promise<void> {
    const hub = this.ctx.hub;
    hub.listen(this, 'camera', (cam) => this.onCamera(cam));
    hub.listen(this, 'updated', (cam) => this.onUpdated(cam));
    hub.listen(this, 'online', (cam) => this.onOnline(cam));
    hub.listen(this, 'offline', (cam) => this.onOffline(cam));
    hub.listen(this, 'removed', (cam) => this.onRemoved(cam));
    hub.listen(this, 'info', (cam) => this.schedule(cam));
    hub.listen(this, 'motion', (ev) => this.onMotion(ev));
    hub.listen(this, 'snapshot', (cam, frame, reason) => this.onSnapshot(cam, frame, reason));
    hub.listen(this, 'stats', () => this.onStats());
    hub.listen(this, 'recording', (cam) => this.onRecording(cam));
    hub.listen(this, 'clip', (clip) => this.onClip(clip));
    for (const cam of hub.list()) this.onCamera(cam);
    // cluster: after a Redis outage the shared broker may have lost what was published meanwhile.
    clusterMqtt(hub)?.onBack(() => {
      for (const cam of hub.list()) this.schedule(cam, { state: true });
      this.scheduleBridge();
      this.log.info("MQTT: state of this instance's cameras published again after the Redis outage");
    });

    this.transport.on('connect', () => this.onConnect());
    this.transport.on('disconnect', () => this.discovery.reset());
    this.transport.on('message', (topic: string, payload: Buffer) => this.onMessage(topic, payload));

    if (this.broker) await this.broker.start();
    this.transport.start();
    this.intervals.start(
      Object.fromEntries(Object.entries(this.ctx.config.cameras).map(([id, c]) => [id, c.snapshot_interval])),
    );
    this.images?.start();
    this.started = true;
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.ctx.hub.unlisten(this);
    this.images?.stop();
    this.intervals.stop();
    this.snapshots.stop();
    clearTimeout(this.bridgeTimer);
    clearTimeout(this.birthTimer);
    for (const s of this.cams.values()) clearTimeout(s.flushTimer);
    await this.transport.stop([{ topic: this.topics.bridgeState, payload: OFFLINE, opts: { retain: true, qos: 1 } }]);
    await this.broker?.stop();
  }

  status(): Record<string, unknown> {
    return {
      ...this.transport.status(),
      base_topic: this.topics.base,
      discovery: this.discoveryOn ? this.discovery.stats : false,
      published: this.publisher.published,
      snapshots_dropped: this.snapshots.dropped,
      commands: this.commands.stats,
      images: this.images ? this.images.published : false,
    };
  }

  figures(): SinkFigures {
    return {
      ...(this.broker ? { mqtt_clients: this.broker.clientCount } : {}),
      mqtt_messages_published: this.publisher.published,
      mqtt_bytes_published: this.publisher.publishedBytes,
      mqtt_snapshots_dropped: this.snapshots.dropped.too_big + this.snapshots.dropped.superseded,
    };
  }

  // ---- connection ----------------------------------------------------------------------------

  private onConnect(): void {
    const run = async () => {
      const t = this.topics;
      await this.transport.publish(t.bridgeState, ONLINE, { retain: true, qos: 1 });
      await this.transport.subscribe(t.subscriptions());
      if (this.discoveryOn) {
        try {
          // cluster: camera configs nobody in the cluster knows are stale too (none while Redis is away).
          const cluster = clusterMqtt(this.ctx.hub);
          const known = cluster ? await cluster.knownCameras() : undefined;
          await this.discovery.sync(
            () => this.allDiscovery(),
            known ? (id) => !known.has(id) && !this.ctx.hub.get(id) : undefined,
          );
        } catch (err) {
          this.log.warn(`Home Assistant discovery not published: ${(err as Error).message}`);
        }
      }
      this.publishBridge();
      const n = this.publisher.republish();
      this.log.debug(`published ${n} retained state message(s)`);
    };
    const p: Promise<void> = (this.syncing ?? Promise.resolve())
      .then(run)
      .catch((err: Error) => this.log.warn(`MQTT start-up publishing failed: ${err.message}`))
      .finally(() => {
        if (this.syncing === p) this.syncing = undefined;
      });
    this.syncing = p;
  }

  private onMessage(topic: string, payload: Buffer): void {
    const what = this.topics.classify(topic);
    switch (what.kind) {
      case 'set':
        // A camera another instance owns: that instance (on the same shared broker) answers.
        if (isRelayed(this.ctx.hub.get(what.id))) return;
        if (what.control === 'recording') return this.onRecordingSet(what.id, payload);
        void this.commands.handleSet(what.id, what.control, payload);
        return;
      case 'request':
        // cluster: the shared request topic is answered by one instance (docs/scale-out.md).
        if (!what.own && clusterMqtt(this.ctx.hub)?.answers(what.path, requestCameraId(payload)) === false) return;
        void this.commands.handleRequest(what.path, payload, what.own === true);
        return;
      case 'ha_status': {
        const s = payload.toString('utf8').trim().toLowerCase();
        this.log.info(`Home Assistant is ${s || '(empty status)'}`);
        if (s === 'online') {
          clearTimeout(this.birthTimer);
          this.birthTimer = setTimeout(() => {
            const n = this.publisher.republish();
            this.log.debug(`Home Assistant birth: re-published ${n} state message(s)`);
          }, BIRTH_DELAY_MS);
          this.birthTimer.unref();
        }
        return;
      }
      default:
        return;
    }
  }

  // ---- discovery --------------------------------------------------------------------------------

  private discoveryContext(): DiscoveryContext {
    return {
      topics: this.topics,
      version: this.ctx.bridge.version,
      publicUrl: this.ctx.bridge.publicUrl,
      image: this.images !== undefined,
    };
  }

  private describe(cam: Camera): CameraDescriptor {
    return {
      id: cam.id,
      name: cam.name,
      protocol: cam.protocol,
      model: cam.model,
      firmware: cam.firmware,
      capabilities: [...cam.capabilities].sort(),
      ...(cam.recording !== undefined ? { recording: true } : {}),
    };
  }

  private allDiscovery(): DiscoveryConfig[] {
    const dctx = this.discoveryContext();
    const out = bridgeDiscovery(dctx);
    for (const cam of this.ctx.hub.list())
      if (!RESERVED_IDS.has(cam.id)) out.push(...cameraDiscovery(this.describe(cam), dctx));
    return out;
  }

  private updateDiscovery(cam: Camera): void {
    if (!this.discoveryOn || RESERVED_IDS.has(cam.id)) return;
    this.discovery.update(cameraNode(cam.id), cameraDiscovery(this.describe(cam), this.discoveryContext()));
  }

  // ---- hub events ------------------------------------------------------------------------------

  private camState(id: string): CamState {
    let s = this.cams.get(id);
    if (!s) {
      s = { flushTimer: undefined, flushDiscovery: false, flushState: false, infoAt: 0, fps: 0, firstAfter: undefined };
      this.cams.set(id, s);
    }
    return s;
  }

  private onCamera(cam: Camera): void {
    if (RESERVED_IDS.has(cam.id)) {
      this.log.warn(
        `camera id "${cam.id}" is reserved for the bridge's own topics: this camera is not published on MQTT (give it another id)`,
      );
      return;
    }
    this.schedule(cam, { discovery: true, state: true });
    this.scheduleBridge();
    if (cam.recording !== undefined) this.onRecording(cam);
  }

  private onUpdated(cam: Camera): void {
    if (RESERVED_IDS.has(cam.id)) return;
    this.schedule(cam, { discovery: true });
    this.scheduleBridge();
  }

  private onOnline(cam: Camera): void {
    if (RESERVED_IDS.has(cam.id)) return;
    if (isRelayed(cam)) {
      // Owned elsewhere: its owner publishes; only an offline this instance published is taken back.
      const s = this.camState(cam.id);
      if (s.saidOffline) this.publisher.retain(this.topics.availability(cam.id), ONLINE, 1);
      s.saidOffline = false;
      return;
    }
    this.camState(cam.id).saidOffline = false;
    this.camState(cam.id).firstAfter = Date.now();
    this.images?.online(cam);
    this.publisher.retain(this.topics.availability(cam.id), ONLINE, 1);
    this.schedule(cam);
    this.scheduleBridge();
  }

  private onOffline(cam: Camera): void {
    if (RESERVED_IDS.has(cam.id)) return;
    this.camState(cam.id).firstAfter = undefined;
    this.camState(cam.id).saidOffline = true;
    this.publisher.retain(this.topics.availability(cam.id), OFFLINE, 1);
    this.schedule(cam);
    this.scheduleBridge();
  }

  private onRemoved(cam: Camera): void {
    if (RESERVED_IDS.has(cam.id)) return;
    const s = this.cams.get(cam.id);
    if (s) clearTimeout(s.flushTimer);
    this.cams.delete(cam.id);
    this.snapshots.forget(cam.id);
    this.images?.forget(cam.id);
    this.diagnostics.forget(cam.id);
    for (const topic of this.topics.cameraRetained(cam.id)) this.publisher.clear(topic);
    if (this.discoveryOn) this.discovery.remove(cameraNode(cam.id));
    this.log.info(`camera ${cam.id} removed: its MQTT topics and Home Assistant entities are cleared`);
    this.scheduleBridge();
  }

  private onMotion(ev: MotionEvent): void {
    const cam = ev.camera;
    if (RESERVED_IDS.has(cam.id)) return;
    const t = this.topics;
    this.publisher.retain(t.motion(cam.id), ev.state === 'start' ? 'ON' : 'OFF', 1);
    const payload: Record<string, unknown> = {
      event_type: ev.state === 'start' ? 'motion_start' : 'motion_end',
      event_id: ev.eventId,
      camera: cam.id,
      state: ev.state,
      camera_time: ev.cameraTime,
      camera_time_iso: new Date(ev.cameraTime).toISOString(),
      snapshot_seq: ev.frameSeq ?? null,
      region: ev.region ?? null,
    };
    const rec = ev.recording;
    const send = () => this.publisher.send(t.event(cam.id), JSON.stringify(payload), { qos: 1 });
    if (!rec) return send();
    // Recorded (the recordings sink): the thumbnail at once; motion_end once the clip is closed
    // (post_seconds later), with the clip's link and figures.
    payload.thumbnail_url = rec.thumbnailUrl;
    if (ev.state === 'start' || !rec.closed) return send();
    payload.clip_url = rec.clipUrl;
    void rec.closed.then((c) => {
      payload.duration_s = c.durationS;
      payload.frames = c.frames;
      send();
    });
  }

  /** The recording switch of a camera (recordings.enabled). */
  private onRecording(cam: Camera): void {
    if (RESERVED_IDS.has(cam.id) || cam.recording === undefined) return;
    this.publisher.retain(this.topics.recording(cam.id), cam.recording ? 'ON' : 'OFF', 1);
    this.schedule(cam, { discovery: true });
  }

  private onRecordingSet(id: string, payload: Buffer): void {
    const raw = payload.toString('utf8').trim().toUpperCase();
    const cam = this.ctx.hub.get(id);
    try {
      if (!cam) throw new Error(`unknown camera "${id}"`);
      if (raw !== 'ON' && raw !== 'OFF') throw new Error('expected ON or OFF');
      this.ctx.hub.setRecording(cam, raw === 'ON');
      this.onRecording(cam);
    } catch (err) {
      this.log.warn(
        `MQTT ${this.topics.set(id, 'recording')} ${JSON.stringify(raw.slice(0, 20))} refused: ${(err as Error).message}`,
      );
      // Say the real state again, so HA's switch does not stay where the user flipped it.
      if (cam?.recording !== undefined)
        this.publisher.send(this.topics.recording(id), cam.recording ? 'ON' : 'OFF', { retain: true, qos: 1 });
    }
  }

  /** A motion clip closed: `<id>/last_event` (HA's last event sensor, with the URLs as attributes). */
  private onClip(clip: ClipEvent): void {
    const cam = clip.camera;
    if (RESERVED_IDS.has(cam.id) || clip.kind !== 'motion' || clip.state !== 'closed') return;
    const url = this.ctx.bridge.publicUrl;
    this.publisher.retain(
      this.topics.lastEvent(cam.id),
      JSON.stringify({
        time: new Date(clip.start).toISOString(),
        event_id: clip.eventId,
        id: clip.id,
        end: clip.end !== undefined ? new Date(clip.end).toISOString() : null,
        duration_s: clip.durationS,
        frames: clip.frames,
        clip_url: `${url}${clip.clipPath}`,
        thumbnail_url: `${url}${clip.thumbnailPath}`,
        mjpeg_url: `${url}/api/events/${clip.id}/clip.mjpeg`,
      }),
      1,
    );
  }

  private onSnapshot(cam: Camera, frame: Frame, reason: SnapshotReason): void {
    if (RESERVED_IDS.has(cam.id) || isRelayed(cam)) return;
    this.camState(cam.id).firstAfter = undefined;
    this.snapshots.offer(cam, frame, reason);
    // A motion snapshot reaches the image entity at once (the same Buffer), not at the next tick.
    if (reason === 'motion') this.images?.snapshot(cam, frame);
  }

  private publishSnapshot(cam: Camera, frame: Frame, cause: SnapshotCause): void {
    if (!this.ctx.hub.get(cam.id)) return;
    // The hub's snapshots (motion, request, interval, camera) already set it; the first frame is ours.
    if (cause === 'first') cam.snapshot = frame;
    // The frame's own Buffer: no copy, whatever the number of subscribers.
    this.publisher.retain(this.topics.snapshot(cam.id), frame.data, 0, this.ctx.config.mqtt.snapshot_expiry);
    this.log.debug(`camera ${cam.id}: ${cause} snapshot published (seq ${frame.seq}, ${frame.data.length} bytes)`);
  }

  private onStats(): void {
    const now = Date.now();
    this.images?.stats();
    this.diagnostics.tick(
      this.ctx.hub.list().filter((c) => !RESERVED_IDS.has(c.id) && !isRelayed(c)),
      now,
    );
    for (const cam of this.ctx.hub.list()) {
      if (RESERVED_IDS.has(cam.id)) continue;
      const s = this.camState(cam.id);
      // The first frame after coming online becomes the snapshot, so HA's camera entity has a picture.
      if (s.firstAfter !== undefined && cam.online && cam.latest && cam.latest.receivedAt >= s.firstAfter) {
        s.firstAfter = undefined;
        this.snapshots.offer(cam, cam.latest, 'first');
      }
      const fps = Math.round(cam.fps * 10) / 10;
      if (fps !== s.fps && now - s.infoAt >= FPS_MIN_INTERVAL_MS && Math.abs(fps - s.fps) >= Math.max(0.5, s.fps * 0.1))
        this.schedule(cam);
    }
  }

  /** Publish <id>/info (plus discovery / availability and motion if asked) shortly, once. */
  private schedule(cam: Camera, what: { discovery?: boolean; state?: boolean } = {}): void {
    // The owner of a relayed camera publishes its state and discovery (the same payloads from any instance).
    if (RESERVED_IDS.has(cam.id) || isRelayed(cam)) return;
    const s = this.camState(cam.id);
    s.flushDiscovery ||= what.discovery === true;
    s.flushState ||= what.state === true;
    if (s.flushTimer) return;
    s.flushTimer = setTimeout(() => {
      s.flushTimer = undefined;
      const current = this.ctx.hub.get(cam.id);
      if (current === cam) this.flush(cam);
    }, FLUSH_DELAY_MS);
    s.flushTimer.unref();
  }

  private flush(cam: Camera): void {
    const s = this.camState(cam.id);
    if (s.flushTimer) {
      clearTimeout(s.flushTimer);
      s.flushTimer = undefined;
    }
    if (s.flushState) {
      this.publisher.retain(this.topics.availability(cam.id), cam.online ? ONLINE : OFFLINE, 1);
      this.publisher.retain(this.topics.motion(cam.id), cam.motion ? 'ON' : 'OFF', 1);
    }
    if (s.flushDiscovery) this.updateDiscovery(cam);
    s.flushState = false;
    s.flushDiscovery = false;
    this.publishInfo(cam);
  }

  private publishInfo(cam: Camera): void {
    const s = this.camState(cam.id);
    const payload = infoPayload(cam);
    s.infoAt = Date.now();
    s.fps = payload.fps as number;
    this.publisher.retain(this.topics.info(cam.id), JSON.stringify(payload), 0);
  }

  // ---- bridge topics ---------------------------------------------------------------------------

  private scheduleBridge(): void {
    if (this.bridgeTimer) return;
    this.bridgeTimer = setTimeout(() => {
      this.bridgeTimer = undefined;
      this.publishBridge();
    }, 50);
    this.bridgeTimer.unref();
  }

  private publishBridge(): void {
    const cams = this.ctx.hub.list().filter((c) => !RESERVED_IDS.has(c.id));
    const m = this.ctx.config.mqtt;
    const broker = this.broker
      ? {
          mode: 'embedded',
          port: this.broker.port,
          websocket: `${this.ctx.bridge.publicUrl.replace(/^http/, 'ws')}/mqtt`,
          auth: this.broker.requiresAuth,
        }
      : { mode: 'external', server: redactUrl(m.server ?? '') };
    this.publisher.retain(
      this.topics.bridgeInfo,
      JSON.stringify({
        version: this.ctx.bridge.version,
        url: this.ctx.bridge.publicUrl,
        broker,
        base_topic: this.topics.base,
        discovery: this.discoveryOn,
        discovery_prefix: this.topics.prefix,
        camera_count: cams.length,
        cameras_online: cams.filter((c) => c.online).length,
      }),
      1,
    );
    this.publisher.retain(this.topics.bridgeCameras, JSON.stringify(cams.map(cameraSummary)), 1);
  }

  private health(): Record<string, unknown> {
    const cams = this.ctx.hub.list();
    return {
      healthy: true,
      version: this.ctx.bridge.version,
      uptime: Math.round((Date.now() - this.startedAt) / 1000),
      cameras: cams.length,
      cameras_online: cams.filter((c) => c.online).length,
      mqtt: this.transport.status(),
    };
  }

  /** For tests: run after the current (re)connect publishing has finished. */
  async settled(): Promise<void> {
    while (this.syncing) await this.syncing;
  }
}

export const mqttExtension: ExtensionFactory = (ctx) => (ctx.config.mqtt.enabled ? new MqttExtension(ctx) : undefined);
