import { isIP } from 'node:net';
import { z } from 'zod';
import { CAMERA_ID_RE } from '../util/slug.js';

// One schema for the whole settings file. Every key has a default so that no file is needed;
// every key is documented in config/configuration.example.yaml. Objects are strict so that a
// typo ("htpp:") is reported instead of silently ignored.

// 0 = any free port (tests; the log then shows the one chosen).
const port = z.number().int().min(0).max(65535);
const seconds = z.number().min(0);
const cameraId = z
  .string()
  .regex(CAMERA_ID_RE, 'expected 1-48 chars of a-z, 0-9, _ or - (starting with a letter or digit)');

export const logLevels = ['error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const httpAuth = z
  .strictObject({
    username: z.string().min(1).optional(),
    password: z.string().min(1).optional(),
    token: z.string().min(8, 'expected a token of at least 8 characters').optional(),
  })
  .refine((a) => (a.username === undefined) === (a.password === undefined), {
    message: 'expected both username and password, or neither',
  })
  .refine((a) => a.username !== undefined || a.token !== undefined, {
    message: 'expected username + password, or a token',
  });

export const cameraSchema = z.strictObject({
  name: z.string().min(1).optional(),
  // Per-camera secret for the native protocol (hello.token). Unset = no token required.
  token: z.string().min(1).optional(),
  // Seconds between periodic MQTT snapshots; 0 = off.
  snapshot_interval: seconds.default(0),
  // Pulled cameras (the camera serves HTTP, cam2mqtt connects to it): see docs/cameras-http.md.
  // MJPEG stream URL (multipart/x-mixed-replace). cam2mqtt keeps exactly one connection to it.
  // Credentials in the URL (http://user:pass@host/) work like `auth`.
  mjpeg_url: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }).optional(),
  // Still-image URL (/capture, /control?still=1, /snapshot.jpg): polled when there is no mjpeg_url,
  // else used for full-resolution snapshots.
  snapshot_url: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }).optional(),
  // Settings URL template with {key} and {value} (e.g. http://cam/control?var={key}&val={value});
  // without placeholders "?key=value" is appended (MJPEG2SD's /control).
  control_url: z
    .string()
    .regex(/^https?:\/\//, 'expected a URL template starting with http:// or https://')
    .optional(),
  // Which firmware's keys and value scales control_url speaks.
  control_keys: z.enum(['camerawebserver', 'mjpeg2sd', 'mjpeg2sd_v8']).default('camerawebserver'),
  // Servo URL: securityCam's http://cam:81/control_servo (relative tr/el steps are appended), or a
  // template with {pan}/{tilt} (absolute) or {dpan}/{dtilt} (relative steps).
  servo_url: z
    .string()
    .regex(/^https?:\/\//, 'expected a URL (template) starting with http:// or https://')
    .optional(),
  // Degrees per D-pad / HA button press.
  servo_step: z.number().int().min(1).max(90).default(5),
  // Where the servos are when the camera starts (securityCam: 90/90); cam2mqtt tracks moves from there.
  servo_home: z
    .strictObject({
      pan: z.number().int().min(0).max(180).default(90),
      tilt: z.number().int().min(0).max(180).default(90),
    })
    .prefault({}),
  // Connect to mjpeg_url only while someone watches (single-client ESP32 cameras run cooler); the
  // last frame stays available for snapshots.
  on_demand: z.boolean().default(false),
  // HTTP authentication towards the camera (all its URLs). auto answers whatever the camera asks for.
  auth: z
    .strictObject({
      username: z.string().min(1),
      password: z.string(),
      type: z.enum(['auto', 'basic', 'digest']).default('auto'),
    })
    .optional(),
  // Largest JPEG accepted from the camera; bigger frames are refused with a log line.
  max_frame_bytes: z
    .number()
    .int()
    .min(16 * 1024)
    .max(64 * 1024 * 1024)
    .default(4 * 1024 * 1024),
  // Seconds between two stills when polling snapshot_url.
  snapshot_poll_interval: z.number().min(0.05).max(3600).default(1),
  // Nothing received from the camera for this long: drop the connection and reconnect.
  read_timeout: z.number().min(1).default(10),
  // Wait before reconnecting to a camera that went away: doubles from min_delay up to max_delay.
  reconnect: z
    .strictObject({
      min_delay: z.number().min(0.05).default(1),
      max_delay: z.number().min(0.05).default(30),
    })
    .prefault({}),
  // Recording (recordings.enabled): motion = a clip per motion event, continuous = hour-long segments
  // as well, off = none. Unset: motion. Home Assistant's recording switch turns it on and off.
  record: z.enum(['motion', 'continuous', 'off']).optional(),
  // Server-side motion detection on this camera's frames (pulled cameras, or dial-in cameras without it).
  motion_detection: z.boolean().default(false),
  motion: z
    .strictObject({
      // 1-100: higher notices smaller brightness changes.
      sensitivity: z.number().min(1).max(100).default(50),
      // Percent of the picture that must change for a frame to count as motion.
      min_area: z.number().min(0.01).max(100).default(1),
      // Consecutive changed frames (analysed ones) before motion starts.
      start_frames: z.number().int().min(1).max(100).default(3),
      // Quiet seconds before motion ends.
      end_seconds: z.number().min(0).max(3600).default(5),
      // Frames analysed per second at most (CPU cap); the others are skipped.
      max_fps: z.number().min(0.1).max(30).default(5),
      // Width the frame is decoded at for analysis (pixels; height keeps the aspect ratio).
      width: z.number().int().min(32).max(640).default(160),
      // Parts of the picture to leave out (a clock overlay, a tree in the wind): rectangles in fractions
      // of the frame, e.g. { x: 0, y: 0, w: 1, h: 0.1 } for a band at the top.
      ignore: z
        .array(
          z.strictObject({
            x: z.number().min(0).max(1),
            y: z.number().min(0).max(1),
            w: z.number().min(0).max(1),
            h: z.number().min(0).max(1),
          }),
        )
        .max(32)
        .default([]),
    })
    .prefault({}),
});

