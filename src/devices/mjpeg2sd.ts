// s60sc ESP32-CAM_MJPEG2SD (and gemi254's websocket fork): what the firmware calls its settings, how it
// scales them, its framesize tables and its status keys, whatever carries them (WebSocket on /ws,
// HTTP /control and /status). Facts: ../shared/reference/legacy-camera-protocols.md sections 1 and 2.
import { type Command, CommandError } from '../hub/controls.js';
import { FRAMESIZES, type FrameSize } from './esp32-camera.js';
import { type DeviceProfile, type DeviceSetting, flag, num } from './types.js';

/**
 * The protocol value MJPEG2SD cameras on /ws carry in /api/cameras, MQTT and cameras.json. The protocol
 * is called mjpeg2sd everywhere else; the published value stays `legacy` so that users' automations and
 * stored cameras keep working (docs/protocol.md).
 */
export const PROTOCOL = 'legacy';

/** The camera keeps one command of at most 127 bytes. */
export const MAX_COMMAND_BYTES = 127;

export const profile: DeviceProfile = {
  model: 'ESP32-CAM (MJPEG2SD)',
  diagnostics: true,
  commandMaxBytes: MAX_COMMAND_BYTES,
};

/** Firmware < 10 uses the old esp32-camera enum (no 128X128, no 320X320). */
export const FRAMESIZES_V8: readonly FrameSize[] = [
  '96X96',
  'QQVGA',
  'QCIF',
  'HQVGA',
  '240X240',
  'QVGA',
  'CIF',
  'HVGA',
  'VGA',
  'SVGA',
  'XGA',
  'HD',
  'SXGA',
  'UXGA',
];
export const FRAMESIZES_V10: readonly FrameSize[] = FRAMESIZES;

/** The framesize table of a firmware version ("8.8", "10.2.1"); unknown versions are taken as v8. */
export function framesizeTable(fwVersion: string | undefined): readonly FrameSize[] {
  const major = Number.parseInt(String(fwVersion ?? '').replace(/^[^\d]*/, ''), 10);
  return Number.isFinite(major) && major >= 10 ? FRAMESIZES_V10 : FRAMESIZES_V8;
}

/** What a WebSocket camera announces it can do (servos only when its status has camPan). */
export function capabilities(hello: Record<string, unknown>): string[] {
  return [
    'lamp',
    'framesize',
    'quality',
    'fps',
    'flip',
    'motion',
    'restart',
    'pause',
    ...(hello.camPan !== undefined ? ['servo'] : []),
  ];
}

/** What a camera pulled over HTTP can do through its control_url. */
export const HTTP_CAPABILITIES = [
  'lamp',
  'framesize',
  'quality',
  'flip',
  'brightness',
  'contrast',
  'fps',
  'motion',
  'restart',
];

/** The transports differ in one place: the frame rate the bridge receives (see `setting`). */
export type Transport = 'websocket' | 'http';

/**
 * A bridge command as one MJPEG2SD setting, or undefined when the firmware has none for it over this
 * transport (status, raw and snapshot are the transports' business). Throws CommandError('unsupported')
 * for a frame size this firmware version does not have.
 *
 * `fps`: over WebSocket the bridge receives what `socketFps` paces (the firmware waits 1000/N ms between
 * the frames it sends on the socket); `fps` there would set the sensor and recording rate, not the
 * stream. Over HTTP the stream runs at the camera's `fps` (socketFps paces only the WebSocket client).
 */
