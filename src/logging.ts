import { type DestinationStream, type Logger, pino } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export interface LogOptions {
  level: string;
  format: 'pretty' | 'json';
  /** Where lines go; default stdout. Tests pass a capturing stream. */
  destination?: DestinationStream;
}

// One line per event, human readable by default: "2026-11-21 14:16:15 INFO camera: garage online (native, 127.0.0.1)".
export function createLogger(opts: LogOptions): Logger {
  const base = { level: opts.level, base: undefined };
  if (opts.format === 'json') return pino(base, opts.destination ?? pino.destination({ sync: true }));
  const stream = pretty({
    colorize: opts.destination === undefined && Boolean(process.stdout.isTTY),
    translateTime: 'SYS:yyyy-mm-dd HH:MM:ss',
    ignore: 'mod',
    messageFormat: '{if mod}{mod}: {end}{msg}',
    singleLine: true,
    sync: true,
    destination: opts.destination ?? 1,
  });
  return pino(base, stream);
}
