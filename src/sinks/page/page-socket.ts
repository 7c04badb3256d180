import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import { refuseUpgrade, remoteOf } from '../../http/upgrade.js';
import type { Camera, LogEntry } from '../../hub/camera.js';
import { COMMON_FRAMESIZES, type Command, CommandError } from '../../hub/controls.js';
import type { Frame } from '../../hub/frame.js';
import type { CameraHub, MotionEvent } from '../../hub/hub.js';
import type { Logger } from '../../logging.js';
import { ThrottledLog } from '../../util/throttle-log.js';
import { type PtzController, parseQuery } from './commands.js';
import type { Preset } from './presets.js';
import { type FrameMessage, frameMessage } from './wire.js';

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
  /** Extra fields for the hello (auth state, stream token...). */
  helloExtra: () => Record<string, unknown>;
  /** The bridge status strip (MQTT, HA link, viewers). */
  status: () => Record<string, unknown>;
  presets: () => Preset[];
  version: string;
}

/** Frames a tile may have unacknowledged: the page acks each frame once drawn (or skipped). */
const CREDITS_PER_TILE = 2;
/** A tile whose frames are not acknowledged for this long gets its credits back (a lost page bug must not freeze it). */
const ACK_TIMEOUT_MS = 5000;
const LOG_LINES_IN_HELLO = 40;
const MAX_COMMANDS_IN_FLIGHT = 32;
const PING_EVERY_MS = 15_000;
const STATS_EVERY_MS = 2000;

/** One camera as the page sees it: its REST JSON plus the index used in binary frame headers. */
function camJson(cam: Camera, idx: number, withLog: boolean): Record<string, unknown> {
  const j: Record<string, unknown> = {
    ...cam.toJSON(),
    idx,
    last_seen_ms: cam.lastSeen ?? null,
    last_frame_time: cam.latest?.cameraTime ?? null,
  };
  if (withLog) j.log = cam.log.toArray().slice(-LOG_LINES_IN_HELLO);
  return j;
}

interface Tile {
  readonly cam: Camera;
  readonly idx: number;
  /** Frames sent and not yet acknowledged. */
  inflight: number;
  /** The newest frame that could not go yet (latest frame wins). */
  pending: FrameMessage | undefined;
  lastProgressAt: number;
  sent: number;
  dropped: number;
}

/**
 * One browser tab: JSON control messages both ways, and frames of the cameras whose tiles it shows.
 * Frames wait for two things: a credit (the page has drawn the previous ones) and room in the socket
 * (fewer than queueBytes buffered). Otherwise only the newest frame per tile is kept, so a slow page or
 * link costs at most queueBytes + one frame per tile, and never delays another client.
 */
class PageClient {
  readonly tiles = new Map<string, Tile>();
  private readonly byIdx = new Map<number, Tile>();
  /** Tiles with a pending frame, oldest first. */
  private readonly waiting = new Set<Tile>();
  readonly since = Date.now();
  stalledSince: number | undefined;
  commandsInFlight = 0;
  alive = true;
  private readonly onFlushed = (err?: Error) => {
    if (err) return;
    this.stalledSince = undefined;
    this.pump();
  };

  /** Per page, so one page's flood of bad messages cannot hide another page's problem. */
  readonly badLog: ThrottledLog;

  constructor(
    readonly ws: WebSocket,
    readonly remote: string,
    private readonly queueBytes: number,
    log: Logger,
  ) {
    this.badLog = new ThrottledLog(log);
  }

  get buffered(): number {
    return this.ws.bufferedAmount;
  }

  sendJson(msg: unknown): void {
    this.sendText(JSON.stringify(msg));
  }

