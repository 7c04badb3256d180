// For the camera hostile tests: the harness's five bounds, with the event loop lag judged against the
// machine. On a loaded CI box (2 cores, many test processes) the scheduler alone can stall a process for
// more than 50 ms, so a lag over 50 ms counts only if a quiet window of the same length right after the
// attack stayed under it, or if the attack's lag is far beyond the quiet one. The freeze this guards
// against (issue 13) was 7 s; either way it fails.
import assert from 'node:assert/strict';
import { assertHeld, type Measured, measureDuring, type Rig } from './harness.js';

export interface Held {
  /** The attack window's lag and, when it was over 50 ms, the quiet window's. */
  lagMs: number;
  quietLagMs: number | undefined;
}

export async function assertHeldOnThisMachine(
  rig: Rig,
  m: Measured<unknown>,
  opts: Parameters<typeof assertHeld>[1] = {},
): Promise<Held> {
  assertHeld({ ...m, maxLagMs: 0 }, opts);
  if (m.maxLagMs <= 50) return { lagMs: m.maxLagMs, quietLagMs: undefined };
  const quiet = await measureDuring(rig, async () => {}, { minWindowMs: m.windowMs });
  const label = opts.label ? `${opts.label}: ` : '';
  assert.ok(
    quiet.maxLagMs > 50 && m.maxLagMs <= Math.max(250, 3 * quiet.maxLagMs),
    `${label}event loop lag reached ${m.maxLagMs.toFixed(1)} ms during the attack (at most 50 ms; a quiet window of the same length after it: ${quiet.maxLagMs.toFixed(1)} ms)`,
  );
  return { lagMs: m.maxLagMs, quietLagMs: quiet.maxLagMs };
}
