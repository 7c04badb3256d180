import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { sendError } from '../http/respond.js';
import type { Logger } from '../logging.js';
import type { RemoteEvents } from './gate.js';
import { type Peer, type PeerAuth, peerHeaders } from './relay.js';

/** Marks a request from another instance: it is answered from the receiver's own index only (no loops). */
const PEER_HEADER = 'x-cam2mqtt-instance';
/** Headers of the viewer's request that go to the holder (seeking, caching). */
const PASS = ['range', 'if-range', 'if-none-match', 'if-modified-since', 'accept'];
/** Response headers never copied back (hop-by-hop). */
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection']);
const HOLDERS_MAX = 2000;

/**
 * The events API across instances (docs/scale-out.md): each instance keeps its own SQLite index and
 * clip files; the list merges every live instance's page, and an event held elsewhere is forwarded to
 * its holder (found by asking the live instances, then remembered).
 */
export class ClusterEvents implements RemoteEvents {
  /** Event id -> the instance that answered for it last (bounded: oldest forgotten first). */
  private readonly holders = new Map<string, string>();
  /** Every instance seen live: one that is gone now is named as unreachable in the list. */
  private readonly seen = new Set<string>();

  constructor(
    readonly instance: string,
    private readonly peers: () => Peer[],
    private readonly auth: PeerAuth,
    private readonly log: Logger,
    private readonly timeoutMs: number,
  ) {}

  fromPeer(req: IncomingMessage): boolean {
    return req.headers[PEER_HEADER] !== undefined;
  }

  private headers(): Record<string, string> {
    return { ...peerHeaders(this.auth), [PEER_HEADER]: this.instance };
  }

  private others(): Peer[] {
    const live = this.peers().filter((p) => p.instance !== this.instance);
    for (const p of live) this.seen.add(p.instance);
    return live;
  }

  async list(
    query: URLSearchParams,
    limit: number,
  ): Promise<{ events: Record<string, unknown>[]; unreachable: string[] }> {
    const live = this.others();
    const q = new URLSearchParams(query);
    q.set('limit', String(limit));
    const unreachable = [...this.seen].filter((id) => !live.some((p) => p.instance === id));
    const events: Record<string, unknown>[] = [];
    await Promise.all(
      live.map(async (p) => {
        try {
          const r = await fetch(`${p.url}/api/events?${q}`, {
            headers: this.headers(),
            signal: AbortSignal.timeout(this.timeoutMs),
          });
          if (!r.ok) throw new Error(`HTTP ${r.status}`);
          const page = (await r.json()) as { events?: Record<string, unknown>[] };
          for (const e of page.events ?? []) {
            events.push(e);
            this.remember(String(e.id), p.instance);
          }
        } catch (err) {
          unreachable.push(p.instance);
          this.log.debug(`cluster: instance ${p.instance} did not list its events (${(err as Error).message})`);
        }
      }),
    );
    return { events, unreachable: unreachable.sort() };
  }

  private remember(id: string, instance: string): void {
    this.holders.delete(id);
    this.holders.set(id, instance);
    if (this.holders.size > HOLDERS_MAX) this.holders.delete(this.holders.keys().next().value!);
  }

  /** The live instance whose index has `id`: the remembered one, else the first that says so. */
  private async holder(id: string): Promise<Peer | undefined> {
    const live = this.others();
    const known = live.find((p) => p.instance === this.holders.get(id));
    const ask = async (p: Peer): Promise<Peer> => {
      const r = await fetch(`${p.url}/api/events/${encodeURIComponent(id)}`, {
        method: 'HEAD',
        headers: this.headers(),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
      return p;
    };
    if (known && (await ask(known).catch(() => undefined))) return known;
    const found = await Promise.any(live.map(ask)).catch(() => undefined);
    if (found) this.remember(id, found.instance);
    else this.holders.delete(id);
    return found;
  }

  async forward(req: IncomingMessage, res: ServerResponse, id: string): Promise<boolean> {
    const peer = await this.holder(id);
    if (!peer) return false;
    const target = new URL(req.url ?? '/', peer.url);
    const headers: Record<string, string> = this.headers();
    for (const h of PASS) {
      const v = req.headers[h];
      if (typeof v === 'string') headers[h] = v;
    }
    await new Promise<void>((resolve) => {
      const up = (target.protocol === 'https:' ? httpsRequest : httpRequest)(
        target,
        // Idle timeout, not a total one: a clip may take long to a slow viewer.
        { method: req.method, headers, timeout: Math.max(30_000, this.timeoutMs) },
        (r) => {
          const out: Record<string, string | string[]> = {};
          for (const [k, v] of Object.entries(r.headers)) if (v !== undefined && !HOP.has(k)) out[k] = v;
          res.writeHead(r.statusCode ?? 502, out);
          // Streams as it comes (clip.mjpeg plays at its real pace): the holder's bytes, unchanged.
          r.pipe(res);
          r.on('end', resolve);
          r.on('error', () => {
            res.destroy();
            resolve();
          });
        },
      );
      // A viewer that leaves stops the holder's side too.
      res.on('close', () => {
        up.destroy();
        resolve();
      });
      up.on('timeout', () => up.destroy(new Error('no answer within 30 s')));
      up.on('error', (err) => {
        if (!res.headersSent)
          sendError(res, 502, `event ${id}: its instance ${peer.instance} did not answer (${err.message})`);
        else res.destroy();
        resolve();
      });
      up.end(); // GET, HEAD, DELETE: no body
    });
    return true;
  }
}
