// Pure parts of the MQTT extension: discovery payloads against the Home Assistant rules, topics,
// the snapshot limiter, the packet-size guard and the known-camera store.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { uptimeSeconds } from '../src/devices/mjpeg2sd.js';
import {
  bridgeDiscovery,
  type CameraDescriptor,
  cameraDiscovery,
  isOwnDiscovery,
} from '../src/formats/ha-discovery.js';
import { entitySlug, Topics } from '../src/formats/mqtt-topics.js';
import { Camera } from '../src/hub/camera.js';
import type { Frame } from '../src/hub/frame.js';
import { CameraStore } from '../src/hub/store.js';
import { createLogger } from '../src/logging.js';
import { type SnapshotCause, SnapshotLimiter } from '../src/sinks/mqtt/snapshots.js';
import { infoPayload } from '../src/sinks/mqtt/state.js';
import { sleep, waitFor } from './helpers/bridge.js';
import { checkDiscovery } from './mqtt-helpers.js';

const topics = new Topics({ base: 'cam2mqtt', discoveryPrefix: 'homeassistant', haStatus: 'homeassistant/status' });
const ctx = { topics, version: '1.2.3', publicUrl: 'http://192.168.1.10:9090' };
const silent = createLogger({ level: 'silent', format: 'json' });

const native: CameraDescriptor = {
  id: 'garage',
  name: 'Garage',
  protocol: 'native',
  model: 'ESP32-S3-EYE',
  firmware: '1.0.0',
  capabilities: ['lamp', 'framesize', 'quality', 'fps', 'flip', 'motion', 'snapshot', 'restart', 'servo'],
};
const legacy: CameraDescriptor = {
  id: 'esp-cam-1',
  name: 'ESP-CAM-1',
  protocol: 'legacy',
  model: 'OV2640',
  firmware: '8.8',
  capabilities: ['lamp', 'framesize', 'quality', 'fps', 'flip', 'motion', 'restart', 'pause'],
};
const pulled: CameraDescriptor = {
  id: 'porch',
  name: 'Porch',
  protocol: 'mjpeg',
  model: undefined,
  firmware: undefined,
  capabilities: [],
};

function entityIds(configs: ReturnType<typeof cameraDiscovery>): string[] {
  return configs.map((c) => c.payload.default_entity_id as string).sort();
}

