import type { ServerResponse } from 'node:http';
import type { Redis } from 'ioredis';
import type { Extension, ExtensionContext, ExtensionFactory } from '../extension.js';
import { jsonBody } from '../http/body.js';
import { sendCommandError, sendError, sendJson } from '../http/respond.js';
import type { Camera, CameraMeta, Protocol, PtzDirection } from '../hub/camera.js';
import { CommandError, parseCommand } from '../hub/controls.js';
import type { Logger } from '../logging.js';
import { ClusterEvents } from './events.js';
import {
  clusterInstanceId,
  isRelayed,
  type LeaseHolder,
  type PullGate,
  setClusterMqtt,
  setPullGate,
  setRemoteEvents,
} from './gate.js';
import { type KnownMeta, type Owner, Registry } from './registry.js';
import { type PeerAuth, peerHeaders, type RelayOptions, RemoteLink } from './relay.js';

type ClusterConfig = NonNullable<ExtensionContext['config']['cluster']>;

interface Lease {
  holder: LeaseHolder;
  running: boolean;
  /** When Redis last confirmed this lease (ms). */
  confirmed: number;
}

/**
 * Several instances as one system (docs/scale-out.md): the camera registry in Redis (who owns which
 * camera, renewed while it is connected), pull leases, and the relay: every camera owned elsewhere is
 * in this hub too, behind a RemoteLink to its owner. Redis (ioredis) is loaded in start(), only here.
 */
class ClusterExtension implements Extension, PullGate {
  readonly name = 'cluster';
  readonly instance: string;
  private readonly url: string;
  private readonly ttlMs: number;
  private readonly log: Logger;
  private readonly relay: RelayOptions;
  private db: Redis | undefined;
  private sub: Redis | undefined;
  private registry: Registry | undefined;
  private timer: NodeJS.Timeout | undefined;
  private soonTimer: NodeJS.Timeout | undefined;
  /** Cameras this instance claimed: id -> the local link and when it connected (newest wins). */
  private readonly claimed = new Map<string, { link: object; since: number }>();
  private readonly leases = new Map<string, Lease>();
  /** Cameras being removed because another instance said so (not announced again). */
  private readonly removing = new Set<string>();
  private readonly backListeners: (() => void)[] = [];
  private backTimer: NodeJS.Timeout | undefined;
  private redisUp = false;
  private ticking = false;
  private tickAgain = false;
  private downLogged = false;
  private stopped = false;
  private readonly startedAt = Date.now();
  private peers: Record<string, unknown> = {};

  constructor(
    private readonly ctx: ExtensionContext,
    private readonly cfg: ClusterConfig,
  ) {
    this.instance = clusterInstanceId(cfg);
    this.url = cfg.internal_url.replace(/\/+$/, '');
    this.ttlMs = cfg.ttl * 1000;
    this.log = ctx.logger.child({ mod: 'cluster' });
    const a = ctx.config.http.auth;
    const auth: PeerAuth = { token: a?.token, username: a?.username, password: a?.password };
    this.relay = {
      hub: ctx.hub,
      log: this.log,
      auth,
      maxFrameBytes: ctx.config.limits.max_message_bytes,
      readTimeoutMs: ctx.config.limits.camera_timeout * 1000,
    };
    setPullGate(ctx.hub, this);
    setRemoteEvents(
      ctx.hub,
      new ClusterEvents(this.instance, () => this.livePeers(), auth, this.log, ctx.hub.commandTimeoutMs),
    );
    setClusterMqtt(ctx.hub, {
      answers: (path, cameraId) => this.answers(path, cameraId),
      knownCameras: () => this.knownCameras(),
      onBack: (fn) => this.backListeners.push(fn),
    });
    this.routes(auth);
  }

  // ---- MQTT: one instance acts for the cluster -----------------------------------------------------

  /** The shared bridge/request topic: a camera's owner answers about it, else the smallest live id. */
  private answers(path: string, cameraId: string | undefined): boolean {
    if (path.startsWith('camera/') && path !== 'camera/list') {
      const cam = this.ctx.hub.get(cameraId ?? '');
      if (cam?.online) return !isRelayed(cam);
    }
    const ids = [...Object.keys(this.peers), this.instance].sort();
    return ids[0] === this.instance;
  }

