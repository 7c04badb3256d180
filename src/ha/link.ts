// `cam2mqtt ha link`: make Home Assistant show every cam2mqtt camera, in one go.
//  1. HA's MQTT integration: created pointing at cam2mqtt's broker if missing; if it exists, it must
//     carry cam2mqtt's topics (checked through HA's own MQTT client), otherwise nothing is changed.
//  2. Waits until HA has created every entity cam2mqtt announced, and lists them per camera.
//  3. --live: one entry of HA's `mjpeg` integration per camera (full-rate live view), never twice.
// Everything that can be checked before changing HA is checked first; if a later step fails, what
// this run created is removed again, so HA is never left half-linked.
import type { BridgeInfo } from './bridge-info.js';
import type { EntityEntry, FlowResult, HaClient } from './client.js';
import { HaError, messageOf } from './errors.js';
import {
  announcedCameras,
  cameraOfStreamUrl,
  type ExpectedDevice,
  entitySlug,
  expectedDevices,
  liveEntityId,
  liveUrls,
} from './expected.js';
import { haVersionRow, type MqttProtocol, mqttFlowInput } from './ha-versions.js';

export interface Credentials {
  username: string;
  password: string;
}

export interface LinkOptions {
  client: HaClient;
  /** Current state of the bridge (called again while waiting: cameras come and go). */
  bridge: () => Promise<BridgeInfo>;
  /** Login HA's MQTT integration should use (an admin user of the embedded broker, or mqtt.username). */
  mqttCredentials?: Credentials | undefined;
  /** Set when the embedded broker has users but none HA could use (the reason). */
  mqttCredentialsProblem?: string | undefined;
  /** Credentials HA's mjpeg integration sends to cam2mqtt's streams (from http.auth). */
  httpCredentials?: Credentials | undefined;
  /** Address HA should use for cam2mqtt's embedded broker (default: mqtt.host, else the public URL's host). */
  brokerHost?: string | undefined;
  /** Add mjpeg live views (default true). */
  live?: boolean;
  /** How long to wait for HA to discover everything (ms, default 60 s). */
  timeoutMs?: number;
  /**
   * The MQTT protocols the broker speaks, best first, or undefined when unknown (then HA's default is
   * tried, and 3.1.1 if HA cannot connect with it). Default: ask the broker (mqtt-probe.ts).
   */
  brokerProtocols?: (host: string, port: number, login?: Credentials) => Promise<MqttProtocol[] | undefined>;
  /** Progress lines. */
  say?: (line: string) => void;
}

export interface LinkedEntity {
  entity_id: string;
  unique_id: string;
  /** What cam2mqtt asked for; differs when the user renamed it or an older entity had the id. */
  expected_entity_id: string;
  component: string;
  device_class?: string;
  state?: string;
}

export interface LiveResult {
  status: 'added' | 'existing' | 'skipped' | 'off';
  entity_id?: string;
  entry_id?: string;
  reason?: string;
}

export interface LinkedDevice {
  camera?: string;
  name: string;
  online?: boolean;
  entities: LinkedEntity[];
  missing: string[];
  live?: LiveResult;
}

export interface MqttResult {
  action: 'created' | 'existing';
  entry_id: string;
  broker: string;
  state: string;
  /** The broker login HA uses. */
  user?: string;
  /** The MQTT protocol of the entry (as HA shows it, or HA's default for its version). */
  protocol?: string;
}

