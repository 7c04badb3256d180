import { type DiscoveryConfig, isOwnDiscovery } from '../../formats/ha-discovery.js';
import type { Topics } from '../../formats/mqtt-topics.js';
import type { Camera } from '../../hub/camera.js';
import type { Logger } from '../../logging.js';
import type { PublishOptions, Transport } from './client.js';

interface Retained {
  payload: Buffer | string;
  qos: 0 | 1;
  /** MQTT 5 message expiry (s), if any. */
  expiry?: number;
}

/**
 * Everything cam2mqtt keeps retained (except discovery, see DiscoveryPublisher), remembered so it can
 * be published again after a reconnect (the broker may have lost it) and on Home Assistant's birth.
 * Unchanged text payloads are not re-sent.
 */
export class Publisher {
  private readonly retained = new Map<string, Retained>();
  /** Retained messages to remove from the broker once connected again. */
  private readonly toClear = new Set<string>();
  published = 0;
  /** Payload bytes of `published` (for /metrics). */
  publishedBytes = 0;

  constructor(private readonly transport: Transport) {}

  retain(topic: string, payload: Buffer | string, qos: 0 | 1 = 0, expiry = 0): void {
    // Same text, or the same Buffer (a snapshot is never copied): nothing new to say.
    if (this.retained.get(topic)?.payload === payload) return;
    this.toClear.delete(topic);
    const r: Retained = expiry > 0 ? { payload, qos, expiry } : { payload, qos };
    this.retained.set(topic, r);
    this.send(topic, payload, { retain: true, qos, ...(expiry > 0 ? { expiry } : {}) });
  }

  /** Remove a retained message from the broker (empty retained payload), now or on reconnect. */
  clear(topic: string): void {
    this.retained.delete(topic);
    if (this.transport.connected) this.send(topic, '', { retain: true, qos: 1 });
    else this.toClear.add(topic);
  }

  /** Non-retained (events, responses): dropped while disconnected. */
  send(topic: string, payload: Buffer | string, opts: PublishOptions = {}): void {
    if (!this.transport.connected) return;
    this.published++;
    this.publishedBytes += typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
    void this.transport.publish(topic, payload, opts);
  }

  has(topic: string): boolean {
    return this.retained.has(topic);
  }

  get(topic: string): Buffer | string | undefined {
    return this.retained.get(topic)?.payload;
  }

  /** Publish every retained message again (reconnect, HA birth). */
  republish(): number {
    for (const topic of this.toClear) this.send(topic, '', { retain: true, qos: 1 });
    this.toClear.clear();
    for (const [topic, r] of this.retained)
      this.send(topic, r.payload, { retain: true, qos: r.qos, ...(r.expiry ? { expiry: r.expiry } : {}) });
    return this.retained.size;
  }
}

/** A camera config of this cluster (its availability under our base topic) whose camera nobody knows. */
function clusterStale(payload: unknown, topics: Topics, staleCamera: ((id: string) => boolean) | undefined): boolean {
  if (!staleCamera || typeof payload !== 'object' || payload === null) return false;
  const p = payload as { device?: { identifiers?: unknown }; availability?: { topic?: unknown }[] };
  const idf = Array.isArray(p.device?.identifiers) ? p.device.identifiers[0] : undefined;
  if (typeof idf !== 'string' || !idf.startsWith('cam2mqtt_') || idf.startsWith('cam2mqtt_bridge')) return false;
  const id = idf.slice('cam2mqtt_'.length);
  const ours = p.availability?.some((a) => a.topic === topics.availability(id));
  return ours === true && staleCamera(id);
}

/**
 * The discovery configs cam2mqtt has announced. On each connection it reads what the broker has
 * retained, sends only configs that changed, and clears (empty retained payload) the ones of cameras
 * or entities that no longer exist. Between connections, per-camera updates are diffed the same way.
 */
export class DiscoveryPublisher {
  /** node -> (topic -> payload JSON): per-node updates never look at other nodes' topics. */
  private readonly published = new Map<string, Map<string, string>>();
  private ready = false;
  stats = { sent: 0, unchanged: 0, cleared: 0 };

  constructor(
    private readonly transport: Transport,
    private readonly topics: Topics,
    private readonly log: Logger,
  ) {}

  /** Not connected (any more): the next sync decides what to send. */
  reset(): void {
    this.ready = false;
  }

