// The page socket (/api/ws), presets and pan/tilt, at the protocol level (no browser).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Frame } from '../src/hub/frame.js';
import { jpegCycle } from '../src/simulator/frames.js';
import { SimulatedMjpeg2sdCamera } from '../src/simulator/mjpeg2sd-camera.js';
import { SimulatedNativeCamera } from '../src/simulator/native-camera.js';
import { decodeFrameMessage, FRAME_HEADER_BYTES, frameMessage } from '../src/sinks/page/wire.js';
import { freePort, sleep, startBridge, type TestBridge, waitFor } from './helpers/bridge.js';
import { type PageMessage, PageWsClient } from './page-helpers.js';

const SIZE = { width: 320, height: 240 };

describe('page socket frame messages', () => {
  it('puts a 24-byte header before the JPEG, built once per frame, and never copies the JPEG', () => {
    const jpeg = jpegCycle({ ...SIZE, hue: 10, cycle: 2 })[1]!;
    const frame: Frame = { data: jpeg, seq: 4_000_000_123, cameraTime: 1763734575123.5, receivedAt: 1763734575200 };
    const a = frameMessage(frame, 7);
    assert.equal(a.head.length, FRAME_HEADER_BYTES);
    assert.equal(a.jpeg, jpeg, "the camera's own Buffer, not a copy");
    assert.equal(frameMessage(frame, 7).head, a.head, 'the same header Buffer for every client');
    const d = decodeFrameMessage(Buffer.concat([a.head, a.jpeg]));
    assert.deepEqual(
      { kind: d.kind, idx: d.idx, seq: d.seq, cameraTime: d.cameraTime, receivedAt: d.receivedAt },
      { kind: 1, idx: 7, seq: 4_000_000_123, cameraTime: 1763734575123.5, receivedAt: 1763734575200 },
    );
    assert.ok(d.jpeg.equals(jpeg));
  });
});