  private async knownCameras(): Promise<Set<string> | undefined> {
    if (!this.redisUp || !this.registry) return undefined;
    try {
      return new Set((await this.registry.known()).keys());
    } catch {
      return undefined;
    }
  }

  /** camera/remove answered here: the cluster forgets it too, and every instance drops it. */
  private onRemoved(id: string): void {
    if (this.removing.delete(id) || !this.redisUp) return;
    void this.registry?.forget(id).catch((err) => this.down(err as Error));
  }

  private onMessage(raw: string): void {
    try {
      const m = JSON.parse(raw) as { type?: string; id?: string; instance?: string };
      if (m.type === 'removed' && m.id && m.instance !== this.instance && this.ctx.hub.get(m.id)) {
        this.removing.add(m.id);
        this.ctx.hub.remove(m.id);
      }
    } catch {}
    this.soon();
  }

  // ---- instance-to-instance routes (behind http.auth like the API) ------------------------------

  private routes(auth: PeerAuth): void {
    const { http, hub } = this.ctx;
    const local = (id: string): Camera => {
      const cam = hub.get(id);
      if (!cam) throw new CommandError('unknown_camera', `unknown camera "${id}"`);
      // Never forwarded twice: a peer that thinks we own a camera we relay is told it is not here.
      if (isRelayed(cam)) throw new CommandError('offline', `camera ${id} is not on instance ${this.instance}`);
      return cam;
    };
    const answer = async (res: ServerResponse, fn: () => Promise<void>) => {
      try {
        await fn();
      } catch (err) {
        if (err instanceof CommandError) return sendCommandError(res, err);
        throw err;
      }
    };
    http.post('/api/cluster/cameras/:id/command', jsonBody(), (req, res) =>
      answer(res, async () => {
        const id = req.params.id!;
        local(id);
        const b = req.body as { command?: { name?: unknown; value?: unknown }; timeout_ms?: unknown };
        if (typeof b?.command?.name !== 'string')
          throw new CommandError('invalid', 'expected {"command": {"name": ...}}');
        const cmd = parseCommand(b.command.name, b.command.value);
        sendJson(res, 200, await hub.command(id, cmd, timeout(b.timeout_ms, hub.commandTimeoutMs)));
      }),
    );
    http.post('/api/cluster/cameras/:id/snapshot', jsonBody(), (req, res) =>
      answer(res, async () => {
        const cam = local(req.params.id!);
        const f = await hub.takeSnapshot(
          cam,
          'request',
          timeout((req.body as { timeout_ms?: unknown })?.timeout_ms, hub.commandTimeoutMs),
        );
        res.writeHead(200, {
          'Content-Type': 'image/jpeg',
          'X-Frame-Seq': String(f.seq),
          'X-Frame-Time': String(f.cameraTime),
        });
        res.end(f.data);
      }),
    );
    http.post('/api/cluster/cameras/:id/move', jsonBody(), (req, res) =>
      answer(res, async () => {
        const cam = local(req.params.id!);
        const b = req.body as { direction?: PtzDirection; step?: number; timeout_ms?: unknown };
        if (!cam.online || !cam.link) throw new CommandError('offline', `camera ${cam.id} is offline`);
        if (!cam.link.move) throw new CommandError('unsupported', `camera ${cam.id} has no relative servo moves`);
        sendJson(res, 200, await cam.link.move(b.direction!, b.step, timeout(b.timeout_ms, hub.commandTimeoutMs)));
      }),
    );
    // The API's latest-frame snapshot, for a relayed camera nobody here watches: the owner's latest.
    http.get('/api/cameras/:id/snapshot.jpg', async (req, res, next) => {
      const cam = hub.get(req.params.id!);
      const link = cam?.link;
      if (!cam || !isRelayed(cam) || !(link instanceof RemoteLink)) return next();
      if (cam.latest && Date.now() - cam.latest.receivedAt < 2000) return next();
      try {
        const r = await fetch(`${link.peer.url}/api/cameras/${encodeURIComponent(cam.id)}/snapshot.jpg`, {
          headers: peerHeaders(auth),
          signal: AbortSignal.timeout(hub.commandTimeoutMs),
        });
        const body = Buffer.from(await r.arrayBuffer());
        const headers: Record<string, string> = { 'Cache-Control': 'no-cache, no-store, must-revalidate' };
        for (const h of ['content-type', 'x-frame-seq', 'x-frame-time', 'last-modified'])
          if (r.headers.get(h)) headers[h] = r.headers.get(h)!;
        res.writeHead(r.status, headers);
        res.end(req.method === 'HEAD' ? undefined : body);
      } catch (err) {
        sendError(
          res,
          502,
          `camera ${cam.id}: its instance ${link.peer.instance} did not answer (${(err as Error).message})`,
        );
      }
    });
    http.get('/api/cluster', (_req, res) => sendJson(res, 200, this.status()));
  }

