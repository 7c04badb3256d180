// Shared by the test/mqtt-*.test.ts files: a recording MQTT client, a real Mosquitto, and the Home
// Assistant discovery rules from ../shared/reference/home-assistant.md as executable checks.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { freePort, sleep, waitFor } from './helpers/bridge.js';

export interface Message {
  topic: string;
  payload: Buffer;
  retain: boolean;
  at: number;
}

/** A real mqtt.js client that records everything it receives. */
export class Recorder {
  readonly messages: Message[] = [];
  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) =>
      this.messages.push({ topic, payload, retain: packet.retain, at: Date.now() }),
    );
  }

  static async connect(url: string, filters: string[] = ['#'], opts: IClientOptions = {}): Promise<Recorder> {
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
    const r = new Recorder(client);
    if (filters.length) await client.subscribeAsync(filters, { qos: 1 });
    return r;
  }

  on(topic: string): Message[] {
    return this.messages.filter((m) => m.topic === topic);
  }

  /** The latest message on the topic (retained or live). */
  last(topic: string): Message | undefined {
    const all = this.on(topic);
    return all[all.length - 1];
  }

  text(topic: string): string | undefined {
    return this.last(topic)?.payload.toString('utf8');
  }

  json(topic: string): Record<string, unknown> | undefined {
    const t = this.text(topic);
    return t === undefined || t === '' ? undefined : (JSON.parse(t) as Record<string, unknown>);
  }

  /** Wait for a message on `topic` (after index `since`) that satisfies `pred`. */
  async wait(topic: string, pred: (m: Message) => boolean = () => true, timeoutMs = 5000, since = 0): Promise<Message> {
    return waitFor(
      () => this.messages.slice(since).find((m) => m.topic === topic && pred(m)),
      timeoutMs,
      `a message on ${topic}`,
    );
  }

  async waitText(topic: string, text: string, timeoutMs = 5000, since = 0): Promise<Message> {
    return this.wait(topic, (m) => m.payload.toString() === text, timeoutMs, since);
  }

  get mark(): number {
    return this.messages.length;
  }

  async publish(topic: string, payload: string | Buffer, opts: { retain?: boolean; qos?: 0 | 1 } = {}): Promise<void> {
    await this.client.publishAsync(topic, payload, { qos: opts.qos ?? 1, retain: opts.retain ?? false });
  }

  /** Publish a bridge request and wait for its response. */
  async request(base: string, path: string, body: unknown, timeoutMs = 5000): Promise<Record<string, unknown>> {
    const since = this.mark;
    await this.publish(`${base}/bridge/request/${path}`, typeof body === 'string' ? body : JSON.stringify(body));
    const m = await this.wait(`${base}/bridge/response/${path}`, () => true, timeoutMs, since);
    return JSON.parse(m.payload.toString()) as Record<string, unknown>;
  }

  async close(): Promise<void> {
    await this.client.endAsync(true).catch(() => {});
  }
}

// ---- Mosquitto -------------------------------------------------------------------------------------

export const MOSQUITTO = '/usr/sbin/mosquitto';

