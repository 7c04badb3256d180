// A small Home Assistant client: the WebSocket API through home-assistant-js-websocket (registries,
// states, MQTT subscriptions, entity updates) plus the REST API where HA offers only REST (config
// entries and their config/options flows). `HaClient.connect()` checks, in this order and before
// anything is changed: the URL, that HA answers, that it is HA, the token, admin rights, the version.

import {
  type Connection,
  createConnection,
  createLongLivedTokenAuth,
  ERR_CANNOT_CONNECT,
  ERR_INVALID_AUTH,
} from 'home-assistant-js-websocket';
import WebSocket from 'ws';
import { describeFetchError, HaError, messageOf, normaliseHaUrl } from './errors.js';
import { haVersionRow, type SchemaField } from './ha-versions.js';
import { isSupportedHaVersion, MIN_HA_VERSION } from './version.js';

export interface ConfigEntry {
  entry_id: string;
  domain: string;
  title: string;
  state: string;
  reason?: string | null;
  disabled_by?: string | null;
  [key: string]: unknown;
}

export interface FlowResult {
  type:
    | 'form'
    | 'create_entry'
    | 'abort'
    | 'external'
    | 'external_done'
    | 'progress'
    | 'progress_done'
    | 'menu'
    | string;
  flow_id?: string;
  handler?: string;
  step_id?: string;
  reason?: string;
  errors?: Record<string, string> | null;
  description_placeholders?: Record<string, string> | null;
  data_schema?: SchemaField[];
  result?: { entry_id: string; domain: string; title: string; state?: string } | string;
  title?: string;
}

export interface EntityEntry {
  entity_id: string;
  unique_id: string;
  platform: string;
  device_id: string | null;
  config_entry_id: string | null;
  disabled_by: string | null;
  name: string | null;
  original_name?: string | null;
  entity_category?: string | null;
  [key: string]: unknown;
}

export interface DeviceEntry {
  id: string;
  name: string | null;
  name_by_user?: string | null;
  manufacturer: string | null;
  model: string | null;
  identifiers: [string, string][];
  via_device_id: string | null;
  config_entries: string[];
  disabled_by?: string | null;
  [key: string]: unknown;
}

export interface HaState {
  entity_id: string;
  state: string;
  attributes: Record<string, unknown>;
  last_changed?: string;
  last_updated?: string;
}

export interface MqttMessage {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
}

export interface ConnectOptions {
  /** Per-request time limit (ms), default 15 s. */
  timeoutMs?: number;
  /** WebSocket connect retries (home-assistant-js-websocket `setupRetry`), default 2. */
  setupRetry?: number;
}

function ensureGlobalWebSocket(): void {
  // home-assistant-js-websocket uses the global WebSocket, which Node 20 does not have.
  const g = globalThis as unknown as { WebSocket?: unknown };
  if (g.WebSocket === undefined) g.WebSocket = WebSocket;
}

export class HaClient {
  private constructor(
    readonly url: string,
    private readonly token: string,
    readonly version: string,
    readonly conn: Connection,
    private readonly timeoutMs: number,
  ) {}

