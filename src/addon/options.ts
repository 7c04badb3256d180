// The Home Assistant add-on's options (/data/options.json, what the user sets in HA's UI; the schema is
// deploy/home-assistant-addon/config.yaml) mapped to cam2mqtt's settings. The Supervisor checks the
// types it knows; this checks the rest (ids, URLs, which combinations make sense) and the result is
// checked once more by cam2mqtt's own settings schema, so a mistake is one line naming the option.
import { z } from 'zod';
import { configSchema } from '../config/schema.js';
import { CAMERA_ID_RE } from '../util/slug.js';
import type { MqttLookup } from './supervisor.js';

/** HA's ingress gateway on HA OS and supervised installs (the Supervisor's address on the hassio network). */
export const HA_INGRESS_GATEWAY = '172.30.32.2';
/** Where clips go: the add-on's `media` map, so HA's media browser and backups see them. */
export const ADDON_RECORDINGS_DIR = '/media/cam2mqtt';
/** The HTTP port inside the container: config.yaml's ingress_port and its "9090/tcp" port. */
export const ADDON_HTTP_PORT = 9090;
export const ADDON_MQTT_PORT = 1883;

const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' });

export const cameraOptionSchema = z.strictObject({
  id: z.string().regex(CAMERA_ID_RE, 'expected 1-48 chars of a-z, 0-9, _ or - (starting with a letter or digit)'),
  name: z.string().min(1).optional(),
  token: z.string().min(1).optional(),
  mjpeg_url: httpUrl.optional(),
  snapshot_url: httpUrl.optional(),
  control_url: z
    .string()
    .regex(/^https?:\/\//, 'expected a URL template starting with http:// or https://')
    .optional(),
  snapshot_interval: z.number().int().min(0).optional(),
  motion_detection: z.boolean().optional(),
  record: z.enum(['motion', 'continuous', 'off']).optional(),
});

/** Every option of config.yaml's schema (test/addon.test.ts checks the two agree). */
export const addonOptionsSchema = z
  .strictObject({
    log_level: z.enum(['error', 'warn', 'info', 'debug', 'trace']).default('info'),
    mqtt: z.enum(['auto', 'embedded', 'external']).default('auto'),
    mqtt_server: z
      .string()
      .regex(/^(mqtts?|wss?):\/\/[^/]/, 'expected a URL like mqtt://192.168.1.10:1883 (mqtt, mqtts, ws or wss)')
      .optional(),
    mqtt_username: z.string().min(1).optional(),
    mqtt_password: z.string().optional(),
    base_topic: z
      .string()
      .regex(/^[^#+]+$/, 'expected a topic without # or +')
      .default('cam2mqtt'),
    discovery: z.boolean().default(true),
    image_interval: z.number().min(0).max(3600).default(2),
    public_url: httpUrl.optional(),
    username: z.string().min(1).optional(),
    password: z.string().min(1).optional(),
    token: z.string().min(8, 'expected a token of at least 8 characters').optional(),
    metrics_token: z.string().min(8, 'expected a token of at least 8 characters').optional(),
    ingress_gateway: z.string().min(1).optional(),
    allow_unknown_cameras: z.boolean().default(true),
    recordings: z.boolean().default(false),
    recordings_retain_days: z.number().min(0).optional(),
    cameras: z.array(cameraOptionSchema).max(256).default([]),
  })
  .superRefine((o, ctx) => {
    if (o.mqtt === 'external' && !o.mqtt_server)
      ctx.addIssue({ code: 'custom', path: ['mqtt_server'], message: 'required when mqtt is "external"' });
    if ((o.username === undefined) !== (o.password === undefined))
      ctx.addIssue({ code: 'custom', path: ['password'], message: 'username and password go together' });
    const seen = new Set<string>();
    o.cameras.forEach((c, i) => {
      if (seen.has(c.id))
        ctx.addIssue({ code: 'custom', path: ['cameras', i, 'id'], message: `"${c.id}" is listed twice` });
      seen.add(c.id);
      if (c.mjpeg_url === undefined && c.snapshot_url === undefined && c.control_url !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['cameras', i, 'control_url'],
          message: 'needs mjpeg_url or snapshot_url (a camera that dials in takes commands over its connection)',
        });
    });
  });

export type AddonOptions = z.infer<typeof addonOptionsSchema>;

export class AddonOptionsError extends Error {}

/** Where each option lands in cam2mqtt's settings (docs in deploy/home-assistant-addon/DOCS.md). */
export const OPTION_TARGETS: Record<keyof AddonOptions, string> = {
  log_level: 'log.level',
  mqtt: 'mqtt.server (auto: the Supervisor service, else the embedded broker)',
  mqtt_server: 'mqtt.server',
  mqtt_username: 'mqtt.username',
  mqtt_password: 'mqtt.password',
  base_topic: 'mqtt.base_topic',
  discovery: 'homeassistant.discovery',
  image_interval: 'homeassistant.image_interval',
  public_url: 'http.public_url',
  username: 'http.auth.username',
  password: 'http.auth.password',
  token: 'http.auth.token',
  metrics_token: 'metrics.token',
  ingress_gateway: 'http.ingress_gateway',
  allow_unknown_cameras: 'allow_unknown_cameras',
  recordings: 'recordings.enabled (clips in /media/cam2mqtt)',
  recordings_retain_days: 'recordings.retain_days',
  cameras: 'cameras.<id>',
};

function describePath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}

function valueAt(obj: unknown, path: readonly PropertyKey[]): unknown {
  let v = obj;
  for (const p of path) v = v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[p] : undefined;
  return v;
}

function show(v: unknown): string {
  if (v === undefined) return '(not set)';
  const s = JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** Check the options; throws AddonOptionsError with one line per problem (option, value, what is expected). */
export function parseAddonOptions(raw: unknown): AddonOptions {
  const r = addonOptionsSchema.safeParse(raw ?? {});
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => {
    const where = describePath(i.path) || '(options)';
    const secret = /password|token/.test(where);
    const keys = (i as { keys?: string[] }).keys;
    if (i.code === 'unrecognized_keys' && keys)
      return `${where === '(options)' ? '' : `${where}: `}unknown option ${keys.map((k) => `"${k}"`).join(', ')}`;
    return `${where} = ${secret ? '(hidden)' : show(valueAt(raw, i.path))}: ${i.message}`;
  });
  throw new AddonOptionsError(lines.join('; '));
}

export interface AddonConfigResult {
  /** cam2mqtt's settings (what configuration.yaml gets). */
  config: Record<string, unknown>;
  /** One line for the add-on's log: where MQTT goes and why. */
  mqttSummary: string;
}

/**
 * The options as cam2mqtt settings. `mqtt`: the Supervisor's answer (auto mode uses its service when it
 * offers one, else the embedded broker).
 */
export function addonConfig(opts: AddonOptions, mqtt: MqttLookup): AddonConfigResult {
  const m: Record<string, unknown> = { base_topic: opts.base_topic, host: '0.0.0.0', port: ADDON_MQTT_PORT };
  let mqttSummary: string;
  const useService = opts.mqtt === 'auto' && mqtt.service !== undefined;
  if (opts.mqtt === 'external') {
    m.server = opts.mqtt_server;
    if (opts.mqtt_username !== undefined) m.username = opts.mqtt_username;
    if (opts.mqtt_password !== undefined) m.password = opts.mqtt_password;
    mqttSummary = `MQTT: the broker at ${opts.mqtt_server} (option mqtt: external)`;
  } else if (useService && mqtt.service) {
    const s = mqtt.service;
    const host = s.host.includes(':') ? `[${s.host}]` : s.host;
    m.server = `${s.ssl ? 'mqtts' : 'mqtt'}://${host}:${s.port}`;
    if (s.username !== undefined) m.username = s.username;
    if (s.password !== undefined) m.password = s.password;
    mqttSummary = `MQTT: Home Assistant's broker ${s.host}:${s.port}${s.addon ? ` (${s.addon})` : ''}, credentials from the Supervisor`;
  } else {
    mqttSummary =
      opts.mqtt === 'embedded'
        ? `MQTT: the embedded broker on port ${ADDON_MQTT_PORT} (option mqtt: embedded)`
        : `MQTT: the embedded broker on port ${ADDON_MQTT_PORT}: ${mqtt.service === undefined ? mqtt.why : ''}`;
  }
  const auth: Record<string, unknown> = {};
  if (opts.username !== undefined) auth.username = opts.username;
  if (opts.password !== undefined) auth.password = opts.password;
  if (opts.token !== undefined) auth.token = opts.token;
  const cameras: Record<string, Record<string, unknown>> = {};
  for (const c of opts.cameras) {
    const { id, ...rest } = c;
    cameras[id] = rest;
  }
  const config: Record<string, unknown> = {
    http: {
      host: '0.0.0.0',
      port: ADDON_HTTP_PORT,
      ingress_gateway: opts.ingress_gateway ?? HA_INGRESS_GATEWAY,
      ...(opts.public_url !== undefined ? { public_url: opts.public_url } : {}),
      ...(Object.keys(auth).length ? { auth } : {}),
    },
    log: { level: opts.log_level, format: 'pretty' },
    allow_unknown_cameras: opts.allow_unknown_cameras,
    mqtt: m,
    homeassistant: { discovery: opts.discovery, image_interval: opts.image_interval },
    metrics: { enabled: true, ...(opts.metrics_token !== undefined ? { token: opts.metrics_token } : {}) },
    recordings: {
      enabled: opts.recordings,
      dir: ADDON_RECORDINGS_DIR,
      ...(opts.recordings_retain_days !== undefined ? { retain_days: opts.recordings_retain_days } : {}),
    },
    cameras,
  };
  // cam2mqtt's own schema has the last word (a camera with both URLs forbidden, ...): same one-line errors.
  const check = configSchema.safeParse(config);
  if (!check.success) {
    const i = check.error.issues[0]!;
    throw new AddonOptionsError(
      `the settings made from the options are refused: ${describePath(i.path)}: ${i.message}`,
    );
  }
  return { config, mqttSummary };
}
