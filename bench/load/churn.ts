// Load process for the soak: MJPEG viewers and control-page clients that join and leave all the time,
// on top of one steady viewer per camera. Counts bytes only (the soak measures the bridge's memory,
// not latency). argv: JSON {base, cameras: string[], durationMs, seed?, maxViewers?, maxPages?}
// Prints {ready:true}, waits for "go", then one JSON line of counts at the end.
import { type ClientRequest, request } from 'node:http';
import WebSocket from 'ws';

const o = JSON.parse(process.argv[2]!) as {
  base: string;
  cameras: string[];
  durationMs: number;
  seed?: number;
  maxViewers?: number;
  maxPages?: number;
};
const maxViewers = o.maxViewers ?? 12;
const maxPages = o.maxPages ?? 3;
// A small deterministic PRNG (mulberry32) so two soaks churn alike.
let s = o.seed ?? 1;
const rand = () => {
  s = (s + 0x6d2b79f5) | 0;
  let t = Math.imul(s ^ (s >>> 15), 1 | s);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = <T>(a: T[]): T => a[Math.floor(rand() * a.length)]!;

const stats = {
  viewerJoins: 0,
  viewerLeaves: 0,
  pageJoins: 0,
  pageLeaves: 0,
  viewerBytes: 0,
  pageFrames: 0,
  errors: 0,
};
const viewers = new Set<ClientRequest>();
const pages = new Set<WebSocket>();

function openViewer(cam: string, lifeMs: number | undefined): void {
  const req = request(`${o.base}/api/cameras/${cam}/stream.mjpeg`, (res) => {
    res.on('data', (c: Buffer) => {
      stats.viewerBytes += c.length;
    });
    res.on('error', () => {});
  });
  req.on('error', () => {
    stats.errors++;
    viewers.delete(req);
  });
  req.end();
  viewers.add(req);
  stats.viewerJoins++;
  if (lifeMs !== undefined)
    setTimeout(() => {
      req.destroy();
      viewers.delete(req);
      stats.viewerLeaves++;
    }, lifeMs);
}

function openPage(lifeMs: number): void {
  const ws = new WebSocket(`${o.base.replace('http', 'ws')}/api/ws`, { perMessageDeflate: false });
  pages.add(ws);
  stats.pageJoins++;
  let acks: number[] = [];
  ws.on('open', () => {
    // A page watches a few cameras, like a browser showing part of the wall.
    const ids = o.cameras.filter(() => rand() < 0.6);
    ws.send(JSON.stringify({ t: 'watch', ids: ids.length ? ids : [o.cameras[0]] }));
  });
  ws.on('message', (data: Buffer, isBinary) => {
    if (!isBinary) return;
    stats.pageFrames++;
    if (acks.length === 0)
      setImmediate(() => {
        if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ t: 'ack', c: acks }));
        acks = [];
      });
    acks.push(data.readUInt16BE(2));
  });
  ws.on('error', () => {
    stats.errors++;
  });
  ws.on('close', () => pages.delete(ws));
  setTimeout(() => {
    ws.close();
    stats.pageLeaves++;
  }, lifeMs);
}

process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
await new Promise((resolve) => process.stdin.once('data', resolve));
const end = Date.now() + o.durationMs;
// One steady viewer per camera: every camera is watched the whole time.
for (const cam of o.cameras) openViewer(cam, undefined);
const steady = viewers.size;
// Every second: maybe a viewer joins (lives 2-60 s), maybe a page client joins (lives 5-90 s).
const tick = setInterval(() => {
  const left = end - Date.now();
  if (left < 3000) return;
  if (viewers.size - steady < maxViewers && rand() < 0.5)
    openViewer(pick(o.cameras), Math.min(left - 2000, 2000 + rand() * 58_000));
  if (pages.size < maxPages && rand() < 0.2) openPage(Math.min(left - 2000, 5000 + rand() * 85_000));
}, 1000);
await new Promise((r) => setTimeout(r, o.durationMs));
clearInterval(tick);
for (const v of viewers) v.destroy();
for (const p of pages) p.terminate();
process.stdout.write(`${JSON.stringify(stats)}\n`, () => process.exit(0));
