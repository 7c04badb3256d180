import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import type { AedesPublishPacket } from 'aedes';
import type { IClientOptions, MqttClient } from 'mqtt';
import type { Logger } from '../../logging.js';
import type { EmbeddedBroker } from './broker.js';

export interface PublishOptions {
  retain?: boolean;
  qos?: 0 | 1;
  /** MQTT 5 Message Expiry Interval in seconds (ignored on MQTT 3.1.1). */
  expiry?: number;
}

/**
 * How cam2mqtt talks MQTT, whichever broker it uses. Events: 'connect' (every (re)connection: publish
 * everything retained again), 'disconnect', 'message' (topic, payload).
 */
export interface Transport extends EventEmitter {
  readonly mode: 'embedded' | 'external';
  readonly connected: boolean;
  /** Start connecting; returns at once (a missing broker must not slow the bridge down). */
  start(): void;
  /** Resolves once the broker has the message, or at once (dropped) while disconnected. */
  publish(topic: string, payload: Buffer | string, opts?: PublishOptions): Promise<void>;
  subscribe(filters: string[]): Promise<void>;
  /** The retained messages on the broker that match `filter` (used for stale-discovery clean-up). */
  readRetained(filter: string, syncTopic: string): Promise<Map<string, Buffer>>;
  /** Publish the final messages (bridge offline), then disconnect. */
  stop(final: { topic: string; payload: string; opts: PublishOptions }[]): Promise<void>;
  status(): Record<string, unknown>;
}

/**
 * In-process publishing into the embedded broker. No socket, no serialisation, no credentials: a
 * snapshot's Buffer goes from the camera's frame straight to every subscriber's socket (and into
 * the retained store) without a copy; and there is no loopback connection that could drop.
 */
export class EmbeddedTransport extends EventEmitter implements Transport {
  readonly mode = 'embedded' as const;
  private started = false;
  private readonly handlers = new Map<string, (packet: AedesPublishPacket, cb: () => void) => void>();

  constructor(private readonly broker: EmbeddedBroker) {
    super();
  }

  get connected(): boolean {
    return this.started && !this.broker.aedes.closed;
  }

  start(): void {
    this.started = true;
    // Let the caller finish wiring before the first 'connect'.
    setImmediate(() => this.emit('connect'));
  }

  publish(topic: string, payload: Buffer | string, opts: PublishOptions = {}): Promise<void> {
    if (!this.connected) return Promise.resolve();
    return new Promise((resolve) => {
      this.broker.aedes.publish(
        {
          cmd: 'publish',
          topic,
          payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
          qos: opts.qos ?? 0,
          retain: opts.retain ?? false,
          dup: false,
          ...(opts.expiry ? { properties: { messageExpiryInterval: opts.expiry } } : {}),
        },
        () => resolve(),
      );
    });
  }

  subscribe(filters: string[]): Promise<void> {
    return Promise.all(
      filters.map(
        (f) =>
          new Promise<void>((resolve) => {
            if (this.handlers.has(f)) return resolve();
            const deliver = (packet: AedesPublishPacket, cb: () => void) => {
              const { topic, payload } = packet;
              cb();
              // Outside the broker's delivery loop: handlers publish answers.
              setImmediate(() =>
                this.emit('message', topic, Buffer.isBuffer(payload) ? payload : Buffer.from(payload)),
              );
            };
            this.handlers.set(f, deliver);
            this.broker.aedes.subscribe(f, deliver, () => resolve());
          }),
      ),
    ).then(() => undefined);
  }

  async readRetained(filter: string): Promise<Map<string, Buffer>> {
    const out = new Map<string, Buffer>();
    const persistence = (
      this.broker.aedes as unknown as {
        persistence: { createRetainedStreamCombi(p: string[]): AsyncIterable<{ topic: string; payload: Buffer }> };
      }
    ).persistence;
    for await (const p of persistence.createRetainedStreamCombi([filter])) out.set(p.topic, p.payload);
    return out;
  }

  async stop(final: { topic: string; payload: string; opts: PublishOptions }[]): Promise<void> {
    for (const m of final) await this.publish(m.topic, m.payload, m.opts);
    for (const [f, deliver] of this.handlers) this.broker.aedes.unsubscribe(f, deliver, () => {});
    this.handlers.clear();
    this.started = false;
  }

  status(): Record<string, unknown> {
    return { mode: this.mode, connected: this.connected, ...this.broker.status() };
  }
}

export interface ExternalOptions {
  server: string;
  username?: string | undefined;
  password?: string | undefined;
  clientId?: string | undefined;
  ca?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
  rejectUnauthorized: boolean;
  keepalive: number;
  will: { topic: string; payload: string };
  logger: Logger;
  /** Reconnect delay: doubles from min to max (ms). */
  backoff?: { minMs: number; maxMs: number };
}

