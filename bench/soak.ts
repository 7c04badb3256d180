// npm run bench -- --soak SECONDS [--soak-interval S] [--soak-warmup S] [--soak-fps N] [--soak-snapshots DIR]
// Runs cam2mqtt for a long time under moderate, changing load (8 native cameras VGA, MJPEG viewers and
// control-page clients joining and leaving, an MQTT subscriber on the snapshots) and samples its memory
// through the V8 inspector: RSS and heap before and after a forced full GC, every interval. The slope
// (MB/hour after warm-up, least squares) says whether anything grows. Writes bench/results/soak-<date>.json.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { NODE_FLAGS } from '../src/node-flags.js';
import { freePort, spawnChild } from './load/child.js';

export interface SoakOptions {
  dist: string;
  root: string;
  durationS: number;
  intervalS: number;
  warmupS: number;
  cameras: number;
  fps: number;
  snapshotsDir?: string;
  out?: string;
}

export interface SoakSample {
  /** Seconds since the load started. */
  t: number;
  rssMb: number;
  heapUsedMb: number;
  heapTotalMb: number;
  externalMb: number;
  /** After a full GC forced through the inspector: what is really live. */
  rssAfterGcMb: number;
  heapAfterGcMb: number;
  externalAfterGcMb: number;
  healthzMs: number;
  /** The machine's 1-minute load average (other work on the machine shows here). */
  load1?: number;
}

const child = (dist: string, script: string, args: string[], nodeArgs: string[] = []) =>
  spawnChild(dist, script, args, { nodeArgs });