describe('Home Assistant discovery payloads', () => {
  it('announce every entity of a native camera with servo, all passing the HA 2024.3+ rules', () => {
    const configs = cameraDiscovery(native, ctx);
    for (const c of configs)
      checkDiscovery(c.topic, JSON.stringify(c.payload), {
        prefix: 'homeassistant',
        base: 'cam2mqtt',
        cameraId: 'garage',
      });
    assert.deepEqual(entityIds(configs), [
      'binary_sensor.garage_motion',
      'button.garage_restart',
      'button.garage_snapshot',
      'camera.garage',
      'event.garage_motion_event',
      'image.garage',
      'number.garage_pan',
      'number.garage_quality',
      'number.garage_tilt',
      'select.garage_framesize',
      'sensor.garage_fps',
      'sensor.garage_frame_age',
      'sensor.garage_frame_size',
      'sensor.garage_free_heap',
      'sensor.garage_last_seen',
      'sensor.garage_reconnects',
      'sensor.garage_uptime',
      'sensor.garage_viewers',
      'sensor.garage_wifi_signal',
      'switch.garage_lamp',
      'text.garage_command',
    ]);
    const byObject = new Map(configs.map((c) => [c.object, c.payload]));
    assert.equal(byObject.get('camera')!.topic, 'cam2mqtt/garage/snapshot');
    assert.equal(byObject.get('camera')!.name, null, 'the camera is the device itself');
    assert.equal(byObject.get('camera')!.unique_id, 'cam2mqtt_garage_camera');
    assert.equal(byObject.get('motion')!.device_class, 'motion');
    assert.equal(byObject.get('motion')!.state_topic, 'cam2mqtt/garage/motion');
    assert.equal(byObject.get('lamp')!.command_topic, 'cam2mqtt/garage/set/lamp');
    assert.equal(byObject.get('framesize')!.command_topic, 'cam2mqtt/garage/set/framesize');
    assert.ok((byObject.get('framesize')!.options as string[]).includes('VGA'));
    assert.equal(byObject.get('quality')!.min, 4);
    assert.equal(byObject.get('quality')!.max, 63);
    assert.equal(byObject.get('pan')!.max, 180);
    assert.equal(byObject.get('restart')!.device_class, 'restart');
    assert.equal(byObject.get('command')!.max, 255);
    assert.deepEqual(byObject.get('motion_event')!.event_types, ['motion_start', 'motion_end']);
    for (const o of [
      'wifi_signal',
      'uptime',
      'free_heap',
      'frame_size',
      'last_seen',
      'viewers',
      'reconnects',
      'frame_age',
    ])
      assert.equal(byObject.get(o)!.entity_category, 'diagnostic', o);
    // The image entity: raw JPEG bytes on its own topic (docs/home-assistant.md, camera vs image).
    assert.equal(byObject.get('image')!.image_topic, 'cam2mqtt/garage/image');
    assert.equal(byObject.get('image')!.content_type, 'image/jpeg');
    assert.equal(byObject.get('frame_age')!.state_topic, 'cam2mqtt/garage/diagnostics');
    assert.equal(byObject.get('frame_age')!.unit_of_measurement, 's');
    // homeassistant.image_interval: 0 = no image entity.
    assert.ok(!cameraDiscovery(native, { ...ctx, image: false }).some((c) => c.component === 'image'));
    const device = byObject.get('camera')!.device as Record<string, unknown>;
    assert.deepEqual(device, {
      identifiers: ['cam2mqtt_garage'],
      name: 'Garage',
      manufacturer: 'cam2mqtt',
      model: 'ESP32-S3-EYE',
      sw_version: '1.0.0',
      via_device: 'cam2mqtt_bridge',
      configuration_url: 'http://192.168.1.10:9090/?camera=garage',
    });
    assert.deepEqual(byObject.get('camera')!.origin, { name: 'cam2mqtt', sw_version: '1.2.3' });
  });

  it('give a legacy camera with a dash in its id valid entity ids and a 127-byte command text', () => {
    const configs = cameraDiscovery(legacy, ctx);
    for (const c of configs)
      checkDiscovery(c.topic, JSON.stringify(c.payload), {
        prefix: 'homeassistant',
        base: 'cam2mqtt',
        cameraId: 'esp-cam-1',
      });
    const ids = entityIds(configs);
    assert.ok(ids.includes('camera.esp_cam_1'));
    assert.ok(ids.includes('switch.esp_cam_1_lamp'));
    assert.ok(!ids.some((i) => i.includes('pan')), 'no servo, no pan/tilt');
    assert.equal(configs.find((c) => c.object === 'command')!.payload.max, 127);
    assert.equal(configs[0]!.topic, 'homeassistant/camera/cam2mqtt_esp-cam-1/camera/config');
  });

  it('offer a pulled camera without capabilities only what it has', () => {
    const configs = cameraDiscovery(pulled, ctx);
    for (const c of configs)
      checkDiscovery(c.topic, JSON.stringify(c.payload), {
        prefix: 'homeassistant',
        base: 'cam2mqtt',
        cameraId: 'porch',
      });
    assert.deepEqual(entityIds(configs), [
      'binary_sensor.porch_motion',
      'button.porch_snapshot',
      'camera.porch',
      'event.porch_motion_event',
      'image.porch',
      'sensor.porch_fps',
      'sensor.porch_frame_age',
      'sensor.porch_last_seen',
      'sensor.porch_reconnects',
      'sensor.porch_viewers',
    ]);
  });

  it('announce the bridge device: connection state without availability, the rest depending on it', () => {
    const configs = bridgeDiscovery(ctx);
    for (const c of configs)
      checkDiscovery(c.topic, JSON.stringify(c.payload), { prefix: 'homeassistant', base: 'cam2mqtt' });
    assert.deepEqual(configs.map((c) => c.payload.default_entity_id).sort(), [
      'binary_sensor.cam2mqtt_bridge_connection_state',
      'sensor.cam2mqtt_bridge_camera_count',
      'sensor.cam2mqtt_bridge_cameras_online',
      'sensor.cam2mqtt_bridge_mqtt_clients',
      'sensor.cam2mqtt_bridge_version',
      'sensor.cam2mqtt_bridge_viewers',
    ]);
    const state = configs.find((c) => c.object === 'connection_state')!.payload;
    assert.equal(state.availability, undefined);
    assert.equal(state.device_class, 'connectivity');
    assert.equal(state.state_topic, 'cam2mqtt/bridge/state');
    const version = configs.find((c) => c.object === 'version')!.payload;
    assert.deepEqual(version.availability, [
      {
        topic: 'cam2mqtt/bridge/state',
        value_template: '{{ value_json.state }}',
        payload_available: 'online',
        payload_not_available: 'offline',
      },
    ]);
  });

  it('keep a second bridge with another base topic apart', () => {
    const other = new Topics({ base: 'home/cams', discoveryPrefix: 'ha', haStatus: 'ha/status' });
    const configs = [
      ...bridgeDiscovery({ ...ctx, topics: other }),
      ...cameraDiscovery(native, { ...ctx, topics: other }),
    ];
    for (const c of configs)
      checkDiscovery(c.topic, JSON.stringify(c.payload), {
        prefix: 'ha',
        base: 'home/cams',
        ...(c.node.startsWith('cam2mqtt_bridge') ? {} : { cameraId: 'garage' }),
      });
    assert.equal(configs[0]!.node, 'cam2mqtt_bridge_home_cams');
    assert.ok(isOwnDiscovery(configs[0]!.payload, other));
    assert.ok(!isOwnDiscovery(configs[0]!.payload, topics));
    assert.ok(isOwnDiscovery(cameraDiscovery(native, ctx)[0]!.payload, topics));
    assert.ok(!isOwnDiscovery({ device: { identifiers: ['zigbee2mqtt_0x1'] } }, topics));
  });

  it('read only keys the info document always has', () => {
    const info = infoPayload(new Camera('x'));
    let checked = 0;
    for (const c of cameraDiscovery(native, ctx)) {
      if (c.payload.state_topic !== 'cam2mqtt/garage/info') continue;
      for (const m of String(c.payload.value_template).matchAll(/value_json\.(\w+)/g)) {
        assert.ok(m[1]! in info, `${c.object}: ${m[1]} is not always in <id>/info`);
        checked++;
      }
    }
    assert.ok(checked >= 10);
    assert.equal(info.rssi, null);
    assert.equal(info.last_seen, null);
  });

  it('use entity slugs HA accepts', () => {
    assert.equal(entitySlug('front-door_2'), 'front_door_2');
  });
});