  // ---- lifecycle ---------------------------------------------------------------------------------

  async start(): Promise<void> {
    const { Redis } = await import('ioredis');
    const retryStrategy = (n: number) => Math.min(200 * n, 2000);
    // Registry commands fail at once while Redis is away (no queue): this instance carries on alone.
    this.db = new Redis(this.cfg.redis, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      // Cut off the network, the TCP connection neither fails nor answers: a tick must not hang on it.
      commandTimeout: Math.max(1000, Math.round(this.ttlMs / 3)),
      retryStrategy,
    });
    this.sub = new Redis(this.cfg.redis, { lazyConnect: true, retryStrategy });
    this.db.on('error', (err) => this.down(err));
    this.sub.on('error', () => {});
    this.db.on('ready', () => this.up());
    this.registry = new Registry(this.db, this.cfg.prefix, this.instance, this.ttlMs);
    this.sub.on('message', (_channel: string, raw: string) => this.onMessage(raw));
    const { hub } = this.ctx;
    hub.listen(this, 'online', (cam) => this.onLocal(cam));
    hub.listen(this, 'updated', (cam) => this.onLocal(cam));
    hub.listen(this, 'offline', (cam) => this.onOffline(cam));
    hub.listen(this, 'removed', (cam) => this.onRemoved(cam.id));
    try {
      await Promise.race([
        Promise.all([this.db.connect(), this.sub.connect()]),
        new Promise((_r, reject) => setTimeout(() => reject(new Error('no answer within 3 s')), 3000).unref()),
      ]);
      await this.sub.subscribe(this.registry.channel);
      await this.sync();
    } catch (err) {
      this.down(err as Error);
    }
    this.log.info(
      `cluster: instance ${this.instance} (${this.url}) on ${redactRedis(this.cfg.redis)}, registry TTL ${this.cfg.ttl} s`,
    );
    this.timer = setInterval(() => void this.tick(), Math.max(250, this.ttlMs / 3));
    this.timer.unref();
    // At once, not after ttl/3: the live instances (who answers shared bridge requests) and the leases.
    void this.tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.soonTimer);
    clearTimeout(this.backTimer);
    setPullGate(this.ctx.hub, undefined);
    setRemoteEvents(this.ctx.hub, undefined);
    setClusterMqtt(this.ctx.hub, undefined);
    // Hand over at once rather than after the TTL: release what this instance owns and leases.
    if (this.redisUp && this.registry) {
      const r = this.registry;
      await Promise.allSettled([
        ...[...this.claimed.keys()].map((id) => r.release(id)),
        ...[...this.leases.keys()].map((id) => r.releaseLease(id)),
      ]);
    }
    for (const cam of this.ctx.hub.list()) if (isRelayed(cam)) cam.link?.close(1001, 'bridge stopping');
    this.db?.disconnect();
    this.sub?.disconnect();
  }

  private down(err: Error): void {
    this.redisUp = false;
    if (this.downLogged || this.stopped) return;
    this.downLogged = true;
    this.log.warn(
      `cluster: Redis unreachable (${err.message}): this instance keeps serving its own cameras; views of the other instances' cameras pause until Redis is back`,
    );
  }

  private up(): void {
    this.redisUp = true;
    if (this.downLogged) {
      this.downLogged = false;
      this.log.info('cluster: Redis is back; catching up with the other instances');
      // MQTT through the shared broker may have dropped what was published meanwhile: once the registry
      // is synced (cameras that moved are relayed now, so not ours to publish) and the broker's own
      // Redis connections are back, the sinks publish their own cameras' state again.
      clearTimeout(this.backTimer);
      this.backTimer = setTimeout(() => {
        void this.sync()
          .catch(() => {})
          .then(() => {
            if (!this.redisUp || this.stopped) return;
            for (const fn of this.backListeners) fn();
          });
      }, 2000);
      this.backTimer.unref();
    }
    this.soon();
  }

  /** Look at the registry shortly (a claim or release was announced). */
  private soon(): void {
    if (this.soonTimer || this.stopped) return;
    this.soonTimer = setTimeout(() => {
      this.soonTimer = undefined;
      void this.sync().catch((err) => this.down(err as Error));
    }, 20);
  }

  // ---- ownership ---------------------------------------------------------------------------------

  /** A camera connected here (or its connection changed): claim it, newest wins. */
  private onLocal(cam: Camera): void {
    const link = cam.link;
    if (!cam.online || !link || isRelayed(cam)) return;
    if (this.claimed.get(cam.id)?.link === link) return;
    const since = cam.connectedAt ?? Date.now();
    this.claimed.set(cam.id, { link, since });
    void this.claim(cam, since);
  }

  private async claim(cam: Camera, since: number): Promise<void> {
    if (!this.registry || !this.redisUp) return;
    const owner: Owner = { instance: this.instance, url: this.url, protocol: cam.protocol ?? 'native', since };
    try {
      await this.registry.claim(cam.id, owner, metaOf(cam));
    } catch (err) {
      this.down(err as Error);
    }
  }

  private onOffline(cam: Camera): void {
    if (!this.claimed.delete(cam.id)) return;
    if (this.redisUp) void this.registry?.release(cam.id).catch((err) => this.down(err as Error));
  }

  /** One tick at a time (the interval, a new lease): concurrent ones would race over the leases. */
  private async tick(): Promise<void> {
    if (this.ticking) {
      this.tickAgain = true;
      return;
    }
    this.ticking = true;
    try {
      do {
        this.tickAgain = false;
        await this.tickOnce();
      } while (this.tickAgain && !this.stopped);
    } finally {
      this.ticking = false;
    }
  }

  private async tickOnce(): Promise<void> {
    const { hub } = this.ctx;
    if (!this.redisUp || !this.registry) {
      // Views of other instances' cameras pause as they are: not timed out while Redis is away.
      for (const cam of hub.list()) if (isRelayed(cam)) hub.touch(cam);
      this.fenceLeases();
      // A command timed out on a connection that is still open (the network was cut): ask again.
      if (this.registry && this.db?.status === 'ready' && !this.stopped)
        await this.db.ping().then(
          () => this.up(),
          () => {},
        );
      return;
    }
    const r = this.registry;
    try {
      await r.announce(this.url, this.ctx.bridge.version, this.startedAt);
      for (const [id, c] of this.claimed) {
        const cam = hub.get(id);
        if (!cam || cam.link !== c.link) {
          this.claimed.delete(id);
          continue;
        }
        // Lapsed (Redis restarted, or away longer than the TTL): claim again; taken: sync decides.
        if (!(await r.renew(id)) && !(await r.owners([id])).has(id)) await this.claim(cam, c.since);
      }
      for (const [id, l] of this.leases) {
        const held = await r.lease(id);
        if (held) l.confirmed = Date.now();
        if (held && !l.running) {
          l.running = true;
          this.log.info(`cluster: this instance holds the pull lease of camera ${id}: pulling it`);
          l.holder.acquired();
        } else if (!held && l.running) {
          l.running = false;
          this.log.warn(`cluster: lost the pull lease of camera ${id} to another instance: no longer pulling it`);
          l.holder.lost();
        }
      }
      await this.sync();
      this.peers = await r.instances();
    } catch (err) {
      this.down(err as Error);
    }
  }

  /** Make the hub agree with the registry: every camera of the cluster here, relayed from its owner. */
  private async sync(): Promise<void> {
    const r = this.registry;
    if (!r || this.stopped) return;
    const { hub } = this.ctx;
    const known = await r.known();
    const ids = [...new Set([...known.keys(), ...hub.list().map((c) => c.id)])];
    const owners = await r.owners(ids);
    for (const id of ids) {
      const owner = owners.get(id);
      const meta = known.get(id) ?? {};
      let cam = hub.get(id);
      if (!owner) {
        if (cam && isRelayed(cam)) {
          const link = cam.link!;
          hub.detach(cam, link, `its instance (${link.remote}) is gone: registry entry lapsed`);
          link.close(1001, 'owner gone');
        } else if (!cam) hub.restore(id, meta.protocol as Protocol | undefined, meta);
        continue;
      }
      if (owner.instance === this.instance) continue;
      cam ??= hub.restore(id, owner.protocol as Protocol, meta);
      const link = cam.link;
      if (link instanceof RemoteLink) {
        if (link.peer.instance === owner.instance && link.peer.url === owner.url) {
          hub.touch(cam);
          continue;
        }
      } else if (link) {
        const mine = this.claimed.get(id);
        // Ours is the newer connection: the other instance will be told (claim again).
        if (mine && mine.since >= owner.since) {
          await this.claim(cam, mine.since);
          continue;
        }
        this.log.info(
          `cluster: camera ${id} connected to instance ${owner.instance} more recently: its connection here is closed`,
        );
      }
      this.claimed.delete(id);
      const remote = new RemoteLink(
        cam,
        owner.protocol as Protocol,
        { instance: owner.instance, url: owner.url },
        this.relay,
      );
      hub.attach(id, owner.protocol as Protocol, remote, meta as CameraMeta);
    }
  }

  // ---- pull leases (PullGate) --------------------------------------------------------------------

  /**
   * Without Redis, a pull that goes on is kept (Redis away for everyone: nobody else can take the
   * lease), but a pulled camera that went offline is not pulled again once its lease is older than
   * the TTL: cut off, this instance cannot know whether another took it over, and must not be the
   * second puller when the network comes back.
   */
  private fenceLeases(): void {
    const now = Date.now();
    for (const [id, l] of this.leases) {
      if (!l.running || now - l.confirmed < this.ttlMs || this.ctx.hub.get(id)?.online) continue;
      l.running = false;
      this.log.warn(
        `cluster: camera ${id} went offline and its pull lease cannot be renewed (Redis unreachable): not pulling it again until the lease is confirmed`,
      );
      l.holder.lost();
    }
  }

  lease(id: string, holder: LeaseHolder): void {
    this.leases.set(id, { holder, running: false, confirmed: 0 });
    void this.tick();
  }

  release(id: string): void {
    const l = this.leases.get(id);
    this.leases.delete(id);
    if (l?.running) l.holder.lost();
    if (this.redisUp) void this.registry?.releaseLease(id).catch(() => {});
  }

  /** The live instances (the registry's instance keys, as of the last tick) with their internal URLs. */
  private livePeers(): { instance: string; url: string }[] {
    return Object.entries(this.peers).flatMap(([instance, v]) => {
      const url = (v as { url?: unknown } | null)?.url;
      return typeof url === 'string' ? [{ instance, url }] : [];
    });
  }

  status(): Record<string, unknown> {
    const cams = this.ctx.hub.list();
    return {
      instance: this.instance,
      internal_url: this.url,
      redis: this.redisUp ? 'connected' : 'unreachable',
      owned: [...this.claimed.keys()].sort(),
      relayed: cams.filter((c) => isRelayed(c)).map((c) => c.id),
      leases: [...this.leases].filter(([, l]) => l.running).map(([id]) => id),
      instances: this.peers,
    };
  }
}

function timeout(v: unknown, fallback: number): number {
  return typeof v === 'number' && v > 0 && v <= 120_000 ? v : fallback;
}

function metaOf(cam: Camera): KnownMeta {
  return {
    name: cam.name,
    ...(cam.protocol ? { protocol: cam.protocol } : {}),
    ...(cam.model ? { model: cam.model } : {}),
    ...(cam.firmware ? { firmware: cam.firmware } : {}),
    capabilities: [...cam.capabilities],
  };
}

function redactRedis(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, '//***@');
}

/** On with cluster.redis set; absent otherwise (and then nothing of Redis is loaded). */
export const clusterExtension: ExtensionFactory = (ctx) =>
  ctx.config.cluster ? new ClusterExtension(ctx, ctx.config.cluster) : undefined;
