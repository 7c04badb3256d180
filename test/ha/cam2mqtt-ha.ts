// Shared by the cam2mqtt-against-real-Home-Assistant suites (*.ha.ts): a real bridge in this process
// whose settings are also written to <dataDir>/configuration.yaml (so `cam2mqtt ha` run as its own
// process reads the same credentials), simulated cameras of both protocols, and the CLI runner.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Connection } from 'home-assistant-js-websocket';
import YAML from 'yaml';
import { jpegCycle } from '../../src/simulator/frames.js';
import { SimulatedMjpeg2sdCamera } from '../../src/simulator/mjpeg2sd-camera.js';
import { SimulatedNativeCamera } from '../../src/simulator/native-camera.js';
import { startBridge, type TestBridge } from '../helpers/bridge.js';
import { HA_INSTALL_HINT, HA_VERSION, type HomeAssistant, haInstalled, logProblems, repairIssues } from './hass.js';

export const REQUIRED = process.env.CI === 'true' || process.env.HA_REQUIRED === '1';
/** Skip reason for describe(): HA tests are skipped only when HA is not installed and not required. */
export const skip =
  !haInstalled() && !REQUIRED ? `Home Assistant ${HA_VERSION} not installed (run ${HA_INSTALL_HINT})` : false;

/** What cam2mqtt's topics, node ids, unique ids and the test cameras' entity ids contain. */
export const OUR_NAMES: (string | RegExp)[] = ['cam2mqtt', 'frontdoor', 'garage_cam', 'garage-cam', 'porch'];

/**
 * What a user would find wrong in HA after the suite: no MQTT repair issue (repairs/list_issues) and
 * no WARNING or ERROR in HA's log mentioning cam2mqtt's topics or entities (deprecated discovery keys
 * show up there). `allow`: lines a test provoked on purpose, each with its reason next to it.
 */
export async function assertHaHealthy(ha: HomeAssistant, conn: Connection, allow: RegExp[] = []): Promise<void> {
  const issues = (await repairIssues(conn)).filter(
    (i) => i.domain === 'mqtt' || (i as { issue_domain?: string | null }).issue_domain === 'mqtt',
  );
  assert.deepEqual(issues, [], `HA ${ha.version} raised MQTT repair issues: ${JSON.stringify(issues)}`);
  const problems = logProblems(ha.logs(), OUR_NAMES).filter((l) => !allow.some((a) => a.test(l)));
  assert.deepEqual(problems, [], `HA ${ha.version} logged:\n${problems.join('\n')}`);
}

export const CLI = fileURLToPath(new URL('../../src/cli.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `node dist/src/cli.js ...args` with no CAM2MQTT_* variables from this environment. */
export async function runCli(
  args: string[],
  opts: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CliResult> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('CAM2MQTT_')) env[k] = v;
  const t0 = Date.now();
  const proc = spawn(process.execPath, [CLI, ...args], {
    env: { ...env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  proc.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const timer = setTimeout(() => proc.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
  const code = await new Promise<number | null>((resolve) => proc.on('close', (c) => resolve(c)));
  clearTimeout(timer);
  return { code, stdout, stderr, ms: Date.now() - t0 };
}

export interface Cam2mqtt {
  tb: TestBridge;
  url: string;
  dataDir: string;
  stop(): Promise<void>;
}

/**
 * A real bridge (in this process) with `raw` settings, which are also written to
 * <dataDir>/configuration.yaml for the CLI. The data dir survives stop() (restarts), removed by cleanup().
 */
export async function startCam2mqtt(
  raw: Record<string, unknown>,
  dataDir = mkdtempSync(path.join(tmpdir(), 'cam2mqtt-ha-data-')),
): Promise<Cam2mqtt> {
  writeFileSync(path.join(dataDir, 'configuration.yaml'), YAML.stringify(raw));
  const tb = await startBridge(raw, { dataDir });
  return { tb, url: tb.url, dataDir, stop: () => tb.stop() };
}

export function removeDir(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

export const NATIVE_SPEC = { width: 160, height: 120, hue: 20, cycle: 8 };
export const LEGACY_SPEC = { width: 160, height: 120, hue: 200, cycle: 8 };

export function nativeCamera(bridgeUrl: string, id = 'frontdoor', name = 'Front door'): SimulatedNativeCamera {
  return new SimulatedNativeCamera({
    url: `${bridgeUrl.replace(/^http/, 'ws')}/api/camera`,
    id,
    name,
    fps: 5,
    ...NATIVE_SPEC,
    frames: jpegCycle(NATIVE_SPEC),
    reconnectDelayMs: 300,
    idleIntervalMs: 200,
  });
}

/** An unmodified MJPEG2SD camera; its cam2mqtt id is the slug of its hostName. */
export function legacyCamera(bridgeUrl: string, hostName = 'garage-cam'): SimulatedMjpeg2sdCamera {
  return new SimulatedMjpeg2sdCamera({
    url: `${bridgeUrl.replace(/^http/, 'ws')}/ws`,
    id: hostName,
    fps: 4,
    ...LEGACY_SPEC,
    frames: jpegCycle(LEGACY_SPEC),
    reconnectDelayMs: 300,
  });
}

/** Reads an MJPEG (multipart/x-mixed-replace) response until `pred` holds on the bytes so far or `max` bytes. */
export async function readStreamUntil(
  res: Response,
  pred: (buf: Buffer) => boolean,
  max = 4_000_000,
  ac?: AbortController,
): Promise<Buffer> {
  let buf = Buffer.alloc(0);
  const reader = res.body!.getReader();
  try {
    while (!pred(buf) && buf.length < max) {
      const { value, done } = await reader.read();
      if (done) break;
      buf = Buffer.concat([buf, Buffer.from(value)]);
    }
  } finally {
    ac?.abort();
    await reader.cancel().catch(() => undefined);
  }
  return buf;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