export interface Mosquitto {
  port: number;
  url: string;
  output(): string;
  /** Kill it (SIGKILL: like a crash, no clean disconnect). */
  kill(): Promise<void>;
  /** Start again on the same port (retained messages are gone: persistence is off). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

/**
 * A real Mosquitto on a free 127.0.0.1 port. Missing mosquitto is a failure with a clear message
 * (CI installs the Debian package), never a silent skip.
 */
export async function startMosquitto(opts: { port?: number; users?: Record<string, string> } = {}): Promise<Mosquitto> {
  if (!existsSync(MOSQUITTO)) {
    throw new Error(
      `${MOSQUITTO} not found: the MQTT tests need a real Mosquitto as the external broker. Install it with "apt-get install -y mosquitto" (CI does this).`,
    );
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'cam2mqtt-mosq-'));
  const port = opts.port ?? (await freePort());
  const conf = [
    `listener ${port} 127.0.0.1`,
    'persistence false',
    'log_dest stdout',
    'log_type error',
    'log_type warning',
    'log_type notice',
  ];
  if (opts.users) {
    const pw = path.join(dir, 'passwd');
    writeFileSync(pw, '');
    for (const [u, p] of Object.entries(opts.users)) {
      const r = await run('/usr/bin/mosquitto_passwd', ['-b', pw, u, p]);
      if (r !== 0) throw new Error('mosquitto_passwd failed');
    }
    conf.push('allow_anonymous false', `password_file ${pw}`);
  } else {
    conf.push('allow_anonymous true');
  }
  const file = path.join(dir, 'mosquitto.conf');
  writeFileSync(file, `${conf.join('\n')}\n`);
  // Running as root, mosquitto drops to the "mosquitto" user: it must be able to read its files.
  chmodSync(dir, 0o755);
  chmodSync(file, 0o644);
  let out = '';
  let child: ChildProcess | undefined;
  const launch = async () => {
    const c = spawn(MOSQUITTO, ['-c', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    running.add(c);
    c.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    c.stderr!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    c.on('exit', () => running.delete(c));
    const end = Date.now() + 10_000;
    for (;;) {
      if (c.exitCode !== null) throw new Error(`mosquitto exited with ${c.exitCode}:\n${out}`);
      if (await canConnect(port)) return;
      if (Date.now() > end) throw new Error(`mosquitto did not listen on ${port} within 10 s:\n${out}`);
      await sleep(50);
    }
  };
  const kill = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGKILL');
    });
  };
  await launch();
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    output: () => out,
    kill,
    restart: launch,
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function run(cmd: string, args: string[]): Promise<number> {
  return new Promise((resolve) => {
    const c = spawn(cmd, args, { stdio: 'ignore' });
    c.on('exit', (code) => resolve(code ?? 1));
    c.on('error', () => resolve(1));
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

// ---- Home Assistant discovery rules (../shared/reference/home-assistant.md) -----------------------

const DEVICE_KEYS = new Set([
  'identifiers',
  'connections',
  'manufacturer',
  'model',
  'name',
  'hw_version',
  'serial_number',
  'sw_version',
  'via_device',
  'suggested_area',
  'configuration_url',
]);
const ORIGIN_KEYS = new Set(['name', 'sw_version', 'support_url']);
const AVAILABILITY_KEYS = new Set(['topic', 'payload_available', 'payload_not_available', 'value_template']);

// Top-level keys HA 2024.3's MQTT platforms accept (homeassistant/components/mqtt/*.py of 2024.3.3),
// plus object_id/default_entity_id (entity id, old and new HA). Anything else would be dropped.
const COMMON = [
  'name',
  'unique_id',
  'object_id',
  'default_entity_id',
  'availability',
  'availability_mode',
  'availability_topic',
  'availability_template',
  'payload_available',
  'payload_not_available',
  'device',
  'origin',
  'enabled_by_default',
  'entity_category',
  'icon',
  'json_attributes_topic',
  'json_attributes_template',
  'qos',
  'encoding',
];
const RO = ['state_topic', 'value_template'];
const RW = ['command_topic', 'optimistic', 'retain', 'state_topic'];
export const PLATFORM_KEYS: Record<string, Set<string>> = {
  camera: new Set([...COMMON, 'topic', 'image_encoding']),
  binary_sensor: new Set([
    ...COMMON,
    ...RO,
    'device_class',
    'expire_after',
    'force_update',
    'off_delay',
    'payload_off',
    'payload_on',
  ]),
  sensor: new Set([
    ...COMMON,
    ...RO,
    'device_class',
    'expire_after',
    'force_update',
    'last_reset_value_template',
    'suggested_display_precision',
    'state_class',
    'unit_of_measurement',
  ]),
  switch: new Set([
    ...COMMON,
    ...RW,
    'payload_off',
    'payload_on',
    'state_off',
    'state_on',
    'value_template',
    'device_class',
  ]),
  select: new Set([...COMMON, ...RW, 'command_template', 'options', 'value_template']),
  number: new Set([
    ...COMMON,
    ...RW,
    'command_template',
    'device_class',
    'max',
    'min',
    'mode',
    'payload_reset',
    'step',
    'unit_of_measurement',
    'value_template',
  ]),
  button: new Set([...COMMON, 'command_template', 'command_topic', 'device_class', 'payload_press', 'retain']),
  text: new Set([...COMMON, ...RW, 'command_template', 'max', 'min', 'mode', 'pattern', 'value_template']),
  event: new Set([...COMMON, ...RO, 'device_class', 'event_types']),
  image: new Set([...COMMON, 'content_type', 'image_encoding', 'image_topic', 'url_template', 'url_topic']),
};
const REQUIRED: Record<string, string[]> = {
  camera: ['topic'],
  binary_sensor: ['state_topic'],
  sensor: ['state_topic'],
  switch: ['command_topic'],
  select: ['command_topic', 'options'],
  number: ['command_topic'],
  button: ['command_topic'],
  text: ['command_topic'],
  event: ['state_topic', 'event_types'],
  image: ['image_topic', 'content_type'],
};
const ENTITY_ID = /^[a-z0-9_]+$/;
const NODE = /^[A-Za-z0-9_-]+$/;

/**
 * Check one discovery config against the rules. `id` = camera id (or undefined for the bridge).
 * Returns the parsed pieces for further assertions.
 */
export function checkDiscovery(
  topic: string,
  payloadText: string,
  opts: { prefix: string; base: string; cameraId?: string },
): { component: string; node: string; object: string; payload: Record<string, unknown> } {
  const parts = topic.split('/');
  assert.equal(parts.length, 5, `${topic}: expected <prefix>/<component>/<node>/<object>/config`);
  const [prefix, component, node, object, last] = parts as [string, string, string, string, string];
  assert.equal(prefix, opts.prefix);
  assert.equal(last, 'config');
  assert.match(node, NODE, `${topic}: node_id may only contain [A-Za-z0-9_-]`);
  assert.match(object, NODE, `${topic}: object_id may only contain [A-Za-z0-9_-]`);
  const payload = JSON.parse(payloadText) as Record<string, unknown>;
  const allowed = PLATFORM_KEYS[component];
  assert.ok(allowed, `${topic}: unexpected component ${component}`);
  for (const k of Object.keys(payload)) {
    assert.ok(allowed.has(k), `${topic}: key "${k}" is not a full key name HA 2024.3 accepts for ${component}`);
  }
  for (const k of REQUIRED[component]!) assert.ok(payload[k] !== undefined, `${topic}: missing required "${k}"`);
  // Not in 2024.3.
  assert.equal(payload.cmps, undefined);
  if (component === 'switch')
    assert.equal(payload.command_template, undefined, 'switch command_template is not in HA 2024.3');
  if (component === 'sensor') assert.equal(payload.options, undefined, 'sensor options is not in HA 2024.3');
  if (component === 'text') assert.ok(typeof payload.max !== 'number' || payload.max <= 255, 'text max must be <= 255');

  // Identity.
  const uid = payload.unique_id;
  assert.equal(typeof uid, 'string', `${topic}: unique_id`);
  assert.equal(uid, `${node}_${object}`, `${topic}: unique_id must be <node>_<object> (cam2mqtt_<id>_<object>)`);
  const objectId = payload.object_id as string;
  assert.match(objectId, ENTITY_ID, `${topic}: object_id must be a valid entity slug`);
  assert.equal(
    payload.default_entity_id,
    `${component}.${objectId}`,
    `${topic}: default_entity_id must be <domain>.<object_id>`,
  );
  if (opts.cameraId !== undefined) {
    assert.equal(node, `cam2mqtt_${opts.cameraId}`);
    const slug = opts.cameraId.replace(/-/g, '_');
    assert.equal(objectId, component === 'camera' || component === 'image' ? slug : `${slug}_${object}`);
  }

  // Strict nested blocks.
  const device = payload.device as Record<string, unknown>;
  assert.ok(device && typeof device === 'object', `${topic}: device block`);
  for (const k of Object.keys(device))
    assert.ok(DEVICE_KEYS.has(k), `${topic}: device key "${k}" would make HA 2024.3 reject the entity`);
  assert.ok(
    Array.isArray(device.identifiers) &&
      device.identifiers.length > 0 &&
      device.identifiers.every((x) => typeof x === 'string'),
  );
  for (const k of ['manufacturer', 'model', 'name', 'sw_version', 'via_device', 'configuration_url']) {
    if (device[k] !== undefined) assert.equal(typeof device[k], 'string', `${topic}: device.${k} must be a string`);
  }
  if (device.configuration_url !== undefined) assert.doesNotThrow(() => new URL(device.configuration_url as string));
  const origin = payload.origin as Record<string, unknown>;
  assert.ok(origin && typeof origin === 'object', `${topic}: origin block`);
  for (const k of Object.keys(origin))
    assert.ok(ORIGIN_KEYS.has(k), `${topic}: origin key "${k}" would make HA drop the message`);
  assert.equal(typeof origin.name, 'string');
  if (payload.availability !== undefined) {
    assert.ok(Array.isArray(payload.availability));
    for (const a of payload.availability as Record<string, unknown>[]) {
      for (const k of Object.keys(a))
        assert.ok(AVAILABILITY_KEYS.has(k), `${topic}: availability key "${k}" would make HA 2024.3 reject the entity`);
      assert.equal(typeof a.topic, 'string');
    }
  }
  if (opts.cameraId !== undefined) {
    assert.equal(payload.availability_mode, 'all', `${topic}: camera entities depend on bridge AND camera`);
    const topics = (payload.availability as { topic: string }[]).map((a) => a.topic);
    assert.deepEqual(topics, [`${opts.base}/bridge/state`, `${opts.base}/${opts.cameraId}/availability`]);
    assert.match(String(device.via_device), /^cam2mqtt_bridge/, `${topic}: camera devices hang off the bridge device`);
  }
  return { component, node, object, payload };
}

/** Raw MQTT 3.1.1 packets for hand-driven clients (a frozen subscriber). */
export function rawConnect(clientId: string): Buffer {
  const id = Buffer.from(clientId);
  const body = Buffer.concat([
    Buffer.from([0, 4]),
    Buffer.from('MQTT'),
    Buffer.from([4, 0x02, 0, 60]),
    Buffer.from([id.length >> 8, id.length & 0xff]),
    id,
  ]);
  return Buffer.concat([Buffer.from([0x10]), varint(body.length), body]);
}

export function rawSubscribe(topic: string, messageId = 1): Buffer {
  const t = Buffer.from(topic);
  const body = Buffer.concat([
    Buffer.from([messageId >> 8, messageId & 0xff, t.length >> 8, t.length & 0xff]),
    t,
    Buffer.from([0]),
  ]);
  return Buffer.concat([Buffer.from([0x82]), varint(body.length), body]);
}

export function rawPublish(topic: string, payload: Buffer): Buffer {
  const t = Buffer.from(topic);
  const body = Buffer.concat([Buffer.from([t.length >> 8, t.length & 0xff]), t, payload]);
  return Buffer.concat([Buffer.from([0x30]), varint(body.length), body]);
}

function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}
