// npm run bench -- [--scenario 1,2,...|all] [--duration S] [--out FILE] [--quick]
// npm run bench -- --soak SECONDS: the memory soak instead (bench/soak.ts)
// Runs cam2mqtt as its own process, the load from other processes, and the raw baseline under the same
// load, and reports frames, drops, fps, latency, CPU per delivered GB and peak RSS side by side.
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { NODE_FLAGS } from '../src/node-flags.js';
import { type Child, freePort, spawnChild } from './load/child.js';
import { SCENARIOS, type Scenario, SERIES } from './scenarios.js';

const DIST = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const ROOT = path.resolve(DIST, '..');
const TICK = 100; // USER_HZ
// BENCH_SERVER_LOG: keep the output of cam2mqtt and the baseline (each line tagged) in a file.
const serverLog = process.env.BENCH_SERVER_LOG;
// BENCH_NODE_ARGS: extra node flags for cam2mqtt and the baseline alike (experiments, e.g. --trace-gc).
// cam2mqtt runs with its own NODE_FLAGS first, as when started any other way (BENCH_NO_NODE_FLAGS=1: without).
const extraNodeArgs = process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
// BENCH_AB_DIST: the dist/ directory of another build of cam2mqtt (e.g. the commit before a change):
// every round then also runs it, labelled "cam2mqtt B", so a change is measured within one run.
// BENCH_AB_NODE_ARGS: extra node flags for "cam2mqtt B" only (B is then this build unless BENCH_AB_DIST says).
const abNodeArgs = process.env.BENCH_AB_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
const abDist = process.env.BENCH_AB_DIST
  ? path.resolve(process.env.BENCH_AB_DIST)
  : abNodeArgs.length
    ? DIST
    : undefined;

export type { Scenario } from './scenarios.js';

function child(
  script: string,
  args: string[],
  env: Record<string, string> = {},
  nodeArgs: string[] = [],
  dist = DIST,
): Child {
  return spawnChild(dist, script, args, {
    env,
    nodeArgs,
    // cam2mqtt's own log lines (and --trace-gc output): kept in a file when BENCH_SERVER_LOG is set.
    otherLine: (line) => {
      if (serverLog && (script === 'src/cli.js' || script.startsWith('bench/baseline')))
        appendFileSync(serverLog, `${script === 'src/cli.js' ? 'cam2mqtt' : 'baseline'} ${line}\n`);
    },
  });
}

function cpuSeconds(pid: number): number {
  const t = cpuTimes(pid);
  return t.user + t.sys;
}

/** User and system (kernel: socket reads and writes) CPU seconds of a process so far. */
function cpuTimes(pid: number): { user: number; sys: number } {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return { user: Number(f[11]) / TICK, sys: Number(f[12]) / TICK };
}

function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

const pct = (a: number[], p: number) => (a.length ? a[Math.min(a.length - 1, Math.floor((p / 100) * a.length))]! : NaN);

export interface ClassResult {
  viewers: number;
  expected: number;
  delivered: number;
  dropped: number;
  outOfOrder: number;
  fps: number;
  p50: number;
  p99: number;
  max: number;
  bytes: number;
}
export interface RunResult {
  target: 'cam2mqtt' | 'baseline';
  label?: string;
  sent: number;
  sentGB: number;
  cpuSeconds: number;
  deliveredGB: number;
  cpuPerGB: number;
  /** Of cpuSeconds, the kernel's part (system time). */
  cpuSys?: number;
  /** Idle scenarios: CPU seconds per camera per hour of running. */
  cpuPerCameraHour?: number;
  peakRssMb: number;
  fast: ClassResult;
  slow?: ClassResult;
  page?: ClassResult;
  mqtt?: {
    normalMessages: number;
    normalRatePerS: number;
    normalGapP99Ms: number;
    slowBytes?: number;
    slowDisconnected?: boolean;
  };
}

