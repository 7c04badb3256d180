import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import type { Camera } from '../src/hub/camera.js';
import { jpegCycle } from '../src/simulator/frames.js';
import { SimulatedNativeCamera } from '../src/simulator/native-camera.js';
import { encodeFrame, encodeText } from '../src/sources/native/codec.js';
import { startBridge, type TestBridge, waitFor } from './helpers/bridge.js';

/** Wait until camera `id` satisfies `pred`, and return it. */
const camWhen = (t: TestBridge, id: string, pred: (c: Camera) => unknown, label: string) =>
  waitFor(
    () => {
      const c = t.bridge.hub.get(id);
      return c && pred(c) ? c : undefined;
    },
    2000,
    label,
  );

const JPEGS = jpegCycle({ width: 160, height: 120, hue: 30, cycle: 8 });

/** A hand-driven native camera: open a socket, say hello, and return it with what it received. */
async function rawCamera(
  t: TestBridge,
  hello: Record<string, unknown> | null,
): Promise<{ ws: WebSocket; texts: string[]; closed: Promise<{ code: number; reason: string }> }> {
  const ws = new WebSocket(`ws://127.0.0.1:${t.port}/api/camera`);
  const texts: string[] = [];
  ws.on('message', (d, bin) => {
    if (!bin) texts.push(d.toString());
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  if (hello) ws.send(JSON.stringify({ type: 'hello', v: 1, ...hello }));
  return { ws, texts, closed };
}

describe('native cameras on /api/camera', () => {
  let t: TestBridge;
  before(async () => {
    t = await startBridge({
      cameras: { secure: { token: 'right-token' } },
      limits: {
        max_message_bytes: 64 * 1024,
        hello_timeout: 1,
        camera_timeout: 1.5,
        command_timeout: 1,
        max_pending_connections: 5,
      },
    });
  });
  after(async () => {
    await t.stop();
  });

  it('registers on hello, answers welcome, and serves its frames byte-identical', async () => {
    const { ws, texts } = await rawCamera(t, {
      id: 'Front Door',
      name: 'Front door',
      caps: ['lamp'],
      info: { rssi: -50 },
    });
    await waitFor(() => texts.length > 0, 2000, 'welcome');
    const welcome = JSON.parse(texts[0]!);
    assert.equal(welcome.type, 'welcome');
    assert.equal(welcome.id, 'front_door');
    ws.send(encodeFrame(5, 1763734575123, JPEGS[3]!));
    const cam = await camWhen(t, 'front_door', (c) => c.latest, 'frame');
    assert.equal(cam.name, 'Front door');
    assert.equal(cam.info.rssi, -50);
    const res = await fetch(`${t.url}/api/cameras/front_door/snapshot.jpg`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-frame-seq'), '5');
    assert.equal(res.headers.get('x-frame-time'), '1763734575123');
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(JPEGS[3]!));
    const list = (await (await fetch(`${t.url}/api/cameras`)).json()) as {
      id: string;
      online: boolean;
      protocol: string;
    }[];
    assert.ok(list.some((c) => c.id === 'front_door' && c.online && c.protocol === 'native'));
    ws.close();
    await waitFor(() => !t.bridge.hub.get('front_door')!.online, 2000, 'offline');
  });

  it('refuses a wrong or missing token with 4001 and a reason', async () => {
    const wrong = await rawCamera(t, { id: 'secure', token: 'nope' });
    assert.deepEqual(await wrong.closed, { code: 4001, reason: 'camera secure: wrong token' });
    const missing = await rawCamera(t, { id: 'secure' });
    assert.deepEqual(await missing.closed, { code: 4001, reason: 'camera secure: token required' });
    assert.match(t.logText(), /refused camera connection from 127\.0\.0\.1:\d+: camera secure: wrong token/);
    const ok = await rawCamera(t, { id: 'secure', token: 'right-token' });
    await waitFor(() => t.bridge.hub.get('secure')?.online, 2000, 'secure online');
    ok.ws.close();
  });

  it('refuses a bad hello (4000) and an unknown protocol version (4009)', async () => {
    const a = await rawCamera(t, null);
    a.ws.send(encodeFrame(1, 1, JPEGS[0]!));
    assert.equal((await a.closed).code, 4000);
    const b = await rawCamera(t, null);
    b.ws.send('{"type":"hello"');
    assert.equal((await b.closed).code, 4000);
    const c = await rawCamera(t, { id: 'future', v: 2 });
    assert.deepEqual(await c.closed, { code: 4009, reason: 'unsupported protocol version 2 (this bridge speaks 1)' });
  });

  it('closes a connection that never says hello (4008)', async () => {
    const a = await rawCamera(t, null);
    assert.equal((await a.closed).code, 4008);
    assert.match(t.logText(), /sent no hello within 1 s/);
  });

  it('refuses non-JPEG frames and malformed text, keeps the camera connected', async () => {
    const { ws } = await rawCamera(t, { id: 'sloppy' });
    await waitFor(() => t.bridge.hub.get('sloppy')?.online, 2000, 'online');
    ws.send(Buffer.from('010100100000000100000000000000018950', 'hex'));
    ws.send('{"type":"motion","state":"sideways","time":1}');
    ws.send('not json at all');
    ws.send(encodeFrame(2, Date.now(), JPEGS[1]!));
    const cam = await camWhen(t, 'sloppy', (c) => c.latest, 'good frame after bad');
    assert.equal(cam.online, true);
    assert.equal(cam.badMessages, 3);
    assert.match(t.logText(), /camera sloppy: refused a binary message: frame payload is not a JPEG/);
    ws.close();
  });

  it('closes an oversized message with 1009; other cameras carry on', async () => {
    const other = new SimulatedNativeCamera({
      url: `ws://127.0.0.1:${t.port}/api/camera`,
      id: 'bystander',
      fps: 20,
      width: 160,
      height: 120,
      hue: 90,
      idleIntervalMs: 50,
      frames: JPEGS,
      reconnect: false,
    }).start();
    await waitFor(() => t.bridge.hub.get('bystander')?.online, 2000, 'bystander');
    const big = await rawCamera(t, { id: 'bigmouth' });
    await waitFor(() => t.bridge.hub.get('bigmouth')?.online, 2000, 'online');
    big.ws.send(encodeFrame(1, 1, Buffer.concat([JPEGS[0]!, Buffer.alloc(70 * 1024)])));
    assert.equal((await big.closed).code, 1009);
    const before = t.bridge.hub.get('bystander')!.frames;
    await waitFor(() => t.bridge.hub.get('bystander')!.frames > before + 3, 2000, 'bystander keeps sending');
    assert.equal(t.bridge.hub.get('bystander')!.online, true);
    await other.stop();
  });

  it('newest connection wins: the old one is closed with 4004', async () => {
    const first = await rawCamera(t, { id: 'twin' });
    await waitFor(() => t.bridge.hub.get('twin')?.online, 2000, 'first');
    const second = await rawCamera(t, { id: 'twin' });
    assert.deepEqual(await first.closed, {
      code: 4004,
      reason: 'replaced by a newer connection with the same camera id',
    });
    await waitFor(() => second.texts.length > 0, 2000, 'welcome for second');
    assert.equal(t.bridge.hub.get('twin')!.online, true);
    second.ws.close();
  });

  it('goes offline after camera_timeout of silence; pings count as life; comes back as the same camera', async () => {
    const a = await rawCamera(t, { id: 'quiet' });
    const cam = await camWhen(t, 'quiet', (c) => c.online, 'online');
    const pinger = setInterval(() => a.ws.ping(), 300);
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(cam.online, true, 'pings keep it online');
    clearInterval(pinger);
    assert.equal((await a.closed).code, 4008);
    assert.equal(cam.online, false);
    const b = await rawCamera(t, { id: 'quiet' });
    await waitFor(() => cam.online, 2000, 'back online');
    assert.equal(t.bridge.hub.get('quiet'), cam);
    b.ws.close();
  });

  it('relays motion with region, info and log lines', async () => {
    const { ws } = await rawCamera(t, { id: 'mover' });
    const cam = await camWhen(t, 'mover', (c) => c.online, 'online');
    const events: string[] = [];
    t.bridge.hub.on('motion', (e: { camera: { id: string }; state: string }) => {
      if (e.camera.id === 'mover') events.push(e.state);
    });
    ws.send(encodeFrame(1, Date.now(), JPEGS[0]!));
    ws.send(
      encodeText({ type: 'motion', state: 'start', time: 1763734575123, region: { x: 250, y: 100, w: 300, h: 400 } }),
    );
    await waitFor(() => cam.motion, 2000, 'motion on');
    assert.deepEqual(cam.motionRegion, { x: 0.25, y: 0.1, w: 0.3, h: 0.4 });
    assert.equal(cam.snapshot?.seq, 1, 'the frame at motion start becomes the snapshot');
    ws.send(encodeText({ type: 'info', info: { rssi: -70, uptime: 99 } }));
    ws.send(encodeText({ type: 'log', level: 'warn', msg: 'brownout' }));
    ws.send(encodeText({ type: 'motion', state: 'end', time: 1763734579000 }));
    await waitFor(() => !cam.motion, 2000, 'motion off');
    assert.deepEqual(events, ['start', 'end']);
    assert.equal(cam.info.rssi, -70);
    assert.ok(cam.log.toArray().some((l) => l.dir === '<' && l.text === '[warn] brownout'));
    ws.close();
  });

  it('routes commands with ids and returns the ack; times out clearly; validates first', async () => {
    const sim = new SimulatedNativeCamera({
      url: `ws://127.0.0.1:${t.port}/api/camera`,
      id: 'cmdcam',
      fps: 5,
      width: 160,
      height: 120,
      hue: 200,
      frames: JPEGS,
      reconnect: false,
    }).start();
    await waitFor(() => t.bridge.hub.get('cmdcam')?.online, 2000, 'online');
    const post = (body: unknown) =>
      fetch(`${t.url}/api/cameras/cmdcam/command`, { method: 'POST', body: JSON.stringify(body) });
    let res = await post({ framesize: 'svga' });
    assert.equal(res.status, 200);
    assert.deepEqual(((await res.json()) as { answer: unknown }).answer, { framesize: 'SVGA' });
    assert.deepEqual(JSON.parse(sim.received.at(-1)!), { type: 'cmd', id: 1, name: 'framesize', value: 'SVGA' });
    res = await post({ lamp: 'ON' });
    assert.equal(res.status, 200);
    assert.equal(sim.state.lamp, 100);
    res = await post({ command: 'xclk=20' });
    assert.deepEqual(((await res.json()) as { answer: unknown }).answer, { echo: 'xclk=20' });
    // The camera refuses: a clear 502 with its reason.
    res = await post({ framesize: 'QSXGA' });
    assert.equal(res.status, 502);
    assert.match(((await res.json()) as { error: string }).error, /unsupported framesize QSXGA/);
    // Never forwarded: invalid values and unknown controls.
    const n = sim.received.length;
    for (const bad of [{ quality: 99 }, { framesize: 'HUGE' }, { warp: 9 }, { lamp: 'maybe' }]) {
      res = await post(bad);
      assert.equal(res.status, 400, JSON.stringify(bad));
    }
    res = await fetch(`${t.url}/api/cameras/cmdcam/command`, { method: 'POST', body: '{not json' });
    assert.equal(res.status, 400);
    assert.equal(sim.received.length, n);
    res = await fetch(`${t.url}/api/cameras/nobody/command`, { method: 'POST', body: '{"lamp":true}' });
    assert.equal(res.status, 404);
    await sim.stop();
    // A camera that never answers: a timeout error naming the camera and the command.
    const mute = await rawCamera(t, { id: 'mute' });
    await waitFor(() => t.bridge.hub.get('mute')?.online, 2000, 'online');
    res = await fetch(`${t.url}/api/cameras/mute/command`, { method: 'POST', body: '{"lamp":false}' });
    assert.equal(res.status, 504);
    assert.match(((await res.json()) as { error: string }).error, /camera mute did not answer lamp within 1 s/);
    mute.ws.close();
  });

  it('refuses connections beyond max_pending_connections with 503', async () => {
    const open: WebSocket[] = [];
    for (let i = 0; i < 5; i++) open.push((await rawCamera(t, null)).ws);
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${t.port}/api/camera`);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('error', () => {});
    });
    assert.equal(refused, 503);
    assert.match(t.logText(), /limits\.max_pending_connections = 5/);
    for (const ws of open) ws.terminate();
  });
});

describe('allow_unknown_cameras: false', () => {
  it('refuses unknown ids with 4003 and accepts configured ones', async () => {
    const t = await startBridge({ allow_unknown_cameras: false, cameras: { known: {} } });
    try {
      const u = await rawCamera(t, { id: 'stranger' });
      assert.deepEqual(await u.closed, {
        code: 4003,
        reason: 'camera stranger: unknown camera "stranger" (allow_unknown_cameras is false)',
      });
      const k = await rawCamera(t, { id: 'known' });
      await waitFor(() => t.bridge.hub.get('known')?.online, 2000, 'known online');
      k.ws.close();
    } finally {
      await t.stop();
    }
  });
});
