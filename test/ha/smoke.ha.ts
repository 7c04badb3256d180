// Smoke test of the real-Home-Assistant harness: mosquitto + the HA of the matrix leg, MQTT discovery of a
// binary_sensor and a camera, states and camera image checked through HA's own APIs.
// Run via .ci/run-ha.sh (needs .ci/install-ha.sh). Not a *.test.ts: the unit suite skips it.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Connection } from 'home-assistant-js-websocket';
import jpeg from 'jpeg-js';
import mqtt, { type MqttClient } from 'mqtt';
import { assertHaHealthy, skip } from './cam2mqtt-ha.js';
import {
  connectWs,
  createAutomation,
  createMjpegEntry,
  createMqttEntry,
  getState,
  type HomeAssistant,
  haDefaultMqttProtocol,
  haFetch,
  listDevices,
  listEntities,
  type Mosquitto,
  startHomeAssistant,
  startMosquitto,
  storedConfigEntry,
  waitFor,
} from './hass.js';

const NODE = 'cam2mqtt_smoke';
const BRIDGE_STATUS = 'cam2mqtt/smoke/status';
const CAMERA_STATUS = 'cam2mqtt/smoke/cam1/status';
const MOTION_TOPIC = 'cam2mqtt/smoke/cam1/motion';
const SNAPSHOT_TOPIC = 'cam2mqtt/smoke/cam1/snapshot';

const device = {
  identifiers: ['cam2mqtt_smoke_cam1'],
  name: 'Smoke Cam',
  manufacturer: 'cam2mqtt',
  model: 'test camera',
  sw_version: '0.0.0-test',
  configuration_url: 'http://127.0.0.1:1/',
};
const origin = { name: 'cam2mqtt', sw_version: '0.0.0-test', support_url: 'https://example.invalid/cam2mqtt' };
const availability = [
  { topic: BRIDGE_STATUS, payload_available: 'online', payload_not_available: 'offline' },
  { topic: CAMERA_STATUS, payload_available: 'online', payload_not_available: 'offline' },
];

function makeJpeg(width: number, height: number, seed: number): Buffer {
  const data = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      data[i] = (x * 8 + seed) & 0xff;
      data[i + 1] = (y * 8 + seed * 3) & 0xff;
      data[i + 2] = (x ^ y) * 4 + seed;
      data[i + 3] = 0xff;
    }
  }
  return Buffer.from(jpeg.encode({ data, width, height }, 80).data);
}