export interface LinkReport {
  ok: boolean;
  ha: { url: string; version: string };
  bridge?: { version: string; public_url: string };
  mqtt?: MqttResult;
  devices: LinkedDevice[];
  warnings: string[];
  error?: { code: string; message: string };
  /** What was removed again after a failure. */
  rolled_back: string[];
  duration_ms: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Where HA should connect to reach cam2mqtt's embedded broker. */
export function brokerHostFor(info: BridgeInfo, override?: string): string {
  if (override) return override;
  const h = info.mqtt.host;
  if (h && h !== '0.0.0.0' && h !== '::') return h;
  return new URL(info.public_url).hostname.replace(/^\[|\]$/g, '');
}

/** "mqtt://host:port" of an external broker URL as HA's MQTT integration takes it, or undefined (mqtts, ws). */
export function externalBrokerAddress(server: string): { host: string; port: number } | undefined {
  try {
    const u = new URL(server);
    if (u.protocol !== 'mqtt:' && u.protocol !== 'tcp:') return undefined;
    return { host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port ? Number(u.port) : 1883 };
  } catch {
    return undefined;
  }
}

/**
 * Does the broker HA's MQTT integration is connected to carry this bridge's topics? Subscribes to the
 * retained <base>/bridge/info through HA (websocket mqtt/subscribe) and compares its URL.
 */
export async function brokerCarriesBridge(
  client: HaClient,
  info: BridgeInfo,
  timeoutMs = 10_000,
): Promise<{ ok: boolean; seen?: { url?: string; version?: string } }> {
  let seen: { url?: string; version?: string } | undefined;
  const unsub = await client.mqttSubscribe(`${info.base_topic}/bridge/info`, (m) => {
    try {
      seen = JSON.parse(m.payload) as { url?: string; version?: string };
    } catch {
      /* not ours */
    }
  });
  try {
    const deadline = Date.now() + timeoutMs;
    while (seen === undefined && Date.now() < deadline) await sleep(100);
  } finally {
    await unsub().catch(() => undefined);
  }
  return seen === undefined ? { ok: false } : { ok: seen.url === info.public_url, seen };
}

async function defaultBrokerProtocols(
  host: string,
  port: number,
  login?: Credentials,
): Promise<MqttProtocol[] | undefined> {
  const { brokerProtocols } = await import('./mqtt-probe.js');
  return brokerProtocols(host, port, login);
}

function flowErrors(res: FlowResult): string {
  const e = res.errors ?? {};
  const parts = Object.entries(e).map(([k, v]) => (k === 'base' ? v : `${k}: ${v}`));
  return parts.length ? parts.join(', ') : `${res.type}${res.reason ? ` (${res.reason})` : ''}`;
}

class Linker {
  private readonly created: { mqtt?: string; mjpeg: { entry_id: string; title: string }[] } = { mjpeg: [] };
  readonly report: LinkReport;
  private readonly say: (line: string) => void;
  private readonly started = Date.now();

  constructor(private readonly o: LinkOptions) {
    this.say = o.say ?? (() => {});
    this.report = {
      ok: false,
      ha: { url: o.client.url, version: o.client.version },
      devices: [],
      warnings: [],
      rolled_back: [],
      duration_ms: 0,
    };
  }

  async run(): Promise<LinkReport> {
    try {
      // Everything checked before anything is changed.
      const info = await this.o.bridge();
      this.report.bridge = { version: info.version, public_url: info.public_url };
      if (!info.mqtt.enabled)
        throw new HaError(
          'mqtt_disabled',
          "MQTT is turned off in cam2mqtt (mqtt.enabled: false): Home Assistant gets cam2mqtt's cameras over MQTT, so turn it on first",
        );
      if (!info.discovery)
        throw new HaError(
          'discovery_disabled',
          'Home Assistant discovery is turned off in cam2mqtt (homeassistant.discovery: false): turn it on so HA can create the entities',
        );
      if (info.mqtt.mode === 'embedded' && info.mqtt.auth && !this.o.mqttCredentials) {
        throw new HaError(
          'mqtt_credentials',
          this.o.mqttCredentialsProblem ??
            "cam2mqtt's broker requires a login (mqtt.users) but none is known here: run `cam2mqtt ha` with the same settings (--config / --data-dir) as the bridge",
        );
      }

      this.report.mqtt = await this.linkMqtt(info);
      const devices = await this.waitDiscovery();
      this.report.devices = devices;
      if (this.o.live !== false) await this.linkLive();
      else for (const d of devices) if (d.camera !== undefined) d.live = { status: 'off' };
      this.report.ok = true;
    } catch (err) {
      const e = err instanceof HaError ? err : new HaError('ha_error', messageOf(err));
      this.report.error = { code: e.code, message: e.message };
      await this.rollback();
    }
    this.report.duration_ms = Date.now() - this.started;
    return this.report;
  }

