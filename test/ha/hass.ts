// Test harness for running a REAL Home Assistant and a real mosquitto broker, bound to 127.0.0.1 on
// free ports. Which HA is the matrix leg (HA_VERSION, set by .ci/run-ha.sh):
// - 2024.3.3: the venv .ci/install-ha.sh made on the machine's Python (HA_VENV);
// - newer: the chroot .ci/install-ha-chroot.sh made (HA_CHROOT), started through .ci/hass-chroot.sh,
//   which mounts what HA needs in a private mount namespace (nothing stays mounted on the host).
//
// Guarantees: HA runs in its own process group, is killed with its group by stop(), by an
// 'exit'/SIGINT/SIGTERM hook of this process, and (PR_SET_PDEATHSIG) by the kernel if this
// process dies any other way, so no HA process outlives a test run.
//
// Typical use (node:test):
//   const ha = await startHomeAssistant();
//   after(() => ha.stop());
//   const conn = await connectWs(ha.url, ha.token);
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as netConnect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { type Connection, createConnection, createLongLivedTokenAuth } from 'home-assistant-js-websocket';
import WebSocket from 'ws';

// ------------------------------------------------------------------------------------------------
// Locations

function findRepoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, '.ci', 'install-ha.sh'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('hass.ts: cannot find the repo root (.ci/install-ha.sh)');
    dir = parent;
  }
}

export const REPO_ROOT = findRepoRoot();
/** Where .ci/install-ha.sh and .ci/install-ha-chroot.sh cache their installs (outside the clone). */
export const HA_CACHE_DIR = process.env.HA_CACHE_DIR ?? path.join(os.homedir(), '.cache', 'cam2mqtt-ha');
/** The Home Assistant of this matrix leg (.ci/run-ha.sh sets it; default the oldest supported). */
export const HA_VERSION = process.env.HA_VERSION ?? '2024.3.3';
/** The one version that runs on the machine's own Python (a venv); the others run in a chroot. */
const VENV_VERSION = '2024.3.3';
export const HA_IN_CHROOT = HA_VERSION !== VENV_VERSION;

function defaultChroot(): string {
  // .ci/install-ha-chroot.sh names it chroot-<debian suite>-<version>.
  const hit = existsSync(HA_CACHE_DIR)
    ? readdirSync(HA_CACHE_DIR).find((n) => n.startsWith('chroot-') && n.endsWith(`-${HA_VERSION}`))
    : undefined;
  return path.join(HA_CACHE_DIR, hit ?? `chroot-${HA_VERSION}`);
}
/** The chroot made by .ci/install-ha-chroot.sh (override with HA_CHROOT). */
export const HA_CHROOT = process.env.HA_CHROOT || defaultChroot();
/** The venv made by .ci/install-ha.sh (override with HA_VENV). */
export const HA_VENV = process.env.HA_VENV ?? path.join(HA_CACHE_DIR, 'ha-venv');
export const HA_BIN = HA_IN_CHROOT
  ? path.join(HA_CHROOT, 'opt', 'ha', 'bin', 'hass')
  : path.join(HA_VENV, 'bin', 'hass');
const HASS_CHROOT_SH = path.join(REPO_ROOT, '.ci', 'hass-chroot.sh');

/** True when this leg's HA install has completed (use to skip HA tests outside CI). */
export function haInstalled(): boolean {
  const marker = HA_IN_CHROOT ? path.join(HA_CHROOT, '.cam2mqtt-venv') : path.join(HA_VENV, '.cam2mqtt-ha-installed');
  return existsSync(HA_BIN) && existsSync(marker);
}

/** A file of this leg's installed homeassistant package, e.g. 'components/mqtt/const.py'. */
export function haSourceFile(rel: string): string {
  const venv = HA_IN_CHROOT ? path.join(HA_CHROOT, 'opt', 'ha') : HA_VENV;
  const lib = path.join(venv, 'lib');
  const py = existsSync(lib) ? readdirSync(lib).find((n) => n.startsWith('python')) : undefined;
  return path.join(lib, py ?? 'python3', 'site-packages', 'homeassistant', rel);
}

/**
 * The MQTT protocol this HA's MQTT integration uses by default, read from HA's own source
 * (DEFAULT_PROTOCOL in components/mqtt/const.py): the oracle for "created with HA's default".
 */
