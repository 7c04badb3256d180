import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import WebSocket from 'ws';
import type { SimulatedCamera } from '../src/simulator/camera.js';
import { SimulatedMjpeg2sdCamera } from '../src/simulator/mjpeg2sd-camera.js';
import { SimulatedNativeCamera } from '../src/simulator/native-camera.js';
import { exitOf, MjpegCamera, Netns, requireBinary, spawnLogged, startRedis } from './cluster-helpers.js';
import { freePort, sleep, waitFor } from './helpers/bridge.js';
import { MjpegClient } from './helpers/mjpeg-client.js';

// Three cam2mqtt instances as one system (issue 18, docs/scale-out.md), for real: a real redis-server
// started here, each instance a separate process in its own network namespace with its own address
// (loopback and distinct ports where namespaces cannot be made), a real nginx stream (TCP) load
// balancer in front of the camera endpoints, 12 simulated dial-in cameras (6 native, 6 MJPEG2SD)
// and 4 pulled MJPEG cameras. Nothing is faked.

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(ROOT, 'dist/src/cli.js');
const TOKEN = 'cluster-test-token-0123';
const AUTH = { Authorization: `Bearer ${TOKEN}` };
const CAMERA_TIMEOUT = 6;
const TTL = 3;
const RECONNECT_MS = 500;
/** The simulated cameras ping the bridge this often and give up after 3 silent intervals (as the firmware does). */
const KEEPALIVE_MS = 1000;
const N = 3;

interface Instance {
  i: number;
  id: string;
  addr: string;
  http: number;
  mqtt: number;
  url: string;
  proc?: ReturnType<typeof spawnLogged>;
  start?: () => void;
}

async function json<T = unknown>(url: string): Promise<T> {
  const r = await fetch(url, { headers: AUTH, signal: AbortSignal.timeout(3000) });
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return (await r.json()) as T;
}

type ApiCamera = { id: string; online: boolean };
type ClusterStatus = { owned: string[]; relayed: string[]; redis: string };