  // ---- 1. MQTT ---------------------------------------------------------------------------------

  private async linkMqtt(info: BridgeInfo): Promise<MqttResult> {
    const c = this.o.client;
    const entries = await c.configEntries('mqtt');
    if (entries.length > 0) {
      const entry = entries[0]!;
      const opts = await c.mqttEntrySettings(entry.entry_id);
      const broker = opts.broker !== undefined ? `${opts.broker}:${opts.port ?? 1883}` : entry.title;
      let state = entry.state;
      if (state !== 'loaded' && entry.disabled_by == null)
        state = (await c.waitEntry(entry.entry_id, 10_000))?.state ?? state;
      const ours =
        info.mqtt.mode === 'embedded'
          ? `cam2mqtt's embedded broker (${brokerHostFor(info, this.o.brokerHost)}:${info.mqtt.port})`
          : `cam2mqtt's broker (${info.mqtt.server})`;
      if (state !== 'loaded') {
        throw new HaError(
          'mqtt_failed',
          `Home Assistant's MQTT integration (broker ${broker}) is not connected (state: ${state}${entry.reason ? `, ${entry.reason}` : ''}); it should point at ${ours}. Changed nothing: fix it under Settings > Devices & services > MQTT, then run this again`,
        );
      }
      const check = await brokerCarriesBridge(c, info);
      if (!check.ok) {
        const why = check.seen
          ? `it carries another cam2mqtt (${check.seen.url ?? '?'})`
          : `cam2mqtt's topics are not there (${info.base_topic}/bridge/info)`;
        throw new HaError(
          'other_broker',
          `Home Assistant's MQTT integration points at another broker (${broker}): ${why}. cam2mqtt uses ${ours}. Changed nothing: point HA's MQTT integration at cam2mqtt (Settings > Devices & services > MQTT > Configure), or make cam2mqtt use HA's broker (mqtt.server)`,
        );
      }
      return {
        action: 'existing',
        entry_id: entry.entry_id,
        broker,
        state,
        protocol: opts.protocol ?? haVersionRow(c.version).defaultProtocol,
      };
    }

    // Create it.
    let host: string;
    let port: number;
    if (info.mqtt.mode === 'embedded') {
      host = brokerHostFor(info, this.o.brokerHost);
      port = info.mqtt.port ?? 1883;
    } else {
      const addr = externalBrokerAddress(info.mqtt.server ?? '');
      if (!addr) {
        throw new HaError(
          'mqtt_failed',
          `cam2mqtt uses the broker ${info.mqtt.server ?? '?'}, which HA's MQTT integration cannot be set up for from here (TLS or WebSocket): add the MQTT integration in Home Assistant by hand, pointing at that broker, then run this again`,
        );
      }
      ({ host, port } = addr);
      if (this.o.brokerHost) host = this.o.brokerHost;
    }
    const login = this.o.mqttCredentials;
    this.say(`... adding Home Assistant's MQTT integration for ${host}:${port}`);
    const flow = await c.startFlow('mqtt');
    if (flow.type === 'abort')
      throw new HaError(
        'mqtt_failed',
        `Home Assistant would not add the MQTT integration (${flow.reason ?? 'aborted'})`,
      );
    if (flow.type !== 'form' || !flow.flow_id)
      throw new HaError('mqtt_failed', `Home Assistant's MQTT setup answered unexpectedly (${flow.type})`);
    // The protocol: the best one the broker speaks that HA's form offers. Unknown (the broker is not
    // reachable from here): HA's default for its version, then 3.1.1 if HA cannot connect with it.
    const row = haVersionRow(c.version);
    let res: FlowResult;
    let data: Record<string, unknown>;
    try {
      const speaks = await (this.o.brokerProtocols ?? defaultBrokerProtocols)(host, port, login);
      const values = { broker: host, port, username: login?.username, password: login?.password };
      data = mqttFlowInput(
        flow.data_schema ?? [],
        { ...values, protocols: speaks ?? [row.defaultProtocol, '3.1.1'] },
        c.version,
      );
      res = await c.flowStep(flow.flow_id, data);
      if (
        speaks === undefined &&
        data.protocol !== undefined &&
        data.protocol !== '3.1.1' &&
        res.type === 'form' &&
        res.flow_id &&
        Object.values(res.errors ?? {}).includes('cannot_connect')
      ) {
        data = mqttFlowInput(res.data_schema ?? flow.data_schema ?? [], { ...values, protocols: ['3.1.1'] }, c.version);
        res = await c.flowStep(res.flow_id, data);
      }
    } catch (err) {
      await c.abortFlow(flow.flow_id);
      throw err;
    }
    if (res.type !== 'create_entry' || typeof res.result !== 'object' || res.result === null) {
      if (res.flow_id) await c.abortFlow(res.flow_id);
      const as = login ? ` as user "${login.username}"` : '';
      throw new HaError(
        'mqtt_failed',
        `Home Assistant cannot connect to cam2mqtt's broker at ${host}:${port}${as} (${flowErrors(res)}): HA must reach this address; if it cannot, pass --broker-host with an address of this machine that HA can reach (or set http.public_url)`,
      );
    }
    const entryId = res.result.entry_id;
    this.created.mqtt = entryId;
    const entry = await c.waitEntry(entryId, 30_000);
    if (entry?.state !== 'loaded')
      throw new HaError(
        'mqtt_failed',
        `Home Assistant added the MQTT integration but it did not start (state: ${entry?.state ?? 'gone'})`,
      );
    const check = await brokerCarriesBridge(c, info, 15_000);
    if (!check.ok)
      throw new HaError(
        'mqtt_failed',
        `Home Assistant connected to ${host}:${port} but does not see cam2mqtt's topics there (${info.base_topic}/bridge/info${check.seen ? ` from ${check.seen.url ?? '?'}` : ''}): is that really cam2mqtt's broker? (--broker-host)`,
      );
    return {
      action: 'created',
      entry_id: entryId,
      broker: `${host}:${port}`,
      state: 'loaded',
      ...(this.o.mqttCredentials ? { user: this.o.mqttCredentials.username } : {}),
      protocol: typeof data.protocol === 'string' ? data.protocol : row.defaultProtocol,
    };
  }