  /** Pre-serialised broadcast text: stringified once for all clients. */
  sendText(text: string): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(text, this.onFlushed);
  }

  watch(cam: Camera, idx: number): Tile {
    let t = this.tiles.get(cam.id);
    if (!t) {
      t = { cam, idx, inflight: 0, pending: undefined, lastProgressAt: Date.now(), sent: 0, dropped: 0 };
      this.tiles.set(cam.id, t);
      this.byIdx.set(idx, t);
    }
    return t;
  }

  unwatch(id: string): void {
    const t = this.tiles.get(id);
    if (!t) return;
    this.tiles.delete(id);
    this.byIdx.delete(t.idx);
    this.waiting.delete(t);
  }

  offer(t: Tile, msg: FrameMessage): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    if (t.pending) t.dropped++;
    t.pending = msg;
    // Re-insert so the tile that waited longest goes first.
    this.waiting.delete(t);
    this.waiting.add(t);
    this.pump();
  }

  private send(t: Tile, msg: FrameMessage): void {
    if (t.inflight === 0) t.lastProgressAt = Date.now();
    t.inflight++;
    t.sent++;
    // One message, two fragments, sent back to back so nothing can come between them.
    this.ws.send(msg.head, { binary: true, fin: false });
    this.ws.send(msg.jpeg, { binary: true, fin: true }, this.onFlushed);
  }

  pump(): void {
    if (!this.waiting.size || this.ws.readyState !== this.ws.OPEN) return;
    for (const t of this.waiting) {
      if (this.buffered >= this.queueBytes) return;
      if (t.inflight >= CREDITS_PER_TILE) continue;
      const msg = t.pending!;
      t.pending = undefined;
      this.waiting.delete(t);
      this.send(t, msg);
    }
  }

  ack(indexes: unknown[]): void {
    const now = Date.now();
    for (const i of indexes) {
      const t = typeof i === 'number' ? this.byIdx.get(i) : undefined;
      if (!t) continue;
      if (t.inflight > 0) t.inflight--;
      t.lastProgressAt = now;
    }
    this.pump();
  }

  /** Housekeeping: give back credits a page never returned. */
  expireCredits(now: number): void {
    for (const t of this.tiles.values()) {
      if (t.inflight > 0 && now - t.lastProgressAt > ACK_TIMEOUT_MS) {
        t.inflight = 0;
        t.lastProgressAt = now;
      }
    }
    this.pump();
  }

  toJSON(): Record<string, unknown> {
    let sent = 0,
      dropped = 0;
    for (const t of this.tiles.values()) {
      sent += t.sent;
      dropped += t.dropped;
    }
    return {
      remote: this.remote,
      since: new Date(this.since).toISOString(),
      watching: [...this.tiles.keys()],
      sent,
      dropped,
      queued_bytes: this.buffered,
    };
  }
}

/** The cameras' frame subscriptions, one per camera that at least one page tile shows. */
interface Stream {
  clients: Set<PageClient>;
  unsubscribe: () => void;
}

/**
 * /api/ws: the control page's single socket. All tiles of a page travel over it (browsers allow only
 * six HTTP connections per host, so one MJPEG <img> per camera stalls past six cameras).
 */
export class PageSocketServer {
  private readonly wss: WebSocketServer;
  private readonly clients = new Set<PageClient>();
  private readonly streams = new Map<string, Stream>();
  private readonly indexes = new Map<string, number>();
  private nextIndex = 1;
  private timer: NodeJS.Timeout | undefined;
  private lastStatsAt = 0;
  private lastPingAt = Date.now();
  private readonly log: Logger;
  private readonly refuseLog: ThrottledLog;

