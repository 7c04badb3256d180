import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sleep, startBridge, type TestBridge, waitFor } from './helpers/bridge.js';
import { MjpegClient } from './helpers/mjpeg-client.js';
import { DropMidFrameEmulator, HugeFramesEmulator, Mjpeg2sdEmulator, StillsEmulator } from './http-camera-emulators.js';

// Pulled cameras of every kind against real HTTP emulators: MJPEG2SD (padded Content-Length, Basic
// auth, /control), stills only (Digest auth), huge frames and garbage, a camera that drops mid-frame.

const fast = { reconnect: { min_delay: 0.2, max_delay: 1 }, read_timeout: 3 };

async function withBridge(raw: Record<string, unknown>, fn: (b: TestBridge) => Promise<void>): Promise<void> {
  const b = await startBridge(raw);
  try {
    await fn(b);
  } finally {
    await b.stop();
  }
}

async function command(
  b: TestBridge,
  id: string,
  body: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await fetch(`${b.url}/api/cameras/${id}/command`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: r.status, json: (await r.json()) as Record<string, unknown> };
}

test('MJPEG2SD v10: space-padded Content-Length, Basic auth on /sustain, controls through /control?key=value', async () => {
  const cam = await new Mjpeg2sdEmulator({ fps: 15, basic: { username: 'admin', password: 's3cret' } }).listen();
  try {
    await withBridge(
      {
        cameras: {
          garage: {
            mjpeg_url: `${cam.url}/sustain?stream=0`,
            control_url: `${cam.url}/control`,
            control_keys: 'mjpeg2sd',
            auth: { username: 'admin', password: 's3cret', type: 'basic' },
            ...fast,
          },
        },
      },
      async (b) => {
        const hub = b.bridge.hub;
        await waitFor(() => hub.get('garage')?.online, 10_000, 'camera online');
        const c = hub.get('garage')!;
        await waitFor(() => c.frames >= 10, 10_000, 'frames');
        // Every frame parsed whole despite the padded Content-Length.
        assert.ok(c.latest!.data.equals(cam.frames[(c.latest!.seq - 1) % cam.frames.length]!));
        assert.equal(c.badMessages, 0);
        const stream = cam.requestsTo('/sustain');
        assert.equal(stream.length, 1, 'Basic sent up front: no 401 round trip');
        assert.match(stream[0]!.authorization ?? '', /^Basic /);
        for (const cap of ['lamp', 'framesize', 'quality']) assert.ok(c.capabilities.has(cap), `capability ${cap}`);
        // Status fetched once at connect: the framesize index of v10 is decoded.
        await waitFor(() => c.info.framesize === 'VGA', 5000, 'framesize from /status?q');

        let r = await command(b, 'garage', { lamp: 100 });
        assert.equal(r.status, 200, JSON.stringify(r.json));
        assert.equal(cam.settings.lampLevel, '15');
        r = await command(b, 'garage', { framesize: 'SVGA' });
        assert.equal(r.status, 200);
        assert.equal(cam.settings.framesize, '11', 'v10 table: SVGA = 11');
        assert.equal(c.info.framesize, 'SVGA');
        r = await command(b, 'garage', { quality: 20 });
        assert.equal(r.status, 200);
        assert.equal(cam.settings.quality, '20');
        r = await command(b, 'garage', { command: 'record=1' });
        assert.equal(r.status, 200);
        assert.equal(cam.settings.record, '1');
        // The camera's refusal reaches whoever asked.
        r = await command(b, 'garage', { command: 'bogus=1' });
        assert.equal(r.status, 502);
        assert.match(String(r.json.error), /HTTP 400.*unknown key bogus/);
        const controls = cam.requestsTo('/control').map((q) => q.query);
        assert.deepEqual(controls.slice(0, 4), [
          { lampLevel: '15' },
          { framesize: '11' },
          { quality: '20' },
          { record: '1' },
        ]);
        // The same upstream the whole time.
        assert.equal(cam.requestsTo('/sustain').length, 1);
      },
    );
  } finally {
    await cam.close();
  }
});

test('wrong camera password: offline, the log says why, and it keeps trying with backoff', async () => {
  const cam = await new Mjpeg2sdEmulator({ basic: { username: 'admin', password: 'right' } }).listen();
  try {
    await withBridge(
      { cameras: { garage: { mjpeg_url: `http://admin:wrong@127.0.0.1:${cam.port}/sustain?stream=0`, ...fast } } },
      async (b) => {
        await waitFor(() => /HTTP 401.*wrong username or password/.test(b.logText()), 10_000, 'a 401 log line');
        await waitFor(() => cam.requestsTo('/sustain').length >= 4, 10_000, 'retries');
        assert.equal(b.bridge.hub.get('garage')!.online, false);
        assert.doesNotMatch(b.logText(), /wrong@/, 'the password never reaches the log');
      },
    );
  } finally {
    await cam.close();
  }
});