/** Wait until a child has printed a line that `pred` accepts. */
async function lineOf<T>(c: Child, pred: (l: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const hit = (c.lines as T[]).find(pred);
    if (hit) return hit;
    if (Date.now() > end) throw new Error('a load process did not report in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function runOnce(
  s: Scenario,
  target: 'cam2mqtt' | 'baseline',
  durationMs: number,
  variant?: { dist: string; nodeArgs: string[] },
): Promise<RunResult> {
  const dist = variant?.dist ?? DIST;
  const port = await freePort();
  const mqttPort = await freePort();
  const pulled = s.protocol === 'pulled';
  // Pulled cameras: the MJPEG sources (16 per process) listen first; the server then connects to them.
  const camProcs: Child[] = [];
  const urls: string[] = [];
  if (pulled) {
    for (let first = 0; first < s.cameras; first += 16) {
      const count = Math.min(16, s.cameras - first);
      camProcs.push(
        child('bench/load/mjpeg-sources.js', [JSON.stringify({ count, fps: s.fps, profile: s.profile, durationMs })]),
      );
    }
    await Promise.all(camProcs.map((c) => c.ready));
    for (const c of camProcs) {
      const { ports } = await lineOf<{ ports?: number[] }>(c, (l) => Array.isArray(l.ports));
      urls.push(...ports!.map((p) => `http://127.0.0.1:${p}/stream`));
    }
  }
  let server: Child;
  let dataDir = '';
  if (target === 'cam2mqtt') {
    dataDir = mkdtempSync(path.join(tmpdir(), 'cam2mqtt-bench-'));
    const cams = Array.from({ length: s.cameras }, (_, i) =>
      [
        `  bench-${i}:`,
        `    snapshot_interval: ${s.snapshotInterval ?? 0}`,
        ...(pulled ? [`    mjpeg_url: ${urls[i]}`] : []),
        ...(s.cameraConfig ?? []).map((l) => `    ${l}`),
      ].join('\n'),
    ).join('\n');
    writeFileSync(
      path.join(dataDir, 'configuration.yaml'),
      `http:\n  host: 127.0.0.1\n  port: ${port}\nlog:\n  level: warn\nmqtt:\n  host: 127.0.0.1\n  port: ${mqttPort}\nlimits:\n  max_cameras: 1024\n  max_pending_connections: 1024\ncameras:\n${cams}\n${s.config ?? ''}`,
    );
    server = child(
      'src/cli.js',
      ['--data-dir', dataDir],
      {},
      [
        ...(process.env.BENCH_NO_NODE_FLAGS ? [] : NODE_FLAGS),
        ...extraNodeArgs,
        ...(variant?.nodeArgs ?? []),
        ...(profileDir
          ? ['--cpu-prof', '--cpu-prof-dir', path.join(profileDir, variant ? 'cam2mqtt-b' : 'cam2mqtt')]
          : []),
      ],
      dist,
    );
    await waitHttp(port);
  } else {
    const prof = profileDir ? ['--cpu-prof', '--cpu-prof-dir', path.join(profileDir, 'baseline')] : [];
    server = pulled
      ? child(
          'bench/baseline-pulled.js',
          [String(port), JSON.stringify(Object.fromEntries(urls.map((u, i) => [`bench-${i}`, u])))],
          {},
          [...extraNodeArgs, ...prof],
        )
      : child('bench/baseline.js', [String(port)], {}, [...extraNodeArgs, ...prof]);
    await server.ready;
  }
  if (pulled) {
    // Every source has its puller before anything starts.
    await Promise.all(camProcs.map((c) => lineOf<{ connected?: boolean }>(c, (l) => l.connected === true)));
  } else {
    const camUrl = `ws://127.0.0.1:${port}${s.protocol === 'mjpeg2sd' ? '/ws' : '/api/camera'}`;
    // Cameras in groups of 16 per process so the load side is not the bottleneck.
    for (let first = 0; first < s.cameras; first += 16) {
      const count = Math.min(16, s.cameras - first);
      camProcs.push(
        child('bench/load/cameras.js', [
          JSON.stringify({
            url: camUrl,
            protocol: s.protocol,
            count,
            fps: s.fps,
            profile: s.profile,
            durationMs,
            idPrefix: 'bench',
            offset: first,
            motion: s.motion,
          }),
        ]),
      );
    }
    await Promise.all(camProcs.map((c) => c.ready));
  }
  const ids = Array.from({ length: s.cameras }, (_, i) => `bench-${i}`);
  const viewerProcs: Child[] = [];
  const perProc =
    s.viewersPerCamera === 0 && !s.slow ? 0 : Math.max(1, Math.ceil((s.cameras * s.viewersPerCamera) / 200));
  for (let k = 0; k < perProc; k++) {
    const camsHere = ids.filter((_, i) => i % perProc === k);
    viewerProcs.push(
      child('bench/load/viewers.js', [
        JSON.stringify({
          base: `http://127.0.0.1:${port}`,
          cameras: camsHere,
          perCamera: s.viewersPerCamera,
          durationMs,
          ...(k === 0 && s.slow ? { slow: s.slow } : {}),
        }),
      ]),
    );
  }
  const extra: Child[] = [];
  let pageProc: Child | undefined;
  let mqttProc: Child | undefined;
  if (target === 'cam2mqtt' && s.pageClients) {
    pageProc = child('bench/load/page-clients.js', [
      JSON.stringify({ url: `ws://127.0.0.1:${port}/api/ws`, cameras: ids, count: s.pageClients, durationMs }),
    ]);
    extra.push(pageProc);
  }
  if (target === 'cam2mqtt' && s.mqttSubs) {
    mqttProc = child('bench/load/mqtt-sub.js', [JSON.stringify({ port: mqttPort, durationMs, ...s.mqttSubs })]);
    extra.push(mqttProc);
  }
  await Promise.all([...viewerProcs, ...extra].map((v) => v.ready));
  const pid = server.proc.pid!;
  let cpu0 = cpuSeconds(pid);
  let times0 = cpuTimes(pid);
  const all = [...camProcs, ...viewerProcs, ...extra];
  for (const c of all) c.proc.stdin!.write('go\n');
  const warmupMs = (s.warmupS ?? 0) * 1000;
  if (warmupMs > 0) {
    await new Promise((r) => setTimeout(r, warmupMs));
    cpu0 = cpuSeconds(pid);
    times0 = cpuTimes(pid);
  }
  // The share of the bytes that flowed while CPU was counted (frames flow at a steady rate).
  const counted = (durationMs - warmupMs) / durationMs;
  await Promise.all(all.map((c) => c.done));
  const cpu = cpuSeconds(pid) - cpu0;
  const times1 = cpuTimes(pid);
  const cpuSys = times1.sys - times0.sys;
  const rss = peakRssMb(pid);
  server.proc.kill('SIGINT');
  await server.done;
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });

  const camOut = camProcs.map(
    (c) =>
      (c.lines as { sent?: number; bytes: number; perCamera: number[]; sendTimes?: number[][] }[]).find(
        (l) => l.sent !== undefined,
      ) as { sent: number; bytes: number; perCamera: number[]; sendTimes?: number[][] },
  );
  const sent = camOut.reduce((a, c) => a + c.sent, 0);
  const sentGB = camOut.reduce((a, c) => a + c.bytes, 0) / 1e9;
  const perCamera = camOut.flatMap((c) => c.perCamera);
  const sendTimes = camOut.flatMap((c) => c.sendTimes ?? []);
  const viewers = viewerProcs.flatMap(
    (v) =>
      (
        v.lines[0] as {
          viewers: {
            cam: string;
            slow: boolean;
            frames: number;
            bytes: number;
            gaps: number;
            outOfOrder: number;
            samples: number[][];
          }[];
        }
      ).viewers,
  );
  const summarise = (
    list: { cam: string; frames: number; bytes: number; outOfOrder?: number; samples: number[][] }[],
    expectedOverride?: number,
  ): ClassResult => {
    const lat: number[] = [];
    for (const v of list) {
      const camIdx = Number(v.cam.split('-')[1]);
      for (const [seq, recv, hdr] of v.samples) {
        const sentAt = s.protocol === 'native' ? hdr : sendTimes[camIdx]?.[seq! - 1];
        if (sentAt !== undefined) lat.push(recv! - sentAt);
      }
    }
    lat.sort((a, b) => a - b);
    const expected = expectedOverride ?? list.reduce((a, v) => a + (perCamera[Number(v.cam.split('-')[1])] ?? 0), 0);
    const delivered = list.reduce((a, v) => a + v.frames, 0);
    return {
      viewers: list.length,
      expected,
      delivered,
      dropped: Math.max(0, expected - delivered),
      outOfOrder: list.reduce((a, v) => a + (v.outOfOrder ?? 0), 0),
      fps: list.length ? delivered / list.length / (durationMs / 1000) : 0,
      p50: pct(lat, 50),
      p99: pct(lat, 99),
      max: lat.length ? lat[lat.length - 1]! : NaN,
      bytes: list.reduce((a, v) => a + v.bytes, 0),
    };
  };
  const fast = summarise(viewers.filter((v) => !v.slow));
  const slowList = viewers.filter((v) => v.slow);
  const slow = slowList.length ? summarise(slowList) : undefined;
  let page: ClassResult | undefined;
  if (pageProc) {
    // Page frames carry the camera index, not its id; seq gaps per camera were counted in the client.
    const clients = (
      pageProc.lines[0] as { clients: { frames: number; bytes: number; gaps: number; samples: number[][] }[] }
    ).clients;
    page = summarise(
      clients.map((c) => ({
        cam: 'page-0',
        frames: c.frames,
        bytes: c.bytes,
        samples: s.protocol === 'native' ? c.samples : [],
      })),
      sent * clients.length,
    );
    page.dropped = clients.reduce((a, c) => a + c.gaps, 0);
  }
  let mqttOut: RunResult['mqtt'];
  if (mqttProc) {
    const m = mqttProc.lines[0] as {
      normal: { messages: number; bytes: number; arrivals: number[] }[];
      slow?: { bytes: number; disconnected: boolean };
    };
    const n = m.normal[0]!;
    const gaps = n.arrivals
      .slice(1)
      .map((t, i) => t - n.arrivals[i]!)
      .sort((a, b) => a - b);
    mqttOut = {
      normalMessages: n.messages,
      normalRatePerS: n.messages / (durationMs / 1000),
      normalGapP99Ms: pct(gaps, 99),
      ...(m.slow ? { slowBytes: m.slow.bytes, slowDisconnected: m.slow.disconnected } : {}),
    };
  }
  const deliveredGB = (fast.bytes + (slow?.bytes ?? 0) + (page?.bytes ?? 0)) / 1e9;
  // With no viewers nothing is delivered: report CPU per GB received instead (the cost of a camera nobody watches).
  const perGB = deliveredGB > 0 ? cpu / (deliveredGB * counted) : cpu / (sentGB * counted);
  return {
    target,
    sent,
    sentGB,
    cpuSeconds: cpu,
    deliveredGB,
    cpuPerGB: perGB,
    cpuSys,
    ...(s.idle ? { cpuPerCameraHour: cpu / s.cameras / ((durationMs - warmupMs) / 3_600_000) } : {}),
    peakRssMb: rss,
    fast,
    ...(slow ? { slow } : {}),
    ...(page ? { page } : {}),
    ...(mqttOut ? { mqtt: mqttOut } : {}),
  };
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
  const rows = [
    [
      'target',
      'class',
      'viewers',
      'expected',
      'delivered',
      'dropped',
      'fps/viewer',
      'p50 ms',
      'p99 ms',
      'max ms',
      'CPU s',
      'GB out',
      'CPU s/GB',
      'peak RSS MB',
    ],
  ];
  for (const r of runs) {
    for (const [cls, c] of [
      ['fast', r.fast],
      ['slow', r.slow],
      ['page', r.page],
    ] as const) {
      if (!c || (cls === 'fast' && c.viewers === 0 && r.fast !== c)) continue;
      rows.push([
        r.label ?? r.target,
        cls,
        String(c.viewers),
        String(c.expected),
        String(c.delivered),
        String(c.dropped),
        f1(c.fps),
        f1(c.p50),
        f1(c.p99),
        f1(c.max),
        cls === 'fast' ? `${f2(r.cpuSeconds)} (${f2(r.cpuSys ?? NaN)} sys)` : '',
        cls === 'fast' ? f2(r.deliveredGB) : '',
        cls === 'fast' ? f2(r.cpuPerGB) : '',
        cls === 'fast' ? f1(r.peakRssMb) : '',
      ]);
    }
  }
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) => r.map((c, i) => c.padStart(w[i]!)).join('  '));
  const c = runs.find((r) => r.target === 'cam2mqtt');
  const b = runs.find((r) => r.target === 'baseline');
  const ratio =
    c && b
      ? `CPU/GB ratio cam2mqtt/baseline: ${f2(c.cpuPerGB / b.cpuPerGB)}; p99 ratio: ${f2(c.fast.p99 / b.fast.p99)}${c.cpuPerCameraHour !== undefined ? `; idle CPU s per camera-hour: cam2mqtt ${f1(c.cpuPerCameraHour)}, baseline ${f1(b.cpuPerCameraHour ?? NaN)}` : ''}`
      : '';
  const bRun = runs.find((r) => r.label === 'cam2mqtt B');
  const abLine =
    bRun && b && c
      ? `\nCPU/GB ratio cam2mqtt B/baseline: ${f2(bRun.cpuPerGB / b.cpuPerGB)}; cam2mqtt/cam2mqtt B: ${f2(c.cpuPerGB / bRun.cpuPerGB)}; peak RSS ${f1(c.peakRssMb)} vs ${f1(bRun.peakRssMb)} MB`
      : '';
  const mq = runs
    .filter((r) => r.mqtt)
    .map(
      (r) =>
        `MQTT (${r.label ?? r.target}): normal subscriber ${r.mqtt!.normalMessages} snapshots (${f1(r.mqtt!.normalRatePerS)}/s, p99 gap ${f1(r.mqtt!.normalGapP99Ms)} ms)${r.mqtt!.slowBytes !== undefined ? `; slow subscriber read ${(r.mqtt!.slowBytes / 1e6).toFixed(1)} MB${r.mqtt!.slowDisconnected ? ', disconnected by the broker' : ''}` : ''}`,
    )
    .join('\n');
  return `\nScenario ${s.id}: ${s.name}\n${lines.join('\n')}\n${ratio}${abLine}\n${mq ? `${mq}\n` : ''}`;
}

