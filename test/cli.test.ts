import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import WebSocket from 'ws';
import { freePort, waitFor } from './helpers/bridge.js';
import { type CliRun, runCli } from './helpers/cli.js';

const procs: ChildProcess[] = [];

function run(args: string[], env: Record<string, string> = {}): CliRun {
  const r = runCli(args, env);
  procs.push(r.proc);
  return r;
}

const tmp = () => mkdtempSync(path.join(tmpdir(), 'cam2mqtt-cli-'));

describe('cam2mqtt CLI', () => {
  after(() => {
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  });

  it('starts with no config file, prints the URLs, and Ctrl-C tells cameras and exits 0', async () => {
    const port = await freePort();
    const r = run(['--http-port', String(port), '--data-dir', tmp(), '--log-level', 'info'], {
      CAM2MQTT_HTTP_HOST: '127.0.0.1',
      CAM2MQTT_MQTT_ENABLED: 'false',
    });
    await waitFor(() => r.out().includes('REST API:'), 10_000, 'startup');
    assert.match(r.out(), new RegExp(`control page: +http://127\\.0\\.0\\.1:${port}/`));
    assert.match(r.out(), new RegExp(`cameras \\(native\\): +ws://127\\.0\\.0\\.1:${port}/api/camera`));
    assert.match(r.out(), new RegExp(`cameras \\(MJPEG2SD\\): +ws://127\\.0\\.0\\.1:${port}/ws`));
    assert.match(r.out(), /settings from the environment: CAM2MQTT_HTTP_HOST, CAM2MQTT_MQTT_ENABLED/);
    assert.match(r.out(), /http\.auth is not set/);
    const health = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { status: string };
    assert.equal(health.status, 'ok');
    // A camera is connected when we stop: it must be told (bye, then close 1001).
    const ws = new WebSocket(`ws://127.0.0.1:${port}/api/camera`);
    const texts: string[] = [];
    ws.on('message', (d) => texts.push(d.toString()));
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(JSON.stringify({ type: 'hello', v: 1, id: 'cli-cam' }));
    await waitFor(() => texts.length > 0, 3000, 'welcome');
    r.proc.kill('SIGINT');
    assert.equal(await r.exit, 0);
    assert.equal(await closed, 1001);
    assert.ok(texts.includes('{"type":"bye","reason":"bridge shutting down"}'));
    assert.match(r.out(), /SIGINT: shutting down/);
    assert.match(r.out(), /stopped/);
  });

  it('an invalid setting stops startup with one message naming key, value and expectation', async () => {
    const d = tmp();
    writeFileSync(path.join(d, 'configuration.yaml'), 'http:\n  port: "eighty"\n');
    const r = run(['--data-dir', d]);
    assert.equal(await r.exit, 2);
    assert.match(
      r.out(),
      /^cam2mqtt: invalid configuration in .*configuration\.yaml: http\.port = "eighty": expected number, received string\n$/,
    );
    const e = run(['--data-dir', tmp()], { CAM2MQTT_LIMITS_CAMERA_TIMEOUT: '-5' });
    assert.equal(await e.exit, 2);
    assert.match(e.out(), /limits\.camera_timeout = -5: .*>=0/);
    const f = run(['--http-port', 'abc']);
    assert.equal(await f.exit, 1);
    assert.match(f.out(), /--http-port must be a whole number/);
  });

  it('a port in use is a clear error naming the setting', async () => {
    const port = await freePort();
    const first = run(['--http-port', String(port), '--data-dir', tmp()], {
      CAM2MQTT_HTTP_HOST: '127.0.0.1',
      CAM2MQTT_MQTT_ENABLED: 'false',
    });
    await waitFor(() => first.out().includes('REST API:'), 30_000, 'first up');
    const second = run(['--http-port', String(port), '--data-dir', tmp()], {
      CAM2MQTT_HTTP_HOST: '127.0.0.1',
      CAM2MQTT_MQTT_ENABLED: 'false',
    });
    assert.equal(await second.exit, 1);
    assert.match(second.out(), new RegExp(`http\\.port ${port} on 127\\.0\\.0\\.1 is already in use`));
    first.proc.kill('SIGTERM');
    assert.equal(await first.exit, 0);
  });

  it('simulate connects cameras of both protocols to a bridge', async () => {
    const port = await freePort();
    const bridge = run(['--http-port', String(port), '--data-dir', tmp()], {
      CAM2MQTT_HTTP_HOST: '127.0.0.1',
      CAM2MQTT_MQTT_ENABLED: 'false',
    });
    await waitFor(() => bridge.out().includes('REST API:'), 30_000, 'bridge up');
    const nat = run([
      'simulate',
      '--url',
      `ws://127.0.0.1:${port}/api/camera`,
      '--cameras',
      '2',
      '--fps',
      '5',
      '--size',
      '160x120',
      '--protocol',
      'native',
    ]);
    const leg = run([
      'simulate',
      '--url',
      `ws://127.0.0.1:${port}/ws`,
      '--cameras',
      '1',
      '--fps',
      '5',
      '--size',
      '160x120',
      '--protocol',
      'legacy',
      '--motion-every',
      '2',
    ]);
    const cams = await waitFor(
      async () => {
        const list = (await (await fetch(`http://127.0.0.1:${port}/api/cameras`)).json()) as {
          id: string;
          online: boolean;
          protocol: string;
          motion: boolean;
        }[];
        return list.filter((c) => c.online).length === 3 ? list : undefined;
      },
      60_000, // two more node processes starting: many seconds on a loaded machine
      'three simulated cameras',
    );
    assert.deepEqual(cams.map((c) => `${c.id}/${c.protocol}`).sort(), [
      'esp-cam-sim-1/legacy',
      'sim-1/native',
      'sim-2/native',
    ]);
    await waitFor(
      async () =>
        ((await (await fetch(`http://127.0.0.1:${port}/api/cameras/esp-cam-sim-1`)).json()) as { motion: boolean })
          .motion,
      5000,
      'simulated motion',
    );
    const bad = run(['simulate', '--url', `ws://127.0.0.1:${port}/ws`, '--size', 'big']);
    assert.equal(await bad.exit, 2);
    assert.match(bad.out(), /size "big": expected WIDTHxHEIGHT/);
    for (const r of [nat, leg]) {
      r.proc.kill('SIGINT');
      assert.equal(await r.exit, 0);
    }
    bridge.proc.kill('SIGINT');
    assert.equal(await bridge.exit, 0);
  });
});