test('stills-only camera with Digest auth: polled at the configured rate over one kept-alive connection', async () => {
  const cam = await new StillsEmulator({ username: 'viewer', password: 'p@ss', realm: 'IPCam' }).listen();
  try {
    await withBridge(
      {
        cameras: {
          yard: {
            snapshot_url: `${cam.url}/capture`,
            snapshot_poll_interval: 0.2,
            auth: { username: 'viewer', password: 'p@ss', type: 'digest' },
            ...fast,
          },
        },
      },
      async (b) => {
        const hub = b.bridge.hub;
        await waitFor(() => hub.get('yard')?.online, 10_000, 'camera online');
        const c = hub.get('yard')!;
        assert.equal(c.protocol, 'snapshot');
        const t0 = Date.now();
        const f0 = c.frames;
        await waitFor(() => c.frames >= f0 + 10, 15_000, '10 more stills');
        const rate = ((c.frames - f0) / (Date.now() - t0)) * 1000;
        assert.ok(rate < 7, `polled at about 5/s, not faster (${rate.toFixed(1)}/s)`);
        // Digest: one 401 to learn the nonce, then every request answered.
        const refused = cam.requests.filter((r) => !r.authorization).length;
        assert.equal(refused, 1);
        assert.ok(cam.requests.slice(1).every((r) => /^Digest /.test(r.authorization ?? '')));
        assert.ok(
          cam.connections <= 2,
          `kept alive (${cam.connections} connections for ${cam.requests.length} requests)`,
        );
        // A viewer of a stills camera gets the stills as a stream.
        const v = new MjpegClient(`${b.url}/api/cameras/yard/stream.mjpeg`);
        try {
          await waitFor(() => v.parts.length >= 3, 10_000, 'stills as MJPEG');
        } finally {
          v.close();
        }
        // A snapshot request takes a fresh still.
        const served = cam.served;
        await hub.takeSnapshot(c, 'request');
        assert.ok(cam.served > served);
      },
    );
  } finally {
    await cam.close();
  }
});

test('huge frames are refused with a log line, the rest of the stream goes on; garbage and odd boundaries parsed', async () => {
  const cam = await new HugeFramesEmulator(1_200_000).listen();
  try {
    await withBridge(
      { cameras: { big: { mjpeg_url: `${cam.url}/stream`, max_frame_bytes: 1_000_000, ...fast } } },
      async (b) => {
        const hub = b.bridge.hub;
        await waitFor(() => hub.get('big')?.online, 10_000, 'camera online');
        const c = hub.get('big')!;
        await waitFor(() => c.frames >= 12, 20_000, '12 small frames');
        // Every small frame arrives, byte for byte and in order; none of the huge ones.
        const got: Buffer[] = [];
        const unsub = c.subscribe((f) => got.push(Buffer.from(f.data)));
        await waitFor(() => got.length >= 6, 10_000, 'frames while subscribed');
        unsub();
        for (const g of got) assert.ok(g.length < 1_000_000);
        const first = cam.sent.findIndex((s) => s.equals(got[0]!));
        assert.ok(first >= 0, 'first frame is one the camera sent');
        for (let k = 1; k < got.length; k++)
          assert.ok(got[k]!.equals(cam.sent[first + k]!), `frame ${k} is the camera's next small frame`);
        assert.match(b.logText(), /refused a frame of 1200000 bytes, larger than max_frame_bytes \(1000000\)/);
        assert.ok(c.badMessages >= 2, 'refusals counted');
        assert.equal(cam.requestsTo('/stream').length, 1, 'no reconnect: oversize frames do not break the stream');
        const health = (await (await fetch(`${b.url}/healthz`)).json()) as {
          http_cameras: { cameras: Record<string, { oversize: number }> };
        };
        assert.ok(health.http_cameras.cameras.big!.oversize >= 2);
      },
    );
  } finally {
    await cam.close();
  }
});

test('a camera that drops the connection mid-frame: no partial frame, reconnect, stream goes on', async () => {
  const cam = await new DropMidFrameEmulator(3).listen();
  try {
    await withBridge({ cameras: { flaky: { mjpeg_url: `${cam.url}/stream`, ...fast } } }, async (b) => {
      const hub = b.bridge.hub;
      const frames: Buffer[] = [];
      await waitFor(() => hub.get('flaky'), 5000, 'camera');
      hub.get('flaky')!.subscribe((f) => frames.push(Buffer.from(f.data)));
      await waitFor(() => cam.drops >= 3, 20_000, 'three drops');
      await waitFor(() => frames.length >= 9, 10_000, 'frames from three connections');
      for (const f of frames) {
        assert.ok(
          cam.frames.some((x) => x.equals(f)),
          'every delivered frame is a whole frame the camera sent',
        );
      }
      assert.ok(cam.requestsTo('/stream').length >= 3, 'reconnected');
      assert.match(b.logText(), /camera flaky offline/);
      await sleep(100);
    });
  } finally {
    await cam.close();
  }
});