const program = new Command()
  .option(
    '--scenario <list>',
    'comma-separated scenario ids, "main" (1-6), "pulled" (7-10), "scaling" (11-19) or "all" (every one but the diagnostics)',
    'all',
  )
  .option('--duration <s>', 'measured seconds per run', '10')
  .option('--rounds <n>', 'alternating baseline/cam2mqtt rounds per scenario; the median is reported', '3')
  .option('--out <file>', 'JSON results', path.join(ROOT, 'bench/results/latest.json'))
  .option('--quick', 'one short scenario (smoke test)')
  .option(
    '--profile <dir>',
    'write V8 CPU profiles of cam2mqtt and the baseline to <dir>/cam2mqtt and <dir>/baseline (open in Chrome DevTools or speedscope)',
  )
  .option('--soak <s>', 'soak for <s> seconds instead: memory of cam2mqtt under changing load, and its slope')
  .option('--soak-interval <s>', 'seconds between soak samples', '60')
  .option('--soak-warmup <s>', 'seconds of soak left out of the slope (default: 1800, or half of a shorter soak)')
  .option('--soak-fps <n>', 'frames per second of each of the 8 soak cameras', '8')
  .option('--soak-snapshots <dir>', 'write a heap snapshot of cam2mqtt at the end of the soak into <dir>')
  .parse();
