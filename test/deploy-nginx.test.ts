import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import WebSocket from 'ws';
import { SimulatedMjpeg2sdCamera } from '../src/simulator/mjpeg2sd-camera.js';
import { SimulatedNativeCamera } from '../src/simulator/native-camera.js';
import { decodeFrameMessage } from '../src/sinks/page/wire.js';
import { freePort, waitFor } from './helpers/bridge.js';
import { MjpegClient } from './helpers/mjpeg-client.js';
import { SecurityCamEmulator } from './http-camera-emulators.js';

// The shipped deployment files, exercised for real: deploy/cam2mqtt.service is checked by
// systemd-analyze and its ExecStart/Environment/WorkingDirectory are run as systemd would run them;
// deploy/nginx/cam2mqtt.conf is served by Debian's nginx (started here on a free 127.0.0.1 port, as a
// foreground child process) in front of that cam2mqtt. MJPEG and every WebSocket path must work through it.

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const UNIT = path.join(ROOT, 'deploy/cam2mqtt.service');
const SITE = path.join(ROOT, 'deploy/nginx/cam2mqtt.conf');

/** Find a system binary or fail the test with how to install it (CI installs it; never skipped). */
function requireBinary(name: string, install: string): string {
  for (const dir of [
    '/usr/sbin',
    '/usr/bin',
    '/sbin',
    '/bin',
    '/usr/local/sbin',
    '/usr/local/bin',
    ...(process.env.PATH ?? '').split(':'),
  ]) {
    const p = path.join(dir, name);
    if (dir && existsSync(p)) return p;
  }
  throw new Error(`${name} not found: the deployment test needs it. Install it with "${install}" (.ci/run does).`);
}

/** [Section] Key=Value lines; repeated keys keep every value. */
function parseUnit(text: string): Record<string, Record<string, string[]>> {
  const out: Record<string, Record<string, string[]>> = {};
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const m = /^\[(.+)\]$/.exec(line);
    if (m) {
      section = m[1]!;
      out[section] ??= {};
      continue;
    }
    const eq = line.indexOf('=');
    const key = line.slice(0, eq).trim();
    ((out[section] ??= {})[key] ??= []).push(line.slice(eq + 1).trim());
  }
  return out;
}

/** The unit's absolute paths, moved to this machine: node, the checkout, the state and config dirs. */
function mapPaths(s: string, state: string, etc: string): string {
  return s
    .replaceAll('/usr/bin/node', process.execPath)
    .replaceAll('/opt/cam2mqtt', ROOT)
    .replaceAll('/var/lib/cam2mqtt', state)
    .replaceAll('/etc/cam2mqtt', etc);
}

function collect(child: ChildProcess): { text: () => string } {
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  return { text: () => out };
}

function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

