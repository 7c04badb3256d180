import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import type { Logger } from '../logging.js';

// The embedded brokers of all instances as one broker (Aedes' own clustering packages):
// - mqemitter-redis 7.2.1: every publish goes through Redis pub/sub to every instance's subscribers;
// - aedes-persistence-redis 11.2.2 (its async class): retained messages, subscriptions, sessions and
//   wills in Redis, so a client gets the same retained state from any instance.
// Both pinned to the line Aedes 2.0.0-beta.1 resolves (mqemitter ^7, aedes-persistence ^10);
// aedes-persistence-redis 12 needs aedes-persistence 11 (docs/scale-out.md).
// Loaded only with cluster.redis set (lazily, from broker.ts).

const require = createRequire(import.meta.url);

export interface BrokerBackendOptions {
  redis: string;
  prefix: string;
  instanceId: string;
}

export interface BrokerBackend {
  /** Aedes options: id (the instance id, in $SYS topics), mq, persistence. */
  shared: { id: string; mq: unknown; persistence: unknown };
  close(): void;
}

export function brokerBackend(opts: BrokerBackendOptions, log: Logger): BrokerBackend {
  const mqemitterRedis = require('mqemitter-redis') as (o: Record<string, unknown>) => {
    state: { on(e: string, fn: (err: Error) => void): void };
  };
  const AsyncRedisPersistence = require('aedes-persistence-redis/asyncPersistence.js') as new (
    o: Record<string, unknown>,
  ) => unknown;
  const mq = mqemitterRedis({ connectionString: opts.redis });
  let down = false;
  mq.state.on('error', (err) => {
    if (down) return;
    down = true;
    log.warn(`cluster: the shared MQTT broker lost Redis (${err.message}); MQTT messages wait until it is back`);
  });
  const back = () => {
    if (!down) return;
    down = false;
    log.info('cluster: the shared MQTT broker reaches Redis again');
  };
  (mq.state as unknown as { on(e: string, fn: () => void): void }).on('pubConnect', back);
  const { Redis } = require('ioredis') as typeof import('ioredis');
  const conn = new Redis(opts.redis, { keyPrefix: `${opts.prefix}:mqtt:` });
  conn.on('error', () => {}); // reported once above, through the emitter's connections
  const persistence = new AsyncRedisPersistence({ conn }) as Record<string, unknown>;
  // aedes-persistence-redis 11 hands out async iterables (its callback wrapper makes them streams);
  // Aedes 2.0.0-beta.1 pipes what an async persistence returns, as aedes-persistence 10's own class
  // does: make them Readable streams.
  for (const m of [
    'createRetainedStreamCombi',
    'createRetainedStream',
    'outgoingStream',
    'streamWill',
    'getClientList',
  ]) {
    const fn = persistence[m] as ((...a: unknown[]) => unknown) | undefined;
    if (typeof fn !== 'function') continue;
    persistence[m] = (...a: unknown[]) => {
      const out = fn.apply(persistence, a);
      return typeof (out as { pipe?: unknown })?.pipe === 'function'
        ? out
        : Readable.from(out as AsyncIterable<unknown>);
    };
  }
  // Aedes closes the emitter on close(), not the persistence's connection.
  return { shared: { id: opts.instanceId, mq, persistence }, close: () => conn.disconnect() };
}
