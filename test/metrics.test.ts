// GET /metrics (src/sinks/metrics): parsed with a Prometheus text-format parser (parse-prometheus-text-format,
// prom2json's output), its values checked against what the test sent: frames and bytes from a real native
// camera connection, MJPEG viewers, frames delivered and dropped (a paused viewer), MQTT clients of the
// embedded broker; the scraper token and the API login; the Grafana dashboard's metric names all exist.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import parse, { type Family } from 'parse-prometheus-text-format';
import WebSocket from 'ws';
import { encodeFrame } from '../src/sources/native/codec.js';
import { freePort, sleep, startBridge, type TestBridge, waitFor } from './helpers/bridge.js';
import { MjpegClient } from './helpers/mjpeg-client.js';

const API_TOKEN = 'api-token-0123456789';
const SCRAPE_TOKEN = 'scrape-token-0123456789';

const fakeJpeg = (n: number, seed: number) => {
  const b = Buffer.concat([Buffer.from([0xff, 0xd8]), randomBytes(n - 4), Buffer.from([0xff, 0xd9])]);
  b.writeUInt32BE(seed, 2);
  return b;
};

async function scrape(t: TestBridge, token = SCRAPE_TOKEN): Promise<Map<string, Family>> {
  const r = await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return new Map(parse(await r.text()).map((f) => [f.name, f]));
}

function value(m: Map<string, Family>, name: string, camera?: string): number | undefined {
  const f = m.get(name);
  const s = f?.metrics.find((x) => camera === undefined || x.labels?.camera === camera);
  return s?.value === undefined ? undefined : Number(s.value);
}