describe('/api/ws', () => {
  let t: TestBridge;
  let native: SimulatedNativeCamera;
  let plain: SimulatedNativeCamera;
  let legacy: SimulatedMjpeg2sdCamera;
  const clients: PageWsClient[] = [];
  const client = async () => {
    const c = new PageWsClient(t.url);
    clients.push(c);
    await c.opened;
    await c.hello();
    return c;
  };

  before(async () => {
    t = await startBridge({ limits: { command_timeout: 2 } });
    native = new SimulatedNativeCamera({
      url: `ws://127.0.0.1:${t.port}/api/camera`,
      id: 'front',
      name: 'Front door',
      fps: 20,
      ...SIZE,
      hue: 30,
      idleIntervalMs: 500,
    });
    plain = new SimulatedNativeCamera({
      url: `ws://127.0.0.1:${t.port}/api/camera`,
      id: 'plain',
      fps: 20,
      ...SIZE,
      hue: 200,
      caps: ['lamp'],
      idleIntervalMs: 500,
    });
    legacy = new SimulatedMjpeg2sdCamera({
      url: `ws://127.0.0.1:${t.port}/ws`,
      id: 'ESP-CAM-GARAGE',
      fps: 10,
      ...SIZE,
      hue: 120,
    });
    for (const c of [native, plain, legacy]) c.start();
    await waitFor(
      () => ['front', 'plain', 'esp-cam-garage'].every((id) => t.bridge.hub.get(id)?.latest),
      5000,
      'three cameras with frames',
    );
  });
  after(async () => {
    for (const c of clients) c.close();
    await Promise.all([native, plain, legacy].map((c) => c.stop()));
    await t.stop();
  });

  it('says hello with every camera, its frame index, log, presets and the bridge status', async () => {
    const c = await client();
    const hello = c.messages[0]!;
    assert.equal(hello.t, 'hello');
    const cams = hello.cameras as {
      id: string;
      idx: number;
      name: string;
      online: boolean;
      protocol: string;
      log: unknown[];
      capabilities: string[];
    }[];
    assert.deepEqual(
      cams.map((x) => x.id),
      ['esp-cam-garage', 'front', 'plain'],
    );
    assert.equal(new Set(cams.map((x) => x.idx)).size, 3, 'distinct indexes');
    const front = cams.find((x) => x.id === 'front')!;
    assert.equal(front.name, 'Front door');
    assert.equal(front.protocol, 'native');
    assert.ok(front.capabilities.includes('servo'));
    assert.ok(Array.isArray(front.log));
    assert.ok(Array.isArray(hello.presets) && (hello.presets as unknown[]).length > 0);
    assert.ok(Array.isArray(hello.framesizes));
    assert.equal(hello.auth, false);
    assert.equal(typeof (hello.status as Record<string, unknown>).version, 'string');
    assert.equal((hello.status as Record<string, { clients: number }>).page.clients >= 1, true);
  });

  it('sends frames only for watched cameras, as the camera JPEG bytes, paced by acks', async () => {
    const c = await client();
    const cams = c.messages[0]!.cameras as { id: string; idx: number }[];
    const idx = cams.find((x) => x.id === 'front')!.idx;
    assert.equal(native.watching, false, 'nobody watches yet');
    c.send({ t: 'watch', ids: ['front'] });
    await waitFor(() => native.watching, 2000, 'demand reaches the camera');
    // Without acks, at most two frames per tile are in flight: a slow page cannot be flooded.
    await sleep(400);
    assert.ok(c.frames.length >= 1 && c.frames.length <= 2, `got ${c.frames.length} frames without acking`);
    const jpegs = jpegCycle({ ...SIZE, hue: 30 });
    for (const f of c.frames) {
      assert.equal(f.idx, idx);
      assert.ok(f.jpeg.equals(jpegs[f.seq % jpegs.length]!), 'byte-identical JPEG');
      assert.ok(Math.abs(f.cameraTime - Date.now()) < 5000);
    }
    // Ack everything as a page does once drawn: frames flow at the camera's rate.
    const acker = setInterval(() => c.send({ t: 'ack', c: c.frames.map((f) => f.idx).slice(-2) }), 20);
    const n0 = c.frames.length;
    // Compared with what the bridge received meanwhile (~20 frames/s), not with the clock: on a loaded
    // machine the simulated camera slows down too.
    const cam = t.bridge.hub.get('front')!;
    const r0 = cam.frames;
    try {
      await sleep(1000);
    } finally {
      clearInterval(acker);
    }
    const got = c.frames.length - n0;
    const received = cam.frames - r0;
    assert.ok(
      got >= 3 && got >= received * 0.6,
      `with acks the page gets the camera's rate: ${got} frames sent of ${received} received`,
    );
    assert.ok(
      c.frames.every((f) => f.idx === idx),
      'no frames of unwatched cameras',
    );
    const seqs = c.frames.map((f) => f.seq);
    assert.ok(
      seqs.every((s, i) => i === 0 || s > seqs[i - 1]!),
      'in order',
    );
    c.send({ t: 'watch', ids: [] });
    await waitFor(() => !native.watching, 2000, 'demand ends when the tile is not shown');
  });

  it('sends the latest frame at once when a tile starts watching (also for an idle camera)', async () => {
    const c = await client();
    const legacyCam = t.bridge.hub.get('esp-cam-garage')!;
    c.send({ t: 'watch', ids: ['esp-cam-garage'] });
    const f = await waitFor(() => c.frames[0], 1000, 'first frame');
    assert.ok(f.seq >= legacyCam.latest!.seq - 2);
  });

  it('refuses bad messages with one log line each and keeps serving the same and other pages', async () => {
    const good = await client();
    good.send({ t: 'watch', ids: ['plain'] });
    const bad = await client();
    const logsBefore = t.logs.length;
    bad.send('this is not json');
    const e1 = await bad.waitMessage((m) => m.t === 'error', 'error for garbage');
    assert.match(String(e1.error), /JSON object/);
    bad.send({ t: 'launch-missiles' });
    await bad.waitMessage(
      (m) => m.t === 'error' && /unknown message type/.test(String(m.error)),
      'error for unknown type',
    );
    bad.send({ t: 'watch', ids: ['nosuch'] });
    await bad.waitMessage(
      (m) => m.t === 'error' && /unknown camera nosuch/.test(String(m.error)),
      'error for unknown camera',
    );
    const r = await bad.request({ t: 'cmd', id: 'nosuch', text: 'status?q' });
    assert.equal(r.t, 'error');
    const refusals = t.logs.slice(logsBefore).filter((l) => /page .* refused a message/.test(l.msg));
    assert.ok(
      refusals.length >= 1 && refusals.length <= 4,
      `one line per refusal at most (throttled): ${refusals.length}`,
    );
    // Still usable after refusals.
    bad.send({ t: 'ping', rid: 'p1' });
    await bad.waitMessage((m) => m.t === 'pong' && m.rid === 'p1', 'pong after the refusals');
    assert.equal(bad.closed, undefined);
  });

  it('closes a page that sends an oversized message (1009) without disturbing the others', async () => {
    const good = await client();
    good.send({ t: 'watch', ids: ['plain'] });
    const acker = setInterval(() => good.send({ t: 'ack', c: good.frames.slice(-2).map((f) => f.idx) }), 20);
    try {
      const big = await client();
      big.send({ t: 'watch', ids: ['x'.repeat(100 * 1024)] });
      await waitFor(() => big.closed, 2000, 'oversized message closes the socket');
      assert.equal(big.closed!.code, 1009);
      await waitFor(() => t.logs.some((l) => /page .*Max payload size exceeded/.test(l.msg)), 2000, 'one log line');
      const n = good.frames.length;
      await sleep(500);
      assert.ok(good.frames.length > n + 3, 'the other page kept receiving frames');
    } finally {
      clearInterval(acker);
    }
  });

  it('runs a remote query (raw or /control) on one camera and answers with the camera reply', async () => {
    const c = await client();
    const raw = await c.request({ t: 'cmd', id: 'front', text: 'hello camera' });
    assert.equal(raw.ok, true);
    assert.deepEqual(raw.answer, { echo: 'hello camera' });
    const lamp = await c.request({ t: 'cmd', id: 'front', text: '/lamp on' });
    assert.equal(lamp.ok, true);
    assert.equal(native.state.lamp, 100);
    const q = await c.request({ t: 'cmd', id: 'esp-cam-garage', text: 'status?q' });
    assert.equal(q.ok, true);
    assert.equal((q.answer as Record<string, string>).hostName, 'ESP-CAM-GARAGE');
    const bad = await c.request({ t: 'cmd', id: 'front', text: '/warp 9' });
    assert.equal(bad.ok, false);
    assert.equal(bad.code, 'invalid');
    assert.match(String(bad.error), /unknown control "warp"/);
    // Sent and received lines reach every page through the camera log.
    await c.waitMessage(
      (m) =>
        m.t === 'log' &&
        m.id === 'esp-cam-garage' &&
        (m.entry as { dir: string }).dir === '<' &&
        /hostName/.test((m.entry as { text: string }).text),
      'log of the answer',
    );
  });

  it('queries all online cameras at once', async () => {
    const c = await client();
    const r = await c.request({ t: 'cmd', all: true, text: '/lamp off' });
    const results = r.results as { id: string; ok: boolean }[];
    assert.deepEqual(results.map((x) => x.id).sort(), ['esp-cam-garage', 'front', 'plain']);
    assert.ok(
      results.every((x) => x.ok),
      JSON.stringify(results),
    );
    assert.equal(native.state.lamp, 0);
    assert.equal(plain.state.lamp, 0);
    assert.ok(legacy.received.includes('lampLevel=0'));
  });

  it('steps pan/tilt from the last position, clamped to 0..180, over the socket and REST', async () => {
    const c = await client();
    const right = await c.request({ t: 'ptz', id: 'front', direction: 'right', step: 10 });
    assert.deepEqual(right.answer, { pan: 100, tilt: 90 });
    assert.equal(native.state.pan, 100);
    const up = await c.request({ t: 'ptz', id: 'front', direction: 'up', step: 100 });
    assert.deepEqual(up.answer, { pan: 100, tilt: 180 }, 'clamped');
    assert.equal(native.state.tilt, 180);
    let res = await fetch(`${t.url}/api/cameras/front/ptz`, {
      method: 'POST',
      body: JSON.stringify({ direction: 'left', step: 30 }),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { ok: true, camera: 'front', pan: 70, tilt: 180 });
    assert.equal(native.state.pan, 70);
    res = await fetch(`${t.url}/api/cameras/front/ptz`, {
      method: 'POST',
      body: JSON.stringify({ direction: 'home' }),
    });
    assert.deepEqual(await res.json(), { ok: true, camera: 'front', pan: 90, tilt: 90 });
    // Absolute angles, either or both; invalid values move nothing.
    res = await fetch(`${t.url}/api/cameras/front/ptz`, {
      method: 'POST',
      body: JSON.stringify({ pan: 120, tilt: 45 }),
    });
    assert.deepEqual(await res.json(), { ok: true, camera: 'front', pan: 120, tilt: 45 });
    assert.equal(native.state.pan, 120);
    assert.equal(native.state.tilt, 45);
    res = await fetch(`${t.url}/api/cameras/front/ptz`, {
      method: 'POST',
      body: JSON.stringify({ pan: 60, tilt: 999 }),
    });
    assert.equal(res.status, 400);
    assert.equal(native.state.pan, 120, 'nothing moved when one angle is invalid');
    res = await fetch(`${t.url}/api/cameras/front/ptz`, {
      method: 'POST',
      body: JSON.stringify({ direction: 'sideways' }),
    });
    assert.equal(res.status, 400);
    res = await fetch(`${t.url}/api/cameras/plain/ptz`, { method: 'POST', body: JSON.stringify({ direction: 'up' }) });
    assert.equal(res.status, 422, 'no servo capability');
    res = await fetch(`${t.url}/api/cameras/nosuch/ptz`, { method: 'POST', body: JSON.stringify({ direction: 'up' }) });
    assert.equal(res.status, 404);
  });

  it('tells pages about motion, info, cameras coming, going offline and being removed', async () => {
    const c = await client();
    native.setMotion(true, { x: 100, y: 200, w: 300, h: 400 });
    const m = await c.waitMessage((x) => x.t === 'motion' && x.id === 'front', 'motion start');
    assert.equal(m.state, 'start');
    assert.deepEqual(m.region, { x: 0.1, y: 0.2, w: 0.3, h: 0.4 });
    native.setMotion(false);
    await c.waitMessage((x) => x.t === 'motion' && x.id === 'front' && x.state === 'end', 'motion end');
    native.send({ type: 'info', info: { framesize: 'SVGA' } });
    await c.waitMessage(
      (x) => x.t === 'info' && x.id === 'front' && (x.patch as Record<string, unknown>).framesize === 'SVGA',
      'info',
    );
    const late = new SimulatedNativeCamera({
      url: `ws://127.0.0.1:${t.port}/api/camera`,
      id: 'late',
      fps: 5,
      ...SIZE,
      hue: 300,
      reconnect: false,
    });
    late.start();
    const added = await c.waitMessage(
      (x) => x.t === 'cam' && (x.cam as { id: string }).id === 'late' && (x.cam as { online: boolean }).online,
      'new camera',
    );
    assert.equal(typeof (added.cam as { idx: number }).idx, 'number');
    late.kill();
    await c.waitMessage(
      (x) =>
        x.t === 'cam' &&
        (x.cam as { id: string; online: boolean }).id === 'late' &&
        !(x.cam as { online: boolean }).online,
      'offline',
    );
    t.bridge.hub.remove('late');
    await c.waitMessage((x) => x.t === 'removed' && x.id === 'late', 'removed');
    await late.stop();
  });

  it('refuses a cross-site page socket (Origin of another site)', async () => {
    const evil = new PageWsClient(t.url, { headers: { Origin: 'http://evil.example' } });
    await assert.rejects(evil.opened, /403/);
    const same = new PageWsClient(t.url, { headers: { Origin: t.url } });
    clients.push(same);
    await same.opened;
  });
});

describe('a slow page only hurts itself', () => {
  let t: TestBridge;
  let cam: SimulatedNativeCamera;
  before(async () => {
    t = await startBridge({ limits: { viewer_stall_timeout: 2, viewer_queue_bytes: 64 * 1024 } });
    // Noisy frames: ~50-100 KB each, 25 fps, so the slow page's socket fills quickly.
    cam = new SimulatedNativeCamera({
      url: `ws://127.0.0.1:${t.port}/api/camera`,
      id: 'busy',
      fps: 25,
      width: 640,
      height: 480,
      hue: 90,
      frames: jpegCycle({ width: 640, height: 480, hue: 90, cycle: 6, noise: 40, quality: 90 }),
    });
    cam.start();
    await waitFor(() => t.bridge.hub.get('busy')?.latest, 5000, 'camera');
  });
  after(async () => {
    await cam.stop();
    await t.stop();
  });

  it('bounds what a stuck page queues, keeps others at full rate, and drops it after the stall timeout', async (ctx) => {
    const fast = new PageWsClient(t.url);
    const slow = new PageWsClient(t.url);
    await Promise.all([fast.opened, slow.opened]);
    const idx = ((await fast.hello()).cameras as { idx: number }[])[0]!.idx;
    await slow.hello();
    // The slow page stops reading but keeps acking, so only TCP backpressure holds it back.
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    fast.send({ t: 'watch', ids: ['busy'] });
    slow.send({ t: 'watch', ids: ['busy'] });
    const ack = setInterval(() => {
      fast.send({ t: 'ack', c: [idx, idx] });
      slow.send({ t: 'ack', c: [idx, idx] });
    }, 15);
    try {
      let maxQueued = 0;
      const frameBytes = Math.max(
        ...jpegCycle({ width: 640, height: 480, hue: 90, cycle: 6, noise: 40, quality: 90 }).map((b) => b.length),
      );
      const start = fast.frames.length;
      const busy = t.bridge.hub.get('busy')!;
      const received0 = busy.frames;
      const t0 = Date.now();
      await waitFor(
        async () => {
          const list = (await (await fetch(`${t.url}/api/page/clients`)).json()) as {
            queued_bytes: number;
            dropped: number;
          }[];
          for (const c of list) maxQueued = Math.max(maxQueued, c.queued_bytes);
          return slow.closed;
        },
        15_000,
        'the stalled page to be disconnected',
      );
      const fps = ((fast.frames.length - start) * 1000) / (Date.now() - t0);
      const receivedFps = ((busy.frames - received0) * 1000) / (Date.now() - t0);
      ctx.diagnostic(
        `fast page: ${fps.toFixed(1)} frames/s of ${receivedFps.toFixed(1)} received (camera set to 25) while the other stalled; stuck page queued at most ${maxQueued} bytes (frames up to ${frameBytes} bytes); dropped after ${((Date.now() - t0) / 1000).toFixed(1)} s`,
      );
      // Relative to what the bridge received meanwhile: the simulated camera slows down on a loaded machine too.
      assert.ok(
        fps > receivedFps * 0.6,
        `the fast page kept the camera's rate while the other stalled (${fps.toFixed(1)} of ${receivedFps.toFixed(1)} frames/s)`,
      );
      assert.ok(
        maxQueued <= 256 * 1024 + 2 * (frameBytes + FRAME_HEADER_BYTES),
        `queued ${maxQueued} bytes for the stuck page, frames are ${frameBytes} bytes`,
      );
      assert.ok(
        t.logs.some((l) => /page .* accepted no data for \d+ s/.test(l.msg)),
        'one log line when it is dropped',
      );
      assert.ok(!fast.closed, 'the fast page stays connected');
    } finally {
      clearInterval(ack);
      fast.close();
      slow.close();
    }
  });
});

describe('presets', () => {
  it('are served, validated, saved in <dataDir>/presets.json, pushed to pages, and survive a restart', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'cam2mqtt-presets-'));
    const port = await freePort();
    let t = await startBridge({ http: { port } }, { dataDir });
    try {
      const defaults = (await (await fetch(`${t.url}/api/presets`)).json()) as { label: string; command: string }[];
      assert.ok(defaults.some((p) => p.command === '/status'));
      const page = new PageWsClient(t.url);
      await page.opened;
      await page.hello();
      let res = await fetch(`${t.url}/api/presets`, {
        method: 'PUT',
        body: JSON.stringify([{ label: '', command: 'x' }]),
      });
      assert.equal(res.status, 400);
      assert.match(((await res.json()) as { error: string }).error, /label/);
      res = await fetch(`${t.url}/api/presets`, { method: 'PUT', body: 'nope' });
      assert.equal(res.status, 400);
      const mine = [
        { label: 'Night', command: '/lamp off' },
        { label: 'Big', command: 'framesize=13;quality=10' },
      ];
      res = await fetch(`${t.url}/api/presets`, { method: 'PUT', body: JSON.stringify(mine) });
      assert.equal(res.status, 200);
      const pushed = await page.waitMessage((m: PageMessage) => m.t === 'presets', 'presets pushed to the page');
      assert.deepEqual(pushed.presets, mine);
      page.close();
      assert.ok(existsSync(path.join(dataDir, 'presets.json')));
      assert.deepEqual(JSON.parse(readFileSync(path.join(dataDir, 'presets.json'), 'utf8')), mine);
      await t.stop();
      t = await startBridge({ http: { port } }, { dataDir });
      // (fetch may first try its pooled connection to the old bridge: retry.)
      const after = await waitFor(
        async () => (await fetch(`${t.url}/api/presets`)).json(),
        2000,
        'presets after the restart',
      );
      assert.deepEqual(after, mine);
    } finally {
      await t.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
