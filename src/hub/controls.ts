// The bridge's command vocabulary. Sinks (HTTP, MQTT, page) speak it; each source translates it into
// its camera's own language. Validation happens here, once, before anything reaches a camera.

/** Frame size names as used by esp32-camera (framesize_t), in the order of the current enum. */

/** A refused value as the error shows it: at most 64 characters, so a huge payload gives a short line. */
function shown(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 64 ? `${text.slice(0, 64)}... (${text.length} characters)` : text;
}

export const FRAMESIZES = [
  '96X96',
  'QQVGA',
  '128X128',
  'QCIF',
  'HQVGA',
  '240X240',
  'QVGA',
  '320X320',
  'CIF',
  'HVGA',
  'VGA',
  'SVGA',
  'XGA',
  'HD',
  'SXGA',
  'UXGA',
  'FHD',
  'P_HD',
  'P_3MP',
  'QXGA',
  'QHD',
  'WQXGA',
  'P_FHD',
  'QSXGA',
] as const;
export type FrameSize = (typeof FRAMESIZES)[number];

/** The sizes a user normally picks from (HA select, page dropdown). */
export const COMMON_FRAMESIZES: FrameSize[] = ['QVGA', 'CIF', 'HVGA', 'VGA', 'SVGA', 'XGA', 'HD', 'SXGA', 'UXGA'];

export type ControlName =
  | 'lamp'
  | 'framesize'
  | 'quality'
  | 'fps'
  | 'vflip'
  | 'hmirror'
  | 'brightness'
  | 'contrast'
  | 'pan'
  | 'tilt'
  | 'snapshot'
  | 'restart'
  | 'status'
  | 'pause'
  | 'motion_detection'
  | 'raw';

export interface Command {
  name: ControlName;
  /** Normalised value: number for lamp (0-100) and ranges, boolean for toggles, FrameSize, string for raw. */
  value?: number | boolean | string;
}

export type CommandErrorCode = 'invalid' | 'unsupported' | 'offline' | 'timeout' | 'rejected' | 'unknown_camera';

export class CommandError extends Error {
  override name = 'CommandError';
  constructor(
    readonly code: CommandErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface CommandResult {
  /** What the camera answered (native ack result, legacy reply text/JSON), if anything. */
  answer?: unknown;
}

const ranges: Partial<Record<ControlName, [number, number]>> = {
  quality: [4, 63],
  fps: [1, 60],
  brightness: [-2, 2],
  contrast: [-2, 2],
  pan: [0, 180],
  tilt: [0, 180],
};
const toggles: ControlName[] = ['vflip', 'hmirror', 'pause', 'motion_detection'];
const actions: ControlName[] = ['snapshot', 'restart', 'status'];
export const CONTROL_NAMES: ControlName[] = [
  'lamp',
  'framesize',
  'quality',
  'fps',
  'vflip',
  'hmirror',
  'brightness',
  'contrast',
  'pan',
  'tilt',
  'snapshot',
  'restart',
  'status',
  'pause',
  'motion_detection',
  'raw',
];

function toBool(name: string, v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (v === 1 || v === 0) return v === 1;
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (['on', 'true', '1', 'yes'].includes(s)) return true;
    if (['off', 'false', '0', 'no'].includes(s)) return false;
  }
  throw new CommandError('invalid', `${name}: expected ON/OFF, true/false or 1/0, got ${shown(v)}`);
}

function toNumber(name: string, v: unknown, [min, max]: [number, number], integer = true): number {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max) {
    throw new CommandError(
      'invalid',
      `${name}: expected ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got ${shown(v)}`,
    );
  }
  return n;
}

/** Validate and normalise one command. Throws CommandError('invalid') with a message naming the control. */
export function parseCommand(name: string, value?: unknown): Command {
  const n = name.trim().toLowerCase() as ControlName;
  if (!CONTROL_NAMES.includes(n)) {
    throw new CommandError('invalid', `unknown control "${name}" (expected one of ${CONTROL_NAMES.join(', ')})`);
  }
  if (n === 'raw') {
    if (typeof value !== 'string' || value.trim() === '')
      throw new CommandError('invalid', 'raw: expected a non-empty command string');
    return { name: n, value: value.trim() };
  }
  if (actions.includes(n)) return { name: n };
  if (toggles.includes(n)) return { name: n, value: toBool(n, value) };
  if (n === 'lamp') {
    // true/ON = full brightness; numbers are percent.
    if (typeof value === 'number' || (typeof value === 'string' && /^\d+$/.test(value.trim()))) {
      return { name: n, value: toNumber(n, value, [0, 100]) };
    }
    return { name: n, value: toBool(n, value) ? 100 : 0 };
  }
  if (n === 'framesize') {
    const s = typeof value === 'string' ? value.trim().toUpperCase() : '';
    const fs = FRAMESIZES.find((f) => f === s);
    if (!fs)
      throw new CommandError('invalid', `framesize: expected one of ${FRAMESIZES.join(', ')}, got ${shown(value)}`);
    return { name: n, value: fs };
  }
  return { name: n, value: toNumber(n, value, ranges[n]!, n !== 'fps') };
}

/**
 * Structured JSON body: {"command": "raw string"} or {"lamp": true} / {"framesize": "VGA"} (one control).
 */
export function parseCommandBody(body: unknown): Command {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new CommandError('invalid', 'expected a JSON object such as {"command": "status?q"} or {"lamp": true}');
  }
  const entries = Object.entries(body as Record<string, unknown>);
  if (entries.length !== 1) {
    throw new CommandError('invalid', `expected exactly one key ("command" or a control name), got ${entries.length}`);
  }
  const [key, value] = entries[0]!;
  if (key === 'command') return parseCommand('raw', value);
  return parseCommand(key, value);
}

/** Legacy MJPEG2SD framesize tables: firmware < 10 uses the old esp32-camera enum. */
export const LEGACY_FRAMESIZES_V8: FrameSize[] = [
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
export const LEGACY_FRAMESIZES_V10: FrameSize[] = [...FRAMESIZES];

export function legacyFramesizeTable(fwVersion: string | undefined): FrameSize[] {
  const major = Number.parseInt(String(fwVersion ?? '').replace(/^[^\d]*/, ''), 10);
  return Number.isFinite(major) && major >= 10 ? LEGACY_FRAMESIZES_V10 : LEGACY_FRAMESIZES_V8;
}