  /**
   * `staleCamera` (cluster): a camera device with no via_device (so not recognisably this bridge's) is
   * cleared when this says no instance knows its camera id.
   */
  async sync(desiredConfigs: () => DiscoveryConfig[], staleCamera?: (id: string) => boolean): Promise<void> {
    this.ready = false;
    const retained = await this.transport.readRetained(this.topics.discoveryFilter, this.topics.bridgeSync);
    const configs = desiredConfigs();
    const desired = new Map(configs.map((c) => [c.topic, JSON.stringify(c.payload)]));
    let sent = 0;
    let unchanged = 0;
    let cleared = 0;
    for (const [topic, buf] of retained) {
      const parsed = this.topics.parseDiscovery(topic);
      if (!parsed?.node.startsWith('cam2mqtt_') || desired.has(topic) || buf.length === 0) continue;
      let payload: unknown;
      try {
        payload = JSON.parse(buf.toString('utf8'));
      } catch {
        continue;
      }
      if (!isOwnDiscovery(payload, this.topics) && !clusterStale(payload, this.topics, staleCamera)) continue;
      this.publish(topic, '');
      cleared++;
      this.log.info(
        `removed stale Home Assistant entity ${parsed.component}.${parsed.node}/${parsed.object} (camera or entity no longer exists)`,
      );
    }
    this.published.clear();
    for (const c of configs) {
      const topic = c.topic;
      const json = desired.get(topic)!;
      this.nodeMap(c.node).set(topic, json);
      if (retained.get(topic)?.toString('utf8') === json) {
        unchanged++;
        continue;
      }
      this.publish(topic, json);
      sent++;
    }
    this.ready = true;
    this.stats.sent += sent;
    this.stats.unchanged += unchanged;
    this.stats.cleared += cleared;
    this.log.info(`Home Assistant discovery: ${sent} config(s) sent, ${unchanged} unchanged, ${cleared} stale removed`);
  }

  /** Bring one node (a camera or the bridge) to `configs`: send changes, clear what went away. */
  update(node: string, configs: DiscoveryConfig[]): void {
    if (!this.ready) return;
    const want = new Map(configs.map((c) => [c.topic, JSON.stringify(c.payload)]));
    const have = this.nodeMap(node);
    for (const topic of [...have.keys()]) {
      if (want.has(topic)) continue;
      have.delete(topic);
      this.publish(topic, '');
      this.stats.cleared++;
    }
    for (const [topic, json] of want) {
      if (have.get(topic) === json) continue;
      have.set(topic, json);
      this.publish(topic, json);
      this.stats.sent++;
    }
  }

  /** Remove every entity of a node from Home Assistant. */
  remove(node: string): void {
    for (const topic of this.published.get(node)?.keys() ?? []) {
      this.publish(topic, '');
      this.stats.cleared++;
    }
    this.published.delete(node);
  }

  topicsOf(node: string): string[] {
    return [...(this.published.get(node)?.keys() ?? [])];
  }

  private nodeMap(node: string): Map<string, string> {
    let m = this.published.get(node);
    if (!m) this.published.set(node, (m = new Map()));
    return m;
  }

  private publish(topic: string, json: string): void {
    if (!this.transport.connected) return;
    void this.transport.publish(topic, json, { retain: true, qos: 1 });
  }
}

const num = (v: unknown): number | null => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number.parseFloat(v) : Number.NaN;
  return Number.isFinite(n) ? n : null;
};

/** Whole seconds from a number or a string of digits (devices normalise their own formats: uptime_seconds). */
const seconds = (v: unknown): number | null =>
  typeof v === 'number'
    ? Number.isFinite(v)
      ? Math.round(v)
      : null
    : typeof v === 'string' && /^\s*\d+\s*$/.test(v)
      ? Number(v)
      : null;

/**
 * The retained `<base>/<id>/info` document: everything the camera reports, plus the bridge's view.
 * The keys the Home Assistant entities read are always present (null when unknown), so their
 * templates render "None" (unknown) instead of failing.
 */
export function infoPayload(cam: Camera): Record<string, unknown> {
  const i = cam.info;
  return {
    ...i,
    // Frames per second the bridge receives (the camera's own setting is camera_fps).
    fps: Math.round(cam.fps * 10) / 10,
    camera_fps: num(i.fps),
    bitrate: Math.round(cam.bitrate),
    online: cam.online,
    protocol: cam.protocol ?? null,
    model: cam.model ?? null,
    firmware: cam.firmware ?? null,
    last_seen: cam.lastSeen !== undefined ? new Date(cam.lastSeen).toISOString() : null,
    rssi: num(i.rssi),
    uptime: seconds(i.uptime_seconds) ?? seconds(i.uptime),
    heap: num(i.heap),
    framesize: typeof i.framesize === 'string' ? i.framesize : null,
    lamp: num(i.lamp),
    quality: num(i.quality),
    pan: num(i.pan),
    tilt: num(i.tilt),
  };
}