export function setting(cmd: Command, fwVersion: string | undefined, transport: Transport): DeviceSetting | undefined {
  const set = (key: string, value: string | number, info: Record<string, unknown> = { [cmd.name]: cmd.value }) => ({
    key,
    value: String(value),
    info,
  });
  const bit = (b: boolean) => (b ? 1 : 0);
  switch (cmd.name) {
    case 'lamp':
      return set('lampLevel', Math.round((cmd.value / 100) * 15));
    case 'framesize': {
      const table = framesizeTable(fwVersion);
      const idx = table.indexOf(cmd.value);
      if (idx < 0)
        throw new CommandError(
          'unsupported',
          `framesize ${cmd.value} does not exist on MJPEG2SD ${fwVersion ?? '(unknown version)'} (sizes: ${table.join(', ')})`,
        );
      return set('framesize', idx, { framesize: cmd.value, framesize_index: idx });
    }
    case 'quality':
    case 'brightness':
    case 'contrast':
      return set(cmd.name, cmd.value);
    case 'fps':
      return transport === 'websocket'
        ? set('socketFps', cmd.value)
        : set('fps', cmd.value, { fps_setting: cmd.value });
    case 'vflip':
    case 'hmirror':
      return set(cmd.name, bit(cmd.value));
    case 'pause':
      // Pauses the WebSocket stream only.
      return transport === 'websocket' ? set('pause', bit(cmd.value)) : undefined;
    case 'motion_detection':
      return set('enableMotion', bit(cmd.value));
    case 'pan':
      return set('camPan', cmd.value);
    case 'tilt':
      return set('camTilt', cmd.value);
    case 'restart':
      return set('reset', 1, {});
    case 'snapshot':
    case 'status':
    case 'raw':
      return undefined;
    default: {
      // A new control in hub/controls.ts fails the build here: say what MJPEG2SD calls it (or undefined).
      const unhandled: never = cmd;
      return unhandled;
    }
  }
}

/** Quick status over HTTP (`/status` is several KB). */
export const STATUS_PATH = '/status?q';

/** Status keys -> the bridge's info vocabulary (numbers; status values arrive as strings like "-60 dBm"). */
const NUMERIC: [string, string][] = [
  ['wifi_rssi', 'rssi'],
  ['free_heap', 'heap'],
  ['free_psram', 'psram'],
  ['atemp', 'temperature'],
  ['quality', 'quality'],
  ['fps', 'fps'],
  ['socketFps', 'stream_fps'],
  ['camPan', 'pan'],
  ['camTilt', 'tilt'],
];

/**
 * MJPEG2SD status keys -> the bridge's info vocabulary (framesize name, rssi dBm, heap bytes, lamp %,
 * uptime seconds...), keeping the camera's own keys too so nothing it reports is lost.
 */
export function normalizeInfo(raw: Record<string, unknown>, fwVersion: string | undefined): Record<string, unknown> {
  // The bridge's own keys first: a camera keeps at most 64 info keys (hub BOUNDS), and a long full
  // status must not push rssi, heap or lamp out. The camera's other keys follow.
  const out: Record<string, unknown> = {};
  if (raw.framesize !== undefined) {
    const idx = num(raw.framesize);
    if (idx !== undefined && Number.isInteger(idx)) {
      out.framesize_index = idx;
      out.framesize = framesizeTable(fwVersion)[idx] ?? `#${idx}`;
    }
  }
  for (const [from, to] of NUMERIC) {
    if (raw[from] !== undefined) {
      const n = num(raw[from]);
      if (n !== undefined) out[to] = n;
    }
  }
  if (raw.lampLevel !== undefined) {
    const n = num(raw.lampLevel);
    if (n !== undefined) out.lamp = Math.round((n / 15) * 100);
  }
  if (raw.up_time !== undefined) {
    // As the camera words it for people (the page), and in seconds for Home Assistant.
    out.uptime = raw.up_time;
    const s = uptimeSeconds(raw.up_time);
    if (s !== null) out.uptime_seconds = s;
  }
  if (raw.hostName !== undefined) out.hostname = raw.hostName;
  for (const k of ['vflip', 'hmirror', 'enableMotion']) {
    if (raw[k] !== undefined) out[k === 'enableMotion' ? 'motion_detection' : k] = flag(raw[k]);
  }
  for (const k in raw) if (Object.hasOwn(raw, k) && !Object.hasOwn(out, k)) out[k] = raw[k];
  return out;
}

/** Seconds from a number, "1234", or MJPEG2SD's "D-HH:MM:SS" / "HH:MM:SS"; null for anything else. */
export function uptimeSeconds(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? Math.round(v) : null;
  if (typeof v !== 'string') return null;
  const s = v.trim();
  if (/^\d+$/.test(s)) return Number(s);
  const m = /^(?:(\d+)[-d ]\s*)?(\d+):(\d{1,2}):(\d{1,2})$/.exec(s);
  if (!m) return null;
  return Number(m[1] ?? 0) * 86400 + Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4]);
}