export function haDefaultMqttProtocol(): string {
  const src = readFileSync(haSourceFile('components/mqtt/const.py'), 'utf8');
  const m = /^DEFAULT_PROTOCOL\s*=\s*(\w+|"[^"]*")/m.exec(src);
  if (!m) throw new Error('no DEFAULT_PROTOCOL in mqtt/const.py');
  if (m[1]!.startsWith('"')) return m[1]!.slice(1, -1);
  const c = new RegExp(`^${m[1]}\\s*=\\s*"([^"]*)"`, 'm').exec(src);
  if (!c) throw new Error(`no ${m[1]} in mqtt/const.py`);
  return c[1]!;
}

/** How to install this leg's HA (for error messages). */
export const HA_INSTALL_HINT = HA_IN_CHROOT ? `.ci/install-ha-chroot.sh ${HA_VERSION}` : '.ci/install-ha.sh';

// ------------------------------------------------------------------------------------------------
// Small utilities

/** A free TCP port on 127.0.0.1 (bind port 0, read it, close). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error('freePort: no address'));
        return;
      }
      const { port } = addr;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Polls fn until it returns a value that is not undefined/null/false, and returns that value.
 * Errors thrown by fn count as "not yet"; the last one is reported on timeout.
 */
export async function waitFor<T>(
  fn: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs = 30_000,
  what = 'condition',
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== null && v !== false) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() >= deadline) {
      const detail = lastErr === undefined ? '' : `; last error: ${String((lastErr as Error)?.message ?? lastErr)}`;
      throw new Error(`waitFor: timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await sleep(intervalMs);
  }
}

async function waitForTcp(port: number, timeoutMs: number, isAlive: () => boolean, what: string): Promise<void> {
  await waitFor(
    () =>
      new Promise<boolean>((resolve, reject) => {
        if (!isAlive()) {
          reject(new Error(`${what} exited`));
          return;
        }
        const s = netConnect({ host: '127.0.0.1', port }, () => {
          s.destroy();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      }),
    timeoutMs,
    `${what} on 127.0.0.1:${port}`,
    100,
  );
}

/** Keeps the last `max` characters of a process's output. */
class LogBuffer {
  private chunks: string[] = [];
  private size = 0;
  constructor(private readonly max = 4 * 1024 * 1024) {}
  push(s: string): void {
    this.chunks.push(s);
    this.size += s.length;
    while (this.size > this.max && this.chunks.length > 1) this.size -= this.chunks.shift()!.length;
  }
  text(): string {
    return this.chunks.join('');
  }
}

// ------------------------------------------------------------------------------------------------
// Child process management: own process group + kernel parent-death signal + exit hooks.

const live = new Set<ChildProcess>();
let hooksInstalled = false;

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      /* already gone */
    }
  }
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const c of live) killGroup(c, 'SIGKILL');
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const handler = (): void => {
      for (const c of live) killGroup(c, 'SIGKILL');
      process.removeListener(sig, handler);
      process.kill(process.pid, sig);
    };
    process.on(sig, handler);
  }
}

// Runs argv[0] via the venv's python with PR_SET_PDEATHSIG=SIGTERM: the kernel signals the child
// when this Node process dies, even by SIGKILL. The setting survives execv.
const PDEATHSIG_PRELUDE = [
  'import ctypes, os, signal, sys',
  'ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM), 0, 0, 0)',
  'os.getppid() == int(os.environ.pop("HA_HARNESS_PARENT", "0")) or sys.exit(0)',
  'os.execv(sys.argv[1], sys.argv[1:])',
].join('\n');

interface Spawned {
  child: ChildProcess;
  exited: Promise<void>;
}

function spawnManaged(
  argv: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; log: LogBuffer; python?: string },
): Spawned {
  installHooks();
  // The prelude needs any Python: the venv's, else the machine's (the chroot leg has no host venv).
  const python =
    opts.python ?? [path.join(HA_VENV, 'bin', 'python'), '/usr/bin/python3'].find((p) => existsSync(p)) ?? '';
  const [cmd, args] = existsSync(python) ? [python, ['-c', PDEATHSIG_PRELUDE, ...argv]] : [argv[0]!, argv.slice(1)];
  const child = spawn(cmd, args, {
    cwd: opts.cwd,
    env: { ...(opts.env ?? process.env), HA_HARNESS_PARENT: String(process.pid) },
    detached: true, // own process group: stop() kills the whole group
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  child.stdout!.setEncoding('utf8').on('data', (d: string) => opts.log.push(d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => opts.log.push(d));
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      opts.log.push(`\n[harness] ${path.basename(argv[0]!)} exited (code ${code}, signal ${signal})\n`);
      resolve();
    });
    child.once('error', (err) => {
      live.delete(child);
      opts.log.push(`\n[harness] spawn error: ${err.message}\n`);
      resolve();
    });
  });
  return { child, exited };
}

async function stopManaged(p: Spawned, graceMs: number): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null || !live.has(p.child)) return;
  killGroup(p.child, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    p.exited.then(() => false),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), graceMs);
    }),
  ]);
  clearTimeout(timer);
  if (timedOut) {
    killGroup(p.child, 'SIGKILL');
    await p.exited;
  }
  // Anything left in the group (there should be nothing) gets SIGKILL too.
  if (p.child.pid !== undefined) {
    try {
      process.kill(-p.child.pid, 'SIGKILL');
    } catch {
      /* group is empty */
    }
  }
}

// ------------------------------------------------------------------------------------------------
// Home Assistant

export interface StartOptions {
  /** HTTP port; default: a free port. */
  port?: number;
  /** Config dir; default: a new temp dir (removed by stop() unless HA_KEEP_DIR=1). */
  dir?: string;
  /** Start-up timeout per (re)start, default 180 s (a cold start takes ~5-20 s on 2 busy cores). */
  timeoutMs?: number;
  /** Default log level (default 'warning'). */
  logLevel?: 'debug' | 'info' | 'warning' | 'error';
  /** Per-logger levels, e.g. { 'homeassistant.components.mqtt': 'debug' }. */
  logs?: Record<string, string>;
  /** Extra YAML appended to configuration.yaml. */
  extraConfig?: string;
  /** Print HA's output to stderr as it comes (also on with HA_VERBOSE=1). */
  verbose?: boolean;
}

export interface HomeAssistant {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  /** The version HA reports (GET /api/config), e.g. "2026.11.0". */
  version: string;
  port: number;
  /** Long-lived access token (valid across restart()). */
  token: string;
  /** Config dir. */
  dir: string;
  /** Stops HA (SIGTERM to its process group, SIGKILL after 30 s). Idempotent. */
  stop(): Promise<void>;
  /** Stops and starts HA again on the same dir and port; resolves when it is running. */
  restart(): Promise<void>;
  /** HA's stdout+stderr so far (all starts). */
  logs(): string;
  /** PID of the running HA process group, or undefined. */
  pid(): number | undefined;
}

const ONBOARD_USER = { name: 'Test', username: 'test', password: 'test-password-1234' };

function configurationYaml(port: number, o: StartOptions): string {
  const logs: Record<string, string> = {
    // Noisy at warning level in a sandbox without a network / on an unsupported Python.
    'homeassistant.components.http.ban': 'error',
    'homeassistant.bootstrap': 'error',
    'homeassistant.components.network': 'error',
    'homeassistant.components.analytics': 'error',
    ...(o.logs ?? {}),
  };
  return [
    'homeassistant:',
    '  name: cam2mqtt test',
    '  latitude: 0',
    '  longitude: 0',
    '  elevation: 0',
    '  unit_system: metric',
    '  time_zone: UTC',
    '  currency: EUR',
    '  country: DE',
    'http:',
    '  server_host: 127.0.0.1',
    `  server_port: ${port}`,
    'api:',
    'websocket_api:',
    'config:',
    'onboarding:',
    'automation: !include automations.yaml',
    'logger:',
    `  default: ${o.logLevel ?? 'warning'}`,
    '  logs:',
    ...Object.entries(logs).map(([k, v]) => `    ${k}: ${v}`),
    o.extraConfig ?? '',
    '',
  ].join('\n');
}

/** Starts a fresh HA, onboards a user and returns a long-lived token. */
export async function startHomeAssistant(opts: StartOptions = {}): Promise<HomeAssistant> {
  if (!existsSync(HA_BIN)) {
    throw new Error(`Home Assistant ${HA_VERSION} is not installed at ${HA_BIN}: run ${HA_INSTALL_HINT} first`);
  }
  const timeoutMs = opts.timeoutMs ?? 180_000;
  const verbose = opts.verbose ?? process.env.HA_VERBOSE === '1';
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? mkdtempSync(path.join(os.tmpdir(), 'cam2mqtt-ha-'));
  const port = opts.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const log = new LogBuffer();
  if (verbose) {
    const push = log.push.bind(log);
    log.push = (s: string) => {
      process.stderr.write(s.replace(/^(?=.)/gm, '[ha] '));
      push(s);
    };
  }

  writeFileSync(path.join(dir, 'configuration.yaml'), configurationYaml(port, opts));
  if (!existsSync(path.join(dir, 'automations.yaml'))) writeFileSync(path.join(dir, 'automations.yaml'), '[]\n');

  let proc: Spawned | undefined;
  let stopped = false;

  const env: NodeJS.ProcessEnv = { ...process.env, TZ: 'UTC', PYTHONUNBUFFERED: '1' };
  // Nothing in HA may reach out: no proxies, no pip.
  delete env.HTTP_PROXY;
  delete env.HTTPS_PROXY;
  delete env.http_proxy;
  delete env.https_proxy;
  delete env.ALL_PROXY;
  delete env.all_proxy;
  env.NO_PROXY = env.no_proxy = '127.0.0.1,localhost';

  const fail = (msg: string): Error => {
    const tail = log.text().split('\n').slice(-80).join('\n');
    return new Error(`${msg}\n--- Home Assistant output (last 80 lines) ---\n${tail}`);
  };

  const launch = async (): Promise<void> => {
    log.push(`[harness] starting Home Assistant ${HA_VERSION} (${HA_BIN}) -c ${dir} on ${url}\n`);
    const started = Date.now();
    const argv = HA_IN_CHROOT
      ? ['/bin/bash', HASS_CHROOT_SH, HA_CHROOT, dir, '--log-no-color', '--skip-pip']
      : [HA_BIN, '-c', dir, '--log-no-color', '--skip-pip'];
    const p = spawnManaged(argv, { cwd: dir, env, log });
    proc = p;
    const alive = (): boolean => live.has(p.child);
    // 1) HTTP answers (onboarding status needs no auth, so no "invalid auth" noise).
    try {
      await waitFor(
        async () => {
          if (!alive()) throw new Error('Home Assistant exited during start-up');
          const r = await fetch(`${url}/api/onboarding`, { signal: AbortSignal.timeout(5_000) });
          await r.arrayBuffer();
          return r.ok;
        },
        timeoutMs,
        `Home Assistant HTTP on ${url}`,
        250,
      );
    } catch (err) {
      await stopManaged(p, 5_000);
      throw fail(`Home Assistant did not start: ${(err as Error).message}`);
    }
    log.push(`[harness] HTTP up after ${Date.now() - started} ms\n`);
  };

  let version = '';
  const waitRunning = async (token: string): Promise<void> => {
    const started = Date.now();
    let cfg: {
      state?: string;
      recovery_mode?: boolean;
      safe_mode?: boolean;
      components?: string[];
      version?: string;
    } = {};
    try {
      await waitFor(
        async () => {
          if (proc === undefined || !live.has(proc.child)) throw new Error('Home Assistant exited during start-up');
          const r = await haFetch(url, token, '/api/config', { signal: AbortSignal.timeout(5_000) });
          if (!r.ok) throw new Error(`GET /api/config: HTTP ${r.status}`);
          cfg = (await r.json()) as typeof cfg;
          return cfg.state === 'RUNNING' || cfg.recovery_mode === true;
        },
        timeoutMs,
        'Home Assistant state RUNNING',
        250,
      );
    } catch (err) {
      throw fail((err as Error).message);
    }
    if (cfg.recovery_mode || cfg.safe_mode) {
      throw fail(`Home Assistant started in recovery/safe mode (missing requirements? run ${HA_INSTALL_HINT})`);
    }
    version = cfg.version ?? '';
    if (version !== HA_VERSION) throw fail(`expected Home Assistant ${HA_VERSION}, this one is ${version}`);
    log.push(`[harness] RUNNING after another ${Date.now() - started} ms\n`);
  };

  const stopHa = async (): Promise<void> => {
    if (proc !== undefined) await stopManaged(proc, 30_000);
  };

  let token = '';
  try {
    await launch();
    const access = await onboard(url);
    await waitRunning(access);
    token = await createLongLivedToken(url, access);
  } catch (err) {
    await stopHa();
    if (ownDir && process.env.HA_KEEP_DIR !== '1') rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  return {
    url,
    get version() {
      return version;
    },
    port,
    token,
    dir,
    logs: () => log.text(),
    pid: () => (proc !== undefined && live.has(proc.child) ? proc.child.pid : undefined),
    async stop() {
      if (stopped) return;
      stopped = true;
      await stopHa();
      if (ownDir && process.env.HA_KEEP_DIR !== '1') rmSync(dir, { recursive: true, force: true });
    },
    async restart() {
      if (stopped) throw new Error('restart() after stop()');
      await stopHa();
      try {
        await launch();
        await waitRunning(token);
      } catch (err) {
        await stopHa();
        throw err;
      }
    },
  };
}

async function onboard(url: string): Promise<string> {
  const clientId = `${url}/`;
  const r = await fetch(`${url}/api/onboarding/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_id: clientId, language: 'en', ...ONBOARD_USER }),
  });
  if (!r.ok) throw new Error(`onboarding: POST /api/onboarding/users -> HTTP ${r.status}: ${await r.text()}`);
  const { auth_code } = (await r.json()) as { auth_code: string };
  const t = await fetch(`${url}/auth/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'authorization_code', code: auth_code, client_id: clientId }),
  });
  if (!t.ok) throw new Error(`onboarding: POST /auth/token -> HTTP ${t.status}: ${await t.text()}`);
  const { access_token } = (await t.json()) as { access_token: string };
  return access_token;
}

async function createLongLivedToken(url: string, accessToken: string): Promise<string> {
  const conn = await connectWs(url, accessToken);
  try {
    return await conn.sendMessagePromise<string>({
      type: 'auth/long_lived_access_token',
      client_name: `cam2mqtt-test-${process.pid}-${Date.now()}`,
      lifespan: 3650,
    });
  } finally {
    conn.close();
  }
}

// ------------------------------------------------------------------------------------------------
// REST + WebSocket helpers

/** fetch() against HA with the bearer token; a plain-object body is sent as JSON. */
export async function haFetch(
  url: string,
  token: string,
  apiPath: string,
  init: Omit<RequestInit, 'body'> & { body?: RequestInit['body'] | object } = {},
): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${token}`);
  let body = init.body;
  if (body !== undefined && body !== null && typeof body === 'object' && isPlainObject(body)) {
    headers.set('content-type', 'application/json');
    body = JSON.stringify(body);
  }
  return fetch(`${url}${apiPath}`, { ...init, headers, body: body as RequestInit['body'] });
}

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null || Array.isArray(v);
}