describe('topics', () => {
  it('classify incoming messages', () => {
    assert.deepEqual(topics.classify('cam2mqtt/garage/set/lamp'), { kind: 'set', id: 'garage', control: 'lamp' });
    assert.deepEqual(topics.classify('cam2mqtt/garage/set'), { kind: 'set', id: 'garage', control: undefined });
    assert.deepEqual(topics.classify('cam2mqtt/bridge/request/camera/rename'), {
      kind: 'request',
      path: 'camera/rename',
    });
    assert.deepEqual(topics.classify('homeassistant/status'), { kind: 'ha_status' });
    assert.deepEqual(topics.classify('cam2mqtt/bridge/set/lamp'), { kind: 'other' });
    assert.deepEqual(topics.classify('cam2mqtt/garage/motion'), { kind: 'other' });
    assert.deepEqual(topics.parseDiscovery('homeassistant/switch/cam2mqtt_garage/lamp/config'), {
      component: 'switch',
      node: 'cam2mqtt_garage',
      object: 'lamp',
    });
    assert.equal(topics.parseDiscovery('homeassistant/switch/lamp/config'), undefined);
  });

  it('turn every uptime format into seconds', () => {
    assert.equal(uptimeSeconds(3600), 3600);
    assert.equal(uptimeSeconds('0-00:12:34'), 754);
    assert.equal(uptimeSeconds('2-01:00:00'), 2 * 86400 + 3600);
    assert.equal(uptimeSeconds('01:00:05'), 3605);
    assert.equal(uptimeSeconds('soon'), null);
    assert.equal(uptimeSeconds(undefined), null);
  });
});