test('3 instances on Redis behind nginx: every camera on one instance, shown by all, relayed byte-identical, one HA device each, failover, Redis outage', {
  timeout: 300_000,
}, async () => {
  const nginxBin = requireBinary('nginx', 'apt-get install -y nginx-light libnginx-mod-stream');
  const dir = mkdtempSync(path.join(tmpdir(), 'cam2mqtt-cluster-'));
  const netns = Netns.create(N);
  const hostAddr = netns?.hostAddr ?? '127.0.0.1';
  const sims: SimulatedCamera[] = [];
  const pulled: MjpegCamera[] = [];
  const viewers: MjpegClient[] = [];
  const clients: mqtt.MqttClient[] = [];
  let redis: ReturnType<typeof spawnLogged> | undefined;
  let nginx: ReturnType<typeof spawnLogged> | undefined;
  const instances: Instance[] = [];
  const redisPort = await freePort();
  const restartRedis = async () => {
    redis = await startRedis(redisPort, { host: hostAddr, dir });
  };
  try {
    await restartRedis();

    // ---- 4 pulled cameras, reachable from every instance ----
    for (let k = 0; k < 4; k++) pulled.push(await new MjpegCamera(5, 40 + k * 80).listen(hostAddr));

    // ---- 3 instances ----
    for (let i = 1; i <= N; i++) {
      const addr = netns ? netns.addr(i) : '127.0.0.1';
      const http = netns ? 9090 : await freePort();
      const mq = netns ? 1883 : await freePort();
      instances.push({ i, id: `node-${i}`, addr, http, mqtt: mq, url: `http://${addr}:${http}` });
    }
    const lbPort = await freePort();
    for (const inst of instances) {
      const data = path.join(dir, inst.id);
      mkdirSync(data, { recursive: true });
      const cameras: Record<string, unknown> = {};
      pulled.forEach((p, k) => {
        cameras[`pulled-${k + 1}`] = {
          name: `Pulled ${k + 1}`,
          mjpeg_url: `http://${hostAddr}:${p.port}/stream`,
          reconnect: { min_delay: 0.2, max_delay: 1 },
        };
      });
      const config = {
        http: { host: inst.addr, port: inst.http, auth: { token: TOKEN }, public_url: `http://127.0.0.1:${lbPort}` },
        log: { level: 'info', format: 'json' },
        limits: { camera_timeout: CAMERA_TIMEOUT },
        mqtt: { host: inst.addr, port: inst.mqtt },
        homeassistant: { image_interval: 0 },
        recordings: { enabled: true, pre_seconds: 0.5, post_seconds: 0.5, min_free_bytes: 0 },
        cluster: {
          redis: `redis://${hostAddr}:${redisPort}`,
          instance_id: inst.id,
          internal_url: inst.url,
          ttl: TTL,
        },
        cameras,
      };
      writeFileSync(path.join(data, 'configuration.yaml'), JSON.stringify(config));
      const argv = [process.execPath, CLI, '--data-dir', data];
      inst.start = () => {
        inst.proc = spawnLogged(netns ? netns.wrap(inst.i, argv) : argv, { cwd: data });
      };
      inst.start();
    }
    // Generous: three Node processes starting at once on a loaded 2-core machine (the suite runs in parallel).
    await Promise.all(
      instances.map((inst) =>
        waitFor(() => json(`${inst.url}/api/cluster`), 90_000, `${inst.id} up`).catch((err: Error) => {
          const p = inst.proc?.child;
          throw new Error(
            `${err.message} (exit ${p?.exitCode ?? p?.signalCode ?? 'none'}): ${inst.proc?.out.text().slice(-2000)}`,
          );
        }),
      ),
    );

    // ---- nginx: a TCP (stream) load balancer in front of the camera endpoints ----
    const prefix = path.join(dir, 'nginx');
    mkdirSync(prefix, { recursive: true });
    const module = '/usr/lib/nginx/modules/ngx_stream_module.so';
    writeFileSync(
      path.join(prefix, 'nginx.conf'),
      [
        `load_module ${module};`,
        'daemon off;',
        'worker_processes 1;',
        `pid ${path.join(prefix, 'nginx.pid')};`,
        `error_log ${path.join(prefix, 'error.log')} info;`,
        'events { worker_connections 512; }',
        'stream {',
        '  upstream cam2mqtt {',
        ...instances.map((x) => `    server ${x.addr}:${x.http} max_fails=1 fail_timeout=3s;`),
        '  }',
        `  server { listen 127.0.0.1:${lbPort}; proxy_pass cam2mqtt; proxy_connect_timeout 1s; }`,
        '}',
      ].join('\n'),
    );
    nginx = spawnLogged([
      nginxBin,
      '-p',
      prefix,
      '-c',
      path.join(prefix, 'nginx.conf'),
      '-e',
      path.join(prefix, 'error.log'),
    ]);
    await waitFor(() => json(`http://127.0.0.1:${lbPort}/api/cluster`), 10_000, `nginx up (${nginx.out.text()})`);

    // ---- 12 dial-in cameras through the load balancer ----
    for (let k = 1; k <= 6; k++) {
      const base = {
        fps: 5,
        width: 160,
        height: 120,
        hue: (k * 53) % 360,
        reconnectDelayMs: RECONNECT_MS,
        keepaliveMs: KEEPALIVE_MS,
      };
      sims.push(
        new SimulatedNativeCamera({
          ...base,
          url: `ws://127.0.0.1:${lbPort}/api/camera`,
          id: `native-${k}`,
          name: `Native ${k}`,
        }),
      );
      sims.push(new SimulatedMjpeg2sdCamera({ ...base, url: `ws://127.0.0.1:${lbPort}/ws`, id: `MJPEG-${k}` }));
    }
    for (const s of sims) s.start();
    const ids = [
      ...Array.from({ length: 6 }, (_, k) => `native-${k + 1}`),
      ...Array.from({ length: 6 }, (_, k) => `mjpeg-${k + 1}`),
      ...Array.from({ length: 4 }, (_, k) => `pulled-${k + 1}`),
    ].sort();

    const live = () =>
      instances.filter((x) => x.proc && x.proc.child.exitCode === null && x.proc.child.signalCode === null);
    /** Owner of each camera (from every live instance's /api/cluster); throws on a camera owned twice. */
    const owners = async (among = live()): Promise<Map<string, string>> => {
      const out = new Map<string, string>();
      for (const inst of among) {
        const s = await json<ClusterStatus>(`${inst.url}/api/cluster`);
        for (const id of s.owned) {
          if (out.has(id)) throw new Error(`camera ${id} owned by both ${out.get(id)} and ${inst.id}`);
          out.set(id, inst.id);
        }
      }
      return out;
    };
    const allOnlineEverywhere = async (among = live()) => {
      for (const inst of among) {
        const cams = await json<ApiCamera[]>(`${inst.url}/api/cameras`);
        const on = cams
          .filter((c) => c.online)
          .map((c) => c.id)
          .sort();
        if (JSON.stringify(on) !== JSON.stringify(ids)) return false;
      }
      const o = await owners(among);
      return o.size === ids.length;
    };
    await waitFor(allOnlineEverywhere, 60_000, 'all 16 cameras online on every instance, each owned once');

    // ---- every camera on exactly one instance; the dial-ins spread by the balancer ----
    const own = await owners();
    assert.deepEqual([...own.keys()].sort(), ids);
    const perInstance = instances.map((x) => [...own.values()].filter((v) => v === x.id).length);
    console.log(`# cameras per instance: ${perInstance.join(', ')}`);
    for (const n of perInstance) assert.ok(n > 0, 'the balancer spreads cameras over every instance');
    // Exactly one instance pulls each pulled camera.
    for (const p of pulled) assert.equal(p.open, 1, 'one stream per pulled camera, whatever the instance count');

    // ---- the page of every instance shows all 16 ----
    for (const inst of instances) {
      const ws = new WebSocket(`ws://${inst.addr}:${inst.http}/api/ws`, { headers: AUTH, perMessageDeflate: false });
      const hello = await new Promise<{ cameras: { id: string; online: boolean }[] }>((resolve, reject) => {
        ws.on('message', (d, binary) => {
          if (binary) return;
          const m = JSON.parse(d.toString()) as { t: string };
          if (m.t === 'hello') resolve(m as never);
        });
        ws.on('error', reject);
      });
      ws.close();
      assert.deepEqual(
        hello.cameras
          .filter((c) => c.online)
          .map((c) => c.id)
          .sort(),
        ids,
        `${inst.id}'s page lists every camera online`,
      );
    }

    // ---- MJPEG on instance A of a camera on instance B: every frame, byte-identical ----
    const camId =
      [...own.entries()].find(([id, o]) => o === 'node-2' && id.startsWith('native'))?.[0] ??
      [...own.entries()].find(([, o]) => o === 'node-2')![0];
    const viewerOn = instances.find((x) => x.id !== 'node-2')!;
    const ownerInst = instances.find((x) => x.id === 'node-2')!;
    const direct = new MjpegClient(`${ownerInst.url}/api/cameras/${camId}/stream.mjpeg`, { headers: AUTH });
    const relayed = new MjpegClient(`${viewerOn.url}/api/cameras/${camId}/stream.mjpeg`, { headers: AUTH });
    viewers.push(direct, relayed);
    await waitFor(() => relayed.parts.length >= 15, 20_000, `15 relayed frames of ${camId} on ${viewerOn.id}`);
    const bySeq = new Map(direct.parts.map((p) => [p.headers['x-frame-seq'], p.body]));
    const rel = relayed.parts.slice(2); // the first parts may be the last frame repeated (idle repeat)
    let compared = 0;
    for (let k = 1; k < rel.length; k++) {
      const a = Number(rel[k - 1]!.headers['x-frame-seq']);
      const b = Number(rel[k]!.headers['x-frame-seq']);
      assert.ok(b === a + 1 || b === a, `relayed frames in order without a gap (${a} -> ${b})`);
      const d = bySeq.get(rel[k]!.headers['x-frame-seq']);
      if (d) {
        assert.ok(d.equals(rel[k]!.body), `frame ${b} byte-identical through the relay`);
        compared++;
      }
    }
    assert.ok(compared >= 8, `compared ${compared} frames byte for byte`);
    // One upstream per remote camera, whatever the number of local viewers.
    const second = new MjpegClient(`${viewerOn.url}/api/cameras/${camId}/stream.mjpeg`, { headers: AUTH });
    viewers.push(second);
    await waitFor(() => second.parts.length >= 3, 10_000, 'a second relayed viewer');
    const upstreams = await json<unknown[]>(`${ownerInst.url}/api/cameras/${camId}/viewers`);
    assert.equal(upstreams.length, 2, 'the owner serves two streams: the direct viewer and ONE relay upstream');
    for (const v of viewers.splice(0)) v.close();

    // ---- snapshots and commands of a remote camera, answered as if local ----
    const snap = await fetch(`${viewerOn.url}/api/cameras/${camId}/snapshot.jpg`, { headers: AUTH });
    assert.equal(snap.status, 200);
    assert.equal(snap.headers.get('content-type'), 'image/jpeg');
    const cmd = await fetch(`${viewerOn.url}/api/cameras/${camId}/command`, {
      method: 'POST',
      headers: { ...AUTH, 'Content-Type': 'application/json' },
      body: JSON.stringify({ command: 'status?q' }),
    });
    const cmdBody = (await cmd.json()) as { ok: boolean };
    assert.equal(cmd.status, 200, JSON.stringify(cmdBody));
    assert.equal(cmdBody.ok, true);
    const sim = sims.find((s) => (s as unknown as { opts: { id: string } }).opts.id.toLowerCase() === camId);
    if (sim)
      assert.ok(
        sim.received.some((t) => t.includes('status?q')),
        'the command reached the camera on its owner',
      );

    // ---- clips and events of any instance, from any instance ----
    // A motion clip recorded on node-2 (its owner's disk), fetched through the others, byte for byte.
    const evSub = await mqtt.connectAsync(`mqtt://${viewerOn.addr}:${viewerOn.mqtt}`, { reconnectPeriod: 0 });
    clients.push(evSub);
    const motionEnd = new Promise<Record<string, unknown>>((resolve) => {
      evSub.on('message', (topic, payload) => {
        const m = JSON.parse(payload.toString()) as Record<string, unknown>;
        if (topic === `cam2mqtt/${camId}/event` && m.event_type === 'motion_end' && m.clip_url) resolve(m);
      });
    });
    await evSub.subscribeAsync(`cam2mqtt/${camId}/event`);
    assert.ok(sim, `a simulator for ${camId}`);
    sim!.setMotion(true);
    await sleep(1500);
    sim!.setMotion(false);
    const ended = await Promise.race([
      motionEnd,
      sleep(20_000).then(() => {
        throw new Error('no motion_end with a clip_url');
      }),
    ]);
    const clipUrl = String(ended.clip_url);
    const eventId = clipUrl.split('/').at(-2)!;
    type EventList = {
      events: { id: string; instance?: string; start_ms: number }[];
      next: string | null;
      unreachable?: string[];
    };
    for (const inst of instances) {
      const list = await json<EventList>(`${inst.url}/api/events?camera=${camId}`);
      const ev = list.events.find((e) => e.id === eventId);
      assert.equal(ev?.instance, 'node-2', `${inst.id}'s merged list shows the event held by node-2`);
      assert.deepEqual(list.unreachable, [], 'every instance answered');
    }
    const one = await json<{ id: string; instance: string; bytes: number }>(`${viewerOn.url}/api/events/${eventId}`);
    assert.equal(one.instance, 'node-2');
    const clipOf = async (base: string, headers: Record<string, string> = {}) => {
      const r = await fetch(`${base}/api/events/${eventId}/clip.avi`, { headers: { ...AUTH, ...headers } });
      return { r, body: Buffer.from(await r.arrayBuffer()) };
    };
    const original = await clipOf(ownerInst.url);
    assert.equal(original.r.status, 200);
    assert.equal(original.body.length, one.bytes);
    for (const inst of instances.filter((x) => x !== ownerInst)) {
      const got = await clipOf(inst.url);
      assert.equal(got.r.status, 200, `${inst.id} serves node-2's clip`);
      assert.equal(got.r.headers.get('content-type'), 'video/x-msvideo');
      assert.ok(got.body.equals(original.body), `the clip through ${inst.id} is byte-identical`);
      const part = await clipOf(inst.url, { Range: 'bytes=100-1123' });
      assert.equal(part.r.status, 206, 'a Range request passes through');
      assert.equal(part.r.headers.get('content-range'), `bytes 100-1123/${original.body.length}`);
      assert.ok(part.body.equals(original.body.subarray(100, 1124)), 'the range is the same bytes');
    }
    const thumbs = await Promise.all(
      instances.map(async (x) => {
        const r = await fetch(`${x.url}/api/events/${eventId}/thumbnail.jpg`, { headers: AUTH });
        assert.equal(r.status, 200);
        return Buffer.from(await r.arrayBuffer());
      }),
    );
    for (const t of thumbs) assert.ok(t.equals(thumbs[0]!), 'the same thumbnail from every instance');
    const mj = await fetch(`${viewerOn.url}/api/events/${eventId}/clip.mjpeg?speed=16`, { headers: AUTH });
    assert.equal(mj.status, 200);
    assert.match(String(mj.headers.get('content-type')), /^multipart\/x-mixed-replace/);
    // The first JPEG of the clip file is in the replay.
    const soi = original.body.indexOf(Buffer.from([0xff, 0xd8, 0xff]));
    const replay = Buffer.from(await mj.arrayBuffer());
    assert.ok(replay.includes(original.body.subarray(soi, soi + 256)), 'the clip replays through another instance');
    // The MQTT clip_url is the balancer's (http.public_url): whichever instance it lands on answers.
    for (let k = 0; k < N; k++) {
      const r = await fetch(clipUrl, { headers: AUTH });
      assert.equal(r.status, 200);
      assert.ok(Buffer.from(await r.arrayBuffer()).equals(original.body), 'clip_url through the balancer');
    }
    const unknown = await fetch(`${viewerOn.url}/api/events/${camId}-1/clip.avi`, { headers: AUTH });
    assert.equal(unknown.status, 404, 'an event no instance holds is 404');
    await unknown.arrayBuffer();
    // DELETE through another instance removes it on its holder.
    const del = await fetch(`${viewerOn.url}/api/events/${eventId}`, { method: 'DELETE', headers: AUTH });
    assert.equal(del.status, 200, await del.text());
    const gone = await fetch(`${ownerInst.url}/api/events/${eventId}`, { headers: AUTH });
    assert.equal(gone.status, 404, 'deleted on its holder');
    await gone.arrayBuffer();

    // ---- Home Assistant: exactly 16 camera devices and 3 bridge devices on the shared broker ----
    const countDevices = async (inst: Instance) => {
      const c = await mqtt.connectAsync(`mqtt://${inst.addr}:${inst.mqtt}`, { reconnectPeriod: 0 });
      clients.push(c);
      const devices = new Map<string, Set<string>>();
      c.on('message', (topic, payload) => {
        if (!payload.length) return;
        const dev = (JSON.parse(payload.toString()) as { device?: { identifiers?: string[] } }).device;
        const idf = dev?.identifiers?.[0];
        if (idf) (devices.get(idf) ?? devices.set(idf, new Set()).get(idf)!).add(topic);
      });
      await c.subscribeAsync('homeassistant/+/+/+/config');
      await sleep(1500);
      await c.endAsync();
      const cams = [...devices.keys()].filter((d) => !d.startsWith('cam2mqtt_bridge')).sort();
      const bridges = [...devices.keys()].filter((d) => d.startsWith('cam2mqtt_bridge')).sort();
      return { cams, bridges };
    };
    const retainedAvailability = async (inst: Instance) => {
      const c = await mqtt.connectAsync(`mqtt://${inst.addr}:${inst.mqtt}`, { reconnectPeriod: 0 });
      clients.push(c);
      const av = new Map<string, string>();
      c.on('message', (topic, payload) => {
        const id = topic.split('/')[1]!;
        if (topic.endsWith('/availability') && id !== 'bridge')
          av.set(id, (JSON.parse(payload.toString()) as { state: string }).state);
      });
      await c.subscribeAsync('cam2mqtt/+/availability');
      await sleep(1000);
      await c.endAsync();
      return av;
    };
    for (const inst of instances) {
      const d = await countDevices(inst);
      assert.deepEqual(
        d.cams,
        ids.map((id) => `cam2mqtt_${id}`),
        `16 camera devices seen from ${inst.id}`,
      );
      assert.deepEqual(
        d.bridges,
        instances.map((x) => `cam2mqtt_bridge_node_${x.i}`),
        'one bridge device per instance',
      );
    }

    // ---- bridge/request: the shared topic answered by ONE instance; each instance has its own too ----
    const rq = await mqtt.connectAsync(`mqtt://${viewerOn.addr}:${viewerOn.mqtt}`, { reconnectPeriod: 0 });
    clients.push(rq);
    const responses: { topic: string; body: { status: string; transaction?: string } }[] = [];
    rq.on('message', (topic, payload) => responses.push({ topic, body: JSON.parse(payload.toString()) }));
    await rq.subscribeAsync(['cam2mqtt/bridge/response/#', 'cam2mqtt/bridge/+/response/#']);
    const ask = async (topic: string, body: Record<string, unknown>) => {
      await rq.publishAsync(topic, JSON.stringify(body), { qos: 1 });
      await sleep(2000); // long enough for a second (wrong) answer from another instance to arrive
      return responses.filter((r) => r.body.transaction === body.transaction);
    };
    const health = await ask('cam2mqtt/bridge/request/health_check', { transaction: 'h1' });
    assert.equal(health.length, 1, `one answer to the shared health_check, got ${JSON.stringify(health)}`);
    assert.equal(health[0]!.topic, 'cam2mqtt/bridge/response/health_check');
    const snapAnswer = await ask('cam2mqtt/bridge/request/camera/snapshot', { id: camId, transaction: 's1' });
    assert.equal(snapAnswer.length, 1, 'one answer about a camera: from its owner');
    assert.equal(snapAnswer[0]!.body.status, 'ok', JSON.stringify(snapAnswer[0]));
    const own3 = await ask('cam2mqtt/bridge/node-3/request/health_check', { transaction: 'n3' });
    assert.deepEqual(
      own3.map((r) => r.topic),
      ['cam2mqtt/bridge/node-3/response/health_check'],
      "an instance's own request topic is answered by it, on its own response topic",
    );

    // ---- an instance cut off the network: its cameras move; back, it gives them up and converges ----
    // netns: its veth goes down (a pulled cable: no FIN, no RST, Redis and cameras just go silent).
    // Loopback fallback: SIGSTOP/SIGCONT stands in (the process is silent, its sockets stay open).
    const cutOwn = await owners();
    const cut = instances.find((x) => x.id === cutOwn.get('pulled-2'))!;
    const others = instances.filter((x) => x !== cut);
    const cutCams = [...cutOwn.entries()].filter(([, o]) => o === cut.id).map(([id]) => id);
    const cutAt = Date.now();
    if (netns) netns.cut(cut.i);
    else cut.proc!.child.kill('SIGSTOP');
    await waitFor(
      async () => {
        const o = await owners(others);
        return cutCams.every((id) => o.has(id)) && (await allOnlineEverywhere(others));
      },
      (CAMERA_TIMEOUT + TTL) * 1000 + 15_000,
      `the cameras of ${cut.id} (cut off) back on the others`,
    );
    const cutBackMs = Date.now() - cutAt;
    console.log(
      `# ${cutCams.length} cameras of the instance cut off (${netns ? 'veth down' : 'SIGSTOP'}) back online elsewhere after ${cutBackMs} ms (camera keepalive ${KEEPALIVE_MS} ms x 3, ttl ${TTL} s, reconnect ${RECONNECT_MS} ms, camera_timeout ${CAMERA_TIMEOUT} s)`,
    );
    assert.ok(
      cutBackMs < (CAMERA_TIMEOUT + TTL) * 1000 + RECONNECT_MS + 5000,
      `back within camera_timeout + ttl + reconnect (${cutBackMs} ms)`,
    );
    // Long enough for the cut instance to time its own camera connections out (camera_timeout).
    await sleep(Math.max(0, (CAMERA_TIMEOUT + 2) * 1000 - (Date.now() - cutAt)));
    const mendAt = Date.now();
    if (netns) netns.mend(cut.i);
    else cut.proc!.child.kill('SIGCONT');
    let maxOpen = 0;
    const sampler = setInterval(() => {
      for (const p of pulled) maxOpen = Math.max(maxOpen, p.open);
    }, 100);
    try {
      await waitFor(
        async () => (await json<ClusterStatus>(`${cut.url}/api/cluster`)).redis === 'connected',
        30_000,
        `${cut.id} sees Redis again`,
      );
      await waitFor(allOnlineEverywhere, 30_000, 'converged after the cut instance came back');
      for (const p of pulled)
        await waitFor(() => p.open === 1, 15_000, 'each pulled camera pulled once after the mend');
      await sleep(TTL * 1000);
    } finally {
      clearInterval(sampler);
    }
    console.log(
      `# the cut instance came back: converged after ${Date.now() - mendAt} ms (incl. ${TTL} s of watching); max open streams per pulled camera ${maxOpen} (in netns mode this counts the cut instance's dead TCP connection until its RST)`,
    );
    const settled = await owners();
    assert.deepEqual([...settled.keys()].sort(), ids, 'every camera owned exactly once after the mend');
    for (const id of cutCams)
      assert.notEqual(settled.get(id), cut.id, `${id} stays with its new owner (the newest connection)`);
    const cutStatus = await json<ClusterStatus & { leases: string[] }>(`${cut.url}/api/cluster`);
    assert.deepEqual(cutStatus.leases, [], `${cut.id} gave up its pull leases`);
    if (netns) {
      // No stream request from the cut instance once it was back: it never became a second puller.
      const from = netns.addr(cut.i);
      for (const p of pulled)
        assert.ok(!p.log.some((r) => r.at >= mendAt && r.from.endsWith(from)), `${cut.id} did not pull again`);
    }
    for (const p of pulled) assert.equal(p.open, 1, 'one stream per pulled camera after the mend');
    // Home Assistant: still 16 devices, and every camera's retained availability is online (no late
    // "offline" from the instance that was cut off).
    for (const inst of live()) {
      const d = await countDevices(inst);
      assert.deepEqual(
        d.cams,
        ids.map((id) => `cam2mqtt_${id}`),
        'still 16 camera devices after the cut',
      );
    }
    await waitFor(
      async () => {
        const av = await retainedAvailability(instances[0]!);
        return ids.every((id) => av.get(id) === 'online');
      },
      15_000,
      'every camera online in its retained availability',
    );

    // ---- kill an instance: its cameras come back elsewhere ----
    // The instance that pulls pulled-1: its dial-in cameras reconnect elsewhere, its leases are taken over.
    const ownNow = await owners();
    const victim = instances.find((x) => x.id === ownNow.get('pulled-1'))!;
    const moved = [...ownNow.entries()].filter(([, o]) => o === victim.id).map(([id]) => id);
    const killedAt = Date.now();
    victim.proc!.child.kill('SIGKILL');
    await exitOf(victim.proc!.child);
    await waitFor(
      async () => {
        const o = await owners();
        return moved.every((id) => o.has(id) && o.get(id) !== victim.id) && (await allOnlineEverywhere());
      },
      (CAMERA_TIMEOUT + TTL) * 1000 + 15_000,
      `the cameras of ${victim.id} back on the others`,
    );
    const backMs = Date.now() - killedAt;
    console.log(
      `# ${moved.length} cameras of the killed instance back online elsewhere after ${backMs} ms (camera_timeout ${CAMERA_TIMEOUT} s, ttl ${TTL} s, reconnect ${RECONNECT_MS} ms)`,
    );
    assert.ok(
      backMs < (CAMERA_TIMEOUT + TTL) * 1000 + RECONNECT_MS + 5000,
      `back within camera_timeout + ttl + reconnect (${backMs} ms)`,
    );
    for (const p of pulled)
      await waitFor(() => p.open === 1, 10_000, 'each pulled camera pulled once after the takeover');
    // The dead instance's events are not lost (its disk); the merged list names it instead of failing.
    const afterKill = await json<{ unreachable?: string[] }>(`${live()[0]!.url}/api/events`);
    assert.ok(afterKill.unreachable?.includes(victim.id), `the list names ${victim.id} as unreachable`);

    for (const inst of live()) {
      const d = await countDevices(inst);
      assert.deepEqual(
        d.cams,
        ids.map((id) => `cam2mqtt_${id}`),
        'still 16 camera devices, no duplicates',
      );
    }

    // ---- Redis goes away: each instance keeps its own cameras; back: they converge ----
    const before = await owners();
    redis!.child.kill('SIGKILL');
    await exitOf(redis!.child);
    await sleep((CAMERA_TIMEOUT + 1) * 1000);
    for (const inst of live()) {
      const s = await json<ClusterStatus>(`${inst.url}/api/cluster`);
      assert.equal(s.redis, 'unreachable');
      const cams = await json<ApiCamera[]>(`${inst.url}/api/cameras`);
      const mine = [...before.entries()].filter(([, o]) => o === inst.id).map(([id]) => id);
      for (const id of mine)
        assert.ok(cams.find((c) => c.id === id)?.online, `${inst.id} keeps its camera ${id} while Redis is away`);
      const own1 = new MjpegClient(`${inst.url}/api/cameras/${mine[0]}/stream.mjpeg`, { headers: AUTH });
      viewers.push(own1);
      await waitFor(() => own1.parts.length >= 3, 10_000, `${inst.id} streams its own camera without Redis`);
      own1.close();
      assert.match(inst.proc!.out.text(), /Redis unreachable/);
    }
    // A camera leaves during the outage: its "offline" cannot reach the shared broker now. The outage
    // lasts past ioredis' retries (about 10 s), so what was queued is dropped: the catch-up must say it.
    const leaver = sims.at(-1)!;
    const leaverId = leaver.opts.id.toLowerCase();
    await leaver.stop();
    await sleep(6000);
    await restartRedis();
    await waitFor(
      async () => {
        const av = await retainedAvailability(live()[0]!);
        return av.get(leaverId) === 'offline' && ids.every((id) => id === leaverId || av.get(id) === 'online');
      },
      30_000,
      `after the outage, the retained availability is right (${leaverId} offline, the others online)`,
    );
    leaver.start();
    await waitFor(allOnlineEverywhere, 60_000, 'converged again after Redis came back');
    for (const inst of live())
      await waitFor(
        () => /state of this instance's cameras published again after the Redis outage/.test(inst.proc!.out.text()),
        10_000,
        `${inst.id} published its cameras' state again after the outage`,
      );
    const after = await owners();
    assert.deepEqual([...after.keys()].sort(), ids, 'every camera owned exactly once after Redis came back');

    // ---- stale discovery in a cluster: what nobody knows is cleared, a known offline camera is kept ----
    const ghostTopic = 'homeassistant/camera/cam2mqtt_ghost/camera/config';
    const ghost = {
      name: null,
      unique_id: 'cam2mqtt_ghost_camera',
      topic: 'cam2mqtt/ghost/snapshot',
      availability: [{ topic: 'cam2mqtt/ghost/availability' }],
      device: { identifiers: ['cam2mqtt_ghost'], name: 'Ghost' },
    };
    const pub = await mqtt.connectAsync(`mqtt://${live()[0]!.addr}:${live()[0]!.mqtt}`, { reconnectPeriod: 0 });
    clients.push(pub);
    await pub.publishAsync(ghostTopic, JSON.stringify(ghost), { retain: true, qos: 1 });
    await pub.endAsync();
    await waitFor(
      async () => (await countDevices(live()[0]!)).cams.includes('cam2mqtt_ghost'),
      10_000,
      'ghost retained',
    );
    // A camera that goes offline stays known to the cluster: its configs must survive.
    const offlineSim = sims.at(-1)!;
    await offlineSim.stop();
    victim.start!();
    await waitFor(
      async () => (await json<ClusterStatus>(`${victim.url}/api/cluster`)).redis === 'connected',
      90_000,
      `${victim.id} restarted`,
    );
    await waitFor(
      async () => !(await countDevices(victim)).cams.includes('cam2mqtt_ghost'),
      20_000,
      'the restarted instance clears the config of a camera no instance knows',
    );
    for (const inst of instances) {
      const d = await countDevices(inst);
      assert.deepEqual(
        d.cams,
        ids.map((id) => `cam2mqtt_${id}`),
        `16 camera devices kept (one offline) seen from ${inst.id}`,
      );
      assert.equal(d.bridges.length, N, 'every bridge device kept');
    }
    assert.match(victim.proc!.out.text(), /removed stale Home Assistant entity camera\.cam2mqtt_ghost/);
  } catch (err) {
    // What the instances said: warnings and errors only.
    for (const inst of instances)
      console.log(
        `--- ${inst.id}:\n${(inst.proc?.out.text() ?? '')
          .split('\n')
          .filter((l) => /"level":(40|50|60)/.test(l))
          .slice(-30)
          .join('\n')}`,
      );
    throw err;
  } finally {
    for (const v of viewers) v.close();
    for (const c of clients) c.end(true);
    await Promise.all(sims.map((s) => s.stop().catch(() => {})));
    for (const inst of instances) {
      if (inst.proc && inst.proc.child.exitCode === null && inst.proc.child.signalCode === null) {
        inst.proc.child.kill('SIGTERM');
        await Promise.race([exitOf(inst.proc.child), sleep(5000)]);
        inst.proc.child.kill('SIGKILL');
      }
    }
    nginx?.child.kill('SIGTERM');
    if (nginx) await Promise.race([exitOf(nginx.child), sleep(3000)]);
    redis?.child.kill('SIGKILL');
    if (redis) await exitOf(redis.child);
    await Promise.all(pulled.map((p) => p.close()));
    netns?.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});