describe('Prometheus /metrics', () => {
  let t: TestBridge;
  let mqttPort = 0;
  before(async () => {
    mqttPort = await freePort();
    t = await startBridge({
      http: { auth: { token: API_TOKEN } },
      metrics: { token: SCRAPE_TOKEN },
      mqtt: { enabled: true, port: mqttPort },
      limits: { idle_repeat_interval: 0, viewer_stall_timeout: 60 },
    });
  });
  after(async () => {
    await t.stop();
  });

  it('needs the scraper token or the API login; the scraper token opens nothing else', async () => {
    assert.equal((await fetch(`${t.url}/metrics`)).status, 401);
    const wrong = await fetch(`${t.url}/metrics`, { headers: { authorization: 'Bearer not-the-token-at-all' } });
    assert.equal(wrong.status, 401);
    assert.equal((await fetch(`${t.url}/metrics?token=${SCRAPE_TOKEN}`)).status, 200);
    assert.equal((await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${API_TOKEN}` } })).status, 200);
    const api = await fetch(`${t.url}/api/cameras`, { headers: { authorization: `Bearer ${SCRAPE_TOKEN}` } });
    assert.equal(api.status, 401, 'the scraper token is not an API login');
  });

  it('counts what the camera sent and what the viewers got, read at scrape time', async () => {
    const id = 'metcam';
    const ws = new WebSocket(`ws://127.0.0.1:${t.port}/api/camera`);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.send(JSON.stringify({ type: 'hello', v: 1, id }));
    await waitFor(() => t.bridge.hub.get(id)?.online, 5000, `${id} online`);
    const auth = { authorization: `Bearer ${API_TOKEN}` };
    const fast = new MjpegClient(`${t.url}/api/cameras/${id}/stream.mjpeg?token=${API_TOKEN}`);
    const slow = new MjpegClient(`${t.url}/api/cameras/${id}/stream.mjpeg?token=${API_TOKEN}`);
    await waitFor(() => fast.status === 200 && slow.status === 200, 5000, 'viewers connected');
    slow.pause();
    // 100 frames of 200 KB: 20 MB, far more than the paused viewer's socket buffers hold, so it drops.
    const N = 100;
    let bytes = 0;
    for (let seq = 1; seq <= N; seq++) {
      const jpeg = fakeJpeg(200 * 1024, seq);
      bytes += jpeg.length;
      ws.send(encodeFrame(seq, Date.now(), jpeg));
      await sleep(15);
    }
    await waitFor(() => t.bridge.hub.get(id)?.frames === N, 10_000, 'every frame received');
    await waitFor(
      () => fast.parts.some((p) => p.headers['x-frame-seq'] === String(N)),
      15_000,
      'the fast viewer has the last frame',
    );
    const viewers = (await (await fetch(`${t.url}/api/cameras/${id}/viewers`, { headers: auth })).json()) as {
      delivered: number;
      dropped: number;
    }[];
    const m = await scrape(t);
    assert.equal(m.get('cam2mqtt_camera_frames_total')?.type, 'COUNTER');
    assert.equal(value(m, 'cam2mqtt_camera_frames_total', id), N);
    assert.equal(value(m, 'cam2mqtt_camera_bytes_total', id), bytes);
    assert.equal(value(m, 'cam2mqtt_camera_online', id), 1);
    assert.equal(value(m, 'cam2mqtt_camera_reconnects_total', id), 0);
    assert.equal(value(m, 'cam2mqtt_mjpeg_viewers', id), 2);
    const delivered = viewers.reduce((a, v) => a + v.delivered, 0);
    const dropped = viewers.reduce((a, v) => a + v.dropped, 0);
    assert.ok(dropped > 0, 'the paused viewer dropped frames');
    assert.equal(value(m, 'cam2mqtt_mjpeg_frames_delivered_total', id), delivered);
    assert.equal(value(m, 'cam2mqtt_mjpeg_frames_dropped_total', id), dropped);
    const age = value(m, 'cam2mqtt_camera_frame_age_seconds', id)!;
    assert.ok(age >= 0 && age < 60, `frame age ${age} s`);
    // Viewers gone: delivered and dropped stay (counters), the viewer gauge goes to 0.
    fast.close();
    slow.close();
    await waitFor(async () => value(await scrape(t), 'cam2mqtt_mjpeg_viewers', id) === 0, 5000, 'viewers 0');
    const m2 = await scrape(t);
    assert.ok(value(m2, 'cam2mqtt_mjpeg_frames_delivered_total', id)! >= delivered);
    assert.ok(value(m2, 'cam2mqtt_mjpeg_frames_dropped_total', id)! >= dropped);
    // A reconnect is counted.
    ws.close();
    await waitFor(() => t.bridge.hub.get(id)?.online === false, 5000, `${id} offline`);
    assert.equal(value(await scrape(t), 'cam2mqtt_camera_online', id), 0);
    const ws2 = new WebSocket(`ws://127.0.0.1:${t.port}/api/camera`);
    await new Promise((resolve) => ws2.once('open', resolve));
    ws2.send(JSON.stringify({ type: 'hello', v: 1, id }));
    await waitFor(() => t.bridge.hub.get(id)?.online, 5000, `${id} online again`);
    assert.equal(value(await scrape(t), 'cam2mqtt_camera_reconnects_total', id), 1);
    ws2.close();
  });

  it('MQTT clients and publishing, page clients and the process metrics', async () => {
    const before = await scrape(t);
    assert.equal(value(before, 'cam2mqtt_mqtt_clients'), 0);
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { reconnectPeriod: 0 });
    try {
      await waitFor(async () => value(await scrape(t), 'cam2mqtt_mqtt_clients') === 1, 5000, 'one MQTT client');
    } finally {
      await c.endAsync();
    }
    const m = await scrape(t);
    assert.ok(value(m, 'cam2mqtt_mqtt_messages_published_total')! > 0);
    assert.ok(value(m, 'cam2mqtt_mqtt_bytes_published_total')! > value(m, 'cam2mqtt_mqtt_messages_published_total')!);
    assert.equal(value(m, 'cam2mqtt_page_clients'), 0);
    assert.ok(value(m, 'process_resident_memory_bytes')! > 10e6, 'RSS');
    assert.ok(m.has('nodejs_eventloop_lag_seconds'), 'event loop lag');
    assert.equal(m.get('nodejs_gc_duration_seconds')?.type, 'HISTOGRAM', 'GC');
    assert.equal(m.get('cam2mqtt_info')?.metrics[0]?.labels?.version, t.bridge.version);
    // Labels are camera ids only: never an address or a viewer.
    for (const f of m.values()) {
      if (!f.name.startsWith('cam2mqtt_')) continue;
      for (const s of f.metrics)
        for (const k of Object.keys(s.labels ?? {})) assert.ok(k === 'camera' || k === 'version', `${f.name}{${k}}`);
    }
  });

  it('every metric the Grafana dashboard (docs/grafana-dashboard.json) queries exists in /metrics', async () => {
    const dash = readFileSync(new URL('../../docs/grafana-dashboard.json', import.meta.url), 'utf8');
    const exprs = [...dash.matchAll(/"expr":\s*"((?:[^"\\]|\\.)*)"/g)].map((x) => x[1]!);
    assert.ok(exprs.length >= 8, `${exprs.length} queries`);
    const names = new Set<string>();
    for (const e of exprs) for (const n of e.matchAll(/\b((?:cam2mqtt|process|nodejs)_[a-z_]+)\b/g)) names.add(n[1]!);
    const m = await scrape(t);
    for (const n of names) {
      const family = n.replace(/_(bucket|sum|count)$/, '');
      assert.ok(m.has(n) || m.has(family), `${n} is in /metrics`);
    }
  });
});
