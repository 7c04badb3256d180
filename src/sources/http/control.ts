import {
  type Command,
  CommandError,
  FRAMESIZES,
  type FrameSize,
  LEGACY_FRAMESIZES_V8,
  LEGACY_FRAMESIZES_V10,
} from '../../hub/controls.js';

/**
 * Bridge commands -> one HTTP GET on a camera's control_url. Each firmware names its settings and
 * scales its values differently; `control_keys` picks the table.
 *
 * - camerawebserver: the stock ESP32 CameraWebServer sketch (`/control?var=<key>&val=<value>`), current
 *   esp32-camera framesize enum, flash LED `led_intensity` 0..255.
 * - mjpeg2sd (v10.x) / mjpeg2sd_v8: s60sc ESP32-CAM_MJPEG2SD (`/control?<key>=<value>`), lamp 0..15,
 *   framesize index from that version's table, servos `camPan`/`camTilt`.
 */
export type ControlKeys = 'camerawebserver' | 'mjpeg2sd' | 'mjpeg2sd_v8';

export interface ControlRequest {
  key: string;
  value: string;
  /** What to merge into the camera's info once the camera said yes. */
  info: Record<string, unknown>;
}

/** Capabilities a control_url gives a pulled camera, per firmware. */
export function controlCapabilities(keys: ControlKeys): string[] {
  const common = ['lamp', 'framesize', 'quality', 'flip', 'brightness', 'contrast'];
  return keys === 'camerawebserver' ? common : [...common, 'fps', 'motion', 'restart'];
}

function framesizeIndex(keys: ControlKeys, fs: FrameSize): number {
  const table: readonly FrameSize[] =
    keys === 'camerawebserver' ? FRAMESIZES : keys === 'mjpeg2sd' ? LEGACY_FRAMESIZES_V10 : LEGACY_FRAMESIZES_V8;
  const idx = table.indexOf(fs);
  if (idx < 0)
    throw new CommandError(
      'unsupported',
      `framesize ${fs} does not exist on this firmware (sizes: ${table.join(', ')})`,
    );
  return idx;
}

/** Translate a validated command. Throws CommandError('unsupported') for what the firmware cannot do. */
export function translateControl(keys: ControlKeys, cmd: Command): ControlRequest {
  const v = cmd.value;
  const b = (x: unknown) => (x ? '1' : '0');
  const mj = keys !== 'camerawebserver';
  const unsupported = () =>
    new CommandError('unsupported', `${cmd.name} cannot be set through control_url (control_keys: ${keys})`);
  switch (cmd.name) {
    case 'lamp': {
      const pct = v as number;
      return mj
        ? { key: 'lampLevel', value: String(Math.round((pct / 100) * 15)), info: { lamp: pct } }
        : { key: 'led_intensity', value: String(Math.round((pct / 100) * 255)), info: { lamp: pct } };
    }
    case 'framesize': {
      const idx = framesizeIndex(keys, v as FrameSize);
      return { key: 'framesize', value: String(idx), info: { framesize: v, framesize_index: idx } };
    }
    case 'quality':
      return { key: 'quality', value: String(v), info: { quality: v } };
    case 'brightness':
      return { key: 'brightness', value: String(v), info: { brightness: v } };
    case 'contrast':
      return { key: 'contrast', value: String(v), info: { contrast: v } };
    case 'vflip':
      return { key: 'vflip', value: b(v), info: { vflip: v } };
    case 'hmirror':
      return { key: 'hmirror', value: b(v), info: { hmirror: v } };
    case 'fps':
      if (!mj) throw unsupported();
      return { key: 'fps', value: String(v), info: { fps_setting: v } };
    case 'motion_detection':
      if (!mj) throw unsupported();
      return { key: 'enableMotion', value: b(v), info: { motion_detection: v } };
    case 'restart':
      if (!mj) throw unsupported();
      return { key: 'reset', value: '1', info: {} };
    case 'pan':
      if (!mj) throw unsupported();
      return { key: 'camPan', value: String(v), info: { pan: v } };
    case 'tilt':
      if (!mj) throw unsupported();
      return { key: 'camTilt', value: String(v), info: { tilt: v } };
    case 'raw': {
      // "key=value" (or a bare key) goes to the camera as it is: any setting the firmware knows.
      const s = String(v);
      const eq = s.indexOf('=');
      const key = (eq < 0 ? s : s.slice(0, eq)).trim();
      if (!/^[A-Za-z0-9_.-]{1,64}$/.test(key))
        throw new CommandError('invalid', `raw: expected "key=value" with a plain key, got ${JSON.stringify(s)}`);
      return { key, value: eq < 0 ? '' : s.slice(eq + 1).trim(), info: {} };
    }
    default:
      throw unsupported();
  }
}

/** Fill a control_url template: {key}/{value} placeholders, or "?key=value" appended when it has none. */
export function controlUrl(template: string, key: string, value: string): string {
  const k = encodeURIComponent(key);
  const v = encodeURIComponent(value);
  if (template.includes('{key}') || template.includes('{value}'))
    return template.replaceAll('{key}', k).replaceAll('{value}', v);
  return `${template}${template.includes('?') ? '&' : '?'}${k}=${v}`;
}
