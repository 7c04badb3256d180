import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { freePort, waitFor } from './helpers/bridge.js';
import { runCli } from './helpers/cli.js';

// The libraries most bridges never use load only when used (docs/performance.md, "lazy modules"): a
// module that is loaded is heap that every full collection marks. A real `cam2mqtt` process reports
// every module it resolves through a loader hook, so the test sees what the process loaded.

const HOOK = `data:text/javascript,${encodeURIComponent(
  "import { register } from 'node:module';" +
    "register('data:text/javascript,' + encodeURIComponent(" +
    '\'export async function resolve(s, c, next) { const r = await next(s, c); process.stderr.write("LOADED " + r.url + "\\\\n"); return r; }\'));',
)}`;

const LAZY = ['node_modules/mqtt/', 'node_modules/prom-client/', 'node_modules/home-assistant-js-websocket/'];

describe('modules load only where they are used', () => {
  const procs: ChildProcess[] = [];
  const dirs: string[] = [];
  after(() => {
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('a bridge with the embedded broker loads no mqtt.js, prom-client or HA client; a scrape loads prom-client', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cam2mqtt-lazy-'));
    dirs.push(dir);
    const port = await freePort();
    const mqttPort = await freePort();
    writeFileSync(
      path.join(dir, 'configuration.yaml'),
      `http:\n  host: 127.0.0.1\n  port: ${port}\nmqtt:\n  host: 127.0.0.1\n  port: ${mqttPort}\nlog:\n  level: info\ncameras:\n  garage: {}\n`,
    );
    const r = runCli(['--data-dir', dir], {}, ['--import', HOOK]);
    const proc = r.proc;
    procs.push(proc);
    await waitFor(() => r.out().includes('REST API:'), 30_000, 'startup');
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(health.status, 200);
    const loaded = () =>
      r
        .out()
        .split('\n')
        .filter((l) => l.startsWith('LOADED '));
    assert.ok(
      loaded().some((l) => l.includes('node_modules/aedes/')),
      'the hook sees the modules (aedes is loaded)',
    );
    for (const lib of LAZY) {
      assert.deepEqual(
        loaded().filter((l) => l.includes(lib)),
        [],
        `${lib} is loaded by a bridge that does not use it`,
      );
    }
    const metrics = await fetch(`http://127.0.0.1:${port}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /cam2mqtt_camera_online\{camera="garage"\} 0/);
    assert.ok(
      loaded().some((l) => l.includes('node_modules/prom-client/')),
      'prom-client is loaded by the first scrape',
    );
    assert.deepEqual(
      loaded().filter((l) => l.includes('node_modules/mqtt/')),
      [],
      'mqtt.js is still not loaded',
    );
    proc.kill('SIGTERM');
    await new Promise((resolve) => proc.once('exit', resolve));
  });
});
