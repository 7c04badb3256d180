// Load process: control-page clients on /api/ws that watch every camera and acknowledge each frame at
// once, like a browser that keeps up. Records latency from the camera time in each frame header.
// argv: JSON {url, cameras: string[], count, durationMs}
import WebSocket from 'ws';

const o = JSON.parse(process.argv[2]!) as { url: string; cameras: string[]; count: number; durationMs: number };
let measuring = false;
interface C {
  frames: number;
  bytes: number;
  gaps: number;
  samples: number[][];
  lastSeq: Map<number, number>;
}
const clients: C[] = [];

async function open(): Promise<void> {
  const c: C = { frames: 0, bytes: 0, gaps: 0, samples: [], lastSeq: new Map() };
  clients.push(c);
  const ws = new WebSocket(o.url, { perMessageDeflate: false });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  ws.send(JSON.stringify({ t: 'watch', ids: o.cameras }));
  let acks: number[] = [];
  ws.on('message', (data: Buffer, isBinary) => {
    if (!isBinary) return;
    const idx = data.readUInt16BE(2);
    const seq = data.readUInt32BE(4);
    const time = data.readDoubleBE(8);
    if (acks.length === 0)
      setImmediate(() => {
        ws.send(JSON.stringify({ t: 'ack', c: acks }));
        acks = [];
      });
    acks.push(idx);
    if (!measuring) return;
    const last = c.lastSeq.get(idx);
    if (last !== undefined && seq > last + 1) c.gaps += seq - last - 1;
    c.lastSeq.set(idx, seq);
    c.frames++;
    c.bytes += data.length - 24;
    c.samples.push([seq, Date.now(), time]);
  });
}

for (let i = 0; i < o.count; i++) await open();
await new Promise((r) => setTimeout(r, 500));
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
await new Promise((resolve) => process.stdin.once('data', resolve));
measuring = true;
await new Promise((r) => setTimeout(r, o.durationMs + 1500));
measuring = false;
const out = clients.map((c) => ({ frames: c.frames, bytes: c.bytes, gaps: c.gaps, samples: c.samples }));
process.stdout.write(`${JSON.stringify({ clients: out })}\n`, () => process.exit(0));
