/**
 * Failed MQTT logins per client address (the IP, not the port). The first FREE_FAILURES wrong logins
 * are answered at once; after that each wrong one is answered only after a delay that doubles
 * (1 s, 2 s, 4 s ... up to MAX_DELAY_MS), so a guesser on one connection gets a few answers a
 * minute instead of hundreds a second. Credentials are always checked first and a right one is
 * answered at once: a valid login is never slowed down by someone else's failures.
 * The record is forgotten FORGET_MS after the last failure; a success from the address clears it.
 * At most PENDING_PER_ADDRESS refusals wait at once per address (memory bound); one more from that
 * address while they wait is closed at once, with no answer on its credentials.
 */
export const FREE_FAILURES = 3;
export const MAX_DELAY_MS = 30_000;
const FORGET_MS = 15 * 60_000;
const MAX_TRACKED = 10_000;
export const PENDING_PER_ADDRESS = 16;

interface Failures {
  count: number;
  last: number;
  pending: number;
}

export class MqttLoginLimiter {
  private readonly byAddress = new Map<string, Failures>();
  /** Refusals that were delayed (for the status). */
  delayed = 0;

  constructor(private readonly baseDelayMs = 1000) {}

  private get(addr: string, now: number): Failures | undefined {
    const f = this.byAddress.get(addr);
    if (f && f.pending === 0 && now - f.last > FORGET_MS) {
      this.byAddress.delete(addr);
      return undefined;
    }
    return f;
  }

  /** True if the address already has the most refusals waiting that it may have. */
  saturated(addr: string, now = Date.now()): boolean {
    return (this.get(addr, now)?.pending ?? 0) >= PENDING_PER_ADDRESS;
  }

  /**
   * A wrong login from `addr`: returns how long to hold the refusal (0 = answer now) and the
   * failure count. Call `done(addr)` once the held refusal was sent.
   */
  fail(addr: string, now = Date.now()): { delayMs: number; count: number } {
    let f = this.get(addr, now);
    if (!f) {
      f = { count: 0, last: now, pending: 0 };
      if (this.byAddress.size >= MAX_TRACKED) {
        // Oldest first (Map order): an address flood cannot grow memory without bound.
        for (const [k, v] of this.byAddress) {
          if (v.pending === 0) this.byAddress.delete(k);
          if (this.byAddress.size < MAX_TRACKED * 0.9) break;
        }
      }
      this.byAddress.set(addr, f);
    }
    f.count++;
    f.last = now;
    const over = f.count - FREE_FAILURES;
    const delayMs = over <= 0 ? 0 : Math.min(MAX_DELAY_MS, this.baseDelayMs * 2 ** (over - 1));
    if (delayMs > 0) {
      f.pending++;
      this.delayed++;
    }
    return { delayMs, count: f.count };
  }

  /** A held refusal has been answered. */
  done(addr: string): void {
    const f = this.byAddress.get(addr);
    if (f && f.pending > 0) f.pending--;
  }

  succeed(addr: string): void {
    const f = this.byAddress.get(addr);
    // Refusals still waiting keep their count; the next failure starts over.
    if (f) {
      f.count = 0;
      if (f.pending === 0) this.byAddress.delete(addr);
    }
  }

  get trackedCount(): number {
    return this.byAddress.size;
  }
}
