import type { PtzDirection } from '../../hub/camera.js';
import { CommandError } from '../../hub/controls.js';
import { redactUrl } from '../../util/redact.js';
import { HttpAuth } from './http-auth.js';
import { describeError, getText, HttpStatusError, splitCredentials } from './http-client.js';

/**
 * Servo pan/tilt over HTTP, as the seed's SERVO_URL does it.
 *
 * cam2mqtt's convention (the page's D-pad, HA numbers, the `pan`/`tilt` commands): 0..180 degrees,
 * pan grows to the right, tilt grows upwards, home 90/90.
 *
 * - securityCam form: a URL without placeholders (http://cam:81/control_servo). cam2mqtt appends
 *   `tr=<step>&el=<step>`: relative degree steps, **both** always sent (the firmware answers 500 when
 *   one is missing), each at most 4 characters, in the firmware's own sense (its Flask page: left
 *   tr=5, right tr=-5, up el=-5, down el=5), which is the opposite of cam2mqtt's: tr = -pan step,
 *   el = -tilt step. The firmware starts at 90/90 and clamps to 0..180.
 * - template form: {pan} and {tilt} (absolute, cam2mqtt's convention), {dpan} and {dtilt} (relative
 *   steps, cam2mqtt's convention) or {tr} and {el} (relative steps, securityCam's sense).
 *
 * cam2mqtt tracks the position it commanded (clamped like the firmware), so absolute pan/tilt work on
 * relative firmwares too (the step is computed from the tracked position) and HA can show the position.
 */
export interface ServoPosition {
  pan: number;
  tilt: number;
}

export interface ServoOptions {
  step: number;
  home: ServoPosition;
  auth: HttpAuth | undefined;
  timeoutMs: number;
}

const clamp = (v: number) => Math.max(0, Math.min(180, Math.round(v)));

/** Direction -> (pan, tilt) step sign, in cam2mqtt's convention. */
const SIGNS: Record<Exclude<PtzDirection, 'home'>, [number, number]> = {
  left: [-1, 0],
  right: [1, 0],
  up: [0, 1],
  down: [0, -1],
};

export interface ServoMoveResult extends ServoPosition {
  /** What the camera answered (text body). */
  reply: string;
  /** The URL called, without credentials (for logs). */
  request: string;
}

export class ServoController {
  position: ServoPosition;
  readonly relative: boolean;
  readonly absolute: boolean;
  private readonly template: string;
  private readonly securityCam: boolean;
  private queue: Promise<unknown> = Promise.resolve();
  /** Credentials written in servo_url itself (user:pass@). */
  private urlAuth: HttpAuth | undefined;

  constructor(
    servoUrl: string,
    private readonly opts: ServoOptions,
  ) {
    this.template = servoUrl;
    const has = (p: string) => servoUrl.includes(`{${p}}`);
    this.securityCam = !/\{(pan|tilt|dpan|dtilt|tr|el)\}/.test(servoUrl);
    this.relative = this.securityCam || has('dpan') || has('dtilt') || has('tr') || has('el');
    this.absolute = has('pan') || has('tilt');
    this.position = { ...opts.home };
  }

  /** One step in a direction ('home' goes back to the start position). */
  move(direction: PtzDirection, step = this.opts.step): Promise<ServoMoveResult> {
    if (!Number.isFinite(step) || step < 1 || step > 180)
      return Promise.reject(new CommandError('invalid', `step: expected 1 to 180 degrees, got ${step}`));
    return this.serial(() => {
      if (direction === 'home')
        return this.go(
          this.opts.home.pan - this.position.pan,
          this.opts.home.tilt - this.position.tilt,
          this.opts.home,
        );
      const signs = SIGNS[direction];
      if (!signs)
        throw new CommandError(
          'invalid',
          `direction: expected left, right, up, down or home, got ${JSON.stringify(direction)}`,
        );
      const dpan = signs[0] * Math.round(step);
      const dtilt = signs[1] * Math.round(step);
      return this.go(dpan, dtilt, { pan: clamp(this.position.pan + dpan), tilt: clamp(this.position.tilt + dtilt) });
    });
  }

  /** Absolute position (either axis may be left as it is). */
  moveTo(pan: number | undefined, tilt: number | undefined): Promise<ServoMoveResult> {
    return this.serial(() => {
      const target = { pan: clamp(pan ?? this.position.pan), tilt: clamp(tilt ?? this.position.tilt) };
      return this.go(target.pan - this.position.pan, target.tilt - this.position.tilt, target);
    });
  }

  /** Forget the tracked position (the camera restarted at its home position). */
  reset(): void {
    this.position = { ...this.opts.home };
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => {});
    return run;
  }

  private urlFor(dpan: number, dtilt: number, target: ServoPosition): string {
    if (this.securityCam) {
      const base = this.template;
      return `${base}${base.includes('?') ? '&' : '?'}tr=${-dpan}&el=${-dtilt}`;
    }
    return this.template
      .replaceAll('{pan}', String(target.pan))
      .replaceAll('{tilt}', String(target.tilt))
      .replaceAll('{dpan}', String(dpan))
      .replaceAll('{dtilt}', String(dtilt))
      .replaceAll('{tr}', String(-dpan))
      .replaceAll('{el}', String(-dtilt));
  }

  private async go(dpan: number, dtilt: number, target: ServoPosition): Promise<ServoMoveResult> {
    if (this.securityCam && (Math.abs(dpan) > 999 || Math.abs(dtilt) > 999))
      throw new CommandError('invalid', 'servo step too large');
    const { url, username, password } = splitCredentials(this.urlFor(dpan, dtilt, target));
    if (username !== undefined && !this.urlAuth)
      this.urlAuth = new HttpAuth({ username, password: password ?? '', type: 'auto' });
    const shown = redactUrl(`${url.origin}${url.pathname}${url.search}`);
    try {
      const { body } = await getText(url, { auth: this.urlAuth ?? this.opts.auth, timeoutMs: this.opts.timeoutMs });
      this.position = { ...target };
      return { ...this.position, reply: body, request: shown };
    } catch (err) {
      if (err instanceof HttpStatusError) throw new CommandError('rejected', `servo ${shown} answered ${err.message}`);
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'ETIMEDOUT')
        throw new CommandError('timeout', `servo ${shown}: no answer within ${this.opts.timeoutMs / 1000} s`);
      throw new CommandError('rejected', `servo ${shown}: ${describeError(err)}`);
    }
  }
}
