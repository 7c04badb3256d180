import * as cameraWebServer from '../../devices/camera-web-server.js';
import * as mjpeg2sd from '../../devices/mjpeg2sd.js';
import type { DeviceSetting } from '../../devices/types.js';
import { type Command, CommandError } from '../../hub/controls.js';

/**
 * Bridge commands -> one HTTP GET on a camera's control_url. Each firmware names its settings and
 * scales its values differently (src/devices/); `control_keys` picks the firmware.
 *
 * - camerawebserver: the stock ESP32 CameraWebServer sketch (`/control?var=<key>&val=<value>`).
 * - mjpeg2sd (v10.x) / mjpeg2sd_v8: s60sc ESP32-CAM_MJPEG2SD (`/control?<key>=<value>`), the framesize
 *   table of that version.
 */
export type ControlKeys = 'camerawebserver' | 'mjpeg2sd' | 'mjpeg2sd_v8';

export type ControlRequest = DeviceSetting;

/** The MJPEG2SD version whose framesize table control_keys means. */
const mjpeg2sdVersion = (keys: ControlKeys) => (keys === 'mjpeg2sd_v8' ? '8' : '10');

/** Capabilities a control_url gives a pulled camera, per firmware. */
export function controlCapabilities(keys: ControlKeys): string[] {
  return keys === 'camerawebserver' ? [...cameraWebServer.CAPABILITIES] : [...mjpeg2sd.HTTP_CAPABILITIES];
}

/** Where the firmware answers its status JSON, relative to the control_url's origin. */
export function statusPath(keys: ControlKeys): string {
  return keys === 'camerawebserver' ? cameraWebServer.STATUS_PATH : mjpeg2sd.STATUS_PATH;
}

/** The firmware's status JSON -> the camera's info. */
export function normalizeStatus(keys: ControlKeys, raw: Record<string, unknown>): Record<string, unknown> {
  if (keys === 'camerawebserver') return cameraWebServer.normalizeStatus(raw);
  const fw = keys === 'mjpeg2sd_v8' ? '8' : typeof raw.fw_version === 'string' ? raw.fw_version : '10';
  return mjpeg2sd.normalizeInfo(raw, fw);
}

/** Translate a validated command. Throws CommandError('unsupported') for what the firmware cannot do. */
export function translateControl(keys: ControlKeys, cmd: Command): ControlRequest {
  if (cmd.name === 'raw') {
    // "key=value" (or a bare key) goes to the camera as it is: any setting the firmware knows.
    const s = cmd.value;
    const eq = s.indexOf('=');
    const key = (eq < 0 ? s : s.slice(0, eq)).trim();
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(key))
      throw new CommandError('invalid', `raw: expected "key=value" with a plain key, got ${JSON.stringify(s)}`);
    return { key, value: eq < 0 ? '' : s.slice(eq + 1).trim(), info: {} };
  }
  const req =
    keys === 'camerawebserver' ? cameraWebServer.setting(cmd) : mjpeg2sd.setting(cmd, mjpeg2sdVersion(keys), 'http');
  if (!req)
    throw new CommandError('unsupported', `${cmd.name} cannot be set through control_url (control_keys: ${keys})`);
  return req;
}

/** Fill a control_url template: {key}/{value} placeholders, or "?key=value" appended when it has none. */
export function controlUrl(template: string, key: string, value: string): string {
  const k = encodeURIComponent(key);
  const v = encodeURIComponent(value);
  if (template.includes('{key}') || template.includes('{value}'))
    return template.replaceAll('{key}', k).replaceAll('{value}', v);
  return `${template}${template.includes('?') ? '&' : '?'}${k}=${v}`;
}