  constructor(
    private readonly hub: CameraHub,
    private readonly ptz: PtzController,
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
    for (const cam of hub.list()) this.indexOf(cam);
    this.hub.listen(this, 'camera', (cam: Camera) =>
      this.broadcast({ t: 'cam', cam: camJson(cam, this.indexOf(cam), true) }),
    );
    const changed = (cam: Camera) => this.broadcast({ t: 'cam', cam: camJson(cam, this.indexOf(cam), false) });
    this.hub.listen(this, 'updated', changed);
    this.hub.listen(this, 'online', changed);
    this.hub.listen(this, 'offline', changed);
    this.hub.listen(this, 'removed', (cam: Camera) => this.onRemoved(cam));
    this.hub.listen(this, 'info', (cam: Camera, patch: Record<string, unknown>) =>
      this.broadcast({ t: 'info', id: cam.id, patch }),
    );
    this.hub.listen(this, 'log', (cam: Camera, entry: LogEntry) => this.broadcast({ t: 'log', id: cam.id, entry }));
    this.hub.listen(this, 'motion', (e: MotionEvent) =>
      this.broadcast({
        t: 'motion',
        id: e.camera.id,
        state: e.state,
        region: e.region ?? null,
        camera_time: e.cameraTime,
        event_id: e.eventId,
      }),
    );
  }

