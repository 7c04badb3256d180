// Faults the bridge must survive without losing anything (issue 13, item 11), each with real parts:
// - kill -9 while cameras stream, viewers watch and presets are being saved; then a restart: the
//   cameras are back, and presets.json and cameras.json are whole (atomic writes: temp, fsync, rename);
// - the data dir on a full filesystem (a 64 KiB tmpfs this test mounts): one log line per failed save,
//   the bridge keeps serving, the files keep their previous content;
// - the external broker (a real Mosquitto, no persistence) restarted: the state, including a change made
//   during the outage, is published again, and the MJPEG viewer never stopped;
// - SIGTERM with 50 MJPEG viewers: exit code 0 within 2 s (the bridge as a child process, as in production).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SimulatedMjpeg2sdCamera } from '../../src/simulator/mjpeg2sd-camera.js';
import { SimulatedNativeCamera } from '../../src/simulator/native-camera.js';
import { freePort, sleep, startBridge, waitFor } from '../helpers/bridge.js';
import { MjpegClient } from '../helpers/mjpeg-client.js';
import { Recorder, startMosquitto } from '../mqtt-helpers.js';

// This file runs as dist/test/hostile/faults.test.js: the repository is three levels up.
const CLI = fileURLToPath(new URL('../../../dist/src/cli.js', import.meta.url));
const tmpDirs: string[] = [];
const tmp = (prefix: string) => {
  const d = mkdtempSync(path.join(tmpdir(), prefix));
  tmpDirs.push(d);
  return d;
};
const children = new Set<ChildProcess>();

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

