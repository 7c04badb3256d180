import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const RUN = fileURLToPath(new URL('../bench/run.js', import.meta.url));

// The harness only: figures are judged by `npm run bench`, never by a test (a shared CI machine is too noisy).
test('npm run bench -- --quick runs cam2mqtt and the baselines under dial-in and pulled load and writes its results', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cam2mqtt-bench-smoke-'));
  try {
    const out = path.join(dir, 'r.json');
    const r = spawnSync(process.execPath, [RUN, '--quick', '--out', out], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, `bench failed:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /CPU\/GB ratio cam2mqtt\/baseline: \d/);
    const res = JSON.parse(readFileSync(out, 'utf8')) as {
      results: {
        runs: {
          target: string;
          sent: number;
          cpuSeconds: number;
          fast: { viewers: number; delivered: number; outOfOrder: number };
        }[];
      }[];
    };
    // A dial-in scenario, then a pulled one (MJPEG sources, the pulled baseline).
    assert.equal(res.results.length, 2);
    for (const [i, { runs }] of res.results.entries()) {
      assert.deepEqual(
        runs.map((x) => x.target),
        ['baseline', 'cam2mqtt'],
      );
      for (const run of runs) {
        const what = `${i === 0 ? 'dial-in' : 'pulled'} ${run.target}`;
        assert.ok(run.sent > 0 && run.cpuSeconds > 0, `${what}: frames sent and CPU measured`);
        assert.equal(run.fast.viewers, 20);
        assert.ok(run.fast.delivered > 0, `${what}: viewers received frames`);
        assert.equal(run.fast.outOfOrder, 0, `${what}: frames in order`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