  // ---- 2. discovery ----------------------------------------------------------------------------

  private async waitDiscovery(): Promise<LinkedDevice[]> {
    const c = this.o.client;
    const timeoutMs = this.o.timeoutMs ?? 60_000;
    const deadline = Date.now() + timeoutMs;
    let said = false;
    for (;;) {
      const info = await this.o.bridge();
      const expected = expectedDevices(info);
      const registry = new Map<string, EntityEntry>();
      for (const e of await c.entities()) if (e.platform === 'mqtt') registry.set(e.unique_id, e);
      const missing = expected.flatMap((d) => d.entities.filter((e) => !registry.has(e.unique_id)));
      if (missing.length === 0)
        return this.describe(info, expected, registry, Math.min(15_000, Math.max(2_000, deadline - Date.now())));
      if (Date.now() >= deadline) {
        const list =
          missing
            .slice(0, 8)
            .map((e) => e.entity_id)
            .join(', ') + (missing.length > 8 ? `, and ${missing.length - 8} more` : '');
        throw new HaError(
          'discovery_timeout',
          `Home Assistant has not created ${missing.length} of cam2mqtt's ${expected.reduce((n, d) => n + d.entities.length, 0)} entities after ${Math.round(timeoutMs / 1000)} s (${list}). Check that discovery is on in HA's MQTT options and that its discovery prefix is "${info.discovery_prefix}" (homeassistant.discovery_prefix)`,
        );
      }
      if (!said) {
        this.say(`... waiting for Home Assistant to discover ${expected.length - 1} camera(s)`);
        said = true;
      }
      await sleep(500);
    }
  }