/** JSON request that throws (with the response text) unless HA answers 2xx. */
export async function haJson<T = unknown>(
  ha: { url: string; token: string },
  method: string,
  apiPath: string,
  body?: object,
): Promise<T> {
  const r = await haFetch(ha.url, ha.token, apiPath, { method, ...(body !== undefined ? { body } : {}) });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${apiPath} -> HTTP ${r.status}: ${text}`);
  return (text === '' ? undefined : JSON.parse(text)) as T;
}

/** Current state of an entity over REST, or undefined if HA does not know it. */
export async function getState(
  ha: { url: string; token: string },
  entityId: string,
): Promise<{ entity_id: string; state: string; attributes: Record<string, unknown> } | undefined> {
  const r = await haFetch(ha.url, ha.token, `/api/states/${entityId}`);
  if (r.status === 404) {
    await r.arrayBuffer();
    return undefined;
  }
  if (!r.ok) throw new Error(`GET /api/states/${entityId} -> HTTP ${r.status}: ${await r.text()}`);
  return (await r.json()) as { entity_id: string; state: string; attributes: Record<string, unknown> };
}

/** A home-assistant-js-websocket connection (retries while HA boots; reconnects after restart). */
export async function connectWs(url: string, token: string, setupRetry = 20): Promise<Connection> {
  const g = globalThis as unknown as { WebSocket?: unknown };
  if (g.WebSocket === undefined) g.WebSocket = WebSocket;
  return createConnection({ auth: createLongLivedTokenAuth(url, token), setupRetry });
}

export interface EntityRegistryEntry {
  entity_id: string;
  unique_id: string;
  platform: string;
  device_id: string | null;
  config_entry_id: string | null;
  name: string | null;
  original_name: string | null;
  disabled_by: string | null;
  [key: string]: unknown;
}

export interface DeviceRegistryEntry {
  id: string;
  name: string | null;
  manufacturer: string | null;
  model: string | null;
  sw_version: string | null;
  hw_version: string | null;
  identifiers: [string, string][];
  connections: [string, string][];
  config_entries: string[];
  via_device_id: string | null;
  configuration_url: string | null;
  [key: string]: unknown;
}

export function listEntities(conn: Connection): Promise<EntityRegistryEntry[]> {
  return conn.sendMessagePromise<EntityRegistryEntry[]>({ type: 'config/entity_registry/list' });
}

export function listDevices(conn: Connection): Promise<DeviceRegistryEntry[]> {
  return conn.sendMessagePromise<DeviceRegistryEntry[]>({ type: 'config/device_registry/list' });
}

// ------------------------------------------------------------------------------------------------
// Config entries (config flows are REST-only)

interface FlowResult {
  type: string;
  flow_id?: string;
  step_id?: string;
  reason?: string;
  errors?: Record<string, string> | null;
  result?: { entry_id: string; domain: string; title: string; state?: string };
}

export interface ConfigEntry {
  entry_id: string;
  domain: string;
  title: string;
  state: string;
  reason?: string | null;
  [key: string]: unknown;
}

interface FormField {
  name: string;
  type?: string;
  required?: boolean;
  default?: unknown;
  schema?: FormField[];
}

/**
 * What a user who fills in `data` and leaves everything else at HA's defaults submits: `data`, plus,
 * for each required section of the form (e.g. HA 2026.11's MQTT "other_settings"), HA's defaults
 * (an untouched toggle is false, set_ca_cert "off"). Deliberately independent of src/ha's builder.
 */
export function formInput(schema: FormField[] | undefined, data: Record<string, unknown>): Record<string, unknown> {
  const out = { ...data };
  for (const f of schema ?? []) {
    if (f.type !== 'expandable' || !f.required || f.name in out) continue;
    const sec: Record<string, unknown> = {};
    for (const g of f.schema ?? []) {
      if (g.default !== undefined) sec[g.name] = g.default;
      else if (g.required && g.name === 'set_ca_cert') sec[g.name] = 'off';
      else if (g.required) sec[g.name] = false;
    }
    out[f.name] = sec;
  }
  return out;
}

/** Runs a one-step config flow for `handler` with `data`; returns the created entry id. */
export async function createConfigEntry(
  ha: { url: string; token: string },
  handler: string,
  data: Record<string, unknown>,
): Promise<string> {
  const start = await haJson<FlowResult & { data_schema?: FormField[] }>(
    ha,
    'POST',
    '/api/config/config_entries/flow',
    { handler },
  );
  if (start.type !== 'form' || start.flow_id === undefined) {
    throw new Error(`config flow ${handler}: expected a form, got ${JSON.stringify(start)}`);
  }
  const res = await haJson<FlowResult>(
    ha,
    'POST',
    `/api/config/config_entries/flow/${start.flow_id}`,
    formInput(start.data_schema, data),
  );
  if (res.type !== 'create_entry' || res.result === undefined) {
    throw new Error(`config flow ${handler} step ${start.step_id}: ${JSON.stringify(res)}`);
  }
  return res.result.entry_id;
}

export interface StoredConfigEntry {
  entry_id: string;
  domain: string;
  version?: number;
  data: Record<string, unknown>;
  options: Record<string, unknown>;
}

/**
 * A config entry as HA stored it (.storage/core.config_entries: `data` and `options`, which no API
 * returns). HA writes the file a moment after a change: waits until the entry is there.
 */
export async function storedConfigEntry(
  ha: { dir: string },
  entryId: string,
  timeoutMs = 20_000,
): Promise<StoredConfigEntry> {
  const file = path.join(ha.dir, '.storage', 'core.config_entries');
  return waitFor(
    () => {
      if (!existsSync(file)) return undefined;
      const j = JSON.parse(readFileSync(file, 'utf8')) as { data: { entries: StoredConfigEntry[] } };
      return j.data.entries.find((e) => e.entry_id === entryId);
    },
    timeoutMs,
    `config entry ${entryId} in .storage/core.config_entries`,
    250,
  );
}

/** HA's repair issues (WebSocket repairs/list_issues). */
export async function repairIssues(
  conn: Connection,
): Promise<{ domain: string; issue_id: string; severity?: string; translation_key?: string; ignored?: boolean }[]> {
  const r = await conn.sendMessagePromise<{
    issues: { domain: string; issue_id: string; severity?: string; translation_key?: string; ignored?: boolean }[];
  }>({ type: 'repairs/list_issues' });
  return r.issues;
}

/**
 * Lines of HA's log at WARNING or above (with their continuation lines, e.g. tracebacks) that
 * mention any of `needles` (cam2mqtt's topics, entity ids, unique ids).
 */
export function logProblems(log: string, needles: (string | RegExp)[]): string[] {
  const out: string[] = [];
  let current: string | undefined;
  const flush = (): void => {
    if (current !== undefined && needles.some((n) => (typeof n === 'string' ? current!.includes(n) : n.test(current!))))
      out.push(current);
    current = undefined;
  };
  for (const line of log.split('\n')) {
    const m = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? (\w+) /.exec(line);
    if (m) {
      flush();
      if (m[1] === 'WARNING' || m[1] === 'ERROR' || m[1] === 'CRITICAL') current = line;
    } else if (current !== undefined && !line.startsWith('[harness]')) current += `\n${line}`;
  }
  flush();
  return out;
}

export async function listConfigEntries(ha: { url: string; token: string }, domain?: string): Promise<ConfigEntry[]> {
  const q = domain === undefined ? '' : `?domain=${encodeURIComponent(domain)}`;
  return haJson<ConfigEntry[]>(ha, 'GET', `/api/config/config_entries/entry${q}`);
}

async function waitEntryLoaded(ha: { url: string; token: string }, entryId: string, timeoutMs: number): Promise<void> {
  let last: ConfigEntry | undefined;
  try {
    await waitFor(
      async () => {
        last = (await listConfigEntries(ha)).find((e) => e.entry_id === entryId);
        return last?.state === 'loaded';
      },
      timeoutMs,
      `config entry ${entryId} to be loaded`,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; entry: ${JSON.stringify(last)}`);
  }
}

