// Espressif's stock CameraWebServer sketch (esp32-camera examples): `/control?var=<key>&val=<value>`
// for settings, `/status` for all of them as JSON. The current esp32-camera framesize enum, flash LED
// `led_intensity` 0..255.
import type { Command } from '../hub/controls.js';
import { FRAMESIZES } from './esp32-camera.js';
import { type DeviceSetting, flag } from './types.js';

/** What the sketch's /control can set. */
export const CAPABILITIES = ['lamp', 'framesize', 'quality', 'flip', 'brightness', 'contrast'];

export const STATUS_PATH = '/status';

/** A bridge command as one CameraWebServer setting, or undefined when the sketch has none for it. */
export function setting(cmd: Command): DeviceSetting | undefined {
  switch (cmd.name) {
    case 'lamp':
      return { key: 'led_intensity', value: String(Math.round((cmd.value / 100) * 255)), info: { lamp: cmd.value } };
    case 'framesize': {
      // Every name the bridge knows is in the current enum.
      const idx = FRAMESIZES.indexOf(cmd.value);
      return { key: 'framesize', value: String(idx), info: { framesize: cmd.value, framesize_index: idx } };
    }
    case 'quality':
    case 'brightness':
    case 'contrast':
      return { key: cmd.name, value: String(cmd.value), info: { [cmd.name]: cmd.value } };
    case 'vflip':
    case 'hmirror':
      return { key: cmd.name, value: cmd.value ? '1' : '0', info: { [cmd.name]: cmd.value } };
    default:
      return undefined;
  }
}

/** /status JSON -> the bridge's info vocabulary, keeping the sketch's own keys. */
export function normalizeStatus(raw: Record<string, unknown>): Record<string, unknown> {
  const info: Record<string, unknown> = { ...raw };
  const idx = Number(raw.framesize);
  if (Number.isInteger(idx) && FRAMESIZES[idx]) info.framesize = FRAMESIZES[idx];
  if (Number.isInteger(idx)) info.framesize_index = idx;
  const led = Number(raw.led_intensity);
  if (Number.isFinite(led)) info.lamp = Math.round((led / 255) * 100);
  for (const k of ['vflip', 'hmirror']) if (raw[k] !== undefined) info[k] = flag(raw[k]);
  return info;
}
