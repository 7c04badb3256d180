import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { SimulatedNativeCamera } from '../src/simulator/native-camera.js';
import { exitOf, MjpegCamera, spawnLogged, startRedis } from './cluster-helpers.js';
import { freePort, sleep, waitFor } from './helpers/bridge.js';
import { type Mosquitto, startMosquitto } from './mqtt-helpers.js';

// `mqtt.server` together with `cluster` (docs/scale-out.md): two cam2mqtt processes on one real
// Mosquitto (Debian) as the external broker, the registry in a real redis-server, 2 dial-in cameras
// (one per instance) and 3 pulled ones. Loopback only: test/cluster.test.ts covers the namespaces.

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(ROOT, 'dist/src/cli.js');
const TOKEN = 'cluster-mosquitto-token-42';
const AUTH = { Authorization: `Bearer ${TOKEN}` };
const CAMERA_TIMEOUT = 6;
const TTL = 3;

async function json<T = unknown>(url: string): Promise<T> {
  const r = await fetch(url, { headers: AUTH, signal: AbortSignal.timeout(3000) });
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return (await r.json()) as T;
}

test('cluster with an external broker (Mosquitto): one device per camera, availability follows the camera, a killed instance hands over', {
  timeout: 240_000,
}, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cam2mqtt-cluster-mosq-'));
  const pulled: MjpegCamera[] = [];
  const sims: SimulatedNativeCamera[] = [];
  const procs: ReturnType<typeof spawnLogged>[] = [];
  let redis: ReturnType<typeof spawnLogged> | undefined;
  let mosq: Mosquitto | undefined;
  let watcher: mqtt.MqttClient | undefined;
  try {
    const redisPort = await freePort();
    redis = await startRedis(redisPort, { dir });
    mosq = await startMosquitto();
    for (let k = 0; k < 3; k++) pulled.push(await new MjpegCamera(5, 30 + k * 90).listen('127.0.0.1'));

    // Everything retained on Mosquitto, as Home Assistant would see it.
    const retained = new Map<string, string>();
    watcher = await mqtt.connectAsync(mosq.url, { reconnectPeriod: 0 });
    watcher.on('message', (topic, payload) => {
      if (payload.length) retained.set(topic, payload.toString());
      else retained.delete(topic);
    });
    await watcher.subscribeAsync(['homeassistant/+/+/+/config', 'cam2mqtt/+/availability']);
    const devices = () => {
      const out = new Map<string, Set<string>>();
      for (const [topic, v] of retained) {
        if (!topic.startsWith('homeassistant/')) continue;
        const idf = (JSON.parse(v) as { device?: { identifiers?: string[] } }).device?.identifiers?.[0];
        if (idf) (out.get(idf) ?? out.set(idf, new Set()).get(idf)!).add(topic);
      }
      return [...out.keys()].sort();
    };
    const availability = (id: string) => {
      const v = retained.get(`cam2mqtt/${id}/availability`);
      return v ? (JSON.parse(v) as { state: string }).state : undefined;
    };

    const nodes = ['node-a', 'node-b'];
    const http: number[] = [];
    for (const id of nodes) {
      const port = await freePort();
      http.push(port);
      const data = path.join(dir, id);
      mkdirSync(data, { recursive: true });
      const cameras: Record<string, unknown> = {};
      pulled.forEach((p, k) => {
        cameras[`pulled-${k + 1}`] = {
          mjpeg_url: `http://127.0.0.1:${p.port}/stream`,
          reconnect: { min_delay: 0.2, max_delay: 1 },
        };
      });
      const config = {
        http: { host: '127.0.0.1', port, auth: { token: TOKEN } },
        log: { level: 'info', format: 'json' },
        limits: { camera_timeout: CAMERA_TIMEOUT },
        mqtt: { server: mosq.url },
        homeassistant: { image_interval: 0 },
        cluster: {
          redis: `redis://127.0.0.1:${redisPort}`,
          instance_id: id,
          internal_url: `http://127.0.0.1:${port}`,
          ttl: TTL,
        },
        cameras,
      };
      writeFileSync(path.join(data, 'configuration.yaml'), JSON.stringify(config));
      procs.push(spawnLogged([process.execPath, CLI, '--data-dir', data], { cwd: data }));
    }
    const url = (i: number) => `http://127.0.0.1:${http[i]}`;
    await Promise.all(nodes.map((n, i) => waitFor(() => json(`${url(i)}/api/cluster`), 90_000, `${n} up`)));

    // One dial-in camera on each instance (no balancer: each dials its own).
    const dial = (i: number, id: string) => {
      const s = new SimulatedNativeCamera({
        url: `ws://127.0.0.1:${http[i]}/api/camera`,
        id,
        fps: 5,
        width: 160,
        height: 120,
        hue: 200,
        reconnectDelayMs: 500,
        keepaliveMs: 1000,
      });
      sims.push(s);
      return s.start();
    };
    dial(0, 'dial-a');
    dial(1, 'dial-b');
    const ids = ['dial-a', 'dial-b', 'pulled-1', 'pulled-2', 'pulled-3'];
    const camDevices = () => devices().filter((d) => !d.startsWith('cam2mqtt_bridge'));
    await waitFor(
      async () => {
        for (let i = 0; i < nodes.length; i++) {
          const cams = await json<{ id: string; online: boolean }[]>(`${url(i)}/api/cameras`);
          if (cams.filter((c) => c.online).length !== ids.length) return false;
        }
        return ids.every((id) => availability(id) === 'online');
      },
      60_000,
      'every camera online on both instances and in its availability on Mosquitto',
    );
    await waitFor(() => camDevices().length === ids.length, 10_000, 'discovery of every camera');
    await sleep(1000); // a duplicate would arrive now
    assert.deepEqual(
      camDevices(),
      ids.map((id) => `cam2mqtt_${id}`),
      'exactly one device per camera on the external broker',
    );
    assert.deepEqual(
      devices().filter((d) => d.startsWith('cam2mqtt_bridge')),
      ['cam2mqtt_bridge_node_a', 'cam2mqtt_bridge_node_b'],
    );
    for (const p of pulled) assert.equal(p.open, 1, 'one pull per pulled camera');

    // A shared bridge request is answered once, not by each instance on the broker.
    const answers: string[] = [];
    watcher.on('message', (topic, payload) => {
      if (topic === 'cam2mqtt/bridge/response/camera/list') answers.push(payload.toString());
    });
    await watcher.subscribeAsync('cam2mqtt/bridge/response/#');
    await watcher.publishAsync('cam2mqtt/bridge/request/camera/list', '{"transaction":"l1"}', { qos: 1 });
    await waitFor(() => answers.length > 0, 10_000, 'an answer to camera/list');
    await sleep(1500);
    assert.equal(answers.length, 1, 'one answer to camera/list');
    assert.equal((JSON.parse(answers[0]!) as { data: { cameras: unknown[] } }).data.cameras.length, ids.length);

    // ---- kill the instance that pulls pulled-1 ----
    const status = await Promise.all(nodes.map((_, i) => json<{ owned: string[] }>(`${url(i)}/api/cluster`)));
    const vi = status.findIndex((s) => s.owned.includes('pulled-1'));
    const si = 1 - vi;
    const victimDial = vi === 0 ? 'dial-a' : 'dial-b';
    const killedAt = Date.now();
    procs[vi]!.child.kill('SIGKILL');
    await exitOf(procs[vi]!.child);
    // Its dial-in camera dials a dead address: offline (its owner's registry entry lapses); the
    // pulled cameras move to the survivor.
    await waitFor(
      async () => {
        const cams = await json<{ id: string; online: boolean }[]>(`${url(si)}/api/cameras`);
        const on = cams.filter((c) => c.online).map((c) => c.id);
        return (
          pulled.every((_, k) => on.includes(`pulled-${k + 1}`)) &&
          !on.includes(victimDial) &&
          availability(victimDial) === 'offline' &&
          ids.filter((id) => id !== victimDial).every((id) => availability(id) === 'online')
        );
      },
      (CAMERA_TIMEOUT + TTL) * 1000 + 15_000,
      'pulled cameras moved; the dead instance\u2019s dial-in camera offline',
    );
    console.log(
      `# external broker: pulled cameras back and availability right ${Date.now() - killedAt} ms after SIGKILL`,
    );
    for (const p of pulled) await waitFor(() => p.open === 1, 10_000, 'each pulled camera pulled once');
    // The camera dials the survivor: it is online again, same device.
    await sims.find((s) => s.opts.id === victimDial)!.stop();
    dial(si, victimDial);
    await waitFor(() => availability(victimDial) === 'online', 20_000, `${victimDial} online again on the survivor`);
    await sleep(1000);
    assert.deepEqual(
      camDevices(),
      ids.map((id) => `cam2mqtt_${id}`),
      'still exactly one device per camera, none duplicated by the move',
    );
  } finally {
    watcher?.end(true);
    await Promise.all(sims.map((s) => s.stop().catch(() => {})));
    for (const p of procs) {
      if (p.child.exitCode === null && p.child.signalCode === null) {
        p.child.kill('SIGTERM');
        await Promise.race([exitOf(p.child), sleep(5000)]);
        p.child.kill('SIGKILL');
      }
    }
    redis?.child.kill('SIGKILL');
    if (redis) await exitOf(redis.child);
    await mosq?.stop();
    await Promise.all(pulled.map((p) => p.close()));
    rmSync(dir, { recursive: true, force: true });
  }
});