export interface MqttEntryOptions {
  broker: string;
  port: number;
  username?: string;
  password?: string;
  /** Wait until the entry is loaded (default true). */
  waitLoaded?: boolean;
}

/** Adds the MQTT integration pointing at a broker; resolves with the entry id once loaded. */
export async function createMqttEntry(ha: { url: string; token: string }, o: MqttEntryOptions): Promise<string> {
  const data: Record<string, unknown> = { broker: o.broker, port: o.port };
  if (o.username !== undefined) data.username = o.username;
  if (o.password !== undefined) data.password = o.password;
  const id = await createConfigEntry(ha, 'mqtt', data);
  if (o.waitLoaded !== false) await waitEntryLoaded(ha, id, 60_000);
  return id;
}

export interface MjpegEntryOptions {
  name: string;
  mjpeg_url: string;
  still_image_url?: string;
  username?: string;
  password?: string;
  verify_ssl?: boolean;
  waitLoaded?: boolean;
}

/** Adds an `mjpeg` camera (HA GETs the URLs to validate them, so they must answer). */
export async function createMjpegEntry(ha: { url: string; token: string }, o: MjpegEntryOptions): Promise<string> {
  const { waitLoaded, ...fields } = o;
  const data: Record<string, unknown> = { verify_ssl: false, ...fields };
  const id = await createConfigEntry(ha, 'mjpeg', data);
  if (waitLoaded !== false) await waitEntryLoaded(ha, id, 60_000);
  return id;
}

