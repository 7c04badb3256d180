import type { Camera, PtzDirection } from '../../hub/camera.js';
import { type Command, CommandError, parseCommand } from '../../hub/controls.js';
import type { CameraHub } from '../../hub/hub.js';

export const MAX_QUERY_CHARS = 500;

/**
 * What the page's Remote query input takes. Plain text goes to the camera as-is (its own language:
 * `status?q`, `framesize=8;quality=12`, or whatever our firmware's raw handler accepts). A leading `/`
 * names a bridge control instead, translated for each protocol: `/lamp on`, `/framesize VGA`, `/status`.
 * So one preset can drive cameras of both protocols.
 */
export function parseQuery(text: string): Command {
  const t = text.trim();
  if (!t) throw new CommandError('invalid', 'empty command');
  if (t.length > MAX_QUERY_CHARS)
    throw new CommandError('invalid', `command longer than ${MAX_QUERY_CHARS} characters`);
  if (!t.startsWith('/')) return parseCommand('raw', t);
  const m = /^\/\s*([A-Za-z_]+)\s*(?:[=:\s]\s*(.*))?$/.exec(t);
  if (!m) throw new CommandError('invalid', `"${t}": expected /control [value], e.g. /lamp on or /framesize VGA`);
  const value = m[2]?.trim();
  return parseCommand(m[1]!, value === '' ? undefined : value);
}

export const PTZ_DIRECTIONS: PtzDirection[] = ['up', 'down', 'left', 'right', 'home'];
const CENTER = 90;
export const DEFAULT_STEP = 10;

/**
 * Relative pan/tilt for dial-in cameras, which only take absolute servo angles (0..180). The position
 * is the last one commanded from here, else what the camera reports in info.pan / info.tilt, else the
 * centre; so rapid D-pad presses add up even before the camera has answered.
 */
export class PtzController {
  private readonly positions = new Map<string, { pan: number; tilt: number }>();

  constructor(private readonly hub: CameraHub) {
    hub.listen(this, 'info', (cam, patch) => {
      const p = this.positions.get(cam.id);
      if (!p) return;
      if (typeof patch.pan === 'number') p.pan = clampAngle(patch.pan);
      if (typeof patch.tilt === 'number') p.tilt = clampAngle(patch.tilt);
    });
    hub.listen(this, 'removed', (cam) => this.positions.delete(cam.id));
  }

  stop(): void {
    this.hub.unlisten(this);
    this.positions.clear();
  }

  position(cam: Camera): { pan: number; tilt: number } {
    let p = this.positions.get(cam.id);
    if (!p) {
      const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? clampAngle(v) : CENTER);
      p = { pan: num(cam.info.pan), tilt: num(cam.info.tilt) };
      this.positions.set(cam.id, p);
    }
    return p;
  }

  /**
   * Step the servos; resolves with the new position. Up and right increase tilt and pan. Without a
   * step: the camera's own step for cameras that move relatively, else DEFAULT_STEP degrees.
   */
  async move(id: string, direction: unknown, step?: unknown): Promise<{ pan: number; tilt: number }> {
    const cam = this.hub.get(id);
    if (!cam) throw new CommandError('unknown_camera', `unknown camera "${id}"`);
    if (typeof direction !== 'string' || !PTZ_DIRECTIONS.includes(direction as PtzDirection)) {
      throw new CommandError(
        'invalid',
        `direction: expected one of ${PTZ_DIRECTIONS.join(', ')}, got ${JSON.stringify(direction)}`,
      );
    }
    const s = typeof step === 'string' && step.trim() !== '' ? Number(step) : step;
    if (s !== undefined && s !== null && (typeof s !== 'number' || !Number.isFinite(s) || s <= 0 || s > 180)) {
      throw new CommandError('invalid', `step: expected degrees from 1 to 180, got ${JSON.stringify(step)}`);
    }
    if (!cam.capabilities.has('servo')) throw new CommandError('unsupported', `camera ${id} has no pan/tilt servos`);
    const link = cam.online ? cam.link : undefined;
    if (link?.move) {
      // Servos that move by relative steps (pulled cameras): the source tracks their position.
      this.positions.delete(id);
      const r = await link.move(
        direction as PtzDirection,
        typeof s === 'number' ? s : undefined,
        this.hub.commandTimeoutMs,
      );
      const a = (r.answer ?? {}) as { pan?: unknown; tilt?: unknown };
      const num = (v: unknown, fallback: unknown) =>
        typeof v === 'number' ? v : typeof fallback === 'number' ? fallback : CENTER;
      return { pan: num(a.pan, cam.info.pan), tilt: num(a.tilt, cam.info.tilt) };
    }
    return this.moveAbsolute(cam, direction as PtzDirection, typeof s === 'number' ? s : DEFAULT_STEP);
  }

  /** Go to absolute angles (either may be omitted); pulled cameras with relative servos step there. */
  async goTo(id: string, pan: unknown, tilt: unknown): Promise<{ pan: number; tilt: number }> {
    const cam = this.hub.get(id);
    if (!cam) throw new CommandError('unknown_camera', `unknown camera "${id}"`);
    if (!cam.capabilities.has('servo')) throw new CommandError('unsupported', `camera ${id} has no pan/tilt servos`);
    // Validate both before moving either.
    const cmds = [
      pan === undefined ? undefined : parseCommand('pan', pan),
      tilt === undefined ? undefined : parseCommand('tilt', tilt),
    ];
    const p = this.position(cam);
    try {
      for (const c of cmds) {
        if (!c) continue;
        await this.hub.command(id, c);
        p[c.name as 'pan' | 'tilt'] = c.value as number;
      }
    } catch (err) {
      this.positions.delete(id);
      throw err;
    }
    return { ...p };
  }

  /** Dial-in cameras take absolute angles: step from the tracked position. */
  private async moveAbsolute(cam: Camera, direction: PtzDirection, s: number): Promise<{ pan: number; tilt: number }> {
    const id = cam.id;
    const p = this.position(cam);
    const before = { ...p };
    const next = { ...p };
    switch (direction) {
      case 'left':
        next.pan = clampAngle(p.pan - s);
        break;
      case 'right':
        next.pan = clampAngle(p.pan + s);
        break;
      case 'down':
        next.tilt = clampAngle(p.tilt - s);
        break;
      case 'up':
        next.tilt = clampAngle(p.tilt + s);
        break;
      case 'home':
        next.pan = CENTER;
        next.tilt = CENTER;
        break;
    }
    Object.assign(p, next);
    try {
      if (next.pan !== before.pan) await this.hub.command(id, parseCommand('pan', next.pan));
      if (next.tilt !== before.tilt) await this.hub.command(id, parseCommand('tilt', next.tilt));
    } catch (err) {
      // Forget the guess: the next step starts again from what the camera reports.
      this.positions.delete(id);
      throw err;
    }
    return { ...next };
  }
}

function clampAngle(v: number): number {
  return Math.max(0, Math.min(180, Math.round(v)));
}
