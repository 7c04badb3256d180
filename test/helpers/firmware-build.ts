// The firmware's host build (cmake + gtest), shared by the tests that run it. `npm test` runs this file
// once before the suite (pretest), so that compiling, which takes minutes on a loaded 2-core machine,
// is not counted against any test file's timeout; the tests then only run an incremental (no-op) build.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// This file runs as dist/test/helpers/firmware-build.js: the repository is three levels up.
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const FIRMWARE = path.join(ROOT, 'firmware');
export const BUILD = path.join(FIRMWARE, 'build');
export const HOST_BIN = path.join(BUILD, 'cam2mqtt-host');

/** cmake configure (first time) + incremental build, serialised with flock against parallel test runs. */
export function buildFirmware(): { ok: boolean; output: string; ms: number } {
  const t0 = Date.now();
  mkdirSync(BUILD, { recursive: true });
  const steps: string[][] = [];
  if (!existsSync(path.join(BUILD, 'CMakeCache.txt')))
    steps.push(['cmake', '-S', FIRMWARE, '-B', BUILD, '-DCMAKE_BUILD_TYPE=Release']);
  steps.push(['cmake', '--build', BUILD, '-j2']);
  let output = '';
  for (const step of steps) {
    const r = spawnSync('flock', [path.join(BUILD, '.build.lock'), ...step], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    output += `$ ${step.join(' ')}\n${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}\n`;
    if (r.status !== 0) return { ok: false, output, ms: Date.now() - t0 };
  }
  return { ok: true, output, ms: Date.now() - t0 };
}

// Run directly (pretest): build, say how it went in one line, never fail (the tests report a broken build).
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const r = buildFirmware();
  console.log(
    r.ok
      ? `firmware host build ready (${(r.ms / 1000).toFixed(1)} s)`
      : 'firmware host build failed: test/firmware.test.ts shows why',
  );
}
