import type { Logger } from '../logging.js';

/**
 * Logs the first occurrence of a repeated problem at once, then at most one summary line per interval
 * ("... (37 more in the last 10 s)"), so a flood of bad input cannot flood the log.
 */
export class ThrottledLog {
  private last = 0;
  private suppressed = 0;
  constructor(
    private readonly log: Logger,
    private readonly intervalMs = 10_000,
  ) {}

  warn(msg: string): void {
    const now = Date.now();
    if (now - this.last >= this.intervalMs) {
      const extra = this.suppressed
        ? ` (${this.suppressed} more like this in the last ${Math.round((now - this.last) / 1000)} s)`
        : '';
      this.log.warn(msg + extra);
      this.last = now;
      this.suppressed = 0;
    } else {
      this.suppressed++;
    }
  }
}