  /**
   * Connects and checks everything that can be checked without changing anything. Throws HaError
   * with one clear message: no_url, bad_url, unreachable, not_ha, bad_token, banned, not_admin, too_old.
   */
  static async connect(
    rawUrl: string | undefined,
    token: string | undefined,
    opts: ConnectOptions = {},
  ): Promise<HaClient> {
    const url = normaliseHaUrl(rawUrl);
    if (token === undefined || token.trim() === '') {
      throw new HaError(
        'no_token',
        'no Home Assistant token: pass --token, or set homeassistant.token (CAM2MQTT_HOMEASSISTANT_TOKEN); create a long-lived access token in Home Assistant under your profile, Security tab',
      );
    }
    token = token.trim();
    const timeoutMs = opts.timeoutMs ?? 15_000;

    // 1) Does something answer, and is it Home Assistant's API? GET /api/ answers {"message":"API running."}.
    let r: Response;
    try {
      r = await fetch(`${url}/api/`, {
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'manual',
      });
    } catch (err) {
      const d = describeFetchError(err);
      throw new HaError(d.code, `cannot reach Home Assistant at ${url}: ${d.why}`);
    }
    const text = await r.text().catch(() => '');
    const location = r.headers.get('location');
    if (r.status >= 300 && r.status < 400 && location) {
      const to = new URL(location, `${url}/api/`);
      throw new HaError(
        'bad_url',
        `${url} redirects to ${to.origin}${to.pathname.replace(/\/api\/?$/, '')}: pass that as the Home Assistant URL`,
      );
    }
    if (r.status === 401) {
      throw new HaError(
        'bad_token',
        `Home Assistant at ${url} refused the token (HTTP 401): it is wrong, expired or revoked; create a long-lived access token in Home Assistant (your profile, Security tab) and pass it with --token or homeassistant.token`,
      );
    }
    if (r.status === 403) {
      throw new HaError(
        'banned',
        `Home Assistant at ${url} refused this machine (HTTP 403): after too many failed logins HA bans an address; remove it from ip_bans.yaml in HA's config folder and restart HA`,
      );
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (
      !r.ok ||
      typeof body !== 'object' ||
      body === null ||
      typeof (body as { message?: unknown }).message !== 'string'
    ) {
      const type = r.headers.get('content-type')?.split(';')[0] ?? 'no content type';
      throw new HaError(
        'not_ha',
        `${url} answered, but it is not Home Assistant's API (GET /api/ -> HTTP ${r.status}, ${type}): check the URL and port (Home Assistant's default is http://HOST:8123)`,
      );
    }

    // 2) The version (also tells us the token works for /api/config).
    const cfgRes = await fetch(`${url}/api/config`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(timeoutMs),
    }).catch((err: unknown) => {
      const d = describeFetchError(err);
      throw new HaError(d.code, `cannot reach Home Assistant at ${url}: ${d.why}`);
    });
    const cfg = (await cfgRes.json().catch(() => ({}))) as { version?: unknown; state?: unknown };
    const version = typeof cfg.version === 'string' ? cfg.version : '';
    if (!cfgRes.ok || !version) {
      throw new HaError(
        'not_ha',
        `${url} answered GET /api/config with HTTP ${cfgRes.status} and no version: is this Home Assistant?`,
      );
    }
    if (!isSupportedHaVersion(version)) {
      throw new HaError(
        'too_old',
        `Home Assistant ${version} at ${url} is too old: cam2mqtt needs ${MIN_HA_VERSION.replace(/\.0$/, '')} or newer (update Home Assistant, then run this again)`,
      );
    }

    // 3) The WebSocket API.
    ensureGlobalWebSocket();
    let conn: Connection;
    try {
      conn = await createConnection({ auth: createLongLivedTokenAuth(url, token), setupRetry: opts.setupRetry ?? 2 });
    } catch (err) {
      if (err === ERR_INVALID_AUTH)
        throw new HaError(
          'bad_token',
          `Home Assistant at ${url} refused the token on its WebSocket API: create a new long-lived access token and pass it with --token`,
        );
      if (err === ERR_CANNOT_CONNECT)
        throw new HaError(
          'unreachable',
          `cannot open Home Assistant's WebSocket API at ${url.replace(/^http/, 'ws')}/api/websocket (a reverse proxy that does not pass WebSockets?)`,
        );
      throw new HaError('unreachable', `Home Assistant's WebSocket API at ${url}: ${messageOf(err)}`);
    }
    const client = new HaClient(url, token, version, conn, timeoutMs);
    try {
      const user = await client.ws<{ name?: string; is_admin?: boolean }>({ type: 'auth/current_user' });
      if (user.is_admin !== true) {
        throw new HaError(
          'not_admin',
          `the token belongs to Home Assistant user "${user.name ?? '?'}", who is not an administrator: adding integrations needs an administrator's long-lived access token`,
        );
      }
    } catch (err) {
      client.close();
      throw err;
    }
    return client;
  }

  close(): void {
    try {
      this.conn.close();
    } catch {
      /* already closed */
    }
  }

  // ---- WebSocket -------------------------------------------------------------------------------

  async ws<T>(msg: { type: string; [k: string]: unknown }): Promise<T> {
    try {
      return await this.conn.sendMessagePromise<T>(msg);
    } catch (err) {
      throw new HaError('ha_error', `Home Assistant (${msg.type}): ${messageOf(err)}`);
    }
  }

  entities(): Promise<EntityEntry[]> {
    return this.ws<EntityEntry[]>({ type: 'config/entity_registry/list' });
  }

  devices(): Promise<DeviceEntry[]> {
    return this.ws<DeviceEntry[]>({ type: 'config/device_registry/list' });
  }

  states(): Promise<HaState[]> {
    return this.ws<HaState[]>({ type: 'get_states' });
  }

  updateEntityId(entityId: string, newEntityId: string): Promise<unknown> {
    return this.ws({ type: 'config/entity_registry/update', entity_id: entityId, new_entity_id: newEntityId });
  }

  /** Subscribes through HA's own MQTT client (needs the MQTT integration loaded). */
  async mqttSubscribe(topic: string, cb: (m: MqttMessage) => void): Promise<() => Promise<void>> {
    try {
      return await this.conn.subscribeMessage<MqttMessage>(
        cb,
        { type: 'mqtt/subscribe', topic },
        { resubscribe: false },
      );
    } catch (err) {
      throw new HaError('ha_error', `Home Assistant (mqtt/subscribe ${topic}): ${messageOf(err)}`);
    }
  }

  // ---- REST ------------------------------------------------------------------------------------

