// The bridge's command vocabulary: one table, CONTROLS. Sinks (HTTP, MQTT, page) speak it; each device
// family (src/devices/) translates it into its camera's own language. Validation happens here, once,
// before anything reaches a camera. The Command type, the validation, the stateful controls, the
// capability names and the Home Assistant entities of the controls are all derived from the table:
// a new control is one row here plus its translation in each device module that supports it.
import { FRAMESIZES, type FrameSize } from '../devices/esp32-camera.js';

export { FRAMESIZES, type FrameSize };

/** The sizes a user normally picks from (HA select, page dropdown). */
export const COMMON_FRAMESIZES: FrameSize[] = ['QVGA', 'CIF', 'HVGA', 'VGA', 'SVGA', 'XGA', 'HD', 'SXGA', 'UXGA'];

/** How a control's value is read: the kind decides its type in `Command`. */
type Kind = 'toggle' | 'range' | 'lamp' | 'framesize' | 'action' | 'raw';

/** A Home Assistant entity for a control (src/formats/ha-discovery.ts adds topics, ids and the device). */
export interface ControlEntity {
  readonly component: 'switch' | 'select' | 'number' | 'button';
  readonly name: string;
  /** Announced only for cameras with this capability; absent = every camera. */
  readonly when?: string;
  /** The entity's own keys, after command_topic (and state_topic for stateful controls). */
  readonly fields: Readonly<Record<string, unknown>>;
}

interface ControlSpec {
  readonly kind: Kind;
  /** range: the accepted values; `integer: false` takes fractions (fps). */
  readonly min?: number;
  readonly max?: number;
  readonly integer?: boolean;
  /** The camera keeps the value: the new value belongs in the camera's info (MQTT <id>/info). */
  readonly stateful?: boolean;
  /** The capability a camera announces to have this control (hello `caps`, pulled config). */
  readonly capability?: string;
  /**
   * A camera that announced its capabilities but not this one cannot take the control, and the bridge
   * refuses it before sending (native cameras). Actions and modes are sent whatever was announced.
   */
  readonly required?: boolean;
  readonly entity?: ControlEntity;
}

const range = (min: number, max: number, integer = true) => ({ kind: 'range', min, max, integer }) as const;
const servoEntity = (axis: 'pan' | 'tilt', name: string, icon: string): ControlEntity => ({
  component: 'number',
  name,
  when: 'servo',
  fields: {
    value_template: `{{ value_json.${axis} }}`,
    min: 0,
    max: 180,
    step: 1,
    mode: 'slider',
    unit_of_measurement: '°',
    icon,
  },
});

/** Every control, in the order error messages list them. */
export const CONTROLS = {
  lamp: {
    kind: 'lamp',
    stateful: true,
    capability: 'lamp',
    required: true,
    entity: {
      component: 'switch',
      name: 'Lamp',
      when: 'lamp',
      fields: {
        value_template: "{{ none if value_json.lamp is none else ('ON' if value_json.lamp | int(0) > 0 else 'OFF') }}",
        payload_on: 'ON',
        payload_off: 'OFF',
        icon: 'mdi:lightbulb',
      },
    },
  },
  framesize: {
    kind: 'framesize',
    stateful: true,
    capability: 'framesize',
    required: true,
    entity: {
      component: 'select',
      name: 'Frame size',
      when: 'framesize',
      fields: {
        value_template: '{{ value_json.framesize }}',
        options: COMMON_FRAMESIZES,
        entity_category: 'config',
        icon: 'mdi:image-size-select-large',
      },
    },
  },
  quality: {
    ...range(4, 63),
    stateful: true,
    capability: 'quality',
    required: true,
    entity: {
      component: 'number',
      name: 'JPEG quality',
      when: 'quality',
      fields: {
        value_template: '{{ value_json.quality }}',
        min: 4,
        max: 63,
        step: 1,
        mode: 'box',
        entity_category: 'config',
        icon: 'mdi:quality-high',
      },
    },
  },
  fps: { ...range(1, 60, false), stateful: true, capability: 'fps', required: true },
  vflip: { kind: 'toggle', stateful: true, capability: 'flip', required: true },
  hmirror: { kind: 'toggle', stateful: true, capability: 'flip', required: true },
  brightness: { ...range(-2, 2), stateful: true, capability: 'brightness', required: true },
  contrast: { ...range(-2, 2), stateful: true, capability: 'contrast', required: true },
  pan: {
    ...range(0, 180),
    stateful: true,
    capability: 'servo',
    required: true,
    entity: servoEntity('pan', 'Pan', 'mdi:pan-horizontal'),
  },
  tilt: {
    ...range(0, 180),
    stateful: true,
    capability: 'servo',
    required: true,
    entity: servoEntity('tilt', 'Tilt', 'mdi:pan-vertical'),
  },
  snapshot: {
    kind: 'action',
    capability: 'snapshot',
    entity: { component: 'button', name: 'Snapshot', fields: { payload_press: 'PRESS', icon: 'mdi:camera' } },
  },
  restart: {
    kind: 'action',
    capability: 'restart',
    entity: {
      component: 'button',
      name: 'Restart',
      when: 'restart',
      fields: { payload_press: 'PRESS', device_class: 'restart', entity_category: 'config' },
    },
  },
  status: { kind: 'action' },
  pause: { kind: 'toggle', stateful: true, capability: 'pause' },
  motion_detection: { kind: 'toggle', stateful: true, capability: 'motion' },
  raw: { kind: 'raw' },
} as const satisfies Record<string, ControlSpec>;