function isAddressOrRange(s: string): boolean {
  const [addr = '', bits, extra] = s.split('/');
  const family = isIP(addr);
  if (!family || extra !== undefined) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^\d{1,3}$/.test(bits) && n <= (family === 6 ? 128 : 32);
}

export const configSchema = z.strictObject({
  http: z
    .strictObject({
      host: z.string().min(1).default('0.0.0.0'),
      port: port.default(9090),
      // HTTPS (and wss://) on the same port: PEM certificate (chain) and key files, re-read on SIGHUP.
      tls: z
        .strictObject({
          cert: z.string().min(1, 'expected the path of a PEM certificate file'),
          key: z.string().min(1, 'expected the path of a PEM private key file'),
        })
        .optional(),
      // The URL users and Home Assistant reach cam2mqtt at; default derived from host/port.
      public_url: z.url().optional(),
      auth: httpAuth.optional(),
      // How long a login on the control page lasts (seconds; default 7 days).
      session_ttl: z
        .number()
        .min(60)
        .default(7 * 24 * 3600),
      // Reverse proxies (addresses or CIDR ranges) whose X-Forwarded-For names the client, for the
      // login rate limit and logs. Empty: the peer address is the client.
      trusted_proxies: z
        .array(
          z.string().refine(isAddressOrRange, {
            error: 'expected an IP address or CIDR range, like 127.0.0.1, ::1 or 10.0.0.0/8',
          }),
        )
        .max(64)
        .default([]),
      // Home Assistant ingress: requests from this address with an X-Ingress-Path header skip http.auth
      // (HA has authenticated them) and the page works under that prefix. HA's gateway: 172.30.32.2.
      ingress_gateway: z
        .string()
        .refine((s) => isIP(s) !== 0, { error: 'expected an IP address, like 172.30.32.2' })
        .optional(),
    })
    .prefault({}),
  log: z
    .strictObject({
      level: z.enum(logLevels).default('info'),
      format: z.enum(['pretty', 'json']).default('pretty'),
    })
    .prefault({}),
  allow_unknown_cameras: z.boolean().default(true),
  limits: z
    .strictObject({
      // Largest WebSocket message (frame or text) a camera may send; bigger ones close the connection with 1009.
      max_message_bytes: z
        .number()
        .int()
        .min(1024)
        .max(64 * 1024 * 1024)
        .default(4 * 1024 * 1024),
      // Largest text message a camera may send after its hello; bigger ones are refused (one log line).
      // Before the hello a text message may have at most 4 KiB (a hello is far smaller).
      max_text_bytes: z
        .number()
        .int()
        .min(4096)
        .max(4 * 1024 * 1024)
        .default(32 * 1024),
      // Camera connections that have not said hello yet; more are refused (flood guard).
      max_pending_connections: z.number().int().min(1).default(64),
      // Cameras the bridge knows at most (connected, configured, or remembered in cameras.json).
      max_cameras: z.number().int().min(1).max(10_000).default(256),
      hello_timeout: seconds.default(30),
      // A camera that sends nothing (frames, text or pings) for this long goes offline.
      camera_timeout: seconds.default(20),
      command_timeout: seconds.default(5),
      // Bytes a viewer may have queued before it gets only the newest frame (latest frame wins).
      viewer_queue_bytes: z
        .number()
        .int()
        .min(16 * 1024)
        .default(128 * 1024),
      // A viewer that accepts no bytes for this long is disconnected.
      viewer_stall_timeout: seconds.default(30),
      // While a camera sends nothing, repeat its last frame this often so browsers keep painting.
      idle_repeat_interval: seconds.default(1),
    })
    .prefault({}),
  mqtt: z
    .strictObject({
      enabled: z.boolean().default(true),
      // External broker (mqtt://host:port or mqtts://...). Unset = run the embedded broker.
      server: z
        .string()
        .regex(/^(mqtts?|wss?):\/\//, 'expected a URL starting with mqtt://, mqtts://, ws:// or wss://')
        .optional(),
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
      users: z
        .array(
          z.strictObject({
            username: z.string().min(1),
            password: z.string().min(1),
            admin: z.boolean().default(false),
          }),
        )
        .default([]),
      max_packet_bytes: z
        .number()
        .int()
        .min(1024)
        .default(2 * 1024 * 1024),
      // Embedded broker: retained messages kept in all (a quarter of it per topic tree, e.g. junk/#).
      max_retained_bytes: z
        .number()
        .int()
        .min(1024 * 1024)
        .default(64 * 1024 * 1024),
      base_topic: z
        .string()
        .regex(/^[^#+]+$/, 'expected a topic without # or +')
        .default('cam2mqtt'),
      // External broker: seconds between keepalive pings.
      keepalive: z.number().int().min(5).max(3600).default(60),
      // Snapshots bigger than this are not published (one log line).
      snapshot_max_bytes: z
        .number()
        .int()
        .min(1024)
        .max(64 * 1024 * 1024)
        .default(1024 * 1024),
      // At most one snapshot per camera per this many seconds; more are held back, most important wins.
      snapshot_min_interval: seconds.default(1),
      // MQTT 5 message expiry of the retained snapshot (seconds; 0 = never): the broker stops handing out older ones.
      snapshot_expiry: seconds.int().default(86400),
    })
    .prefault({}),
  homeassistant: z
    .strictObject({
      discovery: z.boolean().default(true),
      discovery_prefix: z
        .string()
        .regex(/^[^#+]+$/, 'expected a topic without # or +')
        .default('homeassistant'),
      status_topic: z.string().default('homeassistant/status'),
      // With url and token set, cam2mqtt links Home Assistant at startup (like `cam2mqtt ha link`): docs/home-assistant.md.
      url: z.url({ protocol: /^https?$/, error: "expected Home Assistant's http:// or https:// URL" }).optional(),
      token: z.string().optional(),
      // Add an entry of HA's mjpeg integration per camera (full-rate live view in HA).
      live: z.boolean().default(true),
      // Seconds between two pictures of a camera's image entity (image.<id>, redrawn by dashboards when
      // published); 0 = no image entity. Motion snapshots go there at once too.
      image_interval: z.number().min(0).max(3600).default(2),
      // Address HA should use to reach the embedded MQTT broker (default: mqtt.host, else http.public_url's host).
      broker_host: z.string().min(1).optional(),
    })
    .prefault({}),
  // Motion clips with pre-roll, the event index and retention: docs/recordings.md.
  recordings: z
    .strictObject({
      enabled: z.boolean().default(false),
      // Where clips go (default <data>/recordings); a NAS mount works.
      dir: z.string().min(1).optional(),
      // Seconds of frames kept in memory per recording camera, written at the start of each clip.
      pre_seconds: z.number().min(0).max(60).default(5),
      // Seconds recorded after motion ends.
      post_seconds: z.number().min(0).max(300).default(5),
      // Longest clip (seconds); a longer event continues in a new clip with the same event id.
      max_seconds: z.number().min(5).max(3600).default(300),
      // Bytes of pre-roll kept per camera at most (the ring drops its oldest frames beyond it).
      max_preroll_bytes: z
        .number()
        .int()
        .min(64 * 1024)
        .max(1024 * 1024 * 1024)
        .default(16 * 1024 * 1024),
      // Clips older than this many days are removed (0 = keep by age forever).
      retain_days: z.number().min(0).default(7),
      // All clips together at most (bytes); the oldest are removed first (0 = no limit).
      max_bytes: z
        .number()
        .int()
        .min(0)
        .default(10 * 1024 * 1024 * 1024),
      // With less free space than this on the disk, recording pauses (and resumes by itself).
      min_free_bytes: z
        .number()
        .int()
        .min(0)
        .default(512 * 1024 * 1024),
    })
    .prefault({}),
  // Prometheus metrics at GET /metrics (docs/metrics.md), behind http.auth like the API.
  metrics: z
    .strictObject({
      enabled: z.boolean().default(true),
      // A token a scraper may send instead of a login (Authorization: Bearer, or ?token=); only /metrics accepts it.
      token: z.string().min(8, 'expected a token of at least 8 characters').optional(),
    })
    .prefault({}),
  // Several instances as one system on Redis (docs/scale-out.md). Unset: one instance, Redis never loaded.
  cluster: z
    .strictObject({
      // Redis URL (redis://[user:pass@]host:port[/db], rediss:// for TLS): the shared broker state and the camera registry.
      redis: z.url({ protocol: /^rediss?$/, error: 'expected a redis:// or rediss:// URL' }),
      // This instance's name, unique in the cluster (default: the host name).
      instance_id: z
        .string()
        .regex(
          /^[a-z0-9][a-z0-9_-]{0,47}$/,
          'expected 1-48 chars of a-z, 0-9, _ or - (starting with a letter or digit)',
        )
        .optional(),
      // The URL the other instances reach this one at (its HTTP port, not through the load balancer).
      internal_url: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }),
      // Seconds a registry entry or a pull lease lives without renewal (renewed every third of it).
      ttl: z.number().min(1).max(300).default(10),
      // Prefix of every Redis key and channel (two clusters on one Redis).
      prefix: z
        .string()
        .regex(/^[A-Za-z0-9:_-]{1,64}$/, 'expected 1-64 chars of A-Z, a-z, 0-9, :, _ or -')
        .default('cam2mqtt'),
    })
    .optional(),
  cameras: z.record(cameraId, cameraSchema).default({}),
});

export type Config = z.infer<typeof configSchema>;
export type CameraConfig = z.infer<typeof cameraSchema>;