const opts = program.opts<{
  scenario: string;
  duration: string;
  rounds: string;
  out: string;
  quick?: boolean;
  profile?: string;
  soak?: string;
  soakInterval: string;
  soakWarmup?: string;
  soakFps: string;
  soakSnapshots?: string;
}>();
if (opts.soak) {
  const { runSoak } = await import('./soak.js');
  const durationS = Number(opts.soak);
  await runSoak({
    dist: DIST,
    root: ROOT,
    durationS,
    intervalS: Number(opts.soakInterval),
    warmupS: opts.soakWarmup ? Number(opts.soakWarmup) : Math.min(1800, durationS / 2),
    cameras: 8,
    fps: Number(opts.soakFps),
    snapshotsDir: opts.soakSnapshots,
    out: program.getOptionValueSource('out') === 'cli' ? opts.out : undefined,
  });
  process.exit(0);
}
let rounds_ = Math.max(1, Number(opts.rounds));
const profileDir = opts.profile ? path.resolve(opts.profile) : undefined;
let chosen =
  opts.scenario === 'all'
    ? SCENARIOS.filter((s) => !s.diagnostic)
    : opts.scenario === 'main'
      ? SCENARIOS.filter((s) => !s.scaling && !s.diagnostic && s.protocol !== 'pulled')
      : opts.scenario === 'pulled'
        ? SCENARIOS.filter((s) => s.protocol === 'pulled' && !s.diagnostic)
        : opts.scenario === 'scaling'
          ? SCENARIOS.filter((s) => s.scaling)
          : SCENARIOS.filter((s) => opts.scenario.split(',').map(Number).includes(s.id));
