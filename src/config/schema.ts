import { z } from 'zod';

// One schema for the whole settings file. Every key has a default so that no file is needed;
// every key is documented in config/configuration.example.yaml. Objects are strict so that a
// typo ("htpp:") is reported instead of silently ignored.

// 0 = any free port (tests; the log then shows the one chosen).
const port = z.number().int().min(0).max(65535);
const seconds = z.number().min(0);
const cameraId = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,47}$/, 'expected 1-48 chars of a-z, 0-9, _ or - (starting with a letter or digit)');

export const logLevels = ['error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const httpAuth = z.strictObject({
  username: z.string().min(1).optional(),
  password: z.string().min(1).optional(),
  token: z.string().min(8, 'expected a token of at least 8 characters').optional(),
}).refine((a) => (a.username === undefined) === (a.password === undefined), {
  message: 'expected both username and password, or neither',
}).refine((a) => a.username !== undefined || a.token !== undefined, {
  message: 'expected username + password, or a token',
});

export const cameraSchema = z.strictObject({
  name: z.string().min(1).optional(),
  // Per-camera secret for the native protocol (hello.token). Unset = no token required.
  token: z.string().min(1).optional(),
  // Seconds between periodic MQTT snapshots; 0 = off.
  snapshot_interval: seconds.default(0),
  // Pulled cameras (MJPEG over HTTP): see docs/configuration.md.
  mjpeg_url: z.url().optional(),
  snapshot_url: z.url().optional(),
  control_url: z.string().optional(),
  servo_url: z.string().optional(),
  on_demand: z.boolean().default(false),
  motion_detection: z.boolean().default(false),
});

export const configSchema = z.strictObject({
  http: z.strictObject({
    host: z.string().min(1).default('0.0.0.0'),
    port: port.default(9090),
    // The URL users and Home Assistant reach cam2mqtt at; default derived from host/port.
    public_url: z.url().optional(),
    auth: httpAuth.optional(),
  }).prefault({}),
  log: z.strictObject({
    level: z.enum(logLevels).default('info'),
    format: z.enum(['pretty', 'json']).default('pretty'),
  }).prefault({}),
  allow_unknown_cameras: z.boolean().default(true),
  limits: z.strictObject({
    // Largest WebSocket message (frame or text) a camera may send; bigger ones close the connection with 1009.
    max_message_bytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(4 * 1024 * 1024),
    // Camera connections that have not said hello yet; more are refused (flood guard).
    max_pending_connections: z.number().int().min(1).default(64),
    max_cameras: z.number().int().min(1).default(256),
    hello_timeout: seconds.default(30),
    // A camera that sends nothing (frames, text or pings) for this long goes offline.
    camera_timeout: seconds.default(20),
    command_timeout: seconds.default(5),
    // Bytes a viewer may have queued before it gets only the newest frame (latest frame wins).
    viewer_queue_bytes: z.number().int().min(16 * 1024).default(128 * 1024),
    // A viewer that accepts no bytes for this long is disconnected.
    viewer_stall_timeout: seconds.default(30),
    // While a camera sends nothing, repeat its last frame this often so browsers keep painting.
    idle_repeat_interval: seconds.default(1),
  }).prefault({}),
  mqtt: z.strictObject({
    enabled: z.boolean().default(true),
    // External broker (mqtt://host:port or mqtts://...). Unset = run the embedded broker.
    server: z.string().regex(/^(mqtts?|wss?):\/\//, 'expected a URL starting with mqtt://, mqtts://, ws:// or wss://').optional(),
    username: z.string().optional(),
    password: z.string().optional(),
    client_id: z.string().optional(),
    ca: z.string().optional(),
    cert: z.string().optional(),
    key: z.string().optional(),
    reject_unauthorized: z.boolean().default(true),
    // Embedded broker listener.
    host: z.string().min(1).default('0.0.0.0'),
    port: port.default(1883),
    users: z.array(z.strictObject({
      username: z.string().min(1),
      password: z.string().min(1),
      admin: z.boolean().default(false),
    })).default([]),
    max_packet_bytes: z.number().int().min(1024).default(2 * 1024 * 1024),
    base_topic: z.string().regex(/^[^#+]+$/, 'expected a topic without # or +').default('cam2mqtt'),
  }).prefault({}),
  homeassistant: z.strictObject({
    discovery: z.boolean().default(true),
    discovery_prefix: z.string().regex(/^[^#+]+$/, 'expected a topic without # or +').default('homeassistant'),
    status_topic: z.string().default('homeassistant/status'),
    url: z.url().optional(),
    token: z.string().optional(),
  }).prefault({}),
  cameras: z.record(cameraId, cameraSchema).default({}),
});

export type Config = z.infer<typeof configSchema>;
export type CameraConfig = z.infer<typeof cameraSchema>;