  async rest<T>(method: string, path: string, body?: unknown): Promise<T> {
    let r: Response;
    try {
      r = await fetch(`${this.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new HaError(
        'unreachable',
        `Home Assistant at ${this.url} stopped answering (${method} ${path}): ${describeFetchError(err).why}`,
      );
    }
    const text = await r.text();
    if (!r.ok) {
      let detail = text.trim();
      try {
        const j = JSON.parse(text) as { message?: string };
        if (j.message) detail = j.message;
      } catch {
        /* keep the text */
      }
      throw new HaError(
        'ha_error',
        `Home Assistant refused ${method} ${path}: HTTP ${r.status}${detail ? ` (${detail.slice(0, 200)})` : ''}`,
      );
    }
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  configEntries(domain?: string): Promise<ConfigEntry[]> {
    return this.rest<ConfigEntry[]>(
      'GET',
      `/api/config/config_entries/entry${domain ? `?domain=${encodeURIComponent(domain)}` : ''}`,
    );
  }

  async deleteEntry(entryId: string): Promise<void> {
    await this.rest('DELETE', `/api/config/config_entries/entry/${encodeURIComponent(entryId)}`);
  }

  startFlow(handler: string): Promise<FlowResult> {
    return this.rest<FlowResult>('POST', '/api/config/config_entries/flow', { handler, show_advanced_options: false });
  }

  /** A reconfigure flow of an entry (HA 2024.4+: `entry_id` in the flow request). */
  startReconfigureFlow(handler: string, entryId: string): Promise<FlowResult> {
    return this.rest<FlowResult>('POST', '/api/config/config_entries/flow', {
      handler,
      entry_id: entryId,
      show_advanced_options: false,
    });
  }

  flowStep(flowId: string, data: Record<string, unknown>): Promise<FlowResult> {
    return this.rest<FlowResult>('POST', `/api/config/config_entries/flow/${encodeURIComponent(flowId)}`, data);
  }

  async abortFlow(flowId: string): Promise<void> {
    await this.rest('DELETE', `/api/config/config_entries/flow/${encodeURIComponent(flowId)}`).catch(() => undefined);
  }

  startOptionsFlow(entryId: string): Promise<FlowResult> {
    return this.rest<FlowResult>('POST', '/api/config/config_entries/options/flow', {
      handler: entryId,
      show_advanced_options: false,
    });
  }

  async abortOptionsFlow(flowId: string): Promise<void> {
    await this.rest('DELETE', `/api/config/config_entries/options/flow/${encodeURIComponent(flowId)}`).catch(
      () => undefined,
    );
  }

  /**
   * The current settings an options flow shows (its first form's defaults / suggested values),
   * read without changing anything: the flow is opened and deleted again.
   */
  async readOptions(entryId: string): Promise<Record<string, unknown> | undefined> {
    let flow: FlowResult;
    try {
      flow = await this.startOptionsFlow(entryId);
    } catch {
      return undefined;
    }
    try {
      return flow.type === 'form' && Array.isArray(flow.data_schema) ? formValues(flow.data_schema) : undefined;
    } finally {
      if (flow.flow_id) await this.abortOptionsFlow(flow.flow_id);
    }
  }

  /** The settings a reconfigure flow shows, read the same way (opened and deleted again). */
  async readReconfigure(handler: string, entryId: string): Promise<Record<string, unknown> | undefined> {
    let flow: FlowResult;
    try {
      flow = await this.startReconfigureFlow(handler, entryId);
    } catch {
      return undefined;
    }
    try {
      return flow.type === 'form' && Array.isArray(flow.data_schema) ? formValues(flow.data_schema) : undefined;
    } finally {
      if (flow.flow_id) await this.abortFlow(flow.flow_id);
    }
  }

  /**
   * Broker, port and protocol of an MQTT entry, read where this HA version shows them
   * (ha-versions.ts: options flow up to 2026.x, reconfigure flow since). Missing keys: not shown.
   */
  async mqttEntrySettings(entryId: string): Promise<{ broker?: string; port?: number; protocol?: string }> {
    const layout = haVersionRow(this.version).mqttEntry;
    const v =
      layout === 'reconfigure_flow' ? await this.readReconfigure('mqtt', entryId) : await this.readOptions(entryId);
    const out: { broker?: string; port?: number; protocol?: string } = {};
    if (v?.broker !== undefined) out.broker = String(v.broker);
    if (v?.port !== undefined && Number.isFinite(Number(v.port))) out.port = Number(v.port);
    if (v?.protocol !== undefined) out.protocol = String(v.protocol);
    return out;
  }

  /** Waits until a config entry is loaded; returns its last state (loaded or not) when time is up. */
  async waitEntry(entryId: string, timeoutMs: number): Promise<ConfigEntry | undefined> {
    const deadline = Date.now() + timeoutMs;
    let last: ConfigEntry | undefined;
    for (;;) {
      last = (await this.configEntries()).find((e) => e.entry_id === entryId);
      if (last?.state === 'loaded' || Date.now() >= deadline) return last;
      if (last && (last.state === 'setup_error' || last.state === 'migration_error' || last.state === 'failed_unload'))
        return last;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** Defaults / suggested values of a form, with the fields of its sections flattened in. */
export function formValues(schema: readonly SchemaField[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of schema) {
    if (f.type === 'expandable' && Array.isArray(f.schema)) {
      for (const [k, v] of Object.entries(formValues(f.schema))) if (!(k in out)) out[k] = v;
      continue;
    }
    const v = f.description?.suggested_value !== undefined ? f.description.suggested_value : f.default;
    if (v !== undefined) out[f.name] = v;
  }
  return out;
}
