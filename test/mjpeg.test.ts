import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { encodeFrame } from '../src/sources/native/codec.js';
import { sleep, startBridge, type TestBridge, waitFor } from './helpers/bridge.js';
import { MjpegClient } from './helpers/mjpeg-client.js';

const fakeJpeg = (n: number, seed: number) => {
  const b = Buffer.concat([Buffer.from([0xff, 0xd8]), randomBytes(n - 4), Buffer.from([0xff, 0xd9])]);
  b.writeUInt32BE(seed, 2);
  return b;
};

/** A native camera under test control: connect, hello, then send frames by hand. */
async function camera(t: TestBridge, id: string): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${t.port}/api/camera`);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  ws.send(JSON.stringify({ type: 'hello', v: 1, id }));
  await waitFor(() => t.bridge.hub.get(id)?.online, 2000, `${id} online`);
  return ws;
}

describe('MJPEG fan-out', () => {
  let t: TestBridge;
  before(async () => {
    // The stall timeout must outlast sending the 150 frames below, which takes seconds on a loaded machine.
    t = await startBridge({ limits: { viewer_stall_timeout: 30, idle_repeat_interval: 0.5 } });
  });
  after(async () => {
    await t.stop();
  });

  it('404 for an unknown camera, 503 snapshot before a first frame', async () => {
    const r = await fetch(`${t.url}/api/cameras/ghost/stream.mjpeg`);
    assert.equal(r.status, 404);
    assert.match(((await r.json()) as { error: string }).error, /unknown camera "ghost"/);
    const ws = await camera(t, 'blank');
    const s = await fetch(`${t.url}/api/cameras/blank/snapshot.jpg`);
    assert.equal(s.status, 503);
    assert.match(((await s.json()) as { error: string }).error, /has not sent a frame yet/);
    ws.close();
  });

  it('every viewer gets every frame, in order, byte-identical; a frozen viewer only hurts itself', async () => {
    const nFast = 5;
    const id = 'fan';
    const ws = await camera(t, id);
    const frames = new Map<number, Buffer>();
    const fast = Array.from({ length: nFast }, () => new MjpegClient(`${t.url}/api/cameras/${id}/stream.mjpeg`));
    const slow = new MjpegClient(`${t.url}/api/cameras/${id}/stream.mjpeg`);
    await waitFor(() => [...fast, slow].every((c) => c.status === 200), 2000, 'viewers connected');
    slow.pause();
    assert.equal(fast[0]!.res!.headers['content-type'], 'multipart/x-mixed-replace; boundary=cam2mqtt-frame');
    assert.equal(fast[0]!.res!.headers['cache-control'], 'no-cache, no-store, must-revalidate');
    // 150 frames of 200 KB at ~50 fps: ~30 MB, far more than socket buffers hold for the frozen viewer.
    for (let seq = 1; seq <= 150; seq++) {
      const jpeg = fakeJpeg(200 * 1024, seq);
      frames.set(seq, jpeg);
      ws.send(encodeFrame(seq, 1763734575000 + seq, jpeg));
      await sleep(20);
    }
    await waitFor(
      () => fast.every((c) => c.parts.some((p) => p.headers['x-frame-seq'] === '150')),
      10_000,
      'fast viewers reach the last frame',
    );
    for (const c of fast) {
      assert.equal(c.error, undefined);
      const seqs = c.parts.map((p) => Number(p.headers['x-frame-seq'])).filter((s, i, a) => i === 0 || s !== a[i - 1]);
      const first = seqs[0]!;
      assert.deepEqual(
        seqs,
        Array.from({ length: 150 - first + 1 }, (_, i) => first + i),
        'no frame missing or out of order',
      );
      for (const p of c.parts) {
        const seq = Number(p.headers['x-frame-seq']);
        assert.equal(p.headers['content-type'], 'image/jpeg');
        assert.equal(p.headers['x-frame-time'], String(1763734575000 + seq));
        assert.ok(p.body.equals(frames.get(seq)!), `frame ${seq} identical`);
      }
    }
    const viewers = (await (await fetch(`${t.url}/api/cameras/${id}/viewers`)).json()) as {
      delivered: number;
      dropped: number;
    }[];
    assert.equal(viewers.length, nFast + 1);
    const frozen = viewers.filter((v) => v.dropped > 0);
    assert.equal(frozen.length, 1, 'only the frozen viewer dropped frames');
    assert.ok(frozen[0]!.delivered < 150);
    // Stuck past viewer_stall_timeout (30 s: on a loaded machine sending the 150 frames took 19 s, so
    // 15 s dropped it before the count above): disconnected, with one log line.
    await waitFor(
      () => new RegExp(`of ${id} accepted no data for \\d+ s, disconnecting it`).test(t.logText()),
      60_000,
      'stalled viewer dropped',
    );
    await waitFor(
      async () => ((await (await fetch(`${t.url}/api/cameras/${id}/viewers`)).json()) as unknown[]).length === nFast,
      3000,
      `${nFast} viewers left`,
    );
    for (const c of [...fast, slow]) c.close();
    ws.close();
  });

  it('a new viewer gets the latest frame at once, and it is repeated while the camera is quiet', async () => {
    const ws = await camera(t, 'idle');
    const jpeg = fakeJpeg(3000, 7);
    ws.send(encodeFrame(7, Date.now(), jpeg));
    await waitFor(() => t.bridge.hub.get('idle')?.latest, 2000, 'frame');
    const c = new MjpegClient(`${t.url}/api/cameras/idle/stream.mjpeg`);
    await waitFor(() => c.parts.length >= 3, 3000, 'repeated parts');
    assert.ok(c.parts.every((p) => p.body.equals(jpeg) && p.headers['x-frame-seq'] === '7'));
    c.close();
    ws.close();
  });

  it('the camera is subscribed only while someone watches (demand)', async () => {
    const ws = await camera(t, 'demand');
    const texts: string[] = [];
    ws.on('message', (d, bin) => {
      if (!bin) texts.push(d.toString());
    });
    const c = new MjpegClient(`${t.url}/api/cameras/demand/stream.mjpeg`);
    await waitFor(() => texts.includes('{"type":"demand","watching":true}'), 2000, 'demand on');
    c.close();
    await waitFor(() => texts.includes('{"type":"demand","watching":false}'), 2000, 'demand off');
    ws.close();
  });
});
