// Shared settings of the fuzz tests. `npm test` runs each property with a fixed seed and a modest
// number of runs; `npm run fuzz` sets FUZZ_RUNS=100000 (and FUZZ_SEED may pick another seed).
// FUZZ_DUMP=<dir> writes each counterexample found there in full, as JSON.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';

export const SEED = Number(process.env.FUZZ_SEED ?? 20261201);
const RUNS = process.env.FUZZ_RUNS ? Number(process.env.FUZZ_RUNS) : undefined;
/**
 * Time one input may take before it counts as a hang: generous, the suite runs on a loaded 2-core
 * machine. A quadratic path on the large inputs below takes 5-20 s, far past this.
 */
export const MAX_MS = Number(process.env.FUZZ_MAX_MS ?? 3000);

/** Run a property; print the count run (the report of `npm run fuzz`); fail with the counterexample. */
export function fuzz<Ts extends [unknown, ...unknown[]]>(
  name: string,
  ciRuns: number,
  prop: fc.IProperty<Ts> | fc.IAsyncProperty<Ts>,
): void | Promise<void> {
  const params = { seed: SEED, numRuns: RUNS ?? ciRuns };
  const report = (d: fc.RunDetails<Ts>) => {
    if (RUNS) process.stdout.write(`# fuzz ${name}: ${d.numRuns} runs, ${d.failed ? 1 : 0} crashes\n`);
    // Counterexamples can be 100 KB: the seed, the path and the start of the value are enough to replay.
    if (d.failed && process.env.FUZZ_DUMP)
      writeFileSync(
        path.join(process.env.FUZZ_DUMP, `${name.replace(/\W+/g, '-')}.json`),
        JSON.stringify(d.counterexample),
      );
    if (d.failed) {
      const err = d.errorInstance instanceof Error ? d.errorInstance.message : String(d.errorInstance);
      assert.fail(`${err.slice(0, 1500)}\n${(fc.defaultReportMessage(d) ?? `${name} failed`).slice(0, 3000)}`);
    }
  };
  if (prop.isAsync())
    return (fc.check(prop as fc.IAsyncProperty<Ts>, params) as Promise<fc.RunDetails<Ts>>).then(report);
  report(fc.check(prop as fc.IProperty<Ts>, params) as fc.RunDetails<Ts>);
}

/** Call fn; the only error it may throw is `type` (returned); anything else, or a hang, fails the case. */
export function only<T, E extends Error>(type: abstract new (...a: never[]) => E, what: string, fn: () => T): T | E {
  const t0 = performance.now();
  let out: T | E;
  try {
    out = fn();
  } catch (e) {
    if (!(e instanceof type))
      throw new Error(`${what} threw ${(e as Error)?.name ?? typeof e}: ${(e as Error)?.message ?? e}`);
    out = e as E;
  }
  const ms = performance.now() - t0;
  if (ms > MAX_MS) throw new Error(`${what} took ${ms.toFixed(0)} ms on one input (limit ${MAX_MS} ms)`);
  return out;
}

/** The same, for code that must not throw at all. */
export function never<T>(what: string, fn: () => T): T {
  const r = only(NeverThrown, what, fn);
  return r as T;
}
class NeverThrown extends Error {}

/**
 * Large inputs made of one fragment repeated (up to ~100 KB): where super-linear parsing shows.
 * Fragments are what the parsers look for: quotes, colons, braces, line ends, dashes.
 */
export function repeated(fragments: string[], maxTimes = 8000): fc.Arbitrary<string> {
  return fc
    .tuple(
      fc.string({ maxLength: 8 }),
      fc.constantFrom(...fragments),
      fc.integer({ min: 1, max: maxTimes }),
      fc.string({ maxLength: 8 }),
    )
    .map(([pre, frag, n, post]) => pre + frag.repeat(n) + post);
}
