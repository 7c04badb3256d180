import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SimulatedNativeCamera } from '../src/simulator/native-camera.js';
import { exitOf, type spawnLogged, startLoopbackInstance, startRedis } from './cluster-helpers.js';
import { freePort, sleep } from './helpers/bridge.js';
import { MjpegClient } from './helpers/mjpeg-client.js';

// The scaling figure of docs/scale-out.md (not a test: run `node dist/test/cluster-scale.js`).
// The same load (CAMERAS native cameras at FPS, one MJPEG viewer each, on the camera's owner) on 1, 2
// and 3 instances on one Redis; CPU seconds per second of each instance from /proc/<pid>/stat. Then the
// relay: R viewers on instance 2 of cameras owned by instance 1, against the same viewers on instance 1.

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(ROOT, 'dist/src/cli.js');
const TOKEN = 'cluster-scale-token-0123';
const AUTH = { Authorization: `Bearer ${TOKEN}` };
const CAMERAS = Number(process.env.CAMERAS ?? 12);
const FPS = Number(process.env.FPS ?? 10);
const SECONDS = Number(process.env.SECONDS ?? 15);
const TICK = 100; // clock ticks per second (getconf CLK_TCK on Linux)

function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / TICK;
}

async function run(n: number, relayViewers: number): Promise<{ perInstance: number[]; fps: number }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'cam2mqtt-scale-'));
  const redisPort = await freePort();
  const redis = await startRedis(redisPort);
  const procs: ReturnType<typeof spawnLogged>[] = [];
  const cams: SimulatedNativeCamera[] = [];
  const viewers: MjpegClient[] = [];
  try {
    const urls: string[] = [];
    for (let i = 1; i <= n; i++) {
      const inst = await startLoopbackInstance(CLI, dir, `n${i}`, redisPort, TOKEN, ['--max-semi-space-size=1']);
      urls.push(inst.url);
      procs.push(inst.proc);
    }
    for (let k = 0; k < CAMERAS; k++) {
      const owner = urls[k % n]!;
      const c = new SimulatedNativeCamera({
        url: `${owner.replace('http', 'ws')}/api/camera`,
        id: `cam-${k}`,
        fps: FPS,
        width: 640,
        height: 480,
        hue: (k * 37) % 360,
      });
      c.start();
      cams.push(c);
    }
    await sleep(3000);
    for (let k = 0; k < CAMERAS; k++)
      viewers.push(new MjpegClient(`${urls[k % n]}/api/cameras/cam-${k}/stream.mjpeg`, { headers: AUTH }));
    // Remote viewers: on instance 2 of cameras owned by instance 1 (k % n === 0).
    for (let r = 0; r < relayViewers; r++) {
      const k = (r * n) % CAMERAS;
      viewers.push(new MjpegClient(`${urls[1]}/api/cameras/cam-${k}/stream.mjpeg`, { headers: AUTH }));
    }
    await sleep(3000);
    const c0 = procs.map((p) => cpuSeconds(p.child.pid!));
    const f0 = viewers.reduce((s, v) => s + v.parts.length, 0);
    await sleep(SECONDS * 1000);
    const perInstance = procs.map((p, i) => (cpuSeconds(p.child.pid!) - c0[i]!) / SECONDS);
    const fps = (viewers.reduce((s, v) => s + v.parts.length, 0) - f0) / SECONDS;
    return { perInstance, fps };
  } finally {
    for (const v of viewers) v.close();
    await Promise.all(cams.map((c) => c.stop().catch(() => {})));
    for (const p of procs) {
      p.child.kill('SIGTERM');
      await Promise.race([exitOf(p.child), sleep(5000)]);
    }
    redis.child.kill('SIGKILL');
    await exitOf(redis.child);
    rmSync(dir, { recursive: true, force: true });
  }
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
console.log(
  `load: ${CAMERAS} native cameras at ${FPS} fps (640x480), one MJPEG viewer each on its owner; ${SECONDS} s measured`,
);
for (const n of process.env.ONLY === 'relay' ? [] : [1, 2, 3]) {
  const r = await run(n, 0);
  console.log(
    `${n} instance(s): CPU per instance ${r.perInstance.map(pct).join(', ')} (sum ${pct(r.perInstance.reduce((a, b) => a + b, 0))}); ${r.fps.toFixed(0)} frames/s delivered`,
  );
}
const R = Number(process.env.RELAY_VIEWERS ?? 6);
const base = await run(2, 0);
const relay = await run(2, R);
console.log(
  `relay, 2 instances, ${R} viewers on instance 2 of cameras owned by instance 1: owner ${pct(base.perInstance[0]!)} -> ${pct(relay.perInstance[0]!)}, relaying instance ${pct(base.perInstance[1]!)} -> ${pct(relay.perInstance[1]!)}; per remote viewer: +${pct((relay.perInstance[0]! - base.perInstance[0]!) / R)} on the owner, +${pct((relay.perInstance[1]! - base.perInstance[1]!) / R)} on the relaying instance`,
);