describe('Home Assistant harness smoke test', { skip, timeout: 600_000 }, () => {
  let broker: Mosquitto | undefined;
  let ha: HomeAssistant | undefined;
  let client: MqttClient | undefined;
  let conn: Connection | undefined;
  const births: string[] = [];
  let motion: string | undefined;

  before(async () => {
    broker = await startMosquitto();
    const t0 = Date.now();
    ha = await startHomeAssistant();
    console.log(`# Home Assistant up on ${ha.url} in ${Date.now() - t0} ms`);
    conn = await connectWs(ha.url, ha.token);
    client = await mqtt.connectAsync(broker.url, { clientId: `smoke-${process.pid}`, reconnectPeriod: 200 });
    // Like cam2mqtt must: on HA's birth message, re-publish current (non-retained) states.
    client.on('message', (topic, payload) => {
      if (topic !== 'homeassistant/status') return;
      births.push(payload.toString());
      if (payload.toString() === 'online' && motion !== undefined)
        void client!.publishAsync(MOTION_TOPIC, motion, { qos: 1 });
    });
    await client.subscribeAsync('homeassistant/status', { qos: 1 });
  });

  after(async () => {
    conn?.close();
    await client?.endAsync(true).catch(() => undefined);
    if (ha !== undefined && process.env.HA_VERBOSE === '1') console.log(ha.logs());
    const t0 = Date.now();
    await ha?.stop();
    console.log(`# Home Assistant stopped in ${Date.now() - t0} ms`);
    await broker?.stop();
  });

  it('adds the MQTT integration through the config flow', async () => {
    const entryId = await createMqttEntry(ha!, { broker: broker!.host, port: broker!.port });
    // Entry and flow ids are opaque (ULIDs on new HA): only check it is an id.
    assert.match(entryId, /^[0-9A-Za-z]{20,40}$/);
    // Created with HA's default protocol (mosquitto speaks 3.1.1 and 5).
    const stored = await storedConfigEntry(ha!, entryId);
    assert.equal(stored.data.protocol ?? '3.1.1', haDefaultMqttProtocol(), 'entry protocol');
    // HA's birth message shows its MQTT client is connected to our broker.
    await waitFor(() => births.includes('online'), 20_000, 'birth message on homeassistant/status');
  });

  it('discovers a binary_sensor whose state follows MQTT', async () => {
    await client!.publishAsync(BRIDGE_STATUS, 'online', { retain: true, qos: 1 });
    await client!.publishAsync(CAMERA_STATUS, 'online', { retain: true, qos: 1 });
    const config = {
      name: 'Motion',
      unique_id: 'cam2mqtt_smoke_cam1_motion',
      object_id: 'smoke_cam1_motion',
      default_entity_id: 'binary_sensor.smoke_cam1_motion',
      state_topic: MOTION_TOPIC,
      payload_on: 'ON',
      payload_off: 'OFF',
      device_class: 'motion',
      availability,
      availability_mode: 'all',
      device,
      origin,
    };
    await client!.publishAsync(`homeassistant/binary_sensor/${NODE}/cam1_motion/config`, JSON.stringify(config), {
      retain: true,
      qos: 1,
    });

    const entity = await waitFor(
      async () => (await listEntities(conn!)).find((e) => e.unique_id === config.unique_id),
      30_000,
      'binary_sensor in the entity registry',
    );
    assert.equal(entity.entity_id, 'binary_sensor.smoke_cam1_motion');
    assert.equal(entity.platform, 'mqtt');
    assert.ok(entity.device_id, 'entity is attached to a device');

    const dev = (await listDevices(conn!)).find((d) => d.id === entity.device_id);
    assert.ok(dev, 'device in the device registry');
    assert.equal(dev.name, 'Smoke Cam');
    assert.equal(dev.manufacturer, 'cam2mqtt');
    assert.deepEqual(dev.identifiers, [['mqtt', 'cam2mqtt_smoke_cam1']]);

    for (const [payload, want] of [
      ['ON', 'on'],
      ['OFF', 'off'],
      ['ON', 'on'],
    ] as const) {
      motion = payload;
      // Re-publish while polling: HA subscribes to the state topic a moment after the entity
      // shows up in the registry, and a non-retained message sent before that is lost.
      await waitFor(
        async () => {
          await client!.publishAsync(MOTION_TOPIC, payload, { qos: 1 });
          return (await getState(ha!, entity.entity_id))?.state === want;
        },
        15_000,
        `${entity.entity_id} == ${want}`,
        500,
      );
    }

    // availability_mode: all -> one source offline makes the entity unavailable.
    await client!.publishAsync(CAMERA_STATUS, 'offline', { retain: true, qos: 1 });
    await waitFor(async () => (await getState(ha!, entity.entity_id))?.state === 'unavailable', 15_000, 'unavailable');
    await client!.publishAsync(CAMERA_STATUS, 'online', { retain: true, qos: 1 });
    await waitFor(async () => (await getState(ha!, entity.entity_id))?.state === 'on', 15_000, 'available again');
  });

  it('runs an automation triggered by the MQTT binary_sensor', async () => {
    const entityId = await createAutomation(ha!, 'cam2mqtt_smoke_motion', {
      alias: 'Smoke motion',
      trigger: [{ platform: 'state', entity_id: 'binary_sensor.smoke_cam1_motion', to: 'on' }],
      action: [{ event: 'cam2mqtt_smoke_event', event_data: { source: 'smoke' } }],
    });
    assert.equal(entityId, 'automation.smoke_motion');
    const fired: unknown[] = [];
    const unsub = await conn!.subscribeEvents((ev: { data: unknown }) => fired.push(ev.data), 'cam2mqtt_smoke_event');
    try {
      for (const payload of ['OFF', 'ON']) {
        motion = payload;
        await client!.publishAsync(MOTION_TOPIC, payload, { qos: 1 });
        await waitFor(
          async () => (await getState(ha!, 'binary_sensor.smoke_cam1_motion'))?.state === payload.toLowerCase(),
          15_000,
          `motion ${payload}`,
        );
      }
      await waitFor(() => fired.length > 0, 15_000, 'cam2mqtt_smoke_event');
      assert.deepEqual(fired[0], { source: 'smoke' });
    } finally {
      await unsub();
    }
  });

  it('discovers a camera and serves the published JPEG through camera_proxy', async () => {
    const config = {
      name: 'Snapshot',
      unique_id: 'cam2mqtt_smoke_cam1_snapshot',
      object_id: 'smoke_cam1_snapshot',
      default_entity_id: 'camera.smoke_cam1_snapshot',
      topic: SNAPSHOT_TOPIC,
      availability,
      availability_mode: 'all',
      device,
      origin,
    };
    await client!.publishAsync(`homeassistant/camera/${NODE}/cam1_snapshot/config`, JSON.stringify(config), {
      retain: true,
      qos: 1,
    });
    const entity = await waitFor(
      async () => (await listEntities(conn!)).find((e) => e.unique_id === config.unique_id),
      30_000,
      'camera in the entity registry',
    );
    assert.equal(entity.entity_id, 'camera.smoke_cam1_snapshot');
    await waitFor(async () => (await getState(ha!, entity.entity_id))?.state === 'idle', 15_000, 'camera idle');

    for (const seed of [1, 2]) {
      const image = makeJpeg(64, 48, seed);
      await client!.publishAsync(SNAPSHOT_TOPIC, image, { qos: 1 });
      const got = await waitFor(
        async () => {
          const r = await haFetch(ha!.url, ha!.token, `/api/camera_proxy/${entity.entity_id}`);
          const body = Buffer.from(await r.arrayBuffer());
          return r.ok && body.equals(image) ? { body, type: r.headers.get('content-type') } : undefined;
        },
        15_000,
        `camera_proxy to return image ${seed}`,
      );
      assert.equal(got.type, 'image/jpeg');
      assert.equal(got.body.length, image.length);
    }
  });

  it('adds an mjpeg camera whose still and stream come through HA', async () => {
    const frames = [makeJpeg(32, 24, 7), makeJpeg(32, 24, 8)];
    const still = makeJpeg(32, 24, 9);
    const server: Server = createServer((req, res) => {
      if (req.url === '/still.jpg') {
        res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': still.length });
        res.end(still);
        return;
      }
      if (req.url !== '/stream') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'multipart/x-mixed-replace; boundary=frame' });
      let n = 0;
      const send = (): void => {
        const f = frames[n++ % frames.length]!;
        res.write(`--frame\r\nContent-Type: image/jpeg\r\nContent-Length: ${f.length}\r\n\r\n`);
        res.write(f);
        res.write('\r\n');
      };
      send();
      const iv = setInterval(send, 100);
      res.on('close', () => clearInterval(iv));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const entryId = await createMjpegEntry(ha!, {
        name: 'Smoke MJPEG',
        mjpeg_url: `${base}/stream`,
        still_image_url: `${base}/still.jpg`,
      });
      const entity = await waitFor(
        async () =>
          (await listEntities(conn!)).find((e) => e.config_entry_id === entryId && e.entity_id.startsWith('camera.')),
        30_000,
        'mjpeg camera in the entity registry',
      );
      const r = await haFetch(ha!.url, ha!.token, `/api/camera_proxy/${entity.entity_id}`);
      assert.equal(r.status, 200);
      assert.ok(Buffer.from(await r.arrayBuffer()).equals(still), 'camera_proxy returns the still image');

      // camera_proxy_stream relays the MJPEG stream: read until a whole first frame is there.
      const ac = new AbortController();
      const s = await haFetch(ha!.url, ha!.token, `/api/camera_proxy_stream/${entity.entity_id}`, {
        signal: ac.signal,
      });
      assert.equal(s.status, 200);
      assert.match(s.headers.get('content-type') ?? '', /^multipart\/x-mixed-replace/);
      let buf = Buffer.alloc(0);
      const reader = s.body!.getReader();
      while (buf.indexOf(frames[0]!) < 0 && buf.length < 1_000_000) {
        const { value, done } = await reader.read();
        if (done) break;
        buf = Buffer.concat([buf, Buffer.from(value)]);
      }
      ac.abort();
      assert.ok(buf.indexOf(frames[0]!) >= 0, 'first MJPEG frame relayed byte for byte');
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('keeps working across restart() with the same token', async () => {
    const t0 = Date.now();
    await ha!.restart();
    console.log(`# Home Assistant restarted in ${Date.now() - t0} ms`);
    // Retained discovery comes back from the broker; the state via the birth-message re-publish.
    await waitFor(
      async () => (await getState(ha!, 'binary_sensor.smoke_cam1_motion'))?.state === 'on',
      60_000,
      'binary_sensor back after restart',
    );
    // The websocket connection reconnects by itself.
    const ents = await waitFor(async () => listEntities(conn!), 30_000, 'websocket after restart');
    assert.ok(ents.some((e) => e.entity_id === 'camera.smoke_cam1_snapshot'));
  });

  it('HA has no MQTT repair issue and logged no warning about these topics or entities', async () => {
    await assertHaHealthy(ha!, conn!);
  });
});