/** A PEM given inline, or the path of a PEM file. */
function pem(value: string | undefined, what: string): Buffer | undefined {
  if (value === undefined || value === '') return undefined;
  if (value.includes('-----BEGIN')) return Buffer.from(value);
  try {
    return readFileSync(value);
  } catch (err) {
    throw new Error(`mqtt.${what}: cannot read ${value}: ${(err as Error).message}`);
  }
}

/** Hide the password in a URL for logs. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@/]*@/, '//$1:***@');
}

/**
 * mqtt.js connection to the user's broker (Mosquitto add-on, EMQX...). Connects in the background,
 * reconnects with exponential backoff, sets the will (bridge offline), and tells the extension on
 * each connection so it publishes everything retained again.
 */
export class ExternalTransport extends EventEmitter implements Transport {
  readonly mode = 'external' as const;
  private client: MqttClient | undefined;
  private readonly log: Logger;
  private delayMs: number;
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;
  private lastError: string | undefined;
  private loggedDown = false;
  private up = false;
  private collector: ((topic: string, payload: Buffer, retained: boolean) => boolean) | undefined;
  private readonly subscribed = new Set<string>();
  private connects = 0;
  /** MQTT protocol level: 5 first, 4 (3.1.1) once the broker refused 5. */
  private protocol: 4 | 5 = 5;
  private fallBack = false;
  private readonly backoff: { minMs: number; maxMs: number };
  private readonly tls: { ca?: Buffer; cert?: Buffer; key?: Buffer };

