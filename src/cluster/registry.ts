import type { Redis } from 'ioredis';

// The camera registry in Redis (docs/scale-out.md), under cluster.prefix (P):
//   P:owner:<camera>     JSON Owner, PX ttl: which instance has the camera's connection (or pull) now,
//                        renewed by that instance every ttl/3 while it has it
//   P:lease:<camera>     instance id, PX ttl: who pulls a pulled camera (SET NX; renewed; lapses)
//   P:instance:<id>      JSON {url, version, started}, PX ttl: the live instances
//   P:known              hash camera -> JSON meta: every camera the cluster has seen (no TTL), so each
//                        instance shows offline cameras too
//   P:events             pub/sub channel: {type: claim|release|removed, id, instance}, so the others look at once

export interface Owner {
  instance: string;
  url: string;
  protocol: string;
  /** When this connection began (ms): newest wins across instances. */
  since: number;
}

export interface KnownMeta {
  name?: string;
  protocol?: string;
  model?: string;
  firmware?: string;
  capabilities?: string[];
}

// Compare-and-act scripts: only the holder renews or deletes what it holds.
const RENEW_OWNER = `local v = redis.call('GET', KEYS[1])
if v and cjson.decode(v).instance == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;
const RELEASE_OWNER = `local v = redis.call('GET', KEYS[1])
if v and cjson.decode(v).instance == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;
const RENEW_LEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;
const RELEASE_LEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

export class Registry {
  constructor(
    private readonly db: Redis,
    private readonly prefix: string,
    readonly instance: string,
    private readonly ttlMs: number,
  ) {}

  get channel(): string {
    return `${this.prefix}:events`;
  }

  private key(kind: string, id: string): string {
    return `${this.prefix}:${kind}:${id}`;
  }

  /** This instance has the camera now (newest wins: overwrites whoever had it). */
  async claim(id: string, owner: Owner, meta: KnownMeta): Promise<void> {
    await this.db
      .multi()
      .set(this.key('owner', id), JSON.stringify(owner), 'PX', this.ttlMs)
      .hset(`${this.prefix}:known`, id, JSON.stringify(meta))
      .publish(this.channel, JSON.stringify({ type: 'claim', id, instance: this.instance }))
      .exec();
  }

  /** Renew what this instance still owns; false: another instance took it (or it lapsed). */
  async renew(id: string): Promise<boolean> {
    return (await this.db.eval(RENEW_OWNER, 1, this.key('owner', id), this.instance, this.ttlMs)) === 1;
  }

  async release(id: string): Promise<void> {
    const n = await this.db.eval(RELEASE_OWNER, 1, this.key('owner', id), this.instance);
    if (n === 1) await this.db.publish(this.channel, JSON.stringify({ type: 'release', id, instance: this.instance }));
  }

  /** A camera removed on purpose: no longer known to the cluster; the others drop it too. */
  async forget(id: string): Promise<void> {
    await this.db
      .multi()
      .hdel(`${this.prefix}:known`, id)
      .publish(this.channel, JSON.stringify({ type: 'removed', id, instance: this.instance }))
      .exec();
  }

  async known(): Promise<Map<string, KnownMeta>> {
    const all = await this.db.hgetall(`${this.prefix}:known`);
    const out = new Map<string, KnownMeta>();
    for (const [id, v] of Object.entries(all)) {
      try {
        out.set(id, JSON.parse(v) as KnownMeta);
      } catch {
        out.set(id, {});
      }
    }
    return out;
  }

  async owners(ids: string[]): Promise<Map<string, Owner>> {
    const out = new Map<string, Owner>();
    if (!ids.length) return out;
    const vals = await this.db.mget(ids.map((id) => this.key('owner', id)));
    ids.forEach((id, i) => {
      const v = vals[i];
      if (!v) return;
      try {
        out.set(id, JSON.parse(v) as Owner);
      } catch {}
    });
    return out;
  }

  /** Take the pull lease if free (or renew it if ours); true while this instance holds it. */
  async lease(id: string): Promise<boolean> {
    const key = this.key('lease', id);
    if ((await this.db.eval(RENEW_LEASE, 1, key, this.instance, this.ttlMs)) === 1) return true;
    return (await this.db.set(key, this.instance, 'PX', this.ttlMs, 'NX')) === 'OK';
  }

  async releaseLease(id: string): Promise<void> {
    await this.db.eval(RELEASE_LEASE, 1, this.key('lease', id), this.instance);
  }

  async announce(url: string, version: string, started: number): Promise<void> {
    await this.db.set(this.key('instance', this.instance), JSON.stringify({ url, version, started }), 'PX', this.ttlMs);
  }

  async instances(): Promise<Record<string, unknown>> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.db.scan(cursor, 'MATCH', `${this.prefix}:instance:*`, 'COUNT', 100);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    const out: Record<string, unknown> = {};
    if (!keys.length) return out;
    const vals = await this.db.mget(keys);
    keys.forEach((k, i) => {
      try {
        out[k.slice(`${this.prefix}:instance:`.length)] = JSON.parse(vals[i] ?? 'null');
      } catch {}
    });
    return out;
  }
}
