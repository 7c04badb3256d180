/**
 * Failed attempts per client key (an address, a client identity): `freeFailures` are free, then each
 * further one locks the key for twice as long (base, 2 x base, ... up to maxLockMs). A key is forgotten
 * `memoryMs` after its last failure; a success clears it. No I/O and no HTTP: the HTTP login and the
 * MQTT broker can both use it.
 *
 *   const limiter = new FailureLimiter();
 *   if (limiter.lockedFor(key) > 0) refuse();      // ms still to wait
 *   else if (!ok) limiter.fail(key); else limiter.succeed(key);
 */
export interface FailureLimiterOptions {
  freeFailures?: number;
  baseLockMs?: number;
  maxLockMs?: number;
  memoryMs?: number;
  /** Keys tracked at most; the oldest are dropped first, so a flood of keys cannot grow memory. */
  maxKeys?: number;
}

export interface Failures {
  count: number;
  last: number;
  lockedUntil: number;
}

export class FailureLimiter {
  private readonly byKey = new Map<string, Failures>();
  private readonly freeFailures: number;
  private readonly baseLockMs: number;
  private readonly maxLockMs: number;
  private readonly memoryMs: number;
  private readonly maxKeys: number;

  constructor(opts: FailureLimiterOptions = {}) {
    this.freeFailures = opts.freeFailures ?? 5;
    this.baseLockMs = opts.baseLockMs ?? 30_000;
    this.maxLockMs = opts.maxLockMs ?? 15 * 60_000;
    this.memoryMs = opts.memoryMs ?? 15 * 60_000;
    this.maxKeys = opts.maxKeys ?? 10_000;
  }

  /** Milliseconds the key must still wait, or 0. */
  lockedFor(key: string, now = Date.now()): number {
    const f = this.byKey.get(key);
    if (!f) return 0;
    if (now - f.last > this.memoryMs && now >= f.lockedUntil) {
      this.byKey.delete(key);
      return 0;
    }
    return Math.max(0, f.lockedUntil - now);
  }

  /** Count one failure; returns the key's state (count, lockedUntil) after it. */
  fail(key: string, now = Date.now()): Failures {
    let f = this.byKey.get(key);
    if (!f || (now - f.last > this.memoryMs && now >= f.lockedUntil)) f = { count: 0, last: now, lockedUntil: 0 };
    f.count++;
    f.last = now;
    if (f.count >= this.freeFailures)
      f.lockedUntil = now + Math.min(this.maxLockMs, this.baseLockMs * 2 ** (f.count - this.freeFailures));
    this.byKey.delete(key);
    this.byKey.set(key, f);
    if (this.byKey.size > this.maxKeys) {
      // Oldest first (Map order).
      for (const k of this.byKey.keys()) {
        this.byKey.delete(k);
        if (this.byKey.size <= this.maxKeys * 0.9) break;
      }
    }
    return f;
  }

  succeed(key: string): void {
    this.byKey.delete(key);
  }

  get lockedCount(): number {
    const now = Date.now();
    let n = 0;
    for (const f of this.byKey.values()) if (f.lockedUntil > now) n++;
    return n;
  }
}
