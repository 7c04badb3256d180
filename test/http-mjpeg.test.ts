import assert from 'node:assert/strict';
import { test } from 'node:test';
import mqtt from 'mqtt';
import WebSocket from 'ws';
import type { Camera } from '../src/hub/camera.js';
import { decodeFrameMessage } from '../src/sinks/page/wire.js';
import { freePort, sleep, startBridge, type TestBridge, waitFor } from './helpers/bridge.js';
import { MjpegClient } from './helpers/mjpeg-client.js';
import { SecurityCamEmulator } from './http-camera-emulators.js';

// Pulled MJPEG cameras against a securityCam-like emulator (/mjpeg, one client at a time).

const fast = { reconnect: { min_delay: 0.2, max_delay: 1 }, read_timeout: 3 };

async function withBridge(raw: Record<string, unknown>, fn: (b: TestBridge) => Promise<void>): Promise<void> {
  const b = await startBridge(raw);
  try {
    await fn(b);
  } finally {
    await b.stop();
  }
}

/** Seqs a viewer received, without the idle repeats of the same frame. */
function distinctSeqs(v: MjpegClient): number[] {
  const out: number[] = [];
  for (const p of v.parts) {
    const s = Number(p.headers['x-frame-seq']);
    if (out[out.length - 1] !== s) out.push(s);
  }
  return out;
}

test('one upstream connection for 10 viewers, REST snapshots and snapshot requests; every viewer gets every frame', async () => {
  const cam = await new SecurityCamEmulator({ fps: 12 }).listen();
  try {
    await withBridge({ cameras: { front: { mjpeg_url: cam.mjpegUrl, ...fast } } }, async (b) => {
      const hub = b.bridge.hub;
      const c = (await waitFor(() => hub.get('front')?.online && hub.get('front'), 10_000, 'camera online')) as Camera;
      assert.equal(c.protocol, 'mjpeg');
      assert.ok(c.capabilities.has('snapshot'));
      const viewers = Array.from({ length: 10 }, () => new MjpegClient(`${b.url}/api/cameras/front/stream.mjpeg`));
      try {
        // Snapshots over REST and through the hub (what MQTT snapshot requests use) while viewers watch.
        for (let i = 0; i < 5; i++) {
          const r = await fetch(`${b.url}/api/cameras/front/snapshot.jpg`);
          assert.equal(r.status, 200);
          const body = Buffer.from(await r.arrayBuffer());
          assert.equal(body[0], 0xff);
          assert.equal(body[1], 0xd8);
        }
        const snap = await hub.takeSnapshot(c, 'request');
        assert.ok(snap.data.length > 1000);
        await waitFor(
          () => viewers.every((v) => distinctSeqs(v).length >= 40),
          40_000,
          'every viewer to get 40 frames',
        );
        for (const [i, v] of viewers.entries()) {
          assert.equal(v.error, undefined, `viewer ${i}: ${v.error?.message}`);
          const seqs = distinctSeqs(v);
          for (let k = 1; k < seqs.length; k++)
            assert.equal(seqs[k], seqs[k - 1]! + 1, `viewer ${i} skipped from frame ${seqs[k - 1]} to ${seqs[k]}`);
          // Byte for byte the camera's JPEGs, in order: seq n is the camera's n-th frame.
          for (const p of v.parts) {
            const seq = Number(p.headers['x-frame-seq']);
            assert.ok(
              p.body.equals(cam.frames[(seq - 1) % cam.frames.length]!),
              `viewer ${i} frame ${seq} differs from the camera's`,
            );
          }
        }
        assert.equal(cam.connections, 1, 'exactly one connection to the camera');
        assert.equal(cam.busyRefusals, 0);
        assert.equal(cam.maxOpen, 1);
        assert.equal(cam.requestsTo('/mjpeg').length, 1);
        const health = (await (await fetch(`${b.url}/healthz`)).json()) as {
          http_cameras: { cameras: Record<string, { connects: number }> };
        };
        assert.equal(health.http_cameras.cameras.front!.connects, 1);
      } finally {
        for (const v of viewers) v.close();
      }
    });
  } finally {
    await cam.close();
  }
});