// ------------------------------------------------------------------------------------------------
// Automations (written to automations.yaml by HA's config API, which reloads them)

export interface AutomationConfig {
  alias: string;
  description?: string;
  /** HA 2024.3 syntax: [{ platform: 'state', entity_id: 'binary_sensor.x', to: 'on' }] */
  trigger: Record<string, unknown>[];
  condition?: Record<string, unknown>[];
  /** e.g. [{ event: 'my_event', event_data: { a: 1 } }] or [{ service: 'mqtt.publish', data: {...} }] */
  action: Record<string, unknown>[];
  mode?: 'single' | 'restart' | 'queued' | 'parallel';
}

/**
 * Creates (or replaces) an automation; resolves with its entity id once HA has loaded it.
 * Observe its effect e.g. with conn.subscribeEvents(cb, 'my_event').
 */
export async function createAutomation(
  ha: { url: string; token: string },
  id: string,
  config: AutomationConfig,
  timeoutMs = 30_000,
): Promise<string> {
  await haJson(ha, 'POST', `/api/config/automation/config/${encodeURIComponent(id)}`, {
    id,
    mode: 'single',
    ...config,
  });
  const states = async (): Promise<{ entity_id: string; attributes: { id?: string } }[]> =>
    haJson(ha, 'GET', '/api/states');
  const st = await waitFor(
    async () => (await states()).find((s) => s.entity_id.startsWith('automation.') && s.attributes.id === id),
    timeoutMs,
    `automation ${id} to be loaded`,
  );
  return st.entity_id;
}

