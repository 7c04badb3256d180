// The firmware, proven on the host (firmware/README.md): the portable core's GoogleTest suite (which
// decodes and encodes every vector of test/vectors/native-v1.json byte for byte), and the firmware
// main loop built for the host (`cam2mqtt-host`) as a camera of a real running bridge, over a real
// WebSocket: frames byte-identical out of the MJPEG endpoint, motion from a synthetic scene to MQTT,
// commands applied to the stand-in camera and acknowledged, reconnection with backoff after the
// bridge is killed and restarted.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import jpeg from 'jpeg-js';
import mqtt from 'mqtt';
import { freePort, sleep, waitFor } from './helpers/bridge.js';
import { BUILD, buildFirmware, FIRMWARE, HOST_BIN, ROOT } from './helpers/firmware-build.js';
import { MjpegClient } from './helpers/mjpeg-client.js';

const CLI = path.join(ROOT, 'dist', 'src', 'cli.js');

interface Proc {
  proc: ChildProcess;
  /** Output lines with the time they arrived. */
  lines: { t: number; text: string }[];
  out(): string;
  exited: Promise<number | null>;
}

const procs: Proc[] = [];
const tmpDirs: string[] = [];

function start(cmd: string, args: string[], env: Record<string, string> = {}): Proc {
  const proc = spawn(cmd, args, { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const p: Proc = {
    proc,
    lines: [],
    out: () => p.lines.map((l) => l.text).join('\n'),
    exited: new Promise((resolve) => proc.on('exit', (code) => resolve(code))),
  };
  let partial = '';
  const onData = (d: Buffer) => {
    const parts = (partial + d.toString()).split('\n');
    partial = parts.pop() ?? '';
    for (const text of parts) p.lines.push({ t: Date.now(), text });
  };
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);
  procs.push(p);
  return p;
}

async function stop(p: Proc, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (p.proc.exitCode !== null || p.proc.signalCode !== null) return;
  p.proc.kill(signal);
  const t = setTimeout(() => p.proc.kill('SIGKILL'), 3000);
  await p.exited;
  clearTimeout(t);
}

function tmp(prefix: string): string {
  const d = mkdtempSync(path.join(tmpdir(), prefix));
  tmpDirs.push(d);
  return d;
}

async function api<T = Record<string, unknown>>(
  base: string,
  p: string,
  body?: unknown,
): Promise<{ status: number; json: T }> {
  const res = await fetch(
    `${base}${p}`,
    body === undefined
      ? {}
      : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) },
  );
  return { status: res.status, json: (await res.json()) as T };
}

/** Width and height from a JPEG's SOF marker. */
function jpegSize(buf: Buffer): { width: number; height: number } | undefined {
  let i = 2;
  while (i + 9 < buf.length) {
    if (buf[i] !== 0xff) return undefined;
    const marker = buf[i + 1]!;
    if (marker >= 0xc0 && marker <= 0xc3) return { height: buf.readUInt16BE(i + 5), width: buf.readUInt16BE(i + 7) };
    i += 2 + buf.readUInt16BE(i + 2);
  }
  return undefined;
}

/** Three different JPEGs, as a camera would produce them. */
function writeFrames(dir: string): Buffer[] {
  const frames: Buffer[] = [];
  for (let k = 0; k < 3; k++) {
    const width = 160,
      height = 120;
    const data = Buffer.alloc(width * height * 4);
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) {
        const o = (y * width + x) * 4;
        data[o] = (x * 2 + k * 70) & 255;
        data[o + 1] = (y * 2) & 255;
        data[o + 2] = k * 100;
        data[o + 3] = 255;
      }
    const buf = Buffer.from(jpeg.encode({ data, width, height }, 80).data);
    writeFileSync(path.join(dir, `frame-${k}.jpg`), buf);
    frames.push(buf);
  }
  return frames;
}