let durationMs = Number(opts.duration) * 1000;
if (opts.quick) {
  // One dial-in and one pulled scenario, short.
  chosen = [
    { ...SCENARIOS.find((x) => x.id === 2)!, name: 'quick: 1 camera VGA 25 fps, 20 viewers', viewersPerCamera: 20 },
    {
      ...SCENARIOS.find((x) => x.id === 7)!,
      name: 'quick pulled: 1 camera VGA 25 fps, 20 viewers',
      viewersPerCamera: 20,
    },
  ];
  durationMs = 3000;
  rounds_ = 1;
}
const mid = (xs: number[]) => {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return v.length ? v[Math.floor(v.length / 2)]! : NaN;
};

/**
 * The round with the median CPU per GB, with each latency figure replaced by its median over the rounds:
 * one VM's run-to-run noise is larger than the differences measured, and a hiccup of the machine in
 * one round must not decide the latency of the whole scenario.
 */
function median(rounds: RunResult[]): RunResult {
  const sorted = [...rounds].sort((a, b) => a.cpuPerGB - b.cpuPerGB);
  const pick = sorted[Math.floor(sorted.length / 2)]!;
  const lat = (c: ClassResult | undefined, all: (ClassResult | undefined)[]): ClassResult | undefined =>
    c && {
      ...c,
      p50: mid(all.map((x) => x?.p50 ?? NaN)),
      p99: mid(all.map((x) => x?.p99 ?? NaN)),
      max: mid(all.map((x) => x?.max ?? NaN)),
    };
  return {
    ...pick,
    fast: lat(
      pick.fast,
      rounds.map((r) => r.fast),
    )!,
    slow: lat(
      pick.slow,
      rounds.map((r) => r.slow),
    ),
    page: lat(
      pick.page,
      rounds.map((r) => r.page),
    ),
  };
}

