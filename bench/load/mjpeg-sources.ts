// Load process: N pulled cameras, each an HTTP server of its own serving pre-encoded JPEGs as
// multipart/x-mixed-replace at a set rate, written the way ESP32's CameraWebServer (app_httpd.cpp,
// stream_handler) sends them:
// - response headers `Content-Type: multipart/x-mixed-replace;boundary=123456789000000000000987654321`,
//   `Transfer-Encoding: chunked` (esp_http_server's httpd_resp_send_chunk), `Access-Control-Allow-Origin: *`,
//   `X-Framerate: 60`;
// - per frame three HTTP chunks: `\r\n--BOUNDARY\r\n`, `Content-Type: image/jpeg\r\nContent-Length: N\r\n
//   X-Timestamp: S.US\r\n\r\n`, then the JPEG;
// - the bytes leave in separate socket writes of at most `segment` bytes (1460: one TCP segment of
//   lwIP's MSS), with Nagle off, so the puller sees the small reads a real camera causes.
// argv: JSON {count, fps, profile, durationMs, segment?, chunked?}. Prints {ports} once listening, then
// {ready: true}; {connected: true} once every camera has its client; then, after the run, the same
// results line as cameras.js (sendTimes always: MJPEG carries no ms clock the bench could read).
import { createServer, type Server, type Socket } from 'node:net';
import { benchJpegs, type Profile } from './jpegs.js';

const o = JSON.parse(process.argv[2]!) as {
  count: number;
  fps: number;
  profile: Profile;
  durationMs: number;
  segment?: number;
  chunked?: boolean;
};
const SEGMENT = o.segment ?? 1460;
const CHUNKED = o.chunked ?? true;
const ESP_BOUNDARY = '123456789000000000000987654321';
const HEAD = Buffer.from(
  `HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace;boundary=${ESP_BOUNDARY}\r\n${CHUNKED ? 'Transfer-Encoding: chunked\r\n' : ''}Access-Control-Allow-Origin: *\r\nX-Framerate: 60\r\n\r\n`,
  'latin1',
);
const STREAM_BOUNDARY = Buffer.from(`\r\n--${ESP_BOUNDARY}\r\n`, 'latin1');
const jpegs = Array.from({ length: Math.min(o.count, 8) }, (_, i) => benchJpegs(o.profile, (i * 67) % 360));

const servers: Server[] = [];
const clients: (Socket | undefined)[] = new Array(o.count).fill(undefined);
let connected = 0;
let announced = false;

/** One HTTP chunk (or the raw bytes when not chunked). */
const chunk = (b: Buffer): Buffer[] =>
  CHUNKED ? [Buffer.from(`${b.length.toString(16)}\r\n`, 'latin1'), b, Buffer.from('\r\n', 'latin1')] : [b];

/** Write `pieces` as consecutive socket writes of at most SEGMENT bytes each (pieces merged up to it). */
function sendSegmented(s: Socket, pieces: Buffer[]): void {
  const all = Buffer.concat(pieces);
  for (let at = 0; at < all.length; at += SEGMENT) s.write(all.subarray(at, Math.min(all.length, at + SEGMENT)));
}

const ports = await Promise.all(
  Array.from(
    { length: o.count },
    (_, i) =>
      new Promise<number>((resolve) => {
        const srv = createServer((s) => {
          s.setNoDelay(true);
          s.on('error', () => {});
          let req = '';
          s.on('data', (d: Buffer) => {
            if (clients[i] === s) return;
            req += d.toString('latin1');
            if (!req.includes('\r\n\r\n')) return;
            if (clients[i]) {
              // One client at a time, like the ESP32's single stream slot.
              s.end('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n');
              return;
            }
            clients[i] = s;
            s.write(HEAD);
            s.on('close', () => {
              if (clients[i] === s) clients[i] = undefined;
            });
            connected++;
            if (connected >= o.count && !announced) {
              announced = true;
              process.stdout.write(`${JSON.stringify({ connected: true })}\n`);
            }
          });
        });
        servers.push(srv);
        srv.listen(0, '127.0.0.1', () => resolve((srv.address() as { port: number }).port));
      }),
  ),
);
process.stdout.write(`${JSON.stringify({ ports })}\n`);
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
await new Promise((resolve) => process.stdin.once('data', resolve));

const start = Date.now();
const interval = 1000 / o.fps;
const seqs = new Array<number>(o.count).fill(0);
const ticks = new Array<number>(o.count).fill(0);
const sendTimes: number[][] = Array.from({ length: o.count }, () => []);
let sent = 0;
let bytes = 0;
// Cameras are spread across the frame interval like real, unsynchronised cameras.
const timers = clients.map((_, i) =>
  setTimeout(
    function tick() {
      const cycle = jpegs[i % jpegs.length]!;
      const jpeg = cycle[seqs[i]! % cycle.length]!;
      const now = Date.now();
      const s = clients[i];
      if (s && !s.destroyed) {
        const ts = `${Math.floor(now / 1000)}.${String((now % 1000) * 1000).padStart(6, '0')}`;
        const part = Buffer.from(
          `Content-Type: image/jpeg\r\nContent-Length: ${jpeg.length}\r\nX-Timestamp: ${ts}\r\n\r\n`,
          'latin1',
        );
        sendSegmented(s, [...chunk(STREAM_BOUNDARY), ...chunk(part), ...chunk(jpeg)]);
        sendTimes[i]!.push(now);
        seqs[i]!++;
        sent++;
        bytes += jpeg.length;
      }
      ticks[i]!++;
      const next = start + (i / o.count) * interval + ticks[i]! * interval;
      if (Date.now() - start < o.durationMs) timers[i] = setTimeout(tick, Math.max(0, next - Date.now()));
    },
    (i / o.count) * interval,
  ),
);

await new Promise((r) => setTimeout(r, o.durationMs + 200));
for (const t of timers) clearTimeout(t);
for (const s of clients) s?.destroy();
for (const srv of servers) srv.close();
process.stdout.write(`${JSON.stringify({ sent, bytes, perCamera: seqs, sendTimes })}\n`, () => process.exit(0));
