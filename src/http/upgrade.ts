import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

/** "address:port" of a request's peer, IPv4-mapped IPv6 shown as IPv4 (for log lines). */
export function remoteOf(req: IncomingMessage): string {
  const a = req.socket.remoteAddress ?? '?';
  return `${a.startsWith('::ffff:') ? a.slice(7) : a}:${req.socket.remotePort ?? '?'}`;
}

/** Refuse a WebSocket upgrade with a plain HTTP status before any WebSocket exists. */
export function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
  const body = `${reason}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${status === 503 ? 'Service Unavailable' : status === 401 ? 'Unauthorized' : 'Error'}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
