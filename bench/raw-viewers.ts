// The viewer side both raw baselines share: an HTTP server whose MJPEG requests go straight to the
// socket (no HTTP layer, no chunking, no bookkeeping), each camera's viewers in a Set.
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';

export const BOUNDARY = 'cam2mqtt-frame';

export function rawViewerServer(): { server: Server; viewers: Map<string, Set<Socket>> } {
  const viewers = new Map<string, Set<Socket>>();
  const server = createServer((req, res) => {
    const id = /^\/api\/cameras\/([^/]+)\/stream\.mjpeg$/.exec(req.url ?? '')?.[1];
    if (!id) {
      res.writeHead(404).end();
      return;
    }
    const socket = res.socket!;
    socket.write(
      `HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=${BOUNDARY}\r\nConnection: close\r\n\r\n--${BOUNDARY}\r\n`,
    );
    let set = viewers.get(id);
    if (!set) viewers.set(id, (set = new Set()));
    set.add(socket);
    socket.on('close', () => set!.delete(socket));
    socket.on('error', () => {});
  });
  return { server, viewers };
}
