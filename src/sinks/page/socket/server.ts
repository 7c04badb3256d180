import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { guardEmitter } from '../../../http/last-resort.js';
import { refuseUpgrade, remoteOf } from '../../../http/upgrade.js';
import { COMMON_FRAMESIZES } from '../../../hub/controls.js';
import type { CameraHub } from '../../../hub/hub.js';
import type { Logger } from '../../../logging.js';
import { ThrottledLog } from '../../../util/throttle-log.js';
import type { PtzController } from '../commands.js';
import { type HelloExtra, PROTOCOL_VERSION, type Preset, type ServerMessage } from '../protocol.js';
import { PageClient } from './client.js';
import type { HandlerContext } from './handlers/context.js';
import { dispatch } from './handlers/index.js';
import { originAllowed } from './origin.js';
import { PageProjection } from './projection.js';
import { FrameStreams } from './streams.js';

export interface PageSocketOptions {
  /** Bytes a client may have waiting in its socket before frames go latest-wins. */
  queueBytes: number;
  /** A client whose socket accepts nothing for this long is disconnected. */
  stallTimeoutMs: number;
  /** Largest message a page may send. */
  maxMessageBytes: number;
  maxClients: number;
  /** Also accepted as an Origin besides the request's own Host (http.public_url). */
  publicUrl: string | undefined;
  /** The hello's per-bridge fields (auth state, stream token, public URL). */
  helloExtra: () => HelloExtra;
  /** The bridge status strip (MQTT, HA link, viewers). */
  status: () => Record<string, unknown>;
  presets: () => Preset[];
  version: string;
}

const PING_EVERY_MS = 15_000;
const STATS_EVERY_MS = 2000;

/**
 * /api/ws: the control page's single socket. All tiles of a page travel over it (browsers allow only
 * six HTTP connections per host, so one MJPEG <img> per camera stalls past six cameras). This class is
 * the socket's life: the upgrade (Origin check, client limit), hello, liveness (pings, stalled
 * sockets) and the stats tick. Messages go to handlers/, hub events come from projection.ts, frames
 * from streams.ts through each client's flow control (flow.ts).
 */
export class PageSocketServer {
  private readonly wss: WebSocketServer;
  private readonly clients = new Set<PageClient>();
  private readonly projection: PageProjection;
  private readonly streams = new FrameStreams();
  private readonly ctx: HandlerContext;
  private timer: NodeJS.Timeout | undefined;
  private lastStatsAt = 0;
  private lastPingAt = Date.now();
  private readonly log: Logger;
  private readonly refuseLog: ThrottledLog;

