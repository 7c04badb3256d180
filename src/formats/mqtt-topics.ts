// Every MQTT topic cam2mqtt publishes or listens to, in one place (docs/mqtt.md lists them).

export interface TopicOptions {
  /** Base topic, default "cam2mqtt". */
  base: string;
  /** Home Assistant discovery prefix, default "homeassistant". */
  discoveryPrefix: string;
  /** Home Assistant's birth/will topic, default "homeassistant/status". */
  haStatus: string;
  /**
   * cluster.instance_id (several instances on one shared broker): the bridge topics become
   * <base>/bridge/<instance>/..., one bridge device per instance (docs/scale-out.md).
   */
  instance?: string;
}

/** What an incoming message is about. */
export type Incoming =
  | { kind: 'set'; id: string; control: string | undefined }
  | { kind: 'request'; path: string /** on this instance's own request topic (cluster) */; own?: true }
  | { kind: 'ha_status' }
  | { kind: 'sync'; nonce: string }
  | { kind: 'other' };

/** Camera ids that would collide with the bridge's own topics. */
export const RESERVED_IDS = new Set(['bridge']);

export class Topics {
  readonly base: string;
  readonly prefix: string;
  readonly haStatus: string;
  /** The instance in a cluster (undefined: a single instance). */
  readonly instance: string | undefined;
  /** <base>/bridge, or <base>/bridge/<instance> in a cluster. */
  private readonly bridgeBase: string;

  constructor(opts: TopicOptions) {
    this.base = opts.base.replace(/\/+$/, '');
    this.prefix = opts.discoveryPrefix.replace(/\/+$/, '');
    this.haStatus = opts.haStatus;
    this.instance = opts.instance;
    this.bridgeBase = opts.instance ? `${this.base}/bridge/${opts.instance}` : `${this.base}/bridge`;
  }

  get bridgeState(): string {
    return `${this.bridgeBase}/state`;
  }
  get bridgeInfo(): string {
    return `${this.bridgeBase}/info`;
  }
  get bridgeCameras(): string {
    return `${this.bridgeBase}/cameras`;
  }
  /** Used once per (re)connect to know when the broker has sent every retained discovery config. */
  get bridgeSync(): string {
    return `${this.bridgeBase}/sync`;
  }
  request(path: string): string {
    return `${this.base}/bridge/request/${path}`;
  }
  /** cluster: this instance's own request topic (`<base>/bridge/<instance>/request/<path>`), answered by it only. */
  ownRequest(path: string): string {
    return `${this.bridgeBase}/request/${path}`;
  }
  ownResponse(path: string): string {
    return `${this.bridgeBase}/response/${path}`;
  }
  response(path: string): string {
    return `${this.base}/bridge/response/${path}`;
  }

  availability(id: string): string {
    return `${this.base}/${id}/availability`;
  }
  motion(id: string): string {
    return `${this.base}/${id}/motion`;
  }
  event(id: string): string {
    return `${this.base}/${id}/event`;
  }
  snapshot(id: string): string {
    return `${this.base}/${id}/snapshot`;
  }
  info(id: string): string {
    return `${this.base}/${id}/info`;
  }
  /** Recording switch state (ON/OFF), while recordings are on. */
  recording(id: string): string {
    return `${this.base}/${id}/recording`;
  }
  /** The last recorded motion event (JSON: time, URLs, duration, frames). */
  lastEvent(id: string): string {
    return `${this.base}/${id}/last_event`;
  }
  /** Home Assistant's image entity: the newest frame every homeassistant.image_interval seconds. */
  image(id: string): string {
    return `${this.base}/${id}/image`;
  }
  /** Viewers, reconnects and frame age (the diagnostic entities), rate-limited. */
  diagnostics(id: string): string {
    return `${this.base}/${id}/diagnostics`;
  }
  get bridgeDiagnostics(): string {
    return `${this.bridgeBase}/diagnostics`;
  }
  set(id: string, control?: string): string {
    return control ? `${this.base}/${id}/set/${control}` : `${this.base}/${id}/set`;
  }

  /** The retained per-camera topics (cleared when a camera is removed). */
  cameraRetained(id: string): string[] {
    return [
      this.availability(id),
      this.motion(id),
      this.snapshot(id),
      this.info(id),
      this.recording(id),
      this.lastEvent(id),
      this.image(id),
      this.diagnostics(id),
    ];
  }

  /** `<prefix>/<component>/<node>/<object>/config` */
  discovery(component: string, node: string, object: string): string {
    return `${this.prefix}/${component}/${node}/${object}/config`;
  }

  /** Filter matching every discovery config (to find stale ones of ours). */
  get discoveryFilter(): string {
    return `${this.prefix}/+/+/+/config`;
  }

  /** Split a discovery topic into its parts, or undefined if it is not one. */
  parseDiscovery(topic: string): { component: string; node: string; object: string } | undefined {
    if (!topic.startsWith(`${this.prefix}/`)) return undefined;
    const parts = topic.slice(this.prefix.length + 1).split('/');
    if (parts.length !== 4 || parts[3] !== 'config') return undefined;
    return { component: parts[0]!, node: parts[1]!, object: parts[2]! };
  }

  /** What cam2mqtt subscribes to. */
  subscriptions(): string[] {
    return [
      `${this.base}/+/set`,
      `${this.base}/+/set/+`,
      `${this.base}/bridge/request/#`,
      this.haStatus,
      this.bridgeSync,
      ...(this.instance ? [`${this.bridgeBase}/request/#`] : []),
    ];
  }

  classify(topic: string): Incoming {
    if (topic === this.haStatus) return { kind: 'ha_status' };
    if (!topic.startsWith(`${this.base}/`)) return { kind: 'other' };
    const rest = topic.slice(this.base.length + 1);
    if (topic === this.bridgeSync) return { kind: 'sync', nonce: '' };
    if (this.instance && topic.startsWith(`${this.bridgeBase}/request/`)) {
      const path = topic.slice(`${this.bridgeBase}/request/`.length);
      return path ? { kind: 'request', path, own: true } : { kind: 'other' };
    }
    if (rest.startsWith('bridge/request/')) {
      const path = rest.slice('bridge/request/'.length);
      return path ? { kind: 'request', path } : { kind: 'other' };
    }
    const parts = rest.split('/');
    if (parts.length === 2 && parts[1] === 'set' && !RESERVED_IDS.has(parts[0]!))
      return { kind: 'set', id: parts[0]!, control: undefined };
    if (parts.length === 3 && parts[1] === 'set' && !RESERVED_IDS.has(parts[0]!))
      return { kind: 'set', id: parts[0]!, control: parts[2]! };
    return { kind: 'other' };
  }
}

/** HA entity ids allow only [a-z0-9_]: camera ids may also contain '-'. */
export function entitySlug(id: string): string {
  return id.toLowerCase().replace(/[^a-z0-9_]/g, '_');
}