interface Child {
  proc: ChildProcess;
  out(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

/** The CLI in a child process, as systemd runs it, on 127.0.0.1 without MQTT unless configured. */
function startCli(dataDir: string, port: number, env: Record<string, string> = {}): Child {
  const proc = spawn(process.execPath, [CLI, '--data-dir', dataDir, '--http-port', String(port)], {
    env: { PATH: process.env.PATH ?? '', CAM2MQTT_HTTP_HOST: '127.0.0.1', CAM2MQTT_MQTT_ENABLED: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(proc);
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  return { proc, out: () => out, exited };
}

async function untilUp(base: string): Promise<void> {
  await waitFor(
    async () => (await fetch(`${base}/healthz`)).ok,
    30_000, // a node process starting on a loaded machine
    'bridge up',
  );
}

const json = async <T>(url: string): Promise<T> => (await (await fetch(url)).json()) as T;

function nativeCam(port: number, id: string, name: string, fps = 10): SimulatedNativeCamera {
  return new SimulatedNativeCamera({
    url: `ws://127.0.0.1:${port}/api/camera`,
    id,
    name,
    fps,
    width: 160,
    height: 120,
    hue: (id.length * 53) % 360,
    reconnect: true,
    reconnectDelayMs: 200,
  });
}

describe('faults survived, nothing lost', () => {
  it('kill -9 during traffic, then a restart: cameras back, presets and known cameras intact', {
    timeout: 150_000,
  }, async (t) => {
    const dataDir = tmp('c2m-fault-kill-');
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    // The embedded broker on too, so a kill -9 also meets MQTT state (cameras.json is the hub's, MQTT or not).
    const mqttEnv = { CAM2MQTT_MQTT_ENABLED: 'true', CAM2MQTT_MQTT_PORT: String(await freePort()) };
    let bridge = startCli(dataDir, port, mqttEnv);
    await untilUp(base);
    const cams = [nativeCam(port, 'porch', 'Porch'), nativeCam(port, 'yard', 'Yard')];
    const legacy = new SimulatedMjpeg2sdCamera({
      url: `ws://127.0.0.1:${port}/ws`,
      id: 'ESP-CAM-SHED',
      fps: 5,
      width: 160,
      height: 120,
      hue: 10,
      reconnect: true,
      reconnectDelayMs: 200,
    });
    const all = [...cams, legacy];
    const ids = ['esp-cam-shed', 'porch', 'yard'];
    const viewers: MjpegClient[] = [];
    try {
      for (const c of all) c.start();
      await waitFor(
        async () =>
          (await json<{ id: string; online: boolean }[]>(`${base}/api/cameras`)).filter((c) => c.online).length === 3,
        20_000,
        'three cameras online',
      );
      // Known cameras reach the disk (debounced by 1 s).
      const known = () =>
        Object.keys(
          (JSON.parse(readFileSync(path.join(dataDir, 'cameras.json'), 'utf8')) as { cameras: object }).cameras,
        ).sort();
      await waitFor(() => known().length === 3, 10_000, 'cameras.json with the three cameras');

      // Traffic: viewers on every camera, and presets saved one after another, when the bridge is killed.
      for (const id of ids) viewers.push(new MjpegClient(`${base}/api/cameras/${id}/stream.mjpeg`));
      await waitFor(() => viewers.every((v) => v.parts.length >= 2), 10_000, 'viewers receiving');
      const version = (n: number) => [
        { label: `Status ${n}`, command: '/status' },
        { label: `Lamp ${n}`, command: `/lamp ${n % 2 ? 'on' : 'off'}` },
      ];
      const sent: string[] = [];
      let acked = -1;
      let saving = true;
      const saver = (async () => {
        for (let n = 0; saving; n++) {
          const body = JSON.stringify(version(n));
          sent.push(body);
          const r = await fetch(`${base}/api/presets`, { method: 'PUT', body }).catch(() => undefined);
          if (r?.status === 200) acked = n;
          else break;
        }
      })();
      await waitFor(() => acked >= 5, 15_000, 'presets being saved');
      bridge.proc.kill('SIGKILL');
      const gone = await bridge.exited;
      assert.equal(gone.signal, 'SIGKILL');
      saving = false;
      await saver;
      t.diagnostic(`killed after ${acked + 1} acknowledged preset saves (${sent.length} sent)`);

      // Whole files on disk: the presets of the last acknowledged save or of the one in flight, never half.
      const onDisk = readFileSync(path.join(dataDir, 'presets.json'), 'utf8');
      const presets = JSON.parse(onDisk) as unknown;
      const k = sent.findIndex((b) => JSON.stringify(JSON.parse(b)) === JSON.stringify(presets));
      assert.ok(k >= acked, `presets.json holds save #${k}; #${acked} was acknowledged`);
      assert.deepEqual(known(), ids, 'cameras.json intact');

      // Restart: the cameras come back by themselves, under the same ids, with presets and names kept.
      bridge = startCli(dataDir, port, mqttEnv);
      await untilUp(base);
      assert.deepEqual(await json(`${base}/api/presets`), presets, 'presets served after the restart');
      await waitFor(
        async () =>
          (await json<{ id: string; online: boolean }[]>(`${base}/api/cameras`)).filter((c) => c.online).length === 3,
        20_000,
        'three cameras back online',
      );
      const back = await json<{ id: string; name: string }[]>(`${base}/api/cameras`);
      assert.equal(back.find((c) => c.id === 'porch')?.name, 'Porch');
      const viewer = new MjpegClient(`${base}/api/cameras/yard/stream.mjpeg`);
      try {
        await waitFor(() => viewer.parts.length >= 3, 10_000, 'frames after the restart');
      } finally {
        viewer.close();
      }
      assert.deepEqual(known(), ids, 'still the same known cameras');
    } finally {
      for (const v of viewers) v.close();
      await Promise.all(all.map((c) => c.stop()));
      bridge.proc.kill('SIGTERM');
      await bridge.exited;
    }
  });

  it('the data dir on a full filesystem: one log line per failed save, the bridge keeps serving, files intact', {
    timeout: 90_000,
  }, async (t) => {
    const dataDir = tmp('c2m-fault-full-');
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dataDir], { encoding: 'utf8' });
    if (m.status !== 0) {
      t.skip(`cannot mount a tmpfs (needs root): ${m.stderr.trim() || m.error}`);
      return;
    }
    try {
      const presetsFile = path.join(dataDir, 'presets.json');
      const camerasFile = path.join(dataDir, 'cameras.json');
      const presetsBefore = `${JSON.stringify([{ label: 'Kept', command: '/status' }], null, 2)}\n`;
      const camerasBefore = `${JSON.stringify(
        {
          version: 1,
          cameras: { attic: { id: 'attic', name: 'Attic', capabilities: [], first_seen: '2026-01-01T00:00:00.000Z' } },
        },
        null,
        2,
      )}\n`;
      writeFileSync(presetsFile, presetsBefore);
      writeFileSync(camerasFile, camerasBefore);
      // Fill the filesystem to the last byte.
      const fd = openSync(path.join(dataDir, 'filler'), 'w');
      const chunk = Buffer.alloc(4096, 1);
      try {
        for (;;) writeSync(fd, chunk);
      } catch (err) {
        assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
      }
      try {
        for (;;) writeSync(fd, chunk, 0, 1);
      } catch {
        // full
      }
      closeSync(fd);

      // The embedded broker on, as a full bridge runs (cameras.json is the hub's, MQTT or not).
      const b = await startBridge({ mqtt: { enabled: true, port: await freePort() } }, { dataDir });
      const cam = nativeCam(b.port, 'garage', 'Garage');
      try {
        cam.start();
        await waitFor(() => b.bridge.hub.get('garage')?.online, 10_000, 'camera online');
        // The new camera cannot be remembered: said once, and the camera works anyway.
        const storeLines = () => b.logs.filter((l) => /cannot save known cameras/.test(l.msg));
        await waitFor(() => storeLines().length >= 1, 10_000, 'the store failure logged');
        assert.match(storeLines()[0]!.msg, /ENOSPC/);
        const v2 = new MjpegClient(`${b.url}/api/cameras/garage/stream.mjpeg`);
        try {
          await waitFor(() => v2.parts.length >= 5, 10_000, 'frames flow on a full disk');
        } finally {
          v2.close();
        }

        // Saving presets: refused with 507 and one log line; the previous presets are kept and served.
        const r = await fetch(`${b.url}/api/presets`, {
          method: 'PUT',
          body: JSON.stringify([{ label: 'New', command: '/lamp on' }]),
        });
        assert.equal(r.status, 507);
        assert.match(((await r.json()) as { error: string }).error, /cannot save command presets.*ENOSPC/);
        const presetLines = b.logs.filter((l) => /cannot save command presets/.test(l.msg));
        assert.equal(presetLines.length, 1, 'one log line for the failed save');
        assert.deepEqual(await json(`${b.url}/api/presets`), [{ label: 'Kept', command: '/status' }]);
        assert.equal((await fetch(`${b.url}/healthz`)).status, 200, 'still serving');
        assert.equal(storeLines().length, 1, 'one log line for the one failed camera save');

        // The files: exactly as before, and no temp file left behind.
        assert.equal(readFileSync(presetsFile, 'utf8'), presetsBefore);
        assert.equal(readFileSync(camerasFile, 'utf8'), camerasBefore);
        assert.deepEqual(readdirSync(dataDir).sort(), ['cameras.json', 'filler', 'presets.json']);

        // Space again: the next save works.
        rmSync(path.join(dataDir, 'filler'));
        const ok = await fetch(`${b.url}/api/presets`, {
          method: 'PUT',
          body: JSON.stringify([{ label: 'New', command: '/lamp on' }]),
        });
        assert.equal(ok.status, 200);
        assert.deepEqual(JSON.parse(readFileSync(presetsFile, 'utf8')), [{ label: 'New', command: '/lamp on' }]);
      } finally {
        await cam.stop();
        await b.stop();
      }
    } finally {
      // Unmount even if the test failed (lazy: a file may still be open for a moment).
      spawnSync('umount', ['-l', dataDir]);
    }
  });

  it('the external broker restarted: state re-published, with what changed meanwhile; viewers never stopped', {
    timeout: 90_000,
  }, async () => {
    const mosq = await startMosquitto();
    const b = await startBridge({ mqtt: { enabled: true, server: mosq.url } });
    const cam = nativeCam(b.port, 'cam1', 'Cam 1').start();
    await waitFor(() => b.bridge.hub.get('cam1')?.online, 10_000, 'camera online');
    const viewer = new MjpegClient(`${b.url}/api/cameras/cam1/stream.mjpeg`);
    try {
      const rec = await Recorder.connect(mosq.url, ['cam2mqtt/cam1/#']);
      await rec.waitText('cam2mqtt/cam1/availability', '{"state":"online"}', 15_000);
      await rec.waitText('cam2mqtt/cam1/motion', 'OFF', 15_000);
      await rec.close();
      await mosq.kill();
      await waitFor(() => b.logs.some((l) => /lost the MQTT broker/.test(l.msg)), 10_000, 'lost-broker log line');
      // While the broker is away the camera sees motion, and the viewer keeps getting frames.
      cam.setMotion(true);
      await waitFor(() => b.bridge.hub.get('cam1')?.motion === true, 5000, 'motion in the hub');
      const partsDuring = viewer.parts.length;
      await sleep(500);
      await mosq.restart();
      // No persistence: whatever a new subscriber finds retained was published again by cam2mqtt.
      const late = await waitFor(
        async () => {
          const r = await Recorder.connect(mosq.url, ['cam2mqtt/#', 'homeassistant/#']).catch(() => undefined);
          if (!r) return undefined;
          try {
            await r.waitText('cam2mqtt/cam1/motion', 'ON', 1000);
            return r;
          } catch {
            await r.close();
            return undefined;
          }
        },
        20_000,
        'motion ON re-published after the restart',
      );
      await late.close();
      // A subscriber that comes later gets it retained (the first may have seen it live).
      const later = await Recorder.connect(mosq.url, ['cam2mqtt/#', 'homeassistant/#']);
      try {
        const motion = await later.waitText('cam2mqtt/cam1/motion', 'ON', 5000);
        assert.equal(motion.retain, true);
        await later.waitText('cam2mqtt/cam1/availability', '{"state":"online"}', 5000);
        await later.wait('homeassistant/camera/cam2mqtt_cam1/camera/config', () => true, 5000);
        await later.wait('cam2mqtt/bridge/info', () => true, 5000);
      } finally {
        await later.close();
      }
      assert.ok(viewer.parts.length > partsDuring, 'the MJPEG viewer kept receiving during the outage');
      assert.equal(viewer.error, undefined);
    } finally {
      viewer.close();
      await cam.stop();
      await b.stop();
      await mosq.stop();
    }
  });

  it('SIGTERM with 50 MJPEG viewers: exit code 0 within 2 s', { timeout: 90_000 }, async (t) => {
    const dataDir = tmp('c2m-fault-term-');
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const bridge = startCli(dataDir, port);
    await untilUp(base);
    const cam = nativeCam(port, 'lobby', 'Lobby').start();
    await waitFor(
      async () => (await json<{ online?: boolean }>(`${base}/api/cameras/lobby`)).online === true,
      15_000,
      'camera online',
    );
    const viewers = Array.from({ length: 50 }, () => new MjpegClient(`${base}/api/cameras/lobby/stream.mjpeg`));
    const closed = viewers.map(
      (v) =>
        new Promise<void>((resolve) => {
          const watch = setInterval(() => {
            if (!v.res) return;
            clearInterval(watch);
            v.res.once('close', () => resolve());
          }, 10);
        }),
    );
    try {
      await waitFor(() => viewers.every((v) => v.parts.length >= 2), 30_000, '50 viewers receiving frames');
      const t0 = Date.now();
      bridge.proc.kill('SIGTERM');
      const { code, at } = await bridge.exited;
      const ms = at - t0;
      t.diagnostic(`exit ${code} ${ms} ms after SIGTERM with 50 MJPEG viewers`);
      assert.equal(code, 0, bridge.out().slice(-2000));
      assert.ok(ms <= 2000, `exited ${ms} ms after SIGTERM (the promise is 2 s)`);
      await Promise.race([Promise.all(closed), sleep(5000)]);
      const open = viewers.filter((v) => !v.res?.closed).length;
      assert.equal(open, 0, 'every viewer connection was closed');
      assert.match(bridge.out(), /SIGTERM: shutting down[\s\S]*stopped/);
    } finally {
      for (const v of viewers) v.close();
      await cam.stop();
    }
  });
});