test('10 MJPEG viewers + 3 control pages + MQTT snapshots and Home Assistant-style polling: still one upstream connection', async () => {
  const cam = await new SecurityCamEmulator({ fps: 12 }).listen();
  const mqttPort = await freePort();
  try {
    await withBridge(
      {
        mqtt: { enabled: true, port: mqttPort },
        cameras: { front: { mjpeg_url: cam.mjpegUrl, snapshot_interval: 1, ...fast } },
      },
      async (b) => {
        const hub = b.bridge.hub;
        await waitFor(() => hub.get('front')?.online, 10_000, 'camera online');
        const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, {
          clientId: 'upstream-test',
          reconnectPeriod: 0,
        });
        const snapshots: Buffer[] = [];
        const responses: Record<string, unknown>[] = [];
        client.on('message', (topic, payload) => {
          if (topic === 'cam2mqtt/front/snapshot') snapshots.push(Buffer.from(payload));
          if (topic === 'cam2mqtt/bridge/response/camera/snapshot')
            responses.push(JSON.parse(payload.toString()) as Record<string, unknown>);
        });
        await client.subscribeAsync(['cam2mqtt/front/snapshot', 'cam2mqtt/bridge/response/camera/snapshot']);
        // Three control pages watching the camera's tile (one WebSocket each, acking every frame drawn).
        const pages = Array.from({ length: 3 }, () => {
          const ws = new WebSocket(`${b.url.replace('http', 'ws')}/api/ws`, { perMessageDeflate: false });
          const seqs: number[] = [];
          ws.on('open', () => ws.send(JSON.stringify({ t: 'watch', ids: ['front'] })));
          ws.on('message', (data, isBinary) => {
            if (!isBinary) return;
            const f = decodeFrameMessage(data as Buffer);
            seqs.push(f.seq);
            ws.send(JSON.stringify({ t: 'ack', c: [f.idx] }));
          });
          ws.on('error', () => {});
          return { ws, seqs };
        });
        const viewers = Array.from({ length: 10 }, () => new MjpegClient(`${b.url}/api/cameras/front/stream.mjpeg`));
        try {
          for (let i = 0; i < 3; i++) {
            await client.publishAsync(
              'cam2mqtt/bridge/request/camera/snapshot',
              JSON.stringify({ id: 'front', transaction: i }),
            );
            // Home Assistant's MQTT camera and generic camera poll stills: the REST snapshot.
            const r = await fetch(`${b.url}/api/cameras/front/snapshot.jpg`);
            assert.equal(r.status, 200);
            await r.arrayBuffer();
          }
          await waitFor(
            () => viewers.every((v) => distinctSeqs(v).length >= 30),
            40_000,
            'every viewer to get 30 frames',
          );
          await waitFor(() => pages.every((p) => p.seqs.length >= 20), 20_000, 'every page to draw 20 frames');
          await waitFor(
            () => responses.length >= 3 && snapshots.length >= 3,
            20_000,
            'MQTT snapshot responses and images',
          );
          assert.ok(
            responses.every((r) => r.status === 'ok'),
            JSON.stringify(responses),
          );
          for (const s of snapshots) assert.equal(s[0], 0xff);
          for (const [i, v] of viewers.entries()) {
            const seqs = distinctSeqs(v);
            for (let k = 1; k < seqs.length; k++)
              assert.equal(seqs[k], seqs[k - 1]! + 1, `viewer ${i} skipped from frame ${seqs[k - 1]} to ${seqs[k]}`);
          }
          for (const p of pages)
            for (let k = 1; k < p.seqs.length; k++) assert.ok(p.seqs[k]! > p.seqs[k - 1]!, 'page frames in order');
          assert.equal(cam.connections, 1, 'exactly one connection to the camera');
          assert.equal(cam.requestsTo('/mjpeg').length, 1);
          assert.equal(cam.busyRefusals, 0);
        } finally {
          for (const v of viewers) v.close();
          for (const p of pages) p.ws.terminate();
          await client.endAsync(true);
        }
      },
    );
  } finally {
    await cam.close();
  }
});