test('deploy/cam2mqtt.service passes systemd-analyze verify (paths mapped to this checkout)', () => {
  const analyze = requireBinary('systemd-analyze', 'apt-get install -y systemd');
  const dir = mkdtempSync(path.join(tmpdir(), 'cam2mqtt-unit-'));
  try {
    const unit = parseUnit(readFileSync(UNIT, 'utf8'));
    const svc = unit.Service!;
    assert.deepEqual(svc.ExecStart, [
      '/usr/bin/node --max-semi-space-size=1 /opt/cam2mqtt/dist/src/cli.js --data-dir /var/lib/cam2mqtt',
    ]);
    assert.deepEqual(svc.WorkingDirectory, ['/var/lib/cam2mqtt'], 'the seed .env is read from the working directory');
    assert.deepEqual(svc.KillSignal, ['SIGTERM']);
    assert.ok(unit.Install?.WantedBy?.includes('multi-user.target'));
    const file = path.join(dir, 'cam2mqtt.service');
    writeFileSync(file, mapPaths(readFileSync(UNIT, 'utf8'), dir, dir));
    const r = spawnSync(analyze, ['verify', file], { encoding: 'utf8' });
    assert.equal(r.status, 0, `systemd-analyze verify failed:\n${r.stdout}${r.stderr}`);
    assert.doesNotMatch(`${r.stdout}${r.stderr}`, /Unknown (key|section)|bad unit file/i);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('cam2mqtt run as the unit runs it, behind nginx with the shipped config: page, REST, MJPEG, /api/ws, /api/camera, /ws, /mqtt; SIGTERM stops it', async () => {
  const nginx = requireBinary('nginx', 'apt-get install -y nginx-light');
  const dir = mkdtempSync(path.join(tmpdir(), 'cam2mqtt-deploy-'));
  const state = path.join(dir, 'state');
  const etc = path.join(dir, 'etc');
  const prefix = path.join(dir, 'nginx');
  for (const d of [state, etc, prefix, path.join(prefix, 'tmp')]) mkdirSync(d, { recursive: true });
  const cam = await new SecurityCamEmulator({ fps: 10 }).listen();
  const [httpPort, mqttPort, ngPort] = [await freePort(), await freePort(), await freePort()];
  let bridge: ChildProcess | undefined;
  let ng: ChildProcess | undefined;
  const sims: { stop(): Promise<void> }[] = [];
  try {
    // ---- cam2mqtt, started from the unit's lines ----
    const unit = parseUnit(mapPaths(readFileSync(UNIT, 'utf8'), state, etc));
    const svc = unit.Service!;
    writeFileSync(path.join(state, 'configuration.yaml'), `cameras:\n  front:\n    mjpeg_url: ${cam.mjpegUrl}\n`);
    // The optional EnvironmentFile=-/etc/cam2mqtt/env, as an admin would write it.
    const envFile = svc.EnvironmentFile![0]!.replace(/^-/, '');
    writeFileSync(
      envFile,
      `CAM2MQTT_HTTP_HOST=127.0.0.1\nCAM2MQTT_HTTP_PORT=${httpPort}\nCAM2MQTT_MQTT_HOST=127.0.0.1\nCAM2MQTT_MQTT_PORT=${mqttPort}\n`,
    );
    const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
    for (const e of svc.Environment ?? []) {
      const [k, ...v] = e.split('=');
      env[k!] = v.join('=');
    }
    for (const line of readFileSync(envFile, 'utf8').split('\n')) {
      const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
      if (m) env[m[1]!] = m[2]!;
    }
    const [cmd, ...args] = svc.ExecStart![0]!.split(/\s+/);
    bridge = spawn(cmd!, args, { cwd: svc.WorkingDirectory![0]!, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const bridgeOut = collect(bridge);
    const bridgeExit = exitOf(bridge);
    await waitFor(
      () => /control page:/.test(bridgeOut.text()) || bridge!.exitCode !== null,
      30_000,
      'cam2mqtt to start',
    );
    assert.equal(bridge.exitCode, null, `cam2mqtt exited:\n${bridgeOut.text()}`);

    // ---- nginx with the shipped site, on a free local port, pointing at this cam2mqtt ----
    const site = readFileSync(SITE, 'utf8');
    assert.match(site, /^\s*listen 80;$/m);
    assert.match(site, /^\s*server 127\.0\.0\.1:9090;$/m);
    const local = site
      .replace(/^(\s*)listen 80;$/m, `$1listen 127.0.0.1:${ngPort};`)
      .replace(/^\s*listen \[::\]:80;$/m, '')
      .replace(/^(\s*)server 127\.0\.0\.1:9090;$/m, `$1server 127.0.0.1:${httpPort};`);
    writeFileSync(path.join(prefix, 'cam2mqtt.conf'), local);
    const t = (n: string) => path.join(prefix, 'tmp', n);
    writeFileSync(
      path.join(prefix, 'nginx.conf'),
      [
        'daemon off;',
        'master_process off;',
        'worker_processes 1;',
        `pid ${path.join(prefix, 'nginx.pid')};`,
        `error_log ${path.join(prefix, 'error.log')} warn;`,
        'events { worker_connections 256; }',
        'http {',
        `  access_log ${path.join(prefix, 'access.log')};`,
        `  client_body_temp_path ${t('body')}; proxy_temp_path ${t('proxy')}; fastcgi_temp_path ${t('fcgi')}; uwsgi_temp_path ${t('uwsgi')}; scgi_temp_path ${t('scgi')};`,
        `  include ${path.join(prefix, 'cam2mqtt.conf')};`,
        '}',
        '',
      ].join('\n'),
    );
    const check = spawnSync(
      nginx,
      ['-t', '-p', prefix, '-c', path.join(prefix, 'nginx.conf'), '-e', path.join(prefix, 'error.log')],
      { encoding: 'utf8' },
    );
    assert.equal(check.status, 0, `nginx -t:\n${check.stderr}`);
    ng = spawn(nginx, ['-p', prefix, '-c', path.join(prefix, 'nginx.conf'), '-e', path.join(prefix, 'error.log')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const ngOut = collect(ng);
    const base = `http://127.0.0.1:${ngPort}`;
    await waitFor(
      async () => (await fetch(`${base}/healthz`)).status === 200,
      15_000,
      `nginx to proxy /healthz (${ngOut.text()})`,
    );

    // Page and REST.
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    await page.arrayBuffer();
    await waitFor(
      async () => ((await (await fetch(`${base}/api/cameras/front`)).json()) as { online: boolean }).online,
      15_000,
      'the pulled camera online (REST through nginx)',
    );

    // MJPEG through nginx: unbuffered, every frame, in order.
    const viewer = new MjpegClient(`${base}/api/cameras/front/stream.mjpeg`);
    try {
      const t0 = Date.now();
      await waitFor(() => viewer.parts.length >= 1, 10_000, 'first MJPEG part through nginx');
      const firstAfter = Date.now() - t0;
      await waitFor(() => viewer.parts.length >= 15, 15_000, 'MJPEG parts through nginx');
      assert.equal(viewer.error, undefined);
      assert.match(String(viewer.res?.headers['content-type']), /multipart\/x-mixed-replace/);
      const seqs = [...new Set(viewer.parts.map((p) => Number(p.headers['x-frame-seq'])))];
      for (let k = 1; k < seqs.length; k++) assert.equal(seqs[k], seqs[k - 1]! + 1, 'no frame lost through nginx');
      assert.ok(firstAfter < 8000, `first frame after ${firstAfter} ms: nginx does not buffer the stream`);
    } finally {
      viewer.close();
    }
    const snap = await fetch(`${base}/api/cameras/front/snapshot.jpg`);
    assert.equal(snap.status, 200);
    assert.match(snap.headers.get('cache-control') ?? '', /no-store/);
    await snap.arrayBuffer();

    // /api/ws: the control page's socket.
    const ws = new WebSocket(`ws://127.0.0.1:${ngPort}/api/ws`, { perMessageDeflate: false });
    const texts: Record<string, unknown>[] = [];
    let pageFrames = 0;
    ws.on('message', (data, isBinary) => {
      if (!isBinary) {
        texts.push(JSON.parse(data.toString()) as Record<string, unknown>);
        return;
      }
      const f = decodeFrameMessage(data as Buffer);
      pageFrames++;
      ws.send(JSON.stringify({ t: 'ack', c: [f.idx] }));
    });
    ws.on('error', () => {});
    try {
      await waitFor(() => texts.find((m) => m.t === 'hello'), 10_000, 'page hello through nginx');
      ws.send(JSON.stringify({ t: 'watch', ids: ['front'] }));
      await waitFor(() => pageFrames >= 5, 10_000, 'page frames through nginx');
    } finally {
      ws.terminate();
    }

    // /api/camera and /ws: cameras dialling in through nginx.
    const native = new SimulatedNativeCamera({
      url: `ws://127.0.0.1:${ngPort}/api/camera`,
      id: 'via-nginx',
      fps: 5,
      width: 160,
      height: 120,
      hue: 50,
    });
    const legacy = new SimulatedMjpeg2sdCamera({
      url: `ws://127.0.0.1:${ngPort}/ws`,
      id: 'ESP-CAM-NGINX',
      fps: 5,
      width: 160,
      height: 120,
      hue: 150,
    });
    sims.push(native.start(), legacy.start());
    for (const id of ['via-nginx', 'esp-cam-nginx']) {
      await waitFor(
        async () => {
          const r = await fetch(`${base}/api/cameras/${id}`);
          if (r.status !== 200) return false;
          const j = (await r.json()) as { online: boolean; frames: number };
          return j.online && j.frames > 2;
        },
        15_000,
        `camera ${id} online with frames through nginx`,
      );
    }

    // /mqtt: MQTT over WebSocket.
    const client = await mqtt.connectAsync(`ws://127.0.0.1:${ngPort}/mqtt`, {
      clientId: 'via-nginx',
      reconnectPeriod: 0,
      connectTimeout: 10_000,
    });
    try {
      const got = new Promise<string>((resolve) =>
        client.on('message', (topic, payload) => {
          if (topic === 'cam2mqtt/bridge/state') resolve(payload.toString());
        }),
      );
      await client.subscribeAsync('cam2mqtt/bridge/state');
      const payload = await Promise.race([
        got,
        new Promise<string>((_r, reject) =>
          setTimeout(() => reject(new Error('no bridge state over /mqtt')), 10_000).unref(),
        ),
      ]);
      assert.match(payload, /online/);
    } finally {
      await client.endAsync(true);
    }
    assert.doesNotMatch(
      readFileSync(path.join(prefix, 'error.log'), 'utf8'),
      /\[(error|crit|alert|emerg)\]/,
      'nginx logged no errors',
    );

    // The unit's KillSignal: a clean stop well within TimeoutStopSec.
    for (const s of sims.splice(0)) await s.stop();
    const stopBudget = Number((svc.TimeoutStopSec ?? ['20'])[0]) * 1000;
    bridge.kill((svc.KillSignal ?? ['SIGTERM'])[0] as NodeJS.Signals);
    const code = await Promise.race([
      bridgeExit,
      new Promise<string>((r) => setTimeout(() => r('timeout'), stopBudget).unref()),
    ]);
    assert.equal(code, 0, `exit code after SIGTERM (${code}):\n${bridgeOut.text().slice(-2000)}`);
    assert.match(bridgeOut.text(), /SIGTERM: shutting down/);
  } finally {
    for (const s of sims) await s.stop().catch(() => {});
    if (ng && ng.exitCode === null) {
      ng.kill('SIGTERM');
      await Promise.race([exitOf(ng), new Promise((r) => setTimeout(r, 5000).unref())]);
      if (ng.exitCode === null) ng.kill('SIGKILL');
    }
    if (bridge && bridge.exitCode === null) {
      bridge.kill('SIGKILL');
      await exitOf(bridge);
    }
    await cam.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