  constructor(
    hub: CameraHub,
    ptz: PtzController,
    logger: Logger,
    private readonly opts: PageSocketOptions,
  ) {
    this.log = logger.child({ mod: 'page' });
    this.refuseLog = new ThrottledLog(this.log);
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: opts.maxMessageBytes,
      perMessageDeflate: false,
      clientTracking: false,
    });
    this.projection = new PageProjection(
      hub,
      (msg) => this.broadcast(msg),
      (cam) => {
        for (const c of this.clients) if (c.flow.tiles.has(cam.id)) this.streams.unwatch(c, cam.id);
      },
    );
    this.ctx = { hub, ptz, log: this.log, projection: this.projection, streams: this.streams };
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), 1000);
    this.timer.unref();
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** Clients with a tile of this camera receiving frames. */
  watching(id: string): number {
    let n = 0;
    for (const c of this.clients) if (c.flow.tiles.has(id)) n++;
    return n;
  }

  /** Tiles receiving frames, over all clients. */
  get tileCount(): number {
    let n = 0;
    for (const c of this.clients) n += c.flow.tiles.size;
    return n;
  }

  clientsJSON(): Record<string, unknown>[] {
    return [...this.clients].map((c) => c.toJSON());
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const remote = remoteOf(req);
    const origin = req.headers.origin;
    if (origin && !originAllowed(origin, req.headers.host, this.opts.publicUrl)) {
      this.refuseLog.warn(
        `refused page socket from ${remote}: Origin ${origin} is not this bridge (${req.headers.host ?? 'no Host'}); set http.public_url if a proxy changes the host`,
      );
      refuseUpgrade(socket, 403, 'cross-origin page socket refused');
      return;
    }
    if (this.clients.size >= this.opts.maxClients) {
      this.refuseLog.warn(`refused page socket from ${remote}: ${this.clients.size} pages are already connected`);
      refuseUpgrade(socket, 503, 'too many pages connected, try again later');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, remote));
  }

  private accept(ws: WebSocket, remote: string): void {
    // A bug in a listener of this page's socket drops this page only (src/http/last-resort.ts).
    guardEmitter(ws, { what: `page socket from ${remote}`, log: this.log, abort: () => ws.terminate() });
    const client = new PageClient(ws, remote, this.opts.queueBytes, this.log);
    this.clients.add(client);
    this.log.debug(`page ${remote} connected (${this.clients.size} open)`);
    ws.on('pong', () => {
      client.alive = true;
    });
    ws.on('message', (data, isBinary) => dispatch(this.ctx, client, data, isBinary));
    ws.on('error', (err) => {
      // ws reports an oversized message here, then closes with 1009: one line, whatever came before.
      this.log.warn(`page ${remote}: ${err.message}; closing its socket`);
    });
    ws.on('close', () => this.drop(client));
    client.sendJson({
      t: 'hello',
      v: PROTOCOL_VERSION,
      version: this.opts.version,
      server_time: Date.now(),
      framesizes: COMMON_FRAMESIZES,
      presets: this.opts.presets(),
      status: this.opts.status(),
      cameras: this.projection.cameras(),
      ...this.opts.helloExtra(),
    });
  }

  private drop(client: PageClient): void {
    if (!this.clients.delete(client)) return;
    this.streams.unwatchAll(client);
    this.log.debug(`page ${client.remote} disconnected (${this.clients.size} open)`);
  }

  /** Serialise once, send the same string to every page. */
  broadcast(msg: ServerMessage): void {
    if (!this.clients.size) return;
    const text = JSON.stringify(msg);
    for (const c of this.clients) c.sendText(text);
  }

  /** Once a second: stalled sockets, lost credits; every 15 s pings; every 2 s the stats. */
  private tick(): void {
    const now = Date.now();
    for (const c of this.clients) {
      // A page that accepts nothing for stallTimeout only loses its own socket.
      if (c.buffered > 0) {
        c.stalledSince ??= now;
        if (now - c.stalledSince > this.opts.stallTimeoutMs) {
          this.log.warn(
            `page ${c.remote} accepted no data for ${Math.round((now - c.stalledSince) / 1000)} s (${c.buffered} bytes waiting), disconnecting it`,
          );
          c.ws.terminate();
          this.drop(c);
          continue;
        }
      } else {
        c.stalledSince = undefined;
      }
      c.flow.expireCredits(now);
    }
    if (now - this.lastPingAt >= PING_EVERY_MS) {
      this.lastPingAt = now;
      for (const c of this.clients) {
        // Browsers that vanished (sleeping laptop, lost Wi-Fi) never close; two missed pongs end them.
        if (!c.alive) {
          this.log.debug(`page ${c.remote} did not answer a ping, closing its socket`);
          c.ws.terminate();
          this.drop(c);
          continue;
        }
        c.alive = false;
        c.ws.ping();
      }
    }
    if (now - this.lastStatsAt >= STATS_EVERY_MS && this.clients.size) {
      this.lastStatsAt = now;
      this.broadcast({ t: 'stats', server_time: now, status: this.opts.status(), cams: this.projection.stats() });
    }
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.projection.stop();
    const waits: Promise<void>[] = [];
    for (const c of this.clients) {
      waits.push(
        new Promise((resolve) => {
          c.ws.once('close', () => resolve());
          c.ws.close(1001, 'bridge shutting down');
          setTimeout(() => {
            c.ws.terminate();
            resolve();
          }, 1000).unref();
        }),
      );
    }
    await Promise.all(waits);
    for (const c of [...this.clients]) this.drop(c);
    this.wss.close();
  }
}
