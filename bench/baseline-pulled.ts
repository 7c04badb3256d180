// The physical limit for pulled cameras: pull N MJPEG streams and write each part's bytes to the same
// number of viewer sockets, with no logic (no hub, no backpressure policy, no counters, no resync, no
// HTTP layer on the viewer side). Per part: the headers are read up to Content-Length, the body is
// copied once, straight into the part sent to viewers (headers, JPEG, next boundary), and that one
// Buffer is written to every viewer's socket, as the dial-in baseline does.
// node dist/bench/baseline-pulled.js <port> '<JSON {id: url}>'
import { get } from 'node:http';
import { BOUNDARY as B, rawViewerServer } from './raw-viewers.js';

const port = Number(process.argv[2]);
const sources = JSON.parse(process.argv[3]!) as Record<string, string>;
const { server, viewers } = rawViewerServer();
const TAIL = Buffer.from(`\r\n--${B}\r\n`);
const HEADER_END = Buffer.from('\r\n\r\n');

function pull(id: string, url: string): void {
  get(url, (res) => {
    let seq = 0;
    let head: Buffer | undefined; // bytes of a part's headers seen so far
    let part: Buffer | undefined; // part being filled
    let filled = 0;
    res.on('data', (chunk: Buffer) => {
      let pos = 0;
      while (pos < chunk.length) {
        if (!part) {
          head = head ? Buffer.concat([head, chunk.subarray(pos)]) : chunk.subarray(pos);
          const end = head.indexOf(HEADER_END);
          if (end < 0) return;
          const len = Number(/Content-Length: *(\d+)/i.exec(head.subarray(0, end).toString('latin1'))![1]);
          const rest = head.subarray(end + 4);
          head = undefined;
          const hdr = Buffer.from(
            `Content-Type: image/jpeg\r\nContent-Length: ${len}\r\nX-Frame-Seq: ${++seq}\r\nX-Frame-Time: ${Date.now()}\r\n\r\n`,
          );
          part = Buffer.allocUnsafe(hdr.length + len + TAIL.length);
          hdr.copy(part);
          filled = hdr.length;
          chunk = rest;
          pos = 0;
        }
        const n = Math.min(chunk.length - pos, part.length - TAIL.length - filled);
        chunk.copy(part, filled, pos, pos + n);
        filled += n;
        pos += n;
        if (filled === part.length - TAIL.length) {
          TAIL.copy(part, filled);
          const set = viewers.get(id);
          if (set) for (const s of set) s.write(part);
          part = undefined;
        }
      }
    });
  });
}

server.listen(port, '127.0.0.1', () => {
  for (const [id, url] of Object.entries(sources)) pull(id, url);
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
});
process.on('SIGINT', () => process.exit(0));