// ------------------------------------------------------------------------------------------------
// mosquitto

export interface Mosquitto {
  host: string;
  port: number;
  url: string;
  stop(): Promise<void>;
  logs(): string;
}

export function findMosquitto(): string | undefined {
  const which = spawnSync('sh', ['-c', 'command -v mosquitto'], { encoding: 'utf8' });
  const found = which.stdout.trim();
  if (which.status === 0 && found !== '') return found;
  for (const p of ['/usr/sbin/mosquitto', '/usr/local/sbin/mosquitto', '/usr/bin/mosquitto']) {
    if (existsSync(p)) return p;
  }
  return undefined;
}

/**
 * Starts mosquitto on a free 127.0.0.1 port with anonymous access (or a password file when
 * `users` is given). Installed by .ci/install-ha.sh (Debian package `mosquitto`).
 */
export async function startMosquitto(opts: { port?: number; users?: Record<string, string> } = {}): Promise<Mosquitto> {
  const bin = findMosquitto();
  if (bin === undefined) throw new Error('mosquitto not found: run .ci/install-ha.sh (apt-get install mosquitto)');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cam2mqtt-mosq-'));
  const port = opts.port ?? (await freePort());
  const conf = [
    `listener ${port} 127.0.0.1`,
    'persistence false',
    'log_dest stdout',
    'log_type error',
    'log_type warning',
  ];
  if (opts.users !== undefined) {
    const pwfile = path.join(dir, 'passwd');
    writeFileSync(pwfile, '');
    for (const [u, p] of Object.entries(opts.users)) {
      const r = spawnSync(path.join(path.dirname(bin), '..', 'bin', 'mosquitto_passwd'), ['-b', pwfile, u, p], {
        encoding: 'utf8',
      });
      if (r.status !== 0) throw new Error(`mosquitto_passwd failed: ${r.stderr}`);
    }
    conf.push('allow_anonymous false', `password_file ${pwfile}`);
  } else {
    conf.push('allow_anonymous true');
  }
  // As root, mosquitto would switch to user "mosquitto", which also clears the kernel's
  // parent-death signal: keep it as root so it dies with this process.
  if (process.getuid?.() === 0) conf.push('user root');
  writeFileSync(path.join(dir, 'mosquitto.conf'), `${conf.join('\n')}\n`, { mode: 0o644 });
  const log = new LogBuffer(1024 * 1024);
  const p = spawnManaged([bin, '-c', path.join(dir, 'mosquitto.conf')], { cwd: dir, log });
  try {
    await waitForTcp(port, 15_000, () => live.has(p.child), 'mosquitto');
  } catch (err) {
    await stopManaged(p, 2_000);
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${(err as Error).message}\n--- mosquitto output ---\n${log.text()}`);
  }
  let stopped = false;
  return {
    host: '127.0.0.1',
    port,
    url: `mqtt://127.0.0.1:${port}`,
    logs: () => log.text(),
    async stop() {
      if (stopped) return;
      stopped = true;
      await stopManaged(p, 5_000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