  /**
   * HA creates an entity a moment before its availability and state messages arrive: wait (up to
   * `waitMs`) until the entities of the bridge and of every online camera are available.
   */
  private async describe(
    info: BridgeInfo,
    expected: ExpectedDevice[],
    registry: Map<string, EntityEntry>,
    waitMs: number,
  ): Promise<LinkedDevice[]> {
    const cams = new Map(info.cameras.map((cam) => [cam.id, cam]));
    const shouldBeUp = expected
      .filter((d) => d.camera === undefined || cams.get(d.camera)?.online === true)
      .flatMap((d) => d.entities.map((e) => registry.get(e.unique_id)!.entity_id));
    const deadline = Date.now() + waitMs;
    let states: Map<string, string>;
    for (;;) {
      states = new Map((await this.o.client.states()).map((s) => [s.entity_id, s.state]));
      const down = shouldBeUp.filter((id) => states.get(id) === 'unavailable');
      if (down.length === 0) break;
      if (Date.now() >= deadline) {
        this.report.warnings.push(
          `${down.length} entities of online cameras are still unavailable in Home Assistant (${down.slice(0, 5).join(', ')}${down.length > 5 ? ', ...' : ''})`,
        );
        break;
      }
      await sleep(250);
    }
    return expected.map((d) => {
      const entities: LinkedEntity[] = d.entities.map((e) => {
        const reg = registry.get(e.unique_id)!;
        const state = states.get(reg.entity_id);
        if (reg.entity_id !== e.entity_id) {
          this.report.warnings.push(
            `${e.unique_id} is ${reg.entity_id} in Home Assistant, not ${e.entity_id} (renamed in HA, or an older entity already had that id)`,
          );
        }
        return {
          entity_id: reg.entity_id,
          unique_id: e.unique_id,
          expected_entity_id: e.entity_id,
          component: e.component,
          ...(e.device_class ? { device_class: e.device_class } : {}),
          ...(state !== undefined ? { state } : {}),
        };
      });
      const cam = d.camera !== undefined ? cams.get(d.camera) : undefined;
      return {
        ...(d.camera !== undefined ? { camera: d.camera } : {}),
        name: d.name,
        ...(cam ? { online: cam.online } : {}),
        entities,
        missing: [],
      };
    });
  }

  // ---- 3. live views ---------------------------------------------------------------------------

  private async linkLive(): Promise<void> {
    const c = this.o.client;
    const info = await this.o.bridge();
    // Existing mjpeg entries by camera id (their stream URL, read from their options without changing them).
    const existing = new Map<string, string>();
    for (const entry of await c.configEntries('mjpeg')) {
      const opts = await c.readOptions(entry.entry_id);
      const url = opts?.mjpeg_url;
      const id = cameraOfStreamUrl(url);
      if (id !== undefined && typeof url === 'string' && url.startsWith(`${info.public_url}/`))
        existing.set(id, entry.entry_id);
    }
    const liveCams = new Map(announcedCameras(info).map((cam) => [cam.id, cam]));
    for (const d of this.report.devices) {
      if (d.camera === undefined) continue;
      const cam = liveCams.get(d.camera);
      if (!cam) continue;
      const have = existing.get(cam.id);
      if (have !== undefined) {
        d.live = { status: 'existing', entry_id: have, ...(await this.liveEntity(have, cam.id)) };
        continue;
      }
      if (!cam.online || !cam.has_frame) {
        d.live = { status: 'skipped', reason: 'camera offline (HA checks the stream when adding it)' };
        this.report.warnings.push(
          `${cam.id} is offline: its live view is added when you run \`cam2mqtt ha link\` again once it is online`,
        );
        continue;
      }
      d.live = await this.addLive(info, cam.id, cam.name);
    }
  }

