// Load process: N cameras sending pre-encoded frames at a fixed rate over real WebSockets.
// argv: JSON {url, protocol, count, fps, profile, durationMs, idPrefix}. Prints one JSON line of results.
import WebSocket from 'ws';
import { encodeFrame } from '../../src/sources/native/codec.js';
import { benchJpegs, type Profile } from './jpegs.js';

const o = JSON.parse(process.argv[2]!) as {
  url: string;
  protocol: 'native' | 'mjpeg2sd';
  count: number;
  fps: number;
  profile: Profile;
  durationMs: number;
  idPrefix: string;
  offset?: number;
  /** Motion events (bench/recording.ts): each camera reports motion for `forMs` of every `everyMs`, staggered. */
  motion?: { everyMs: number; forMs: number };
};
const jpegs = Array.from({ length: Math.min(o.count, 8) }, (_, i) => benchJpegs(o.profile, (i * 67) % 360));
let sent = 0;
let bytes = 0;
const sockets: WebSocket[] = [];

async function open(i: number): Promise<WebSocket> {
  const ws = new WebSocket(o.url, { perMessageDeflate: false });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const id = `${o.idPrefix}-${(o.offset ?? 0) + i}`;
  if (o.protocol === 'native') ws.send(JSON.stringify({ type: 'hello', v: 1, id, caps: [] }));
  else
    ws.send(`#${Math.floor(Date.now() / 1000)}|${JSON.stringify({ hostName: id, framesize: '8', fw_version: '8.8' })}`);
  return ws;
}

for (let i = 0; i < o.count; i++) sockets.push(await open(i));
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
// Wait for the go signal so every process starts measuring together.
await new Promise((resolve) => process.stdin.once('data', resolve));

const start = Date.now();
const interval = 1000 / o.fps;
const seqs = new Array<number>(o.count).fill(0);
// Send time of every frame, per camera, for latency where the wire carries no ms clock (MJPEG2SD).
const sendTimes: number[][] = Array.from({ length: o.count }, () => []);
// Cameras are spread across the frame interval like real, unsynchronised cameras.
const timers = sockets.map((ws, i) =>
  setTimeout(
    function tick() {
      const cycle = jpegs[i % jpegs.length]!;
      const jpeg = cycle[seqs[i]! % cycle.length]!;
      const now = Date.now();
      if (o.protocol === 'native') {
        ws.send(encodeFrame(seqs[i]!, now, jpeg));
      } else {
        // MJPEG2SD: JPEG + epoch seconds; the bench reads ms latency from the bridge's receive time instead.
        ws.send(Buffer.concat([jpeg, Buffer.from(String(Math.floor(now / 1000)))]));
      }
      sendTimes[i]!.push(now);
      seqs[i]!++;
      sent++;
      bytes += jpeg.length;
      const next = start + (i / o.count) * interval + seqs[i]! * interval;
      if (Date.now() - start < o.durationMs) timers[i] = setTimeout(tick, Math.max(0, next - Date.now()));
    },
    (i / o.count) * interval,
  ),
);

const motionTimers: NodeJS.Timeout[] = [];
if (o.motion && o.protocol === 'native') {
  const m = o.motion;
  sockets.forEach((ws, i) => {
    const send = (state: 'start' | 'end') => ws.send(JSON.stringify({ type: 'motion', state, time: Date.now() }));
    const cycle = () => {
      send('start');
      motionTimers.push(setTimeout(() => send('end'), m.forMs));
    };
    motionTimers.push(
      setTimeout(
        () => {
          cycle();
          motionTimers.push(setInterval(cycle, m.everyMs));
        },
        (i / o.count) * m.everyMs,
      ),
    );
  });
}

await new Promise((r) => setTimeout(r, o.durationMs + 200));
for (const t of timers) clearTimeout(t);
for (const t of motionTimers) clearTimeout(t);
for (const ws of sockets) ws.terminate();
process.stdout.write(
  `${JSON.stringify({ sent, bytes, perCamera: seqs, sendTimes: o.protocol === 'mjpeg2sd' ? sendTimes : undefined })}\n`,
  () => process.exit(0),
);