  constructor(private readonly opts: ExternalOptions) {
    super();
    this.log = opts.logger.child({ mod: 'mqtt' });
    this.backoff = opts.backoff ?? { minMs: 1000, maxMs: 30_000 };
    this.delayMs = this.backoff.minMs;
    // Read TLS files now: a wrong path is a settings mistake to report at start, not a retry loop.
    const ca = pem(opts.ca, 'ca');
    const cert = pem(opts.cert, 'cert');
    const key = pem(opts.key, 'key');
    this.tls = { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
  }

  get connected(): boolean {
    return this.client?.connected === true;
  }

  start(): void {
    // mqtt.js is loaded only here: with the embedded broker (the default) it is never needed, and it
    // is 2 MB of heap that every full collection would mark.
    void import('mqtt').then(
      ({ default: mqtt }) => {
        if (!this.stopping) this.connect(mqtt.connect);
      },
      (err: Error) => this.log.error(`cannot load the MQTT client library: ${err.message}`),
    );
  }

  private connect(connect: typeof import('mqtt').connect): void {
    const o = this.opts;
    const options: IClientOptions = {
      clientId: o.clientId ?? `cam2mqtt_${randomBytes(4).toString('hex')}`,
      protocolVersion: this.protocol,
      clean: true,
      keepalive: o.keepalive,
      connectTimeout: 10_000,
      // We reconnect ourselves (with backoff) and publish the current state on each connection, so
      // nothing needs queueing while offline: a dead broker cannot make memory grow.
      reconnectPeriod: 0,
      queueQoSZero: false,
      resubscribe: false,
      rejectUnauthorized: o.rejectUnauthorized,
      will: { topic: o.will.topic, payload: Buffer.from(o.will.payload), qos: 1, retain: true },
      ...(o.username !== undefined ? { username: o.username } : {}),
      ...(o.password !== undefined ? { password: o.password } : {}),
      ...this.tls,
    };
    this.log.info(`connecting to MQTT broker ${redactUrl(o.server)} in the background (MQTT 5, else 3.1.1)`);
    const client = connect(o.server, options);
    this.client = client;
    client.on('connect', () => {
      this.connects++;
      this.up = true;
      this.delayMs = this.backoff.minMs;
      this.loggedDown = false;
      this.lastError = undefined;
      this.subscribed.clear();
      this.log.info(
        `connected to MQTT broker ${redactUrl(o.server)}${this.connects > 1 ? ' again' : ''} (MQTT ${this.protocol === 5 ? '5' : '3.1.1'})`,
      );
      this.emit('connect');
    });
    client.on('error', (err) => {
      this.lastError = err.message;
      // CONNACK "unacceptable protocol version" (3.1.1 return code 1, MQTT 5 reason 0x84): an
      // older broker. Go on with MQTT 3.1.1 at once.
      const code = (err as { code?: unknown }).code;
      if (this.protocol === 5 && (code === 1 || code === 0x84)) this.fallBack = true;
    });
    client.stream?.on?.('error', (err: Error) => {
      this.lastError = err.message;
    });
    client.on('message', (topic, payload, packet) => {
      if (this.collector?.(topic, payload, packet.retain)) return;
      this.emit('message', topic, payload);
    });
    client.on('close', () => this.onClose());
  }

  private onClose(): void {
    if (this.stopping) return;
    if (this.fallBack && this.client) {
      this.fallBack = false;
      this.protocol = 4;
      this.lastError = undefined;
      this.log.warn(
        `the MQTT broker ${redactUrl(this.opts.server)} does not speak MQTT 5 (CONNACK: unacceptable protocol version); using MQTT 3.1.1`,
      );
      this.client.options.protocolVersion = 4;
      const client = this.client;
      setImmediate(() => {
        if (this.stopping) return;
        client.reconnect();
        client.stream?.on?.('error', (err: Error) => {
          this.lastError = err.message;
        });
      });
      return;
    }
    const why = this.lastError ?? 'connection closed';
    const server = redactUrl(this.opts.server);
    if (this.up) {
      this.up = false;
      this.loggedDown = true;
      this.log.warn(
        `lost the MQTT broker ${server} (${why}); reconnecting in the background, cameras and viewers keep working`,
      );
      this.emit('disconnect');
    } else if (!this.loggedDown) {
      this.loggedDown = true;
      this.log.warn(
        `cannot reach the MQTT broker ${server} (${why}); retrying in the background, cameras and viewers keep working`,
      );
    } else {
      this.log.debug(`MQTT broker ${server} still unreachable (${why}); next try in ${this.delayMs / 1000} s`);
    }
    this.lastError = undefined;
    if (this.timer) return;
    const delay = this.delayMs;
    this.delayMs = Math.min(this.backoff.maxMs, this.delayMs * 2);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.stopping || !this.client) return;
      this.client.reconnect();
      // A new stream per attempt: keep its socket errors for the log.
      this.client.stream?.on?.('error', (err: Error) => {
        this.lastError = err.message;
      });
    }, delay);
    this.timer.unref();
  }

  publish(topic: string, payload: Buffer | string, opts: PublishOptions = {}): Promise<void> {
    const client = this.client;
    if (!client?.connected) return Promise.resolve();
    return new Promise((resolve) => {
      const o = { qos: opts.qos ?? 0, retain: opts.retain ?? false };
      const props = opts.expiry && this.protocol === 5 ? { properties: { messageExpiryInterval: opts.expiry } } : {};
      client.publish(topic, payload, { ...o, ...props }, (err) => {
        if (err) this.log.debug(`publish to ${topic} failed: ${err.message}`);
        resolve();
      });
    });
  }

  async subscribe(filters: string[]): Promise<void> {
    const client = this.client;
    if (!client?.connected) return;
    const todo = filters.filter((f) => !this.subscribed.has(f));
    if (!todo.length) return;
    await client.subscribeAsync(todo, { qos: 1 });
    for (const f of todo) this.subscribed.add(f);
  }

  /**
   * Subscribe to `filter`, collect the retained messages the broker sends, and know they are all in
   * when our own marker message on `syncTopic` comes back (the broker sends the retained ones first).
   */
  async readRetained(filter: string, syncTopic: string, timeoutMs = 5000): Promise<Map<string, Buffer>> {
    const client = this.client;
    const out = new Map<string, Buffer>();
    if (!client?.connected) throw new Error('not connected');
    const nonce = randomBytes(8).toString('hex');
    let finish: () => void = () => {};
    const done = new Promise<void>((resolve) => {
      finish = resolve;
    });
    this.collector = (topic, payload, retained) => {
      if (topic === syncTopic && payload.toString() === nonce) {
        finish();
        return true;
      }
      if (topic === syncTopic) return true;
      if (retained && matches(filter, topic)) {
        out.set(topic, payload);
        return true;
      }
      return false;
    };
    const timer = setTimeout(() => {
      this.log.warn(
        `the MQTT broker did not echo the sync marker within ${timeoutMs / 1000} s; going on with ${out.size} retained discovery message(s)`,
      );
      finish();
    }, timeoutMs);
    try {
      await client.subscribeAsync([filter, syncTopic], { qos: 0 });
      await client.publishAsync(syncTopic, nonce, { qos: 0, retain: false });
      await done;
      return out;
    } finally {
      clearTimeout(timer);
      this.collector = undefined;
      if (client.connected) await client.unsubscribeAsync(filter).catch(() => {});
    }
  }

  async stop(final: { topic: string; payload: string; opts: PublishOptions }[]): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    const client = this.client;
    if (!client) return;
    if (client.connected) {
      for (const m of final) {
        await Promise.race([this.publish(m.topic, m.payload, m.opts), new Promise((r) => setTimeout(r, 2000))]);
      }
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        client.end(true);
        resolve();
      }, 2000);
      client.end(false, {}, () => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  status(): Record<string, unknown> {
    return {
      mode: this.mode,
      server: redactUrl(this.opts.server),
      connected: this.connected,
      connects: this.connects,
      protocol: this.protocol === 5 ? '5' : '3.1.1',
    };
  }
}

/** MQTT topic filter match (+ and #). */
export function matches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