  private async liveEntity(entryId: string, cameraId: string): Promise<{ entity_id?: string }> {
    const want = liveEntityId(cameraId);
    const deadline = Date.now() + 15_000;
    for (;;) {
      const all = await this.o.client.entities();
      const mine = all.find((e) => e.config_entry_id === entryId && e.entity_id.startsWith('camera.'));
      if (mine) {
        if (mine.entity_id !== want && !all.some((e) => e.entity_id === want)) {
          // HA named it after the entry title; give it the predictable id camera.<id>_live.
          try {
            await this.o.client.updateEntityId(mine.entity_id, want);
            return { entity_id: want };
          } catch {
            return { entity_id: mine.entity_id };
          }
        }
        return { entity_id: mine.entity_id };
      }
      if (Date.now() >= deadline) return {};
      await sleep(250);
    }
  }

  private async addLive(info: BridgeInfo, cameraId: string, name: string): Promise<LiveResult> {
    const c = this.o.client;
    const urls = liveUrls(info.public_url, cameraId);
    const data: Record<string, unknown> = { name: `${name} live`, ...urls, verify_ssl: false, password: '' };
    if (this.o.httpCredentials) {
      data.username = this.o.httpCredentials.username;
      data.password = this.o.httpCredentials.password;
    }
    this.say(`... adding the live view of ${cameraId}`);
    const flow = await c.startFlow('mjpeg');
    if (flow.type !== 'form' || !flow.flow_id)
      throw new HaError(
        'live_failed',
        `Home Assistant's MJPEG setup answered unexpectedly (${flow.type}${flow.reason ? `: ${flow.reason}` : ''})`,
      );
    let res: FlowResult;
    try {
      res = await c.flowStep(flow.flow_id, data);
    } catch (err) {
      await c.abortFlow(flow.flow_id);
      throw err;
    }
    if (res.type === 'abort' && res.reason === 'already_configured') {
      const entry = (await c.configEntries('mjpeg')).find((e) => e.title === data.name);
      return {
        status: 'existing',
        ...(entry ? { entry_id: entry.entry_id, ...(await this.liveEntity(entry.entry_id, cameraId)) } : {}),
      };
    }
    if (res.type !== 'create_entry' || typeof res.result !== 'object' || res.result === null) {
      if (res.flow_id) await c.abortFlow(res.flow_id);
      throw new HaError(
        'live_failed',
        `Home Assistant cannot open ${urls.mjpeg_url} (${flowErrors(res)}): HA must reach cam2mqtt at its public URL; set http.public_url to an address HA can reach, or run with --no-live`,
      );
    }
    const entryId = res.result.entry_id;
    this.created.mjpeg.push({ entry_id: entryId, title: String(data.name) });
    const entry = await c.waitEntry(entryId, 30_000);
    if (entry?.state !== 'loaded')
      throw new HaError(
        'live_failed',
        `Home Assistant added the live view of ${cameraId} but it did not start (state: ${entry?.state ?? 'gone'})`,
      );
    const ent = await this.liveEntity(entryId, cameraId);
    return { status: 'added', entry_id: entryId, ...ent };
  }

  // ---- failure ---------------------------------------------------------------------------------

  private async rollback(): Promise<void> {
    const c = this.o.client;
    for (const m of [...this.created.mjpeg].reverse()) {
      try {
        await c.deleteEntry(m.entry_id);
        this.report.rolled_back.push(`removed the live view "${m.title}" added by this run`);
      } catch (err) {
        this.report.rolled_back.push(
          `could not remove the live view "${m.title}" (${messageOf(err)}): remove it under Settings > Devices & services > MJPEG IP Camera`,
        );
      }
    }
    if (this.created.mqtt !== undefined) {
      try {
        await c.deleteEntry(this.created.mqtt);
        this.report.rolled_back.push('removed the MQTT integration added by this run');
      } catch (err) {
        this.report.rolled_back.push(
          `could not remove the MQTT integration added by this run (${messageOf(err)}): remove it under Settings > Devices & services > MQTT`,
        );
      }
    }
    this.created.mjpeg = [];
    delete this.created.mqtt;
  }
}

/** Runs the link; never throws for HA-side problems (they are in report.error), only for bugs. */
export async function linkHomeAssistant(o: LinkOptions): Promise<LinkReport> {
  return new Linker(o).run();
}

export { entitySlug };
