import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../src/cli.js', import.meta.url));

export interface CliRun {
  proc: ChildProcess;
  /** Everything it printed so far, stdout and stderr together. */
  out: () => string;
  exit: Promise<number | null>;
}

/** Start the real `cam2mqtt` (dist/src/cli.js) with `args`, only PATH and `env` in its environment. */
export function runCli(args: string[], env: Record<string, string> = {}, nodeArgs: string[] = []): CliRun {
  return runNode(CLI, args, env, nodeArgs);
}

/** Run a Node script in a process of its own, collecting its output. */
export function runNode(
  script: string,
  args: string[] = [],
  env: Record<string, string> = {},
  nodeArgs: string[] = [],
): CliRun {
  let out = '';
  const proc = spawn(process.execPath, [...nodeArgs, script, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout!.on('data', (d) => {
    out += d;
  });
  proc.stderr!.on('data', (d) => {
    out += d;
  });
  const exit = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return { proc, out: () => out, exit };
}
