// `cam2mqtt ha status`: what Home Assistant sees of cam2mqtt, read-only (options flows are opened
// to read settings and deleted again, which changes nothing).
import type { BridgeInfo } from './bridge-info.js';
import type { HaClient } from './client.js';
import { messageOf } from './errors.js';
import { cameraOfStreamUrl, expectedDevices } from './expected.js';
import { haVersionRow } from './ha-versions.js';
import { brokerCarriesBridge } from './link.js';

export interface StatusEntity {
  entity_id: string;
  unique_id: string;
  state?: string;
  disabled?: boolean;
}

export interface StatusDevice {
  id: string;
  name: string;
  /** Camera id; undefined for the bridge device. */
  camera?: string;
  model: string | null;
  entities: StatusEntity[];
}

export interface StatusMqttEntry {
  entry_id: string;
  title: string;
  state: string;
  broker?: string;
  /** MQTT protocol (as HA shows it, or HA's default for its version when it shows none). */
  protocol?: string;
  /** Seen through HA's MQTT client: the broker carries this bridge's topics (only when the bridge is known). */
  carries_cam2mqtt?: boolean;
}

export interface StatusLive {
  camera: string;
  entry_id: string;
  title: string;
  state: string;
  entity_id?: string;
  entity_state?: string;
}

export interface StatusReport {
  linked: boolean;
  ha: { url: string; version: string };
  bridge?: { version: string; public_url: string; cameras: number };
  bridge_error?: string;
  mqtt: StatusMqttEntry[];
  devices: StatusDevice[];
  unavailable: string[];
  /** Entities cam2mqtt announces that HA does not have (only when the bridge is known). */
  missing: string[];
  live: StatusLive[];
}

function isOurNode(id: string): boolean {
  return id.startsWith('cam2mqtt_');
}

export async function haStatus(client: HaClient, bridge?: () => Promise<BridgeInfo>): Promise<StatusReport> {
  let info: BridgeInfo | undefined;
  let bridgeError: string | undefined;
  if (bridge) {
    try {
      info = await bridge();
    } catch (err) {
      bridgeError = messageOf(err);
    }
  }

  const mqtt: StatusMqttEntry[] = [];
  for (const e of await client.configEntries('mqtt')) {
    const opts = await client.mqttEntrySettings(e.entry_id);
    const m: StatusMqttEntry = { entry_id: e.entry_id, title: e.title, state: e.state };
    if (opts.broker !== undefined) m.broker = `${opts.broker}:${opts.port ?? 1883}`;
    m.protocol = opts.protocol ?? haVersionRow(client.version).defaultProtocol;
    if (info && e.state === 'loaded')
      m.carries_cam2mqtt = (await brokerCarriesBridge(client, info, 5_000).catch(() => ({ ok: false }))).ok;
    mqtt.push(m);
  }

  const [devicesAll, entitiesAll, states] = await Promise.all([client.devices(), client.entities(), client.states()]);
  const stateOf = new Map(states.map((s) => [s.entity_id, s.state]));
  const devices: StatusDevice[] = [];
  const byDevice = new Map<string, StatusDevice>();
  const bridgeNodes = new Set<string>();
  for (const d of devicesAll) {
    const node = d.identifiers.find(([domain, id]) => domain === 'mqtt' && isOurNode(id))?.[1];
    if (node === undefined) continue;
    const isBridge = node.startsWith('cam2mqtt_bridge');
    if (isBridge) bridgeNodes.add(d.id);
    const dev: StatusDevice = {
      id: d.id,
      name: d.name_by_user ?? d.name ?? node,
      model: d.model,
      entities: [],
      ...(isBridge ? {} : { camera: node.slice('cam2mqtt_'.length) }),
    };
    devices.push(dev);
    byDevice.set(d.id, dev);
  }
  const unavailable: string[] = [];
  const seen = new Set<string>();
  for (const e of entitiesAll) {
    if (e.platform !== 'mqtt' || !isOurNode(e.unique_id)) continue;
    seen.add(e.unique_id);
    const state = stateOf.get(e.entity_id);
    const ent: StatusEntity = {
      entity_id: e.entity_id,
      unique_id: e.unique_id,
      ...(state !== undefined ? { state } : {}),
      ...(e.disabled_by ? { disabled: true } : {}),
    };
    if (state === 'unavailable') unavailable.push(e.entity_id);
    const dev = e.device_id ? byDevice.get(e.device_id) : undefined;
    if (dev) dev.entities.push(ent);
  }
  // Bridge first, then cameras by name.
  devices.sort((a, b) => (a.camera === undefined ? -1 : b.camera === undefined ? 1 : a.name.localeCompare(b.name)));

  const missing: string[] = [];
  if (info) {
    for (const d of expectedDevices(info))
      for (const e of d.entities) if (!seen.has(e.unique_id)) missing.push(e.entity_id);
  }

  const live: StatusLive[] = [];
  for (const entry of await client.configEntries('mjpeg')) {
    const opts = await client.readOptions(entry.entry_id);
    const url = opts?.mjpeg_url;
    const cam = cameraOfStreamUrl(url);
    if (cam === undefined) continue;
    if (info && typeof url === 'string' && !url.startsWith(`${info.public_url}/`)) continue;
    const ent = entitiesAll.find((e) => e.config_entry_id === entry.entry_id && e.entity_id.startsWith('camera.'));
    const st = ent ? stateOf.get(ent.entity_id) : undefined;
    live.push({
      camera: cam,
      entry_id: entry.entry_id,
      title: entry.title,
      state: entry.state,
      ...(ent ? { entity_id: ent.entity_id } : {}),
      ...(st !== undefined ? { entity_state: st } : {}),
    });
  }

  const mqttOk = mqtt.some((m) => m.state === 'loaded' && m.carries_cam2mqtt !== false);
  const linked = mqttOk && devices.length > 0 && missing.length === 0;
  return {
    linked,
    ha: { url: client.url, version: client.version },
    ...(info ? { bridge: { version: info.version, public_url: info.public_url, cameras: info.cameras.length } } : {}),
    ...(bridgeError ? { bridge_error: bridgeError } : {}),
    mqtt,
    devices,
    unavailable,
    missing,
    live,
  };
}