/** A minimal Chrome DevTools Protocol client on the bridge's inspector port. */
class Inspector {
  private id = 0;
  private pending = new Map<number, (v: { result?: unknown; error?: unknown }) => void>();
  private chunks: string[] = [];
  private constructor(private ws: WebSocket) {
    ws.on('message', (d: Buffer) => {
      const m = JSON.parse(d.toString()) as { id?: number; method?: string; params?: { chunk: string } };
      if (m.id !== undefined) {
        this.pending.get(m.id)?.(m as { result?: unknown });
        this.pending.delete(m.id);
      } else if (m.method === 'HeapProfiler.addHeapSnapshotChunk') this.chunks.push(m.params!.chunk);
    });
  }
  static async connect(port: number): Promise<Inspector> {
    const end = Date.now() + 15_000;
    for (;;) {
      try {
        const list = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as {
          webSocketDebuggerUrl: string;
        }[];
        const ws = new WebSocket(list[0]!.webSocketDebuggerUrl, { perMessageDeflate: false });
        await new Promise((resolve, reject) => {
          ws.once('open', resolve);
          ws.once('error', reject);
        });
        const i = new Inspector(ws);
        await i.call('HeapProfiler.enable');
        return i;
      } catch (e) {
        if (Date.now() > end) throw e;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }
  call<T = unknown>(method: string, params: object = {}): Promise<T> {
    const id = ++this.id;
    return new Promise((resolve, reject) => {
      this.pending.set(id, (m) => (m.error ? reject(new Error(JSON.stringify(m.error))) : resolve(m.result as T)));
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }
  async memory(): Promise<{ rss: number; heapUsed: number; heapTotal: number; external: number }> {
    const r = await this.call<{ result: { value: string } }>('Runtime.evaluate', {
      expression: 'JSON.stringify(process.memoryUsage())',
      returnByValue: true,
    });
    return JSON.parse(r.result.value);
  }
  async liveSince(): Promise<ProfileNode> {
    const r = await this.call<{ profile: { head: ProfileNode } }>('HeapProfiler.getSamplingProfile');
    await this.call('HeapProfiler.stopSampling');
    return r.profile.head;
  }
  async snapshot(file: string): Promise<void> {
    this.chunks = [];
    await this.call('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
    writeFileSync(file, this.chunks.join(''));
    this.chunks = [];
  }
  close(): void {
    this.ws.close();
  }
}

/** Least-squares slope of y over t (seconds), in units per hour. */
export function slopePerHour(points: { t: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return NaN;
  const mt = points.reduce((a, p) => a + p.t, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.t - mt) * (p.y - my);
    den += (p.t - mt) ** 2;
  }
  return den > 0 ? (num / den) * 3600 : NaN;
}

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

export interface LiveSite {
  /** The allocating function and its two callers. */
  stack: string;
  kb: number;
}

/**
 * Memory allocated since the sampling heap profiler started and still live at the end, by allocation
 * site (sampled every 32 KB on average, so small sites are approximate). A leak shows as a site here.
 */
function liveSites(head: ProfileNode): { totalKb: number; top: LiveSite[] } {
  const sites = new Map<string, number>();
  let total = 0;
  const frame = (n: ProfileNode) =>
    `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^.*\/(dist|node_modules)\//, '$1/')}:${n.callFrame.lineNumber + 1}`;
  const walk = (n: ProfileNode, stack: ProfileNode[]) => {
    const here = [...stack, n];
    if (n.selfSize > 0) {
      const key = here.slice(-3).reverse().map(frame).join(' < ');
      sites.set(key, (sites.get(key) ?? 0) + n.selfSize);
      total += n.selfSize;
    }
    for (const c of n.children) walk(c, here);
  };
  walk(head, []);
  const top = [...sites]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 12)
    .map(([stack, size]) => ({ stack, kb: size / 1024 }));
  return { totalKb: total / 1024, top };
}

const mb = (b: number) => b / 1024 / 1024;
const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '-');
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '-');

export function soakTable(samples: SoakSample[], warmupS: number): string {
  const rows = [
    ['min', 'RSS MB', 'heap MB', 'ext MB', 'RSS after GC', 'heap after GC', 'ext after GC', 'healthz ms', ''],
  ];
  for (const s of samples)
    rows.push([
      f1(s.t / 60),
      f1(s.rssMb),
      f1(s.heapUsedMb),
      f1(s.externalMb),
      f1(s.rssAfterGcMb),
      f2(s.heapAfterGcMb),
      f1(s.externalAfterGcMb),
      String(Math.round(s.healthzMs)),
      s.t < warmupS ? 'warm-up' : '',
    ]);
  const w = rows[0]!.map((_, i) => Math.max(3, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(w[i]!)).join(' | ')} |`;
  return [line(rows[0]!), line(w.map((n) => '-'.repeat(n))), ...rows.slice(1).map(line)].join('\n');
}

export async function runSoak(o: SoakOptions): Promise<void> {
  const port = await freePort();
  const mqttPort = await freePort();
  const inspectPort = await freePort();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'cam2mqtt-soak-'));
  const ids = Array.from({ length: o.cameras }, (_, i) => `soak-${i}`);
  writeFileSync(
    path.join(dataDir, 'configuration.yaml'),
    `http:\n  host: 127.0.0.1\n  port: ${port}\nlog:\n  level: warn\nmqtt:\n  host: 127.0.0.1\n  port: ${mqttPort}\ncameras:\n${ids.map((id) => `  ${id}:\n    snapshot_interval: 5`).join('\n')}\n`,
  );
  const server = child(
    o.dist,
    'src/cli.js',
    ['--data-dir', dataDir],
    [...NODE_FLAGS, `--inspect=127.0.0.1:${inspectPort}`],
  );
  const t0 = Date.now();
  const started = new Date();
  let exitCode: number | null | undefined;
  server.proc.on('exit', (code) => {
    exitCode = code;
  });
  const healthz = async (): Promise<number> => {
    const a = performance.now();
    const r = await fetch(`http://127.0.0.1:${port}/healthz`);
    await r.arrayBuffer();
    if (!r.ok) throw new Error(`healthz ${r.status}`);
    return performance.now() - a;
  };
  for (let end = Date.now() + 20_000; ; ) {
    try {
      await healthz();
      break;
    } catch (e) {
      if (Date.now() > end) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const insp = await Inspector.connect(inspectPort);
  const durationMs = o.durationS * 1000;
  const cams = child(o.dist, 'bench/load/cameras.js', [
    JSON.stringify({
      url: `ws://127.0.0.1:${port}/api/camera`,
      protocol: 'native',
      count: o.cameras,
      fps: o.fps,
      profile: 'VGA',
      durationMs: durationMs + 5000,
      idPrefix: 'soak',
    }),
  ]);
  const churn = child(o.dist, 'bench/load/churn.js', [
    JSON.stringify({ base: `http://127.0.0.1:${port}`, cameras: ids, durationMs }),
  ]);
  const mqttSub = child(o.dist, 'bench/load/mqtt-sub.js', [JSON.stringify({ port: mqttPort, normal: 1, durationMs })]);
  const load = [cams, churn, mqttSub];
  await Promise.all(load.map((c) => c.ready));
  for (const c of load) c.proc.stdin!.write('go\n');
  const loadStart = Date.now();
  process.stdout.write(
    `soak: ${o.cameras} native cameras VGA ${o.fps} fps, churning viewers and page clients, 1 MQTT subscriber; ${o.durationS} s, a sample every ${o.intervalS} s, warm-up ${o.warmupS} s\n`,
  );

  const samples: SoakSample[] = [];
  const snapDir = o.snapshotsDir ? path.resolve(o.snapshotsDir) : undefined;
  if (snapDir) mkdirSync(snapDir, { recursive: true });
  let sampling = false;
  const sample = async (t: number) => {
    const rss = readRssMb(server.proc.pid!);
    const m = await insp.memory();
    const hz = await healthz();
    await insp.call('HeapProfiler.collectGarbage');
    const g = await insp.memory();
    const s: SoakSample = {
      t,
      rssMb: rss,
      heapUsedMb: mb(m.heapUsed),
      heapTotalMb: mb(m.heapTotal),
      externalMb: mb(m.external),
      rssAfterGcMb: readRssMb(server.proc.pid!),
      heapAfterGcMb: mb(g.heapUsed),
      externalAfterGcMb: mb(g.external),
      healthzMs: hz,
      load1: loadavg()[0]!,
    };
    samples.push(s);
    process.stdout.write(
      `  ${f1(t / 60)} min: RSS ${f1(s.rssMb)} MB, heap ${f1(s.heapUsedMb)} MB; after GC: RSS ${f1(s.rssAfterGcMb)} MB, heap ${f2(s.heapAfterGcMb)} MB, external ${f1(s.externalAfterGcMb)} MB; healthz ${Math.round(hz)} ms; load ${f1(s.load1!)}\n`,
    );
  };
  for (let k = 0; ; k++) {
    const t = k * o.intervalS;
    if (t > o.durationS) break;
    const wait = loadStart + t * 1000 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (exitCode !== undefined) throw new Error(`cam2mqtt exited with code ${exitCode} during the soak`);
    await sample(t);
    if (!sampling && t >= o.warmupS) {
      // From the end of warm-up: which allocations stay alive (cheap; a heap snapshot would itself
      // grow RSS by ~150 MB and spoil the series).
      await insp.call('HeapProfiler.startSampling', { samplingInterval: 32768 });
      sampling = true;
    }
  }
  const live = sampling ? liveSites(await insp.liveSince()) : undefined;
  // A full heap snapshot only at the very end (for a look in DevTools), after the last sample.
  if (snapDir) await insp.snapshot(path.join(snapDir, `soak-end-${process.pid}.heapsnapshot`));
  await Promise.all(load.map((c) => c.done));
  insp.close();
  server.proc.kill('SIGINT');
  await server.done;
  rmSync(dataDir, { recursive: true, force: true });

  const after = samples.filter((s) => s.t >= o.warmupS);
  const slope = {
    rssMbPerHour: slopePerHour(after.map((s) => ({ t: s.t, y: s.rssMb }))),
    rssAfterGcMbPerHour: slopePerHour(after.map((s) => ({ t: s.t, y: s.rssAfterGcMb }))),
    heapAfterGcMbPerHour: slopePerHour(after.map((s) => ({ t: s.t, y: s.heapAfterGcMb }))),
    externalAfterGcMbPerHour: slopePerHour(after.map((s) => ({ t: s.t, y: s.externalAfterGcMb }))),
  };
  const loadOut = {
    cameras: cams.lines[0] as { sent: number; bytes: number } | undefined,
    churn: churn.lines[0],
    mqtt: (() => {
      const m = mqttSub.lines[0] as { normal: { messages: number; bytes: number }[] } | undefined;
      return m ? { messages: m.normal[0]!.messages, bytes: m.normal[0]!.bytes } : undefined;
    })(),
  };
  const date = started.toISOString().slice(0, 10);
  const out = o.out ?? path.join(o.root, `bench/results/soak-${date}.json`);
  const result = {
    date: started.toISOString(),
    node: process.version,
    setupSeconds: (loadStart - t0) / 1000,
    durationS: o.durationS,
    intervalS: o.intervalS,
    warmupS: o.warmupS,
    load: { cameras: o.cameras, profile: 'VGA', fps: o.fps, protocol: 'native', snapshotInterval: 5 },
    loadOut,
    slope,
    samples,
    ...(live ? { liveSinceWarmup: live } : {}),
  };
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`\n${soakTable(samples, o.warmupS)}\n\n`);
  process.stdout.write(
    `slope after warm-up (${after.length} samples, least squares): RSS ${f2(slope.rssMbPerHour)} MB/h, RSS after GC ${f2(slope.rssAfterGcMbPerHour)} MB/h, heap after GC ${f2(slope.heapAfterGcMbPerHour)} MB/h, external after GC ${f2(slope.externalAfterGcMbPerHour)} MB/h\n`,
  );
  process.stdout.write(`load: ${JSON.stringify(loadOut)}\n`);
  if (live) {
    process.stdout.write(
      `allocated after warm-up and still live at the end (sampling heap profiler): ${f1(live.totalKb)} KB; top sites:\n`,
    );
    for (const l of live.top) process.stdout.write(`  ${f1(l.kb)} KB  ${l.stack}\n`);
  }
  process.stdout.write(`results written to ${out}\n`);
}

function readRssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}