  /** Stable small number per camera id for binary headers (u16; reused only after 65k cameras). */
  private indexOf(cam: Camera): number {
    let i = this.indexes.get(cam.id);
    if (i === undefined) {
      if (this.nextIndex > 0xffff) {
        const used = new Set(this.indexes.values());
        this.nextIndex = 1;
        while (used.has(this.nextIndex)) this.nextIndex++;
      }
      i = this.nextIndex++;
      this.indexes.set(cam.id, i);
    }
    return i;
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), 1000);
    this.timer.unref();
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** Tiles receiving frames, over all clients. */
  get tileCount(): number {
    let n = 0;
    for (const c of this.clients) n += c.tiles.size;
    return n;
  }

  clientsJSON(): Record<string, unknown>[] {
    return [...this.clients].map((c) => c.toJSON());
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const remote = remoteOf(req);
    const origin = req.headers.origin;
    if (origin && !this.originAllowed(origin, req.headers.host)) {
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

  private originAllowed(origin: string, host: string | undefined): boolean {
    let o: URL;
    try {
      o = new URL(origin);
    } catch {
      return false;
    }
    if (host && o.host.toLowerCase() === host.toLowerCase()) return true;
    if (this.opts.publicUrl) {
      try {
        return new URL(this.opts.publicUrl).host.toLowerCase() === o.host.toLowerCase();
      } catch {
        return false;
      }
    }
    return false;
  }

  private accept(ws: WebSocket, remote: string): void {
    const client = new PageClient(ws, remote, this.opts.queueBytes, this.log);
    this.clients.add(client);
    this.log.debug(`page ${remote} connected (${this.clients.size} open)`);
    ws.on('pong', () => {
      client.alive = true;
    });
    ws.on('message', (data, isBinary) => this.onMessage(client, data, isBinary));
    ws.on('error', (err) => {
      // ws reports an oversized message here, then closes with 1009: one line, whatever came before.
      this.log.warn(`page ${remote}: ${err.message}; closing its socket`);
    });
    ws.on('close', () => this.drop(client));
    client.sendJson({
      t: 'hello',
      v: 1,
      version: this.opts.version,
      server_time: Date.now(),
      framesizes: COMMON_FRAMESIZES,
      presets: this.opts.presets(),
      status: this.opts.status(),
      cameras: this.hub.list().map((c) => camJson(c, this.indexOf(c), true)),
      ...this.opts.helloExtra(),
    });
  }

  private drop(client: PageClient): void {
    if (!this.clients.delete(client)) return;
    for (const id of [...client.tiles.keys()]) this.unwatch(client, id);
    this.log.debug(`page ${client.remote} disconnected (${this.clients.size} open)`);
  }

  /** Refuse one bad message: one (throttled) log line and an error to that page only. */
  private refuse(client: PageClient, why: string, rid?: unknown): void {
    client.badLog.warn(`page ${client.remote}: refused a message: ${why}`);
    client.sendJson({ t: 'error', error: why, ...(rid !== undefined ? { rid } : {}) });
  }

  private onMessage(client: PageClient, data: RawData, isBinary: boolean): void {
    if (isBinary) return this.refuse(client, 'binary messages are not accepted');
    let msg: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse((data as Buffer).toString('utf8'));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      msg = parsed as Record<string, unknown>;
    } catch {
      return this.refuse(client, 'expected a JSON object');
    }
    switch (msg.t) {
      case 'ack':
        if (!Array.isArray(msg.c)) return this.refuse(client, 'ack: expected c: [camera index, ...]');
        client.ack(msg.c);
        return;
      case 'watch':
        return this.onWatch(client, msg.ids);
      case 'cmd':
        return void this.onCommand(client, msg);
      case 'ptz':
        return void this.onPtz(client, msg);
      case 'ping':
        return client.sendJson({ t: 'pong', rid: msg.rid ?? null, server_time: Date.now() });
      default:
        return this.refuse(client, `unknown message type ${JSON.stringify(msg.t)}`, msg.rid);
    }
  }

  private onWatch(client: PageClient, ids: unknown): void {
    if (!Array.isArray(ids) || ids.length > 4096 || !ids.every((i) => typeof i === 'string')) {
      return this.refuse(client, 'watch: expected ids: ["camera id", ...]');
    }
    const want = new Set(ids as string[]);
    for (const id of [...client.tiles.keys()]) if (!want.has(id)) this.unwatch(client, id);
    const unknown: string[] = [];
    for (const id of want) {
      const cam = this.hub.get(id);
      if (!cam) {
        unknown.push(id);
        continue;
      }
      if (client.tiles.has(id)) continue;
      const idx = this.indexOf(cam);
      const tile = client.watch(cam, idx);
      let s = this.streams.get(id);
      if (!s) {
        const clients = new Set<PageClient>();
        // One hub subscription per camera; it marks demand, so native cameras go to full rate.
        const unsubscribe = cam.subscribe((f: Frame) => {
          const m = frameMessage(f, idx);
          for (const c of clients) {
            const t = c.tiles.get(id);
            if (t) c.offer(t, m);
          }
        });
        s = { clients, unsubscribe };
        this.streams.set(id, s);
      }
      s.clients.add(client);
      // Paint the tile at once (also the last picture of an offline camera).
      if (cam.latest) client.offer(tile, frameMessage(cam.latest, idx));
    }
    if (unknown.length)
      this.refuse(client, `watch: unknown camera${unknown.length > 1 ? 's' : ''} ${unknown.slice(0, 5).join(', ')}`);
  }

  private unwatch(client: PageClient, id: string): void {
    client.unwatch(id);
    const s = this.streams.get(id);
    if (!s) return;
    s.clients.delete(client);
    if (s.clients.size === 0) {
      s.unsubscribe();
      this.streams.delete(id);
    }
  }

  private async onCommand(client: PageClient, msg: Record<string, unknown>): Promise<void> {
    const rid = msg.rid;
    const text = msg.text;
    if (typeof text !== 'string') return this.refuse(client, 'cmd: expected text: "command"', rid);
    let cmd: Command;
    try {
      cmd = parseQuery(text);
    } catch (err) {
      return client.sendJson({ t: 'reply', rid, ok: false, error: (err as Error).message, code: 'invalid' });
    }
    if (msg.all === true) {
      const targets = this.hub.list().filter((c) => c.online);
      if (!this.reserve(client, targets.length, rid)) return;
      this.log.info(`page ${client.remote}: "${text}" to all ${targets.length} online cameras`);
      const results = await Promise.all(
        targets.map(async (cam) => {
          try {
            const r = await this.hub.command(cam.id, cmd);
            return { id: cam.id, ok: true, answer: r.answer ?? null };
          } catch (err) {
            this.noteFailure(cam, text, err);
            return {
              id: cam.id,
              ok: false,
              error: (err as Error).message,
              code: (err as CommandError).code ?? 'error',
            };
          } finally {
            client.commandsInFlight--;
          }
        }),
      );
      client.sendJson({ t: 'reply', rid, ok: results.every((r) => r.ok), results });
      return;
    }
    const id = msg.id;
    const cam = typeof id === 'string' ? this.hub.get(id) : undefined;
    if (!cam) return this.refuse(client, `cmd: unknown camera ${JSON.stringify(id)}`, rid);
    if (!this.reserve(client, 1, rid)) return;
    this.log.debug(`page ${client.remote}: "${text}" to ${cam.id}`);
    try {
      const r = await this.hub.command(cam.id, cmd);
      client.sendJson({ t: 'reply', rid, ok: true, answer: r.answer ?? null });
    } catch (err) {
      this.noteFailure(cam, text, err);
      client.sendJson({
        t: 'reply',
        rid,
        ok: false,
        error: (err as Error).message,
        code: (err as CommandError).code ?? 'error',
      });
    } finally {
      client.commandsInFlight--;
    }
  }

  /** Bound the commands one page can have waiting on cameras. */
  private reserve(client: PageClient, n: number, rid: unknown): boolean {
    if (client.commandsInFlight + n > MAX_COMMANDS_IN_FLIGHT) {
      this.refuse(client, `too many commands waiting for an answer (at most ${MAX_COMMANDS_IN_FLIGHT})`, rid);
      return false;
    }
    client.commandsInFlight += n;
    return true;
  }

  /** A failed command goes into the camera's log ('!'), so every page shows it and it survives reloads. */
  private noteFailure(cam: Camera, text: string, err: unknown): void {
    if (!(err instanceof CommandError))
      this.log.error(`command "${text}" for ${cam.id} failed: ${(err as Error).stack ?? String(err)}`);
    this.hub.addLog(cam, '!', `${text}: ${(err as Error).message}`);
  }

  private async onPtz(client: PageClient, msg: Record<string, unknown>): Promise<void> {
    const rid = msg.rid;
    const id = typeof msg.id === 'string' ? msg.id : '';
    const cam = this.hub.get(id);
    if (!cam) return this.refuse(client, `ptz: unknown camera ${JSON.stringify(msg.id)}`, rid);
    if (!this.reserve(client, 1, rid)) return;
    try {
      const pos = await this.ptz.move(id, msg.direction, msg.step);
      client.sendJson({ t: 'reply', rid, ok: true, answer: pos });
    } catch (err) {
      if (err instanceof CommandError && err.code !== 'invalid')
        this.noteFailure(cam, `ptz ${String(msg.direction)}`, err);
      else if (!(err instanceof CommandError))
        this.log.error(`ptz for ${id} failed: ${(err as Error).stack ?? String(err)}`);
      client.sendJson({
        t: 'reply',
        rid,
        ok: false,
        error: (err as Error).message,
        code: (err as CommandError).code ?? 'error',
      });
    } finally {
      client.commandsInFlight--;
    }
  }

  private onRemoved(cam: Camera): void {
    for (const c of this.clients) if (c.tiles.has(cam.id)) this.unwatch(c, cam.id);
    this.indexes.delete(cam.id);
    this.broadcast({ t: 'removed', id: cam.id });
  }

  /** Serialise once, send the same string to every page. */
  broadcast(msg: unknown): void {
    if (!this.clients.size) return;
    const text = JSON.stringify(msg);
    for (const c of this.clients) c.sendText(text);
  }

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
      c.expireCredits(now);
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
      this.broadcast({
        t: 'stats',
        server_time: now,
        status: this.opts.status(),
        cams: this.hub.list().map((c) => ({
          id: c.id,
          online: c.online,
          fps: Math.round(c.fps * 10) / 10,
          bitrate: Math.round(c.bitrate),
          last_seen_ms: c.lastSeen ?? null,
          watchers: c.watchers,
        })),
      });
    }
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.hub.unlisten(this);
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
