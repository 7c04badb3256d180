// npm run bench -- [--scenario 1,2,...|all] [--duration S] [--out FILE] [--quick]
// Runs cam2mqtt as its own process, the load from other processes, and the raw baseline under the same
// load, and reports frames, drops, fps, latency, CPU per delivered GB and peak RSS side by side.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import type { Profile } from './load/jpegs.js';

const DIST = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const ROOT = path.resolve(DIST, '..');
const TICK = 100; // USER_HZ

export interface Scenario {
  id: number;
  name: string;
  cameras: number;
  profile: Profile;
  fps: number;
  protocol: 'native' | 'legacy';
  viewersPerCamera: number;
  slow?: { count: number; bytesPerSec: number };
  /** Seconds between MQTT snapshots per camera (cam2mqtt only; the baseline has no MQTT). */
  snapshotInterval?: number;
}

export const SCENARIOS: Scenario[] = [
  { id: 1, name: 'home: 8 cameras SVGA 10 fps, 3 viewers each', cameras: 8, profile: 'SVGA', fps: 10, protocol: 'native', viewersPerCamera: 3, snapshotInterval: 2 },
  { id: 2, name: 'fan-out: 1 camera VGA 25 fps, 200 viewers', cameras: 1, profile: 'VGA', fps: 25, protocol: 'native', viewersPerCamera: 200 },
  { id: 3, name: 'many cameras: 64 VGA 15 fps, 1 viewer each', cameras: 64, profile: 'VGA', fps: 15, protocol: 'native', viewersPerCamera: 1 },
  { id: 4, name: 'slow viewers: scenario 1 + 20 viewers at 50 KB/s', cameras: 8, profile: 'SVGA', fps: 10, protocol: 'native', viewersPerCamera: 3, snapshotInterval: 2, slow: { count: 20, bytesPerSec: 50_000 } },
  { id: 5, name: 'large frames: 4 cameras UXGA 5 fps, 1 viewer each', cameras: 4, profile: 'UXGA', fps: 5, protocol: 'native', viewersPerCamera: 1, snapshotInterval: 1 },
  { id: 6, name: 'legacy: scenario 1 with MJPEG2SD cameras', cameras: 8, profile: 'SVGA', fps: 10, protocol: 'legacy', viewersPerCamera: 3, snapshotInterval: 2 },
];

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

interface Child { proc: ChildProcess; lines: unknown[]; ready: Promise<void>; done: Promise<void> }

function child(script: string, args: string[], env: Record<string, string> = {}, nodeArgs: string[] = []): Child {
  const proc = spawn(process.execPath, [...nodeArgs, path.join(DIST, script), ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: unknown[] = [];
  let buf = '';
  let readyResolve!: () => void;
  const ready = new Promise<void>((r) => { readyResolve = r; });
  proc.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        const v = JSON.parse(line) as { ready?: boolean };
        if (v.ready) readyResolve();
        else lines.push(v);
      } catch {
        // cam2mqtt's own log lines
      }
    }
  });
  const done = new Promise<void>((r) => proc.on('exit', () => r()));
  return { proc, lines, ready, done };
}

function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / TICK;
}

function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

const pct = (a: number[], p: number) => (a.length ? a[Math.min(a.length - 1, Math.floor((p / 100) * a.length))]! : NaN);

export interface ClassResult { viewers: number; expected: number; delivered: number; dropped: number; outOfOrder: number; fps: number; p50: number; p99: number; max: number; bytes: number }
export interface RunResult { target: 'cam2mqtt' | 'baseline'; sent: number; cpuSeconds: number; deliveredGB: number; cpuPerGB: number; peakRssMb: number; fast: ClassResult; slow?: ClassResult }

