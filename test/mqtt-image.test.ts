// The image entity's topic (<base>/<id>/image, src/sinks/mqtt/image.ts) and the diagnostic topics, over the
// embedded broker to a real mqtt client, from a real simulated native camera: at most one picture per
// homeassistant.image_interval while online, the first one soon after the camera comes online, none while
// offline, a motion snapshot at once, and always the hub's own frame Buffer (the snapshot's), never a copy.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { SimulatedNativeCamera } from '../src/simulator/native-camera.js';
import type { MqttExtension } from '../src/sinks/mqtt/mqtt-extension.js';
import { freePort, sleep, startBridge, type TestBridge, waitFor } from './helpers/bridge.js';
import { MjpegClient } from './helpers/mjpeg-client.js';

interface Got {
  topic: string;
  payload: Buffer;
  at: number;
}

async function setup(imageInterval: number, id: string) {
  const mqttPort = await freePort();
  const t = await startBridge({
    mqtt: { enabled: true, port: mqttPort },
    homeassistant: { image_interval: imageInterval },
  });
  const got: Got[] = [];
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { reconnectPeriod: 0 });
  client.on('message', (topic, payload) => got.push({ topic, payload, at: Date.now() }));
  await client.subscribeAsync(['cam2mqtt/+/image', 'cam2mqtt/+/diagnostics', 'cam2mqtt/bridge/diagnostics']);
  const cam = new SimulatedNativeCamera({
    url: `ws://127.0.0.1:${t.port}/api/camera`,
    id,
    fps: 10,
    width: 160,
    height: 120,
    hue: 30,
    // Full rate even when nobody watches, so the interval, not the camera, sets the pace.
    idleIntervalMs: 100,
    reconnectDelayMs: 200,
  });
  return { t, got, client, cam };
}

const images = (got: Got[], id: string) =>
  got.filter((g) => g.topic === `cam2mqtt/${id}/image` && g.payload.length > 0);

describe('MQTT image entity: at most every image_interval, while online, the frame Buffer itself', () => {
  let t: TestBridge;
  let client: MqttClient;
  let cam: SimulatedNativeCamera;
  let got: Got[];
  const id = 'imgcam';
  before(async () => {
    ({ t, got, client, cam } = await setup(1, id));
  });
  after(async () => {
    await cam.stop();
    await client.endAsync(true);
    await t.stop();
  });

  it('publishes the newest frame at most once per interval while the camera is online', async () => {
    cam.start();
    await waitFor(() => images(got, id).length >= 1, 5000, 'the first picture');
    const start = Date.now();
    const n0 = images(got, id).length;
    await sleep(5000);
    const seen = images(got, id).filter((g) => g.at > start);
    // 50 frames arrived in 5 s; the 1 s interval lets through about 5 (a loaded machine may skip a tick).
    assert.ok(seen.length >= 3 && seen.length <= 6, `${seen.length} pictures in 5 s at image_interval 1`);
    for (const g of seen) assert.ok(g.payload[0] === 0xff && g.payload[1] === 0xd8, 'a JPEG');
    assert.ok(images(got, id).length > n0);
    // The Buffer identity (the hub's frame, never a copy) is checked below, on the motion picture.
  });

  it('diagnostics: viewers, reconnects and frame age per camera; viewers and MQTT clients on the bridge', async () => {
    const viewer = new MjpegClient(`${t.url}/api/cameras/${id}/stream.mjpeg`);
    try {
      const diag = await waitFor(
        () =>
          got
            .filter((g) => g.topic === `cam2mqtt/${id}/diagnostics`)
            .map(
              (g) =>
                JSON.parse(g.payload.toString()) as { viewers: number; reconnects: number; frame_age: number | null },
            )
            .find((d) => d.viewers === 1),
        10_000,
        'viewers 1 in the diagnostics',
      );
      assert.equal(diag.reconnects, 0);
      assert.ok(
        typeof diag.frame_age === 'number' && diag.frame_age >= 0 && diag.frame_age < 10,
        `frame age ${diag.frame_age}`,
      );
      const bridge = await waitFor(
        () =>
          got
            .filter((g) => g.topic === 'cam2mqtt/bridge/diagnostics')
            .map(
              (g) =>
                JSON.parse(g.payload.toString()) as { viewers: number; mqtt_clients: number; cameras_online: number },
            )
            .find((d) => d.viewers === 1),
        10_000,
        'bridge diagnostics with the viewer',
      );
      assert.equal(bridge.mqtt_clients, 1, 'this test is the one MQTT client');
      assert.equal(bridge.cameras_online, 1);
    } finally {
      viewer.close();
    }
  });

  it('publishes nothing while the camera is offline', async () => {
    await cam.stop();
    await waitFor(() => t.bridge.hub.get(id)?.online === false, 5000, 'offline');
    const n = images(got, id).length;
    await sleep(2500);
    assert.equal(images(got, id).length, n, 'no picture while offline');
  });
});

describe('MQTT image entity: motion snapshots at once', () => {
  let t: TestBridge;
  let client: MqttClient;
  let cam: SimulatedNativeCamera;
  let got: Got[];
  const id = 'motioncam';
  before(async () => {
    // An interval far longer than the test: only "came online" and motion publish.
    ({ t, got, client, cam } = await setup(3600, id));
  });
  after(async () => {
    await cam.stop();
    await client.endAsync(true);
    await t.stop();
  });

  it('the first frame after coming online, then nothing until motion, which goes out at once with the snapshot Buffer', async () => {
    cam.start();
    await waitFor(() => images(got, id).length === 1, 5000, 'the first picture after coming online');
    await sleep(2500);
    assert.equal(images(got, id).length, 1, 'nothing more within the interval');
    const t0 = Date.now();
    cam.setMotion(true);
    const g = await waitFor(() => images(got, id)[1], 5000, 'the motion picture');
    const c = t.bridge.hub.get(id)!;
    assert.ok(g.at - t0 < 2000, `motion picture after ${g.at - t0} ms`);
    const m = t.bridge.extension<MqttExtension>('mqtt')!;
    // One Buffer for the hub's snapshot, the snapshot topic and the image topic: never copied.
    assert.ok(c.snapshot, 'the hub took the motion snapshot');
    assert.equal(m.publisher.get(`cam2mqtt/${id}/image`), c.snapshot!.data);
    assert.equal(m.publisher.get(`cam2mqtt/${id}/snapshot`), c.snapshot!.data);
    assert.ok(g.payload.equals(c.snapshot!.data), 'the bytes HA receives are the snapshot');
    cam.setMotion(false);
  });
});
