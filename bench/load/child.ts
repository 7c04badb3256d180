// The bench's load and server processes: each prints one JSON object a line on stdout ({ready: true}
// once it is set up, then its results); anything else (cam2mqtt's own log lines) goes to `otherLine`.
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';

export interface Child {
  proc: ChildProcess;
  lines: unknown[];
  ready: Promise<void>;
  done: Promise<void>;
}

export interface ChildOptions {
  env?: Record<string, string>;
  nodeArgs?: string[];
  otherLine?: (line: string) => void;
}

export function spawnChild(dist: string, script: string, args: string[], opts: ChildOptions = {}): Child {
  const proc = spawn(process.execPath, [...(opts.nodeArgs ?? []), path.join(dist, script), ...args], {
    env: { ...process.env, ...opts.env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines: unknown[] = [];
  let buf = '';
  let readyResolve!: () => void;
  const ready = new Promise<void>((r) => {
    readyResolve = r;
  });
  proc.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        const v = JSON.parse(line) as { ready?: boolean };
        if (v.ready) readyResolve();
        else lines.push(v);
      } catch {
        opts.otherLine?.(line);
      }
    }
  });
  const done = new Promise<void>((r) => proc.on('exit', () => r()));
  return { proc, lines, ready, done };
}

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}
