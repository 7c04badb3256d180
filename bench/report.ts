// Renders the figures section of docs/performance.md from a results file:
//   node dist/bench/report.js [bench/results/latest.json] > /tmp/figures.md
import { readFileSync } from 'node:fs';
import type { RunResult, Scenario } from './run.js';

interface Results {
  date: string;
  node: string;
  commit?: string;
  load?: number[];
  durationMs: number;
  rounds: number;
  results: { scenario: Scenario; runs: RunResult[]; rounds?: RunResult[][] }[];
  scaling?: string;
}
const file = process.argv[2] ?? 'bench/results/latest.json';
const r = JSON.parse(readFileSync(file, 'utf8')) as Results;
const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '-');
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '-');
const out: string[] = [];
const by = (id: number) => r.results.find((x) => x.scenario.id === id);
const get = (id: number, label: string) => by(id)?.runs.find((x) => (x.label ?? x.target) === label);

out.push(
  `Measured ${r.date.slice(0, 16).replace('T', ' ')} UTC on this project's CI machine kind (2 cores, 24 GiB), Node ${r.node}${r.commit ? `, commit ${r.commit}` : ''}${r.load ? `, load average at the end ${r.load.map((x) => x.toFixed(1)).join(' / ')}` : ''}, ${r.durationMs / 1000} s per run, median of ${r.rounds} alternating rounds.`,
  '',
);
out.push(
  '| scenario | target | viewers | frames expected | delivered | dropped | fps per viewer | latency p50 / p99 / max (ms) | CPU s | GB delivered | CPU s per GB | peak RSS (MB) |',
);
out.push('|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const { scenario: s, runs } of r.results.filter((x) => !x.scenario.scaling)) {
  runs.forEach((run, ri) => {
    for (const [cls, c] of [
      ['MJPEG', run.fast],
      ['slow MJPEG', run.slow],
      ['page', run.page],
    ] as const) {
      if (!c) continue;
      const first = cls === 'MJPEG';
      out.push(
        `| ${first && ri === 0 ? `${s.id}. ${s.name}` : ''} | ${first ? (run.label ?? run.target) : ''} ${cls} | ${c.viewers} | ${c.expected} | ${c.delivered} | ${c.dropped} | ${f1(c.fps)} | ${f1(c.p50)} / ${f1(c.p99)} / ${f1(c.max)} | ${first ? f2(run.cpuSeconds) : ''} | ${first ? f2(run.deliveredGB) : ''} | ${first ? f2(run.cpuPerGB) : ''} | ${first ? f1(run.peakRssMb) : ''} |`,
      );
    }
  });
}
out.push(
  '',
  '**Against the targets**',
  '',
  '| scenario | CPU per GB, cam2mqtt / baseline (target <= 1.5) | p99 latency, cam2mqtt / baseline (target <= 2) | fast viewers dropped (target 0) |',
  '|---|---|---|---|',
);
for (const id of [1, 2, 3, 6]) {
  const c = get(id, 'cam2mqtt');
  const b = get(id, 'baseline');
  if (!c || !b) continue;
  out.push(
    `| ${id} | ${f2(c.cpuPerGB / b.cpuPerGB)} | ${f2(c.fast.p99 / b.fast.p99)} (${f1(c.fast.p99)} vs ${f1(b.fast.p99)} ms) | ${c.fast.dropped + (c.page?.dropped ?? 0)} |`,
  );
}
// Issue 15's targets: CPU per GB against the raw baseline (dial-in <= 1.0, pulled 16 cameras <= 0.75,
// pulled UXGA <= 0.6), p99 <= 1.5x, peak RSS <= 64 MB (scenarios 1 and 8), scenario 3 <= 1.1 in every round.
const limit: Record<number, number> = { 1: 1, 2: 1, 3: 1, 4: 1, 5: 1, 6: 1, 8: 0.75, 9: 0.6 };
out.push(
  '',
  '**Against the targets of issue 15**',
  '',
  '| scenario | CPU per GB vs baseline (target) | every round | p99 vs baseline (target <= 1.5) | fast dropped | peak RSS MB cam2mqtt / baseline |',
  '|---|---|---|---|---|---|',
);
for (const { scenario: sc, rounds } of r.results.filter((x) => !x.scenario.scaling)) {
  const c = get(sc.id, 'cam2mqtt');
  const b = get(sc.id, 'baseline');
  if (!c || !b) continue;
  const each = (rounds ?? [])
    .map((rd) => {
      const rc = rd.find((x) => x.target === 'cam2mqtt' && !x.label);
      const rb = rd.find((x) => x.target === 'baseline');
      return rc && rb ? f2(rc.cpuPerGB / rb.cpuPerGB) : '-';
    })
    .join(' ');
  const t = limit[sc.id];
  out.push(
    `| ${sc.id} | ${f2(c.cpuPerGB / b.cpuPerGB)}${t !== undefined ? ` (<= ${t})` : ''} | ${each} | ${f2(c.fast.p99 / b.fast.p99)} (${f1(c.fast.p99)} vs ${f1(b.fast.p99)} ms) | ${c.fast.dropped + (c.page?.dropped ?? 0)} | ${f1(c.peakRssMb)} / ${f1(b.peakRssMb)}${sc.id === 1 || sc.id === 8 ? ' (<= 64)' : ''} |`,
  );
}
for (const { scenario: sc } of r.results.filter((x) => x.scenario.idle)) {
  const c = get(sc.id, 'cam2mqtt');
  const b = get(sc.id, 'baseline');
  if (c?.cpuPerCameraHour !== undefined)
    out.push(
      '',
      `Idle cost (scenario ${sc.id}, ${sc.name.replace(/^[^:]*: /, '')}): cam2mqtt ${f1(c.cpuPerCameraHour)} CPU s per camera-hour, baseline ${f1(b?.cpuPerCameraHour ?? NaN)}.`,
    );
}
if (r.scaling) out.push('', '```', r.scaling, '```');
const s1 = get(1, 'cam2mqtt');
const s4 = get(4, 'cam2mqtt');
if (s1 && s4) {
  out.push(
    '',
    `Slow viewers (scenario 4 against scenario 1): fast viewers ${f1(s4.fast.fps)} fps vs ${f1(s1.fast.fps)}, p99 ${f1(s4.fast.p99)} ms vs ${f1(s1.fast.p99)} ms, ${s4.fast.dropped} fast frames dropped; the 20 slow viewers got ${f1(s4.slow?.fps ?? NaN)} fps each (latest frame wins). Peak RSS ${f1(s4.peakRssMb)} MB vs ${f1(s1.peakRssMb)} MB.`,
  );
}
const s5 = get(5, 'cam2mqtt');
const s5ref = get(5, 'cam2mqtt (no slow sub)');
if (s5 && s5ref) {
  out.push(
    '',
    `Large frames (scenario 5, with and without the slow MQTT subscriber): MJPEG viewers ${f1(s5.fast.fps)} vs ${f1(s5ref.fast.fps)} fps, p99 ${f1(s5.fast.p99)} vs ${f1(s5ref.fast.p99)} ms; normal MQTT subscriber ${s5.mqtt?.normalMessages} vs ${s5ref.mqtt?.normalMessages} snapshots (p99 gap ${f1(s5.mqtt?.normalGapP99Ms ?? NaN)} vs ${f1(s5ref.mqtt?.normalGapP99Ms ?? NaN)} ms); the slow subscriber read ${((s5.mqtt?.slowBytes ?? 0) / 1e6).toFixed(1)} MB${s5.mqtt?.slowDisconnected ? ' and was disconnected by the broker' : ''}. Peak RSS ${f1(s5.peakRssMb)} MB.`,
  );
}
const scaling = r.results.filter((x) => x.scenario.scaling);
if (scaling.length) {
  out.push('', '**How cost grows** (cam2mqtt CPU seconds per measured run, and the baseline beside it)', '', '```');
  const rows = scaling.map(({ scenario: s, runs }) => ({
    name: s.name.replace('scaling: ', ''),
    c: runs.find((x) => x.target === 'cam2mqtt')!,
    b: runs.find((x) => x.target === 'baseline')!,
  }));
  const max = Math.max(...rows.map((x) => Math.max(x.c.cpuSeconds, x.b.cpuSeconds)));
  const bar = (v: number) => '#'.repeat(Math.max(1, Math.round((v / max) * 40)));
  for (const x of rows) {
    out.push(`${x.name.padEnd(44)} cam2mqtt ${f2(x.c.cpuSeconds).padStart(5)} s ${bar(x.c.cpuSeconds)}`);
    out.push(`${''.padEnd(44)} baseline ${f2(x.b.cpuSeconds).padStart(5)} s ${bar(x.b.cpuSeconds)}`);
  }
  out.push('```');
}
process.stdout.write(`${out.join('\n')}\n`);