const results: { scenario: Scenario; runs: RunResult[]; rounds: RunResult[][] }[] = [];

/** Least-squares slope of log(CPU s) against log(x): the exponent of the cost's growth. */
export function exponent(points: { x: number; y: number }[]): number {
  const p = points.filter((q) => q.x > 0 && q.y > 0).map((q) => ({ x: Math.log(q.x), y: Math.log(q.y) }));
  if (p.length < 2) return NaN;
  const mx = p.reduce((a, q) => a + q.x, 0) / p.length;
  const my = p.reduce((a, q) => a + q.y, 0) / p.length;
  const sxy = p.reduce((a, q) => a + (q.x - mx) * (q.y - my), 0);
  const sxx = p.reduce((a, q) => a + (q.x - mx) ** 2, 0);
  return sxy / sxx;
}

function scalingFits(res: typeof results): string {
  const lines: string[] = [];
  for (const [name, series] of Object.entries(SERIES)) {
    const got = series.ids.map((id) => res.find((r) => r.scenario.id === id)).filter((r) => r !== undefined);
    if (got.length < 2) continue;
    for (const target of ['cam2mqtt', 'baseline'] as const) {
      const pts = got.map((r) => ({
        x: series.x(r.scenario),
        y: r.runs.find((x) => x.target === target && !x.label)!.cpuSeconds,
      }));
      lines.push(
        `Scaling exponent (log-log fit of CPU s) against ${name}, ${target}: ${exponent(pts).toFixed(2)} over ${pts.map((q) => `${q.x}:${f2(q.y)}`).join(' ')}`,
      );
    }
  }
  return lines.join('\n');
}
for (const s of chosen) {
  const rounds: RunResult[][] = [];
  // Baseline and cam2mqtt alternate, so slow drifts of the machine hit both alike.
  for (let r = 0; r < rounds_; r++) {
    const round: RunResult[] = [];
    const ms = Math.max(durationMs, (s.minDurationS ?? 0) * 1000);
    for (const target of ['baseline', 'cam2mqtt'] as const) round.push(await runOnce(s, target, ms));
    if (abDist)
      round.push({
        ...(await runOnce(s, 'cam2mqtt', ms, { dist: abDist, nodeArgs: abNodeArgs })),
        label: 'cam2mqtt B',
      });
    if (s.mqttSubs?.slow) {
      // The same run without the slow subscriber: what "no change" is measured against.
      const ref = await runOnce({ ...s, mqttSubs: { normal: s.mqttSubs.normal } }, 'cam2mqtt', ms);
      round.push({ ...ref, label: 'cam2mqtt (no slow sub)' });
    }
    rounds.push(round);
  }
  const runs = rounds[0]!.map((_, i) => median(rounds.map((round) => round[i]!)));
  results.push({ scenario: s, runs, rounds });
  process.stdout.write(table(s, runs));
}
const fits = scalingFits(results);
if (fits) process.stdout.write(`\n${fits}\n`);
mkdirSync(path.dirname(opts.out), { recursive: true });
writeFileSync(
  opts.out,
  `${JSON.stringify({ date: new Date().toISOString(), node: process.version, commit: gitCommit(), load: loadavg(), durationMs, rounds: rounds_, results, scaling: fits }, null, 2)}\n`,
);
process.stdout.write(`\nresults written to ${opts.out}\n`);

function gitCommit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}
