import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type ClientRequest, get } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SimulatedNativeCamera } from '../src/simulator/native-camera.js';
import { exitOf, type spawnLogged, startLoopbackInstance, startRedis } from './cluster-helpers.js';
import { freePort, sleep, waitFor } from './helpers/bridge.js';

// The relay cost per remote viewer of docs/scale-out.md (not a test: `node dist/test/cluster-relay-cost.js`).
// Two instances on one Redis, ONE native camera (640x480, FPS) connected to instance A. For N viewers
// (1, 10, 50 by default) it alternates: N MJPEG viewers on A (local viewers, on the camera's owner)
// and N on B (remote viewers: B relays the camera from A over one upstream). CPU seconds per second of
// each process from /proc/<pid>/stat, minus the same process idle (no viewer), per viewer.

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(ROOT, 'dist/src/cli.js');
const TOKEN = 'cluster-relay-token-0123';
const FPS = Number(process.env.FPS ?? 10);
const SECONDS = Number(process.env.SECONDS ?? 8);
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const COUNTS = (process.env.VIEWERS ?? '1,10,50').split(',').map(Number);
const TICK = 100; // clock ticks per second (getconf CLK_TCK on Linux)

function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / TICK;
}

/** N MJPEG viewers that read and drop the bytes (counted), as cheap as a viewer can be here. */
function viewers(url: string, n: number): { bytes: () => number; close: () => void } {
  let bytes = 0;
  const reqs: ClientRequest[] = [];
  for (let i = 0; i < n; i++)
    reqs.push(
      get(`${url}?token=${TOKEN}`, { agent: false }, (res) => {
        res.on('data', (d: Buffer) => {
          bytes += d.length;
        });
      }).on('error', () => {}),
    );
  return { bytes: () => bytes, close: () => reqs.forEach((r) => r.destroy()) };
}

const dir = mkdtempSync(path.join(tmpdir(), 'cam2mqtt-relay-cost-'));
const redisPort = await freePort();
const redis = await startRedis(redisPort);
const procs: ReturnType<typeof spawnLogged>[] = [];
let cam: SimulatedNativeCamera | undefined;
try {
  const urls: string[] = [];
  for (const id of ['a', 'b']) {
    const inst = await startLoopbackInstance(CLI, dir, id, redisPort, TOKEN);
    urls.push(inst.url);
    procs.push(inst.proc);
  }
  cam = new SimulatedNativeCamera({
    url: `${urls[0]!.replace('http', 'ws')}/api/camera`,
    id: 'cam',
    fps: FPS,
    width: 640,
    height: 480,
    hue: 120,
  });
  cam.start();
  // Both instances know the camera (B relays it); a first viewer brings the camera to full rate.
  await waitFor(
    async () =>
      (
        (await (await fetch(`${urls[1]}/api/cameras`, { headers: { Authorization: `Bearer ${TOKEN}` } })).json()) as {
          id: string;
          online: boolean;
        }[]
      ).some((c) => c.id === 'cam' && c.online),
    30_000,
    'the camera relayed on B',
  );
  const [A, B] = procs.map((p) => p.child.pid!) as [number, number];
  /** CPU (of one core) of A and B over SECONDS with `n` viewers on `on` (or none). */
  const measure = async (on: string | undefined, n: number) => {
    // A local viewer of the owner keeps the camera streaming at full rate in every phase, so the
    // camera's own cost is the same throughout and only the viewers differ.
    const keep = viewers(`${urls[0]}/api/cameras/cam/stream.mjpeg`, 1);
    const v = on ? viewers(`${on}/api/cameras/cam/stream.mjpeg`, n) : undefined;
    await sleep(2000);
    const a0 = cpuSeconds(A);
    const b0 = cpuSeconds(B);
    const bytes0 = v?.bytes() ?? 0;
    await sleep(SECONDS * 1000);
    const r = {
      a: (cpuSeconds(A) - a0) / SECONDS,
      b: (cpuSeconds(B) - b0) / SECONDS,
      mbps: ((v?.bytes() ?? 0) - bytes0) / SECONDS / 1e6,
    };
    v?.close();
    keep.close();
    await sleep(500);
    return r;
  };
  const pct = (x: number) => `${(x * 100).toFixed(2)} %`;
  const signed = (x: number) => `${x >= 0 ? '+' : ''}${pct(x)}`;
  const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)]!;
  console.log(
    `one native camera 640x480 at ${FPS} fps on instance A; ${SECONDS} s per phase, ${ROUNDS} rounds, alternating; load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  const idle: { a: number[]; b: number[] } = { a: [], b: [] };
  const local = new Map<number, number[]>();
  const remoteB = new Map<number, number[]>();
  const remoteA = new Map<number, number[]>();
  for (let round = 0; round < ROUNDS; round++) {
    const i = await measure(undefined, 0);
    idle.a.push(i.a);
    idle.b.push(i.b);
    for (const n of COUNTS) {
      const l = await measure(urls[0], n);
      const r = await measure(urls[1], n);
      (local.get(n) ?? local.set(n, []).get(n)!).push(l.a);
      (remoteB.get(n) ?? remoteB.set(n, []).get(n)!).push(r.b);
      (remoteA.get(n) ?? remoteA.set(n, []).get(n)!).push(r.a);
      console.log(
        `  round ${round + 1}, ${n} viewer(s): local on A ${pct(l.a)} (${l.mbps.toFixed(1)} MB/s); remote on B ${pct(r.b)}, A meanwhile ${pct(r.a)} (${r.mbps.toFixed(1)} MB/s)`,
      );
    }
  }
  const ia = median(idle.a);
  const ib = median(idle.b);
  console.log(`idle (the camera streaming to one local viewer on A): A ${pct(ia)}, B ${pct(ib)}`);
  for (const n of COUNTS) {
    const l = median(local.get(n)!) - ia;
    const rb = median(remoteB.get(n)!) - ib;
    const ra = median(remoteA.get(n)!) - ia;
    console.log(
      `${n} viewer(s): local ${signed(l)} on A (${signed(l / n)} each); remote ${signed(rb)} on B (${signed(rb / n)} each) and ${signed(ra)} on A for the one upstream`,
    );
  }
  console.log(
    `load average after: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
} finally {
  await cam?.stop().catch(() => {});
  for (const p of procs) {
    p.child.kill('SIGTERM');
    await Promise.race([exitOf(p.child), sleep(5000)]);
    p.child.kill('SIGKILL');
  }
  redis.child.kill('SIGKILL');
  await exitOf(redis.child);
  rmSync(dir, { recursive: true, force: true });
}
