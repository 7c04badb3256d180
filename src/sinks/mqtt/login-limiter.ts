import { FailureLimiter } from '../../util/failure-limiter.js';

/**
 * Failed MQTT logins per client address (the IP, not the port). The first FREE_FAILURES wrong logins
 * are answered at once; after that each wrong one is answered only after a delay that doubles
 * (1 s, 2 s, 4 s ... up to MAX_DELAY_MS), so a guesser on one connection gets a few answers a
 * minute instead of hundreds a second. Credentials are always checked first and a right one is
 * answered at once: a valid login is never slowed down by someone else's failures.
 * The record is forgotten FORGET_MS after the last failure; a success from the address clears it.
 * At most PENDING_PER_ADDRESS refusals wait at once per address (memory bound); one more from that
 * address while they wait is closed at once, with no answer on its credentials.
 * The counting and the doubling are the HTTP login's (src/util/failure-limiter.ts): its lock after a
 * failure is the delay of that failure's refusal here.
 */
export const FREE_FAILURES = 3;
export const MAX_DELAY_MS = 30_000;
const FORGET_MS = 15 * 60_000;
const MAX_TRACKED = 10_000;
export const PENDING_PER_ADDRESS = 16;

export class MqttLoginLimiter {
  private readonly failures: FailureLimiter;
  /** Held refusals per address (an entry only while one waits). */
  private readonly pending = new Map<string, number>();
  /** Refusals that were delayed (for the status). */
  delayed = 0;

  constructor(baseDelayMs = 1000) {
    // FailureLimiter locks from its freeFailures-th failure on; here the one after FREE_FAILURES is held.
    this.failures = new FailureLimiter({
      freeFailures: FREE_FAILURES + 1,
      baseLockMs: baseDelayMs,
      maxLockMs: MAX_DELAY_MS,
      memoryMs: FORGET_MS,
      maxKeys: MAX_TRACKED,
    });
  }

  /** True if the address already has the most refusals waiting that it may have. */
  saturated(addr: string): boolean {
    return (this.pending.get(addr) ?? 0) >= PENDING_PER_ADDRESS;
  }

  /**
   * A wrong login from `addr`: returns how long to hold the refusal (0 = answer now) and the
   * failure count. Call `done(addr)` once the held refusal was sent.
   */
  fail(addr: string, now = Date.now()): { delayMs: number; count: number } {
    const f = this.failures.fail(addr, now);
    const delayMs = Math.max(0, f.lockedUntil - now);
    if (delayMs > 0) {
      this.pending.set(addr, (this.pending.get(addr) ?? 0) + 1);
      this.delayed++;
    }
    return { delayMs, count: f.count };
  }

  /** A held refusal has been answered. */
  done(addr: string): void {
    const n = this.pending.get(addr) ?? 0;
    if (n > 1) this.pending.set(addr, n - 1);
    else this.pending.delete(addr);
  }

  /** Refusals still waiting keep their place; the next failure starts over. */
  succeed(addr: string): void {
    this.failures.succeed(addr);
  }
}
