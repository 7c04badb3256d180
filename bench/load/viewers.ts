// Load process: MJPEG viewers that parse every part and record latency from the camera time in the
// part headers (X-Frame-Time, ms). Slow viewers read at a capped byte rate.
// argv: JSON {base, cameras: string[], perCamera, slow?: {count, bytesPerSec}, durationMs}
import { type IncomingMessage, request } from 'node:http';

const o = JSON.parse(process.argv[2]!) as {
  base: string;
  cameras: string[];
  perCamera: number;
  slow?: { count: number; bytesPerSec: number };
  durationMs: number;
  path?: string;
};

// samples: [seq, receive ms, header camera time ms] per new frame; the runner turns them into latencies.
interface V {
  cam: string;
  slow: boolean;
  frames: number;
  bytes: number;
  gaps: number;
  outOfOrder: number;
  lastSeq: number;
  samples: number[][];
  res?: IncomingMessage;
}
const viewers: V[] = [];
let measuring = false;

function parseStream(v: V, res: IncomingMessage): void {
  let buf: Buffer = Buffer.alloc(0);
  const boundary = `--${/boundary=([^;]+)/.exec(String(res.headers['content-type']))![1]!.trim()}\r\n`;
  res.on('data', (chunk: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    for (;;) {
      if (buf.length < boundary.length + 4) return;
      const headEnd = buf.indexOf('\r\n\r\n', boundary.length);
      if (headEnd < 0) return;
      const head = buf.subarray(boundary.length, headEnd).toString('latin1');
      const len = Number(/Content-Length: *(\d+)/i.exec(head)![1]);
      const end = headEnd + 4 + len + 2;
      if (buf.length < end) return;
      const seq = Number(/X-Frame-Seq: *(\d+)/i.exec(head)?.[1] ?? -1);
      const time = Number(/X-Frame-Time: *(\d+)/i.exec(head)?.[1] ?? 0);
      buf = buf.subarray(end);
      if (!measuring || seq === v.lastSeq) continue; // idle repeats are not new frames
      if (v.lastSeq >= 0 && seq !== v.lastSeq + 1) {
        if (seq > v.lastSeq) v.gaps += seq - v.lastSeq - 1;
        else v.outOfOrder++;
      }
      v.lastSeq = seq;
      v.frames++;
      v.bytes += len;
      v.samples.push([seq, Date.now(), time]);
    }
  });
}

function open(cam: string, slow: boolean): void {
  const v: V = { cam, slow, frames: 0, bytes: 0, gaps: 0, outOfOrder: 0, lastSeq: -1, samples: [] };
  viewers.push(v);
  const req = request(`${o.base}${(o.path ?? '/api/cameras/:id/stream.mjpeg').replace(':id', cam)}`, (res) => {
    v.res = res;
    parseStream(v, res);
    if (slow && o.slow) {
      // Token bucket: read at most bytesPerSec by pausing the stream between 100 ms slices.
      let budget = 0;
      let got = 0;
      res.on('data', (c: Buffer) => {
        got += c.length;
        if (got > budget) res.pause();
      });
      setInterval(() => {
        budget += o.slow!.bytesPerSec / 10;
        if (got <= budget) res.resume();
      }, 100).unref();
    }
  });
  req.on('error', () => {});
  req.end();
}

for (const cam of o.cameras) for (let i = 0; i < o.perCamera; i++) open(cam, false);
for (let i = 0; i < (o.slow?.count ?? 0); i++) open(o.cameras[i % o.cameras.length]!, true);
await new Promise((r) => setTimeout(r, 500));
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
await new Promise((resolve) => process.stdin.once('data', resolve));
measuring = true;
await new Promise((r) => setTimeout(r, o.durationMs + 1500));
measuring = false;
const out = viewers.map((v) => ({
  cam: v.cam,
  slow: v.slow,
  frames: v.frames,
  bytes: v.bytes,
  gaps: v.gaps,
  outOfOrder: v.outOfOrder,
  samples: v.samples,
}));
// Exit only once the (large) line is flushed: process.exit would cut a pipe write short.
process.stdout.write(`${JSON.stringify({ viewers: out })}\n`, () => process.exit(0));
