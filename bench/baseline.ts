// The physical limit: receive the same WebSocket frames and write the same bytes to the same number of
// sockets, with no logic at all (no hub, no backpressure policy, no counters, no validation).
// node dist/bench/baseline.js <port>
import { WebSocketServer } from 'ws';
import { BOUNDARY as B, rawViewerServer } from './raw-viewers.js';

const port = Number(process.argv[2]);

const { server, viewers } = rawViewerServer();
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 8 * 1024 * 1024 });
server.on('upgrade', (req, socket, head) => {
  const legacy = req.url === '/ws';
  wss.handleUpgrade(req, socket, head, (ws) => {
    let id = '';
    let seq = 0;
    ws.on('message', (data: Buffer, isBinary) => {
      if (!isBinary) {
        if (!id) {
          const text = data.toString();
          id = legacy
            ? (/"hostName":"([^"]+)"/.exec(text)?.[1] ?? '').toLowerCase()
            : (JSON.parse(text) as { id: string }).id;
        }
        return;
      }
      let jpeg: Buffer;
      let time: number;
      if (legacy) {
        let end = data.length;
        while (end > 0 && data[end - 1]! >= 0x30 && data[end - 1]! <= 0x39) end--;
        jpeg = data.subarray(0, end);
        time = Date.now();
        seq++;
      } else {
        jpeg = data.subarray(16);
        seq = data.readUInt32BE(4);
        time = Number(data.readBigUInt64BE(8));
      }
      const set = viewers.get(id);
      if (!set || set.size === 0) return;
      const part = Buffer.concat([
        Buffer.from(
          `Content-Type: image/jpeg\r\nContent-Length: ${jpeg.length}\r\nX-Frame-Seq: ${seq}\r\nX-Frame-Time: ${time}\r\n\r\n`,
        ),
        jpeg,
        Buffer.from(`\r\n--${B}\r\n`),
      ]);
      for (const socket of set) socket.write(part);
    });
  });
});
server.listen(port, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ ready: true })}\n`));
// Exit normally on SIGINT so --cpu-prof can write its profile.
process.on('SIGINT', () => process.exit(0));
