// What `cam2mqtt ha` needs to know about the running bridge: its public URL, its MQTT broker, its
// topics and its cameras. In the bridge's own process it is read directly (the startup link); the
// `cam2mqtt ha` command asks the running bridge for it over GET /api/bridge.

import type { Config } from '../config/schema.js';
import type { BridgeView } from '../extension.js';
import { type CameraSummary, cameraSummary } from '../hub/camera.js';
import type { CameraHub } from '../hub/hub.js';
import { describeFetchError, HaError } from './errors.js';

export interface BridgeCamera extends Omit<CameraSummary, 'configured'> {
  /** The bridge holds a frame of this camera (so its snapshot URL answers). */
  has_frame: boolean;
}

export interface BridgeMqtt {
  enabled: boolean;
  mode?: 'embedded' | 'external';
  /** Embedded broker: the TCP port it listens on. */
  port?: number;
  /** Embedded broker: the address it listens on (mqtt.host). */
  host?: string;
  /** Embedded broker: logins required (mqtt.users set). */
  auth?: boolean;
  /** External broker URL without credentials. */
  server?: string;
  connected?: boolean;
}

export interface BridgeInfo {
  version: string;
  public_url: string;
  base_topic: string;
  discovery: boolean;
  discovery_prefix: string;
  mqtt: BridgeMqtt;
  http_auth: 'none' | 'password' | 'token' | 'password+token';
  cameras: BridgeCamera[];
  /** homeassistant.image_interval (0: no image entities); absent from bridges before it existed. */
  image_interval?: number;
}

function httpAuthMode(config: Config): BridgeInfo['http_auth'] {
  const a = config.http.auth;
  if (!a) return 'none';
  if (a.username !== undefined) return a.token !== undefined ? 'password+token' : 'password';
  return 'token';
}

/** Strips user:password@ from a broker URL. */
function redact(server: string): string {
  try {
    const u = new URL(server);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return server.replace(/\/\/[^@/]*@/, '//');
  }
}

/** The bridge's own view, read in-process. */
export function localBridgeInfo(bridge: BridgeView, hub: CameraHub, config: Config): BridgeInfo {
  const st = (bridge.status().mqtt ?? undefined) as
    | { mode?: string; port?: number; auth?: boolean; connected?: boolean }
    | undefined;
  const m = config.mqtt;
  const mqtt: BridgeMqtt =
    !m.enabled || !st
      ? { enabled: false }
      : st.mode === 'external' || m.server
        ? { enabled: true, mode: 'external', server: redact(m.server ?? ''), connected: st.connected === true }
        : {
            enabled: true,
            mode: 'embedded',
            port: st.port ?? m.port,
            host: m.host,
            auth: st.auth ?? m.users.length > 0,
            connected: st.connected === true,
          };
  return {
    version: bridge.version,
    public_url: bridge.publicUrl,
    base_topic: config.mqtt.base_topic.replace(/\/+$/, ''),
    discovery: config.homeassistant.discovery,
    discovery_prefix: config.homeassistant.discovery_prefix.replace(/\/+$/, ''),
    mqtt,
    http_auth: httpAuthMode(config),
    cameras: hub.list().map((c) => ({ ...cameraSummary(c), has_frame: c.latest !== undefined })),
    image_interval: config.homeassistant.image_interval,
  };
}

export interface BridgeCredentials {
  username?: string | undefined;
  password?: string | undefined;
  token?: string | undefined;
}

/** Default address of the local bridge's REST API, from its settings. */
export function defaultBridgeUrl(config: Config): string {
  const h = config.http.host;
  const host = h === '0.0.0.0' || h === '::' ? '127.0.0.1' : h.includes(':') ? `[${h}]` : h;
  return `http://${host}:${config.http.port}`;
}

/** Asks a running bridge for its BridgeInfo (GET /api/bridge). */
export async function fetchBridgeInfo(
  bridgeUrl: string,
  auth: BridgeCredentials | undefined,
  timeoutMs = 10_000,
): Promise<BridgeInfo> {
  const base = bridgeUrl.replace(/\/+$/, '');
  const headers: Record<string, string> = {};
  if (auth?.username !== undefined && auth.password !== undefined) {
    headers.authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
  } else if (auth?.token !== undefined) {
    headers.authorization = `Bearer ${auth.token}`;
  }
  let r: Response;
  try {
    r = await fetch(`${base}/api/bridge`, { headers, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw new HaError(
      'bridge_unreachable',
      `cannot reach cam2mqtt at ${base}: ${describeFetchError(err).why}; start cam2mqtt first (with the same --config / --data-dir), or pass --bridge URL`,
    );
  }
  const text = await r.text().catch(() => '');
  if (r.status === 401 || r.status === 403 || r.status === 429) {
    throw new HaError(
      'bridge_auth',
      `cam2mqtt at ${base} refused the credentials from http.auth (HTTP ${r.status}): run \`cam2mqtt ha\` with the same settings (--config / --data-dir) as the bridge`,
    );
  }
  let body: BridgeInfo | undefined;
  try {
    body = JSON.parse(text) as BridgeInfo;
  } catch {
    body = undefined;
  }
  if (!r.ok || !body || typeof body.public_url !== 'string' || !Array.isArray(body.cameras)) {
    throw new HaError(
      'bridge_unreachable',
      `${base} is not a cam2mqtt bridge (GET /api/bridge -> HTTP ${r.status}): pass --bridge with cam2mqtt's address`,
    );
  }
  return body;
}