test('the camera goes away: offline meanwhile, reconnects with backoff when it is back', async () => {
  const cam = await new SecurityCamEmulator({ fps: 10 }).listen();
  const port = cam.port;
  const servoPort = cam.servo.port;
  let cam2: SecurityCamEmulator | undefined;
  try {
    await withBridge({ cameras: { front: { mjpeg_url: cam.mjpegUrl, ...fast } } }, async (b) => {
      const hub = b.bridge.hub;
      const events: string[] = [];
      hub.on('online', (c: Camera) => events.push(`online ${c.id}`));
      hub.on('offline', (c: Camera) => events.push(`offline ${c.id}`));
      await waitFor(() => hub.get('front')?.online, 10_000, 'camera online');
      const viewer = new MjpegClient(`${b.url}/api/cameras/front/stream.mjpeg`);
      try {
        await waitFor(() => viewer.parts.length >= 5, 10_000, 'frames');
        events.length = 0;
        // Power cut: the camera disappears, connection and all.
        await cam.close();
        await waitFor(() => hub.get('front')?.online === false, 10_000, 'camera offline');
        assert.deepEqual(events, ['offline front']);
        await sleep(1500); // several refused reconnect attempts
        assert.equal(hub.get('front')!.online, false, 'still offline while the camera is away');
        const framesBefore = hub.get('front')!.frames;
        // The camera boots again on the same address.
        cam2 = await new SecurityCamEmulator({ fps: 10 }).listen(port, servoPort);
        await waitFor(() => hub.get('front')?.online, 10_000, 'camera back online');
        await waitFor(() => hub.get('front')!.frames > framesBefore + 5, 10_000, 'frames after the restart');
        assert.deepEqual(events, ['offline front', 'online front']);
        // The viewer that stayed connected sees the new frames.
        const n = viewer.parts.length;
        await waitFor(() => viewer.parts.length > n + 3, 10_000, 'viewer frames after the restart');
        assert.equal(cam2.connections, 1, 'one connection to the restarted camera');
        assert.match(b.logText(), /camera front offline: .*(closed|reset|ended)/);
      } finally {
        viewer.close();
      }
    });
  } finally {
    await cam.close().catch(() => {});
    await cam2?.close();
  }
});

test('on_demand: connected only while someone watches; the last frame stays for snapshots', async () => {
  const cam = await new SecurityCamEmulator({ fps: 10 }).listen();
  try {
    await withBridge({ cameras: { door: { mjpeg_url: cam.mjpegUrl, on_demand: true, ...fast } } }, async (b) => {
      const hub = b.bridge.hub;
      // At start it fetches one frame (for snapshots and tiles), then lets the camera go.
      await waitFor(() => hub.get('door')?.latest, 10_000, 'a first frame');
      await waitFor(() => cam.open === 0, 10_000, 'the stream closed while nobody watches');
      const c = hub.get('door')!;
      assert.equal(c.online, true, 'an idle on-demand camera stays online');
      const streamsBefore = cam.requestsTo('/mjpeg').length;
      await sleep(1500);
      assert.equal(cam.open, 0);
      const r = await fetch(`${b.url}/api/cameras/door/snapshot.jpg`);
      assert.equal(r.status, 200, 'snapshot from the kept frame');
      await r.arrayBuffer();

      // A viewer: the bridge connects; frames flow.
      const v = new MjpegClient(`${b.url}/api/cameras/door/stream.mjpeg`);
      try {
        await waitFor(() => distinctSeqs(v).length >= 10, 15_000, 'viewer frames');
        assert.equal(cam.requestsTo('/mjpeg').length, streamsBefore + 1, 'one stream for the viewer');
        assert.equal(cam.streaming, 1);
      } finally {
        v.close();
      }
      // The last viewer left: the stream closes after a short linger.
      await waitFor(() => cam.open === 0, 10_000, 'stream closed after the viewer left');
      assert.equal(c.online, true);

      // A snapshot request while idle fetches a fresh frame through a short connection.
      const before = c.latest!.seq;
      const snap = await hub.takeSnapshot(c, 'request');
      assert.ok(snap.seq > before, 'a fresh frame');
      await waitFor(() => cam.open === 0, 10_000, 'stream closed again after the snapshot');
      assert.equal(cam.maxStreaming, 1, 'never two streams at once');
      assert.equal(cam.busyRefusals, 0);
      assert.match(b.logText(), /pulling MJPEG from .* on demand/);
    });
  } finally {
    await cam.close();
  }
});
