import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { Bridge } from '../../src/bridge.js';
import { loadConfig } from '../../src/config/load.js';
import type { ExtensionFactory } from '../../src/extension.js';
import { coreExtensions, defaultExtensions } from '../../src/extensions.js';
import { createLogger } from '../../src/logging.js';

/** A free TCP port on 127.0.0.1 (bound and released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface TestBridge {
  bridge: Bridge;
  /** http://127.0.0.1:<port> */
  url: string;
  port: number;
  dataDir: string;
  /** Captured log lines (JSON objects with level and msg). */
  logs: { level: number; msg: string; mod?: string }[];
  logText(): string;
  stop(): Promise<void>;
}

/**
 * A real bridge in this process on 127.0.0.1 with a free HTTP port and a temp data dir. `raw` is
 * what a user would write in configuration.yaml. MQTT is off unless the test enables it.
 */
export async function startBridge(
  raw: Record<string, unknown> = {},
  opts: { extensions?: ExtensionFactory[]; dataDir?: string; keepDataDir?: boolean } = {},
): Promise<TestBridge> {
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(tmpdir(), 'cam2mqtt-test-'));
  const logs: TestBridge['logs'] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) logs.push(JSON.parse(line));
      cb();
    },
  });
  const http = (raw.http ?? {}) as Record<string, unknown>;
  const mqtt = (raw.mqtt ?? {}) as Record<string, unknown>;
  const cfg = {
    ...raw,
    http: { host: '127.0.0.1', port: 0, ...http },
    mqtt: { enabled: false, host: '127.0.0.1', ...mqtt },
    log: { level: 'debug', format: 'json', ...((raw.log ?? {}) as object) },
  };
  const { config } = loadConfig({ raw: cfg, dataDir, env: {} });
  const logger = createLogger({ level: config.log.level, format: 'json', destination: sink });
  const bridge = new Bridge(
    { config, dataDir, logger },
    opts.extensions ? [...coreExtensions, ...opts.extensions] : defaultExtensions,
  );
  await bridge.start();
  const port = bridge.http.port;
  return {
    bridge,
    url: `http://127.0.0.1:${port}`,
    port,
    dataDir,
    logs,
    logText: () => logs.map((l) => l.msg).join('\n'),
    async stop() {
      await bridge.stop();
      if (!opts.keepDataDir && !opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Poll until fn returns a truthy value (or throw after timeoutMs with the label). */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  timeoutMs = 5000,
  label = 'condition',
): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${label}${last ? `: ${(last as Error).message}` : ''}`,
      );
    await new Promise((r) => setTimeout(r, 25));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