function frame(seq: number, bytes = 100): Frame {
  return { data: Buffer.alloc(bytes, seq), seq, cameraTime: Date.now(), receivedAt: Date.now() };
}

describe('snapshot limits', () => {
  it('publish the frame Buffer itself, hold back bursts, let the most important win, refuse oversized frames', async () => {
    const out: { seq: number; cause: SnapshotCause; data: Buffer }[] = [];
    const lim = new SnapshotLimiter({
      minIntervalMs: 150,
      maxBytes: 1000,
      publish: (_c, f, cause) => out.push({ seq: f.seq, cause, data: f.data }),
      logger: silent,
    });
    const cam = new Camera('c');
    const f1 = frame(1);
    lim.offer(cam, f1, 'interval');
    assert.equal(out.length, 1);
    assert.equal(out[0]!.data, f1.data, 'the same Buffer, not a copy');
    lim.offer(cam, frame(2), 'interval');
    lim.offer(cam, frame(3), 'interval');
    assert.equal(out.length, 1, 'held back');
    // More important than the last one published: at once (the motion event refers to it).
    lim.offer(cam, frame(4), 'motion');
    assert.deepEqual(
      out.map((o) => o.seq),
      [1, 4],
    );
    lim.offer(cam, frame(5), 'motion');
    lim.offer(cam, frame(6), 'interval');
    await sleep(250);
    assert.deepEqual(
      out.map((o) => o.seq),
      [1, 4, 5],
      'the held motion snapshot beat the later interval one',
    );
    lim.offer(cam, frame(7, 5000), 'request');
    await sleep(200);
    assert.deepEqual(
      out.map((o) => o.seq),
      [1, 4, 5],
    );
    assert.equal(lim.dropped.too_big, 1);
    lim.stop();
  });
});

describe('known-camera store', () => {
  it('saves debounced, atomically, survives a reload, and sets a broken file aside', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cam2mqtt-store-'));
    try {
      const file = path.join(dir, 'cameras.json');
      const store = new CameraStore(file, silent, 20);
      assert.deepEqual(store.load(), []);
      const cam = new Camera('garage', 'Garage');
      cam.protocol = 'native';
      cam.model = 'm';
      cam.capabilities = new Set(['lamp', 'servo']);
      cam.lastSeen = Date.now();
      store.upsert(cam);
      // The 20 ms debounce fires on its own; a loaded machine may take far longer than 80 ms to run it.
      await waitFor(() => existsSync(file), 10_000, 'the debounced save');
      const saved = JSON.parse(readFileSync(file, 'utf8')) as {
        cameras: Record<string, { capabilities: string[]; protocol: string }>;
      };
      assert.deepEqual(saved.cameras.garage!.capabilities, ['lamp', 'servo']);
      cam.renamed = true;
      cam.name = 'Garage door';
      store.upsert(cam);
      await store.close();
      const again = new CameraStore(file, silent).load();
      assert.equal(again.length, 1);
      assert.equal(again[0]!.name, 'Garage door');
      assert.equal(again[0]!.renamed, true);
      assert.equal(again[0]!.protocol, 'native');
      writeFileSync(file, '{not json');
      assert.deepEqual(new CameraStore(file, silent).load(), []);
      assert.ok(readdirSync(dir).some((f) => f.startsWith('cameras.json.broken-')));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