async function runOnce(s: Scenario, target: 'cam2mqtt' | 'baseline', durationMs: number): Promise<RunResult> {
  const port = await freePort();
  let server: Child;
  let dataDir = '';
  if (target === 'cam2mqtt') {
    dataDir = mkdtempSync(path.join(tmpdir(), 'cam2mqtt-bench-'));
    const cams = Array.from({ length: s.cameras }, (_, i) => `  bench-${i}:\n    snapshot_interval: ${s.snapshotInterval ?? 0}`).join('\n');
    writeFileSync(path.join(dataDir, 'configuration.yaml'), `http:\n  host: 127.0.0.1\n  port: ${port}\nlog:\n  level: warn\nmqtt:\n  host: 127.0.0.1\n  port: ${await freePort()}\nlimits:\n  max_cameras: 1024\n  max_pending_connections: 1024\ncameras:\n${cams}\n`);
    server = child('src/cli.js', ['--data-dir', dataDir], {}, profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []);
    await waitHttp(port);
  } else {
    server = child('bench/baseline.js', [String(port)]);
    await server.ready;
  }
  const camUrl = `ws://127.0.0.1:${port}${s.protocol === 'legacy' ? '/ws' : '/api/camera'}`;
  // Cameras in groups of 16 per process so the load side is not the bottleneck.
  const camProcs: Child[] = [];
  for (let first = 0; first < s.cameras; first += 16) {
    const count = Math.min(16, s.cameras - first);
    camProcs.push(child('bench/load/cameras.js', [JSON.stringify({ url: camUrl, protocol: s.protocol, count, fps: s.fps, profile: s.profile, durationMs, idPrefix: 'bench', offset: first })]));
  }
  await Promise.all(camProcs.map((c) => c.ready));
  const ids = Array.from({ length: s.cameras }, (_, i) => `bench-${i}`);
  const viewerProcs: Child[] = [];
  const perProc = Math.max(1, Math.ceil((s.cameras * s.viewersPerCamera) / 200));
  for (let k = 0; k < perProc; k++) {
    const camsHere = ids.filter((_, i) => i % perProc === k);
    viewerProcs.push(child('bench/load/viewers.js', [JSON.stringify({ base: `http://127.0.0.1:${port}`, cameras: camsHere, perCamera: s.viewersPerCamera, durationMs, ...(k === 0 && s.slow ? { slow: s.slow } : {}) })]));
  }
  await Promise.all(viewerProcs.map((v) => v.ready));
  const pid = server.proc.pid!;
  const cpu0 = cpuSeconds(pid);
  for (const c of [...camProcs, ...viewerProcs]) c.proc.stdin!.write('go\n');
  await Promise.all([...camProcs, ...viewerProcs].map((c) => c.done));
  const cpu = cpuSeconds(pid) - cpu0;
  const rss = peakRssMb(pid);
  server.proc.kill('SIGINT');
  await server.done;
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });

  const camOut = camProcs.map((c) => c.lines[0] as { sent: number; perCamera: number[]; sendTimes?: number[][] });
  const sent = camOut.reduce((a, c) => a + c.sent, 0);
  const perCamera = camOut.flatMap((c) => c.perCamera);
  const sendTimes = camOut.flatMap((c) => c.sendTimes ?? []);
  const viewers = viewerProcs.flatMap((v) => (v.lines[0] as { viewers: { cam: string; slow: boolean; frames: number; bytes: number; gaps: number; outOfOrder: number; samples: number[][] }[] }).viewers);
  const summarise = (list: typeof viewers): ClassResult => {
    const lat: number[] = [];
    for (const v of list) {
      const camIdx = Number(v.cam.split('-')[1]);
      for (const [seq, recv, hdr] of v.samples) {
        const sentAt = s.protocol === 'legacy' ? sendTimes[camIdx]?.[seq! - 1] : hdr;
        if (sentAt !== undefined) lat.push(recv! - sentAt);
      }
    }
    lat.sort((a, b) => a - b);
    const expected = list.reduce((a, v) => a + (perCamera[Number(v.cam.split('-')[1])] ?? 0), 0);
    const delivered = list.reduce((a, v) => a + v.frames, 0);
    return {
      viewers: list.length, expected, delivered, dropped: Math.max(0, expected - delivered), outOfOrder: list.reduce((a, v) => a + v.outOfOrder, 0),
      fps: list.length ? delivered / list.length / (durationMs / 1000) : 0, p50: pct(lat, 50), p99: pct(lat, 99), max: lat.length ? lat[lat.length - 1]! : NaN,
      bytes: list.reduce((a, v) => a + v.bytes, 0),
    };
  };
  const fast = summarise(viewers.filter((v) => !v.slow));
  const slowList = viewers.filter((v) => v.slow);
  const slow = slowList.length ? summarise(slowList) : undefined;
  const deliveredGB = (fast.bytes + (slow?.bytes ?? 0)) / 1e9;
  return { target, sent, cpuSeconds: cpu, deliveredGB, cpuPerGB: cpu / deliveredGB, peakRssMb: rss, fast, ...(slow ? { slow } : {}) };
}