type Controls = typeof CONTROLS;
export type ControlName = keyof Controls;
/** The controls of one kind. */
type NamesOf<K extends Kind> = { [N in ControlName]: Controls[N]['kind'] extends K ? N : never }[ControlName];

/** A validated, normalised command: switching on `name` gives `value` its type. */
export type Command =
  | { name: NamesOf<'toggle'>; value: boolean }
  /** lamp: 0-100 %; ranges: within the row's min..max. */
  | { name: NamesOf<'range' | 'lamp'>; value: number }
  | { name: NamesOf<'framesize'>; value: FrameSize }
  | { name: NamesOf<'raw'>; value: string }
  | { name: NamesOf<'action'>; value?: undefined };

/** Every capability name a control can need or offer (plus what sources announce on their own, e.g. motion). */
export type Capability = { [N in ControlName]: Controls[N] extends { capability: infer C } ? C : never }[ControlName];

const spec = (n: ControlName): ControlSpec => CONTROLS[n];
const isControlName = (n: string): n is ControlName => Object.hasOwn(CONTROLS, n);
const isKind =
  <K extends Kind>(...kinds: K[]) =>
  (n: ControlName): n is NamesOf<K> =>
    kinds.some((k) => k === spec(n).kind);

export const CONTROL_NAMES: readonly ControlName[] = Object.keys(CONTROLS).filter(isControlName);
/** Controls whose value the camera keeps, so the new value belongs in <id>/info. */
export const STATEFUL_CONTROLS: ReadonlySet<ControlName> = new Set(CONTROL_NAMES.filter((n) => spec(n).stateful));
/** The capability names the controls use, each once. */
export const CAPABILITIES: readonly Capability[] = [
  ...new Set(
    CONTROL_NAMES.flatMap((n): Capability[] => {
      const c = CONTROLS[n];
      return 'capability' in c ? [c.capability] : [];
    }),
  ),
];

/** The capability a camera must have announced for `name` (undefined: any camera takes it). */
export function requiredCapability(name: ControlName): string | undefined {
  const s = spec(name);
  return s.required ? s.capability : undefined;
}

/** The controls with a Home Assistant entity, in table order. */
export function controlEntities(): { name: ControlName; stateful: boolean; entity: ControlEntity }[] {
  return CONTROL_NAMES.flatMap((name) => {
    const s = spec(name);
    return s.entity ? [{ name, stateful: s.stateful === true, entity: s.entity }] : [];
  });
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
  /** What the camera answered (native ack result, MJPEG2SD reply text/JSON), if anything. */
  answer?: unknown;
}

/** A refused value as the error shows it: at most 64 characters, so a huge payload gives a short line. */
function shown(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 64 ? `${text.slice(0, 64)}... (${text.length} characters)` : text;
}

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

function toNumber(name: string, v: unknown, min: number, max: number, integer = true): number {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max) {
    throw new CommandError(
      'invalid',
      `${name}: expected ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got ${shown(v)}`,
    );
  }
  return n;
}

const isToggle = isKind('toggle');
const isRange = isKind('range');
const isLamp = isKind('lamp');
const isFramesize = isKind('framesize');
const isAction = isKind('action');
const isRaw = isKind('raw');

/** Validate and normalise one command. Throws CommandError('invalid') with a message naming the control. */
export function parseCommand(name: string, value?: unknown): Command {
  const n = name.trim().toLowerCase();
  if (!isControlName(n)) {
    throw new CommandError('invalid', `unknown control "${name}" (expected one of ${CONTROL_NAMES.join(', ')})`);
  }
  if (isRaw(n)) {
    if (typeof value !== 'string' || value.trim() === '')
      throw new CommandError('invalid', 'raw: expected a non-empty command string');
    return { name: n, value: value.trim() };
  }
  if (isAction(n)) return { name: n };
  if (isToggle(n)) return { name: n, value: toBool(n, value) };
  if (isLamp(n)) {
    // true/ON = full brightness; numbers are percent.
    if (typeof value === 'number' || (typeof value === 'string' && /^\d+$/.test(value.trim()))) {
      return { name: n, value: toNumber(n, value, 0, 100) };
    }
    return { name: n, value: toBool(n, value) ? 100 : 0 };
  }
  if (isFramesize(n)) {
    const s = typeof value === 'string' ? value.trim().toUpperCase() : '';
    const fs = FRAMESIZES.find((f) => f === s);
    if (!fs)
      throw new CommandError('invalid', `framesize: expected one of ${FRAMESIZES.join(', ')}, got ${shown(value)}`);
    return { name: n, value: fs };
  }
  if (isRange(n)) {
    const r = CONTROLS[n];
    return { name: n, value: toNumber(n, value, r.min, r.max, r.integer) };
  }
  // Every kind is handled above; a new kind fails the build here (n is `never`).
  const unhandled: never = n;
  throw new Error(`control ${String(unhandled)} has no parser`);
}

/**
 * Structured JSON body: {"command": "raw string"} or {"lamp": true} / {"framesize": "VGA"} (one control).
 */
export function parseCommandBody(body: unknown): Command {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new CommandError('invalid', 'expected a JSON object such as {"command": "status?q"} or {"lamp": true}');
  }
  const entries = Object.entries(body);
  if (entries.length !== 1) {
    throw new CommandError('invalid', `expected exactly one key ("command" or a control name), got ${entries.length}`);
  }
  const [key, value] = entries[0]!;
  if (key === 'command') return parseCommand('raw', value);
  return parseCommand(key, value);
}