describe('firmware (host build of the ESP32 sketch)', () => {
  let build: { ok: boolean; output: string; ms: number };

  before(() => {
    build = buildFirmware();
  });

  after(async () => {
    await Promise.all(procs.map((p) => stop(p, 'SIGKILL')));
    for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
  });

  it('builds with CMake and the GoogleTest suite passes, every protocol vector included', () => {
    assert.ok(build.ok, `firmware build failed:\n${build.output.slice(-4000)}`);
    const r = spawnSync(path.join(BUILD, 'firmware_tests'), ['--gtest_color=no'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    const out = `${r.stdout}${r.stderr}`;
    assert.equal(r.status, 0, `firmware_tests failed:\n${out.slice(-6000)}`);
    assert.match(out, /\[ +PASSED +\] \d+ tests?/);
    for (const name of [
      'Vectors.BinaryFramesDecodeAndEncodeByteExactly',
      'Vectors.TextMessagesDecodeAndEncodeByteExactly',
      'Vectors.InvalidMessagesAreRefusedWithTheBridgesReason',
    ])
      assert.match(out, new RegExp(`\\[ +OK \\] ${name.replace('.', '\\.')}`), `${name} ran`);
  });

  it('the Arduino IDE sketch assembles into one self-contained folder', () => {
    const out = path.join(tmp('c2m-fw-sketch-'), 'cam2mqtt');
    const r = spawnSync('sh', [path.join(FIRMWARE, 'tools', 'make-arduino-sketch.sh'), out], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    const files = new Set(readdirSync(path.join(out, 'src')));
    assert.ok(existsSync(path.join(out, 'cam2mqtt.ino')));
    // The IDE compiles only what is inside the folder: every quoted include must be found there.
    for (const f of [...files].map((n) => path.join(out, 'src', n)).concat(path.join(out, 'cam2mqtt.ino'))) {
      for (const m of readFileSync(f, 'utf8').matchAll(/^#include "([^"]+)"/gm)) {
        const target = m[1]!.replace(/^src\//, '');
        assert.ok(files.has(target), `${path.basename(f)} includes "${m[1]}", which is not in the sketch`);
      }
    }
  });

  it('cam2mqtt-host is a camera of a real bridge: frames, commands, motion to MQTT, reconnect with backoff', {
    timeout: 170_000,
  }, async (t) => {
    assert.ok(build.ok, 'firmware build failed (see the first test)');
    assert.ok(existsSync(CLI), `${CLI} missing: run npx tsc -p . first`);
    const httpPort = await freePort();
    const mqttPort = await freePort();
    const base = `http://127.0.0.1:${httpPort}`;
    const cameraUrl = `ws://127.0.0.1:${httpPort}/api/camera`;
    const dataDir = tmp('c2m-fw-bridge-');
    writeFileSync(
      path.join(dataDir, 'configuration.yaml'),
      'cameras:\n  filecam:\n    name: File camera\n    token: fw-test-token\n',
    );
    const bridgeEnv = {
      CAM2MQTT_HTTP_HOST: '127.0.0.1',
      CAM2MQTT_MQTT_HOST: '127.0.0.1',
      CAM2MQTT_MQTT_PORT: String(mqttPort),
    };
    const startBridge = () =>
      start(
        process.execPath,
        [CLI, '--http-port', String(httpPort), '--data-dir', dataDir, '--log-level', 'debug'],
        bridgeEnv,
      );
    let bridge = startBridge();
    await waitFor(async () => (await fetch(`${base}/healthz`)).ok, 15_000, 'bridge up');

    const framesDir = tmp('c2m-fw-frames-');
    const files = writeFrames(framesDir);
    const work = tmp('c2m-fw-cam-');
    const fileState = path.join(work, 'filecam.json');
    const sceneState = path.join(work, 'scenecam.json');
    const filecamStarted = Date.now();
    const filecam = start(HOST_BIN, [
      '--url',
      cameraUrl,
      '--id',
      'filecam',
      '--token',
      'fw-test-token',
      '--frames-dir',
      framesDir,
      '--fps',
      '10',
      '--state-file',
      fileState,
      '--ntp',
    ]);
    const scenecam = start(HOST_BIN, [
      '--url',
      cameraUrl,
      '--id',
      'Scene Cam',
      '--motion-scene',
      '--scene-pass-ms',
      '2000',
      '--framesize',
      'QVGA',
      '--fps',
      '8',
      '--state-file',
      sceneState,
    ]);

    await t.test('both appear as native cameras with their hello metadata', async () => {
      const cams = await waitFor(
        async () => {
          const { json } = await api<
            {
              id: string;
              online: boolean;
              protocol: string;
              model: string;
              firmware: string;
              capabilities: string[];
              name: string;
            }[]
          >(base, '/api/cameras');
          return json.filter((c) => c.online).length === 2 ? json : undefined;
        },
        10_000,
        'two cameras online',
      );
      const file = cams.find((c) => c.id === 'filecam')!;
      const scene = cams.find((c) => c.id === 'scene_cam')!; // the id was slugified on both sides
      assert.ok(scene, `scene_cam in ${cams.map((c) => c.id).join(', ')}`);
      assert.equal(file.protocol, 'native');
      assert.equal(file.name, 'File camera');
      assert.equal(file.model, 'host');
      assert.equal(file.firmware, '1.0.0');
      assert.deepEqual(file.capabilities, [
        'lamp',
        'framesize',
        'quality',
        'fps',
        'flip',
        'brightness',
        'contrast',
        'motion',
        'snapshot',
        'restart',
      ]);
      await waitFor(
        () => /welcome: registered as filecam, watching=false/.test(filecam.out()),
        3000,
        '/welcome: registered as filecam, watching=false/',
      );
    });

    await t.test('a wrong token is refused (4001) and the camera backs off to the maximum', async () => {
      const bad = start(HOST_BIN, [
        '--url',
        cameraUrl,
        '--id',
        'filecam',
        '--token',
        'wrong',
        '--frames-dir',
        framesDir,
      ]);
      await waitFor(() => /refused the token/.test(bad.out()), 10_000, 'refusal logged');
      const m = /disconnected: code=4001 .*reconnecting in (\d+) ms/.exec(bad.out());
      assert.ok(m, bad.out());
      assert.ok(Number(m[1]) >= 45_000 && Number(m[1]) <= 75_000, `delay ${m[1]} ms`);
      await stop(bad);
      const { json } = await api<{ online: boolean }>(base, '/api/cameras/filecam');
      assert.equal(json.online, true, 'the right camera stayed connected');
    });

    await t.test('idle rate until someone watches; then full rate, and the JPEG bytes come out untouched', async () => {
      const before = (await api<{ frames: number }>(base, '/api/cameras/filecam')).json.frames;
      // One frame per 5 s since the camera started (the first at once); 10 fps would be hundreds by now.
      const idleMax = Math.floor((Date.now() - filecamStarted) / 5000) + 2;
      assert.ok(before <= idleMax, `idle: ${before} frames so far (one per 5 s: at most ${idleMax})`);
      const viewer = new MjpegClient(`${base}/api/cameras/filecam/stream.mjpeg`);
      try {
        await waitFor(() => viewer.parts.length >= 12, 5000, '12 MJPEG parts');
        assert.equal(viewer.error, undefined);
        const parts = viewer.parts.slice(1); // the first part may be the bridge's cached frame
        const span = (parts.at(-1)!.at - parts[0]!.at) / (parts.length - 1);
        // 10 fps nominal (100 ms); the bound leaves room for a loaded machine and still tells full rate
        // from the idle rate (5000 ms).
        assert.ok(span < 500, `about 10 fps while watched, got one frame per ${span.toFixed(0)} ms`);
        let prevSeq = -1;
        for (const p of parts) {
          assert.ok(
            files.some((f) => f.equals(p.body)),
            'every part is one of the JPEG files, byte for byte',
          );
          const seq = Number(p.headers['x-frame-seq']);
          assert.ok(seq > prevSeq, `X-Frame-Seq increases (${prevSeq} -> ${seq})`);
          prevSeq = seq;
          const time = Number(p.headers['x-frame-time']);
          assert.ok(Math.abs(time - p.at) < 3000, `X-Frame-Time ${time} is the capture time (now ${p.at})`);
        }
        await waitFor(() => /demand: watching=true/.test(filecam.out()), 3000, '/demand: watching=true/');
      } finally {
        viewer.close();
      }
      await waitFor(() => /demand: watching=false/.test(filecam.out()), 5000, 'demand off when the viewer leaves');
    });

    await t.test('commands change the stand-in camera and are acknowledged', async () => {
      const state = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      let r = await api<{ ok: boolean; answer: unknown; error?: string }>(base, '/api/cameras/filecam/command', {
        lamp: true,
      });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assert.deepEqual(r.json.answer, { lamp: 100 });
      assert.equal(state(fileState).lamp, 100);
      r = await api(base, '/api/cameras/filecam/command', { vflip: 'on' });
      assert.deepEqual(r.json.answer, { vflip: true });
      assert.equal(state(fileState).vflip, true);
      r = await api(base, '/api/cameras/filecam/command', { command: 'xclk=20' });
      assert.deepEqual(r.json.answer, { xclk: 20 });
      assert.equal(state(fileState).xclk, 20);
      r = await api(base, '/api/cameras/filecam/command', { framesize: 'QSXGA' });
      assert.equal(r.json.ok, false);
      assert.match(r.json.error!, /unsupported framesize QSXGA/);
      r = await api(base, '/api/cameras/filecam/command', { command: 'dance' });
      assert.equal(r.json.ok, false);
      assert.match(r.json.error!, /unknown raw command "dance"/);
      // The info update that follows an ack reaches every viewer of the camera.
      await waitFor(
        async () => {
          const info = (await api<{ info: Record<string, unknown> }>(base, '/api/cameras/filecam')).json.info;
          return info.lamp === 100 && info.vflip === true;
        },
        3000,
        'info updated',
      );
      r = await api(base, '/api/cameras/filecam/command', { status: true });
      assert.equal((r.json.answer as Record<string, unknown>).fw_version, '1.0.0');

      // Frame size on the generated scene: the pictures change resolution.
      r = await api(base, '/api/cameras/scene_cam/command', { framesize: 'HVGA' });
      assert.deepEqual(r.json.answer, { framesize: 'HVGA' });
      assert.equal(state(sceneState).framesize, 'HVGA');
      const viewer = new MjpegClient(`${base}/api/cameras/scene_cam/stream.mjpeg`);
      try {
        await waitFor(() => viewer.parts.some((p) => jpegSize(p.body)?.width === 480), 5000, 'a 480x320 frame');
        assert.deepEqual(jpegSize(viewer.parts.at(-1)!.body), { width: 480, height: 320 });
      } finally {
        viewer.close();
      }
      r = await api(base, '/api/cameras/scene_cam/command', { snapshot: true });
      assert.equal(r.json.ok, true, JSON.stringify(r.json));
      await waitFor(
        () => /cmd #\d+ snapshot -> ok \{"width":1600,"height":1200,/.test(scenecam.out()),
        3000,
        '/cmd #\\d+ snapshot -> ok \\{"width":1600,"height":1200,/',
      );
    });

    await t.test('motion detected on the device reaches MQTT as ON, then OFF', async () => {
      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, {
        reconnectPeriod: 0,
        connectTimeout: 5000,
      });
      const seen: string[] = [];
      client.on('message', (topic, payload) => {
        if (topic === 'cam2mqtt/scene_cam/motion') seen.push(payload.toString());
      });
      try {
        await client.subscribeAsync('cam2mqtt/scene_cam/motion');
        await sleep(300);
        scenecam.proc.kill('SIGUSR1'); // the square crosses the picture for 2 s
        await waitFor(() => seen.includes('ON'), 6000, 'motion ON on MQTT');
        const cam = (
          await api<{ motion: boolean; motion_region: { x: number; y: number; w: number; h: number } | null }>(
            base,
            '/api/cameras/scene_cam',
          )
        ).json;
        assert.equal(cam.motion, true);
        // The square runs at 40..60 % of the height: the reported region is there.
        assert.ok(
          cam.motion_region && cam.motion_region.y >= 0.3 && cam.motion_region.y + cam.motion_region.h <= 0.75,
          JSON.stringify(cam.motion_region),
        );
        await waitFor(
          () => /motion start: \d+ per mille changed, region/.test(scenecam.out()),
          3000,
          '/motion start: \\d+ per mille changed, region/',
        );
        await waitFor(() => seen.lastIndexOf('OFF') > seen.indexOf('ON'), 10_000, 'motion OFF on MQTT');
      } finally {
        await client.endAsync();
      }
    });

    await t.test('killing and restarting the bridge: the cameras reconnect with growing, jittered delays', async () => {
      const from = filecam.lines.length;
      await stop(bridge, 'SIGKILL');
      // Let three attempts fail against the closed port: delays ~1 s, ~2 s, ~4 s (or longer: the ramp
      // only restarts at 1 s after a connection that lasted 60 s, and on a loaded machine an earlier drop
      // may have left it further up).
      await waitFor(
        () => filecam.lines.slice(from).filter((l) => /reconnecting in/.test(l.text)).length >= 3,
        60_000,
        'three failed attempts',
      );
      bridge = startBridge();
      await waitFor(
        () => filecam.lines.slice(from).some((l) => /welcome: registered as filecam/.test(l.text)),
        60_000,
        'filecam welcomed again',
      );
      // The delays the firmware chose (not measured: timers on a loaded machine say nothing about them).
      const delays = filecam.lines
        .slice(from)
        .map((l) => /reconnecting in (\d+) ms \(attempt (\d+)\)/.exec(l.text))
        .filter((m) => m)
        .map((m) => ({ ms: Number(m![1]), attempt: Number(m![2]) }));
      const shown = delays.map((d) => `#${d.attempt} ${d.ms} ms`).join(', ');
      assert.ok(delays.length >= 3, shown);
      for (let i = 0; i < delays.length; i++) {
        const { ms, attempt } = delays[i]!;
        if (i > 0) {
          assert.equal(attempt, delays[i - 1]!.attempt + 1, `attempts counted up one by one: ${shown}`);
          assert.ok(ms > delays[i - 1]!.ms, `each delay longer than the one before: ${shown}`);
        }
        // docs/protocol.md: 1 s doubling to 60 s, +-25 % jitter.
        const nominal = Math.min(1000 * 2 ** (attempt - 1), 60_000);
        assert.ok(
          ms >= nominal * 0.75 && ms <= nominal * 1.25,
          `attempt ${attempt}: ${ms} ms, expected ${nominal} ms +-25 % (${shown})`,
        );
      }
      // Jittered: three delays exactly on the nominal value would happen about once in 10^9 runs.
      assert.ok(
        delays.some((d) => d.ms !== Math.min(1000 * 2 ** (d.attempt - 1), 60_000)),
        `jitter: ${shown}`,
      );
      // Also told to the bridge's per-camera log (the line right after the welcome; it may arrive in the next chunk).
      await waitFor(
        () => filecam.lines.slice(from).some((l) => /reconnected after \d+ attempt/.test(l.text)),
        3000,
        'reconnect reported',
      );
      await waitFor(
        async () => (await api<{ online: boolean }[]>(base, '/api/cameras')).json.filter((c) => c.online).length === 2,
        15_000,
        'both online again',
      );
      const viewer = new MjpegClient(`${base}/api/cameras/filecam/stream.mjpeg`);
      try {
        await waitFor(() => viewer.parts.length >= 3, 5000, 'frames after the restart');
        assert.ok(files.some((f) => f.equals(viewer.parts.at(-1)!.body)));
      } finally {
        viewer.close();
      }
    });

    await t.test('restart command: ack, reboot (same process re-executed), back online', async () => {
      const from = filecam.lines.length;
      const r = await api(base, '/api/cameras/filecam/command', { restart: true });
      assert.deepEqual(r.json.answer, { restart: true });
      await waitFor(
        () => filecam.lines.slice(from).some((l) => /welcome: registered as filecam/.test(l.text)),
        10_000,
        'welcomed after the restart',
      );
      assert.ok(
        filecam.lines.slice(from).some((l) => /restarting: exec/.test(l.text)),
        'restarted by exec',
      );
      assert.equal(filecam.proc.exitCode, null, 'same process');
    });

    await t.test('a camera that shuts down says so (1001) and goes offline at once', async () => {
      await stop(scenecam);
      assert.equal(await scenecam.exited, 0);
      await waitFor(
        async () => (await api<{ online: boolean }>(base, '/api/cameras/scene_cam')).json.online === false,
        3000,
        'scene_cam offline',
      );
      await stop(filecam);
      await stop(bridge);
    });
  });
});