async function waitHttp(port: number): Promise<void> {
  const end = Date.now() + 15_000;
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return;
    } catch {
      // not yet
    }
    if (Date.now() > end) throw new Error('cam2mqtt did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
}

const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '-');
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '-');

function table(s: Scenario, runs: RunResult[]): string {
  const rows = [['target', 'class', 'viewers', 'expected', 'delivered', 'dropped', 'fps/viewer', 'p50 ms', 'p99 ms', 'max ms', 'CPU s', 'GB out', 'CPU s/GB', 'peak RSS MB']];
  for (const r of runs) {
    for (const [cls, c] of [['fast', r.fast], ['slow', r.slow]] as const) {
      if (!c) continue;
      rows.push([r.target, cls, String(c.viewers), String(c.expected), String(c.delivered), String(c.dropped), f1(c.fps), f1(c.p50), f1(c.p99), f1(c.max), cls === 'fast' ? f2(r.cpuSeconds) : '', cls === 'fast' ? f2(r.deliveredGB) : '', cls === 'fast' ? f2(r.cpuPerGB) : '', cls === 'fast' ? f1(r.peakRssMb) : '']);
    }
  }
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) => r.map((c, i) => c.padStart(w[i]!)).join('  '));
  const c = runs.find((r) => r.target === 'cam2mqtt');
  const b = runs.find((r) => r.target === 'baseline');
  const ratio = c && b ? `CPU/GB ratio cam2mqtt/baseline: ${f2(c.cpuPerGB / b.cpuPerGB)}; p99 ratio: ${f2(c.fast.p99 / b.fast.p99)}` : '';
  return `\nScenario ${s.id}: ${s.name}\n${lines.join('\n')}\n${ratio}\n`;
}

const program = new Command()
  .option('--scenario <list>', 'comma-separated scenario ids or "all"', 'all')
  .option('--duration <s>', 'measured seconds per run', '20')
  .option('--out <file>', 'JSON results', path.join(ROOT, 'bench/results/latest.json'))
  .option('--quick', 'one short scenario (smoke test)')
  .option('--profile <dir>', 'write a V8 CPU profile of the cam2mqtt process (open in Chrome DevTools or speedscope)')
  .parse();
const opts = program.opts<{ scenario: string; duration: string; out: string; quick?: boolean; profile?: string }>();
const profileDir = opts.profile ? path.resolve(opts.profile) : undefined;
let chosen = opts.scenario === 'all' ? SCENARIOS : SCENARIOS.filter((s) => opts.scenario.split(',').map(Number).includes(s.id));
let durationMs = Number(opts.duration) * 1000;
if (opts.quick) {
  chosen = [{ ...SCENARIOS[1]!, name: 'quick: 1 camera VGA 25 fps, 20 viewers', viewersPerCamera: 20 }];
  durationMs = 3000;
}
const results: { scenario: Scenario; runs: RunResult[] }[] = [];
for (const s of chosen) {
  const runs: RunResult[] = [];
  for (const target of ['baseline', 'cam2mqtt'] as const) runs.push(await runOnce(s, target, durationMs));
  results.push({ scenario: s, runs });
  process.stdout.write(table(s, runs));
}
mkdirSync(path.dirname(opts.out), { recursive: true });
writeFileSync(opts.out, `${JSON.stringify({ date: new Date().toISOString(), node: process.version, durationMs, results }, null, 2)}\n`);
process.stdout.write(`\nresults written to ${opts.out}\n`);
