// The MQTT extension with its embedded Aedes broker, driven by real mqtt.js clients and real simulated
// cameras of both protocols.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { type Socket, connect as tcpConnect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { ExtensionFactory } from '../src/extension.js';
import type { KnownCameras } from '../src/hub/known-cameras.js';
import { jpegCycle } from '../src/simulator/frames.js';
import { SimulatedMjpeg2sdCamera } from '../src/simulator/mjpeg2sd-camera.js';
import { SimulatedNativeCamera } from '../src/simulator/native-camera.js';
import { MqttExtension } from '../src/sinks/mqtt/mqtt-extension.js';
import { freePort, sleep, startBridge, type TestBridge, waitFor } from './helpers/bridge.js';
import { checkDiscovery, Recorder, rawConnect, rawSubscribe } from './mqtt-helpers.js';

const FRAMES = jpegCycle({ width: 160, height: 120, hue: 200, cycle: 4 });
const LEGACY_FRAMES = jpegCycle({ width: 160, height: 120, hue: 20, cycle: 4 });

function capture(): { factory: ExtensionFactory; get: () => MqttExtension } {
  let ext: MqttExtension | undefined;
  return { factory: (ctx) => (ext = new MqttExtension(ctx)), get: () => ext! };
}

function nativeCam(
  b: TestBridge,
  id: string,
  extra: Partial<ConstructorParameters<typeof SimulatedNativeCamera>[0]> = {},
): SimulatedNativeCamera {
  return new SimulatedNativeCamera({
    url: `ws://127.0.0.1:${b.port}/api/camera`,
    id,
    fps: 10,
    width: 160,
    height: 120,
    hue: 200,
    frames: FRAMES,
    reconnectDelayMs: 200,
    ...extra,
  }).start();
}

function legacyCam(b: TestBridge, id: string): SimulatedMjpeg2sdCamera {
  return new SimulatedMjpeg2sdCamera({
    url: `ws://127.0.0.1:${b.port}/ws`,
    id,
    fps: 10,
    width: 160,
    height: 120,
    hue: 20,
    frames: LEGACY_FRAMES,
    reconnectDelayMs: 200,
  }).start();
}

const nativeCmds = (cam: SimulatedNativeCamera) =>
  cam.received.map((t) => JSON.parse(t) as { name: string; value?: unknown });

describe('MQTT with the embedded broker', () => {
  let b: TestBridge;
  let ext: MqttExtension;
  let rec: Recorder;
  let url: string;
  let native: SimulatedNativeCamera;
  let legacy: SimulatedMjpeg2sdCamera;

  before(async () => {
    const port = await freePort();
    const cap = capture();
    b = await startBridge(
      // A generous command timeout: these tests are about routing, and a loaded machine can hold an
      // answer up for seconds.
      {
        mqtt: { enabled: true, port },
        http: { public_url: 'http://cams.local:9090' },
        limits: { command_timeout: 30 },
      },
      { extensions: [cap.factory] },
    );
    ext = cap.get();
    url = `mqtt://127.0.0.1:${port}`;
    rec = await Recorder.connect(url, ['cam2mqtt/#', 'homeassistant/#']);
    native = nativeCam(b, 'cam1');
    legacy = legacyCam(b, 'ESP-LEG');
    await rec.waitText('cam2mqtt/cam1/availability', '{"state":"online"}');
    await rec.waitText('cam2mqtt/esp-leg/availability', '{"state":"online"}');
  });

  after(async () => {
    await native?.stop();
    await legacy?.stop();
    await rec?.close();
    await b?.stop();
  });

  it('announces both cameras and the bridge with valid discovery, and publishes their state', async () => {
    await rec.wait('homeassistant/switch/cam2mqtt_cam1/lamp/config');
    await rec.wait('homeassistant/button/cam2mqtt_esp-leg/restart/config');
    await ext.settled();
    await sleep(200);
    const latest = new Map<string, string>();
    for (const m of rec.messages) if (m.topic.startsWith('homeassistant/')) latest.set(m.topic, m.payload.toString());
    const ids = new Set<string>();
    for (const [topic, text] of latest) {
      const node = topic.split('/')[2]!;
      const d = checkDiscovery(topic, text, {
        prefix: 'homeassistant',
        base: 'cam2mqtt',
        ...(node.startsWith('cam2mqtt_bridge') ? {} : { cameraId: node.slice('cam2mqtt_'.length) }),
      });
      ids.add(d.payload.default_entity_id as string);
    }
    for (const id of [
      'camera.cam1',
      'binary_sensor.cam1_motion',
      'button.cam1_snapshot',
      'button.cam1_restart',
      'sensor.cam1_fps',
      'sensor.cam1_wifi_signal',
      'sensor.cam1_uptime',
      'sensor.cam1_free_heap',
      'sensor.cam1_frame_size',
      'sensor.cam1_last_seen',
      'switch.cam1_lamp',
      'select.cam1_framesize',
      'number.cam1_quality',
      'number.cam1_pan',
      'number.cam1_tilt',
      'text.cam1_command',
      'camera.esp_leg',
      'switch.esp_leg_lamp',
      'text.esp_leg_command',
      'binary_sensor.cam2mqtt_bridge_connection_state',
      'sensor.cam2mqtt_bridge_version',
      'sensor.cam2mqtt_bridge_camera_count',
    ]) {
      assert.ok(ids.has(id), `missing ${id}`);
    }
    const camCfg = JSON.parse(latest.get('homeassistant/camera/cam2mqtt_cam1/camera/config')!) as {
      device: Record<string, unknown>;
    };
    assert.equal(camCfg.device.configuration_url, 'http://cams.local:9090/?camera=cam1');
    assert.equal(camCfg.device.model, 'cam2mqtt-sim');
    assert.equal(rec.text('cam2mqtt/bridge/state'), '{"state":"online"}');
    assert.equal(rec.last('cam2mqtt/bridge/state')!.retain, true);
    const info = await waitFor(() => {
      const j = rec.json('cam2mqtt/cam1/info');
      return j?.rssi === -55 ? j : undefined;
    });
    assert.equal(info.framesize, 'VGA');
    assert.equal(info.heap, 180000);
    assert.equal(info.online, true);
    const legInfo = await waitFor(() => {
      const j = rec.json('cam2mqtt/esp-leg/info');
      return j?.rssi === -61 ? j : undefined;
    });
    assert.equal(legInfo.uptime, 754, 'MJPEG2SD "0-00:12:34" as seconds');
    const binfo = await waitFor(() => {
      const j = rec.json('cam2mqtt/bridge/info');
      return j?.camera_count === 2 ? j : undefined;
    });
    assert.equal(binfo.version, b.bridge.version);
    assert.equal(binfo.url, 'http://cams.local:9090');
    assert.equal((binfo.broker as { mode: string }).mode, 'embedded');
    const list = JSON.parse(rec.text('cam2mqtt/bridge/cameras')!) as { id: string; protocol: string }[];
    assert.deepEqual(
      list.map((c) => `${c.id}:${c.protocol}`),
      ['cam1:native', 'esp-leg:legacy'],
    );
    // Each discovery config went out once, not once per event.
    assert.equal(rec.on('homeassistant/switch/cam2mqtt_cam1/lamp/config').length, 1);
  });

  it('publishes motion ON/OFF from both protocols, the event, and the very frame as snapshot', async () => {
    const hub = b.bridge.hub;
    await waitFor(() => hub.get('cam1')?.latest && hub.get('esp-leg')?.latest);
    for (const [id, cam] of [
      ['cam1', native],
      ['esp-leg', legacy],
    ] as const) {
      const since = rec.mark;
      cam.setMotion(true);
      await rec.waitText(`cam2mqtt/${id}/motion`, 'ON', 5000, since);
      const start = JSON.parse(
        (await rec.wait(`cam2mqtt/${id}/event`, () => true, 5000, since)).payload.toString(),
      ) as Record<string, unknown>;
      assert.equal(start.event_type, 'motion_start');
      assert.equal(start.camera, id);
      assert.equal(typeof start.event_id, 'string');
      assert.equal(typeof start.camera_time, 'number');
      const snapMsg = rec.messages.slice(since).filter((m) => m.topic === `cam2mqtt/${id}/snapshot`);
      assert.equal(snapMsg.length, 1, 'the motion snapshot is published before the event');
      assert.ok(
        rec.messages.indexOf(snapMsg[0]!) <
          rec.messages.findIndex((m, i) => i >= since && m.topic === `cam2mqtt/${id}/event`),
      );
      const hubSnap = hub.get(id)!.snapshot!;
      assert.equal(start.snapshot_seq, hubSnap.seq);
      assert.ok(snapMsg[0]!.payload.equals(hubSnap.data), 'snapshot bytes identical to the camera frame');
      assert.ok((id === 'cam1' ? FRAMES : LEGACY_FRAMES).some((f) => f.equals(snapMsg[0]!.payload)));
      if (id === 'cam1')
        assert.ok(
          FRAMES[hubSnap.seq % FRAMES.length]!.equals(snapMsg[0]!.payload),
          "the frame with the event's sequence",
        );
      assert.equal(
        ext.publisher.get(`cam2mqtt/${id}/snapshot`),
        hubSnap.data,
        "published from the frame's own Buffer (no copy)",
      );
      const since2 = rec.mark;
      cam.setMotion(false);
      await rec.waitText(`cam2mqtt/${id}/motion`, 'OFF', 5000, since2);
      const end = JSON.parse(
        (await rec.wait(`cam2mqtt/${id}/event`, () => true, 5000, since2)).payload.toString(),
      ) as Record<string, unknown>;
      assert.equal(end.event_type, 'motion_end');
      assert.equal(end.event_id, start.event_id);
      assert.equal(rec.last(`cam2mqtt/${id}/motion`)!.retain, false, 'live delivery');
    }
    const late = await Recorder.connect(url, ['cam2mqtt/cam1/motion', 'cam2mqtt/cam1/snapshot']);
    await late.wait('cam2mqtt/cam1/snapshot');
    assert.equal(late.text('cam2mqtt/cam1/motion'), 'OFF');
    assert.equal(late.last('cam2mqtt/cam1/motion')!.retain, true);
    await late.close();
  });

  it('routes every command topic to the camera as its own protocol message and publishes the new state', async () => {
    native.received.length = 0;
    legacy.received.length = 0;
    const sets: [string, string][] = [
      ['lamp', 'ON'],
      ['framesize', 'SVGA'],
      ['quality', '20'],
      ['fps', '8'],
      ['pan', '45'],
      ['tilt', '120'],
      ['command', 'status?q'],
      ['snapshot', 'PRESS'],
    ];
    const since = rec.mark;
    for (const [control, value] of sets) {
      await rec.publish(`cam2mqtt/cam1/set/${control}`, value);
      await rec.publish(`cam2mqtt/esp-leg/set/${control}`, value);
    }
    await waitFor(
      () =>
        rec.messages.slice(since).filter((m) => m.topic === 'cam2mqtt/bridge/response/camera/set').length >=
        sets.length * 2,
      60_000, // MJPEG2SD commands go one at a time, each waiting for the echo: slow on a loaded machine
      'all command responses',
    );
    const responses = rec.messages
      .slice(since)
      .filter((m) => m.topic === 'cam2mqtt/bridge/response/camera/set')
      .map((m) => JSON.parse(m.payload.toString()) as { status: string; error?: string });
    assert.deepEqual(
      responses.filter((r) => r.status !== 'ok'),
      [],
    );
    assert.deepEqual(
      nativeCmds(native).map((c) => [c.name, c.value]),
      [
        ['lamp', 100],
        ['framesize', 'SVGA'],
        ['quality', 20],
        ['fps', 8],
        ['pan', 45],
        ['tilt', 120],
        ['raw', 'status?q'],
        ['snapshot', undefined],
      ],
    );
    // MJPEG2SD speaks key=value; firmware 8.8 uses the old framesize table (SVGA = 9); snapshots come from the latest frame.
    assert.deepEqual(legacy.received, [
      'lampLevel=15',
      'framesize=9',
      'quality=20',
      'socketFps=8',
      'camPan=45',
      'camTilt=120',
      'status?q',
    ]);
    // The state comes back on <id>/info (what the camera reported).
    await waitFor(
      () => rec.json('cam2mqtt/cam1/info')?.lamp === 100 && rec.json('cam2mqtt/cam1/info')?.framesize === 'SVGA',
      3000,
      'native state',
    );
    await waitFor(
      () => rec.json('cam2mqtt/esp-leg/info')?.lamp === 100 && rec.json('cam2mqtt/esp-leg/info')?.quality === 20,
      3000,
      'legacy state',
    );
    // JSON form on <id>/set with a transaction.
    const s2 = rec.mark;
    await rec.publish('cam2mqtt/cam1/set', JSON.stringify({ lamp: 'OFF', transaction: 'tx-9' }));
    const r = JSON.parse(
      (await rec.wait('cam2mqtt/bridge/response/camera/set', () => true, 3000, s2)).payload.toString(),
    ) as Record<string, unknown>;
    assert.deepEqual(r, {
      status: 'ok',
      data: { id: 'cam1', control: 'lamp', value: 0, answer: { lamp: 0 } },
      transaction: 'tx-9',
    });
    // Restart last: both cameras reconnect.
    await rec.publish('cam2mqtt/cam1/set/restart', 'PRESS');
    await rec.publish('cam2mqtt/esp-leg/set/restart', 'PRESS');
    await waitFor(
      () => nativeCmds(native).some((c) => c.name === 'restart') && legacy.received.includes('reset=1'),
      5000,
      'restart commands',
    );
    await rec.waitText('cam2mqtt/cam1/availability', '{"state":"online"}', 5000, s2);
    await waitFor(
      () => native.connected && legacy.connected && b.bridge.hub.get('esp-leg')?.online,
      5000,
      'cameras back',
    );
  });

  it('refuses bad commands with one clear log line and a response error, and forwards nothing', async () => {
    await waitFor(
      () => b.bridge.hub.get('cam1')?.online && b.bridge.hub.get('esp-leg')?.online,
      5000,
      'cameras online',
    );
    await sleep(300);
    native.received.length = 0;
    legacy.received.length = 0;
    const logsBefore = b.logs.length;
    const since = rec.mark;
    const bad: [string, string, RegExp][] = [
      ['cam2mqtt/cam1/set/framesize', 'HUGE', /framesize: expected one of/],
      ['cam2mqtt/cam1/set/quality', '99', /quality: expected an integer from 4 to 63/],
      ['cam2mqtt/esp-leg/set/pan', '-5', /pan: expected an integer from 0 to 180/],
      ['cam2mqtt/cam1/set', '{"lamp": tru', /not valid JSON/],
      ['cam2mqtt/cam1/set', '{"lamp": true, "quality": 3}', /exactly one key/],
      ['cam2mqtt/cam1/set/volume', '11', /unknown control "volume"/],
      ['cam2mqtt/nosuchcam/set/lamp', 'ON', /unknown camera "nosuchcam"/],
      ['cam2mqtt/esp-leg/set/lamp', 'maybe', /lamp: expected ON\/OFF/],
    ];
    for (const [topic, payload] of bad) await rec.publish(topic, payload);
    await waitFor(
      () =>
        rec.messages.slice(since).filter((m) => m.topic === 'cam2mqtt/bridge/response/camera/set').length >= bad.length,
      5000,
      'error responses',
    );
    const responses = rec.messages
      .slice(since)
      .filter((m) => m.topic === 'cam2mqtt/bridge/response/camera/set')
      .map((m) => JSON.parse(m.payload.toString()) as { status: string; error: string });
    bad.forEach(([, , re], i) => {
      assert.equal(responses[i]!.status, 'error');
      assert.match(responses[i]!.error, re);
    });
    const lines = b.logs.slice(logsBefore).filter((l) => l.level === 40 && /^MQTT cam2mqtt\//.test(l.msg));
    assert.equal(lines.length, bad.length, 'one log line per refused command');
    bad.forEach(([topic, , re], i) => {
      assert.ok(lines[i]!.msg.includes(topic), lines[i]!.msg);
      assert.match(lines[i]!.msg, re);
    });
    await sleep(300);
    assert.deepEqual(native.received, [], 'nothing reached the native camera');
    assert.deepEqual(legacy.received, [], 'nothing reached the legacy camera');
    // The cameras are undisturbed.
    assert.ok(b.bridge.hub.get('cam1')!.online && b.bridge.hub.get('esp-leg')!.online);
  });

  it('answers bridge requests with status, data, error and the transaction', async () => {
    const list = await rec.request('cam2mqtt', 'camera/list', { transaction: 1 });
    assert.equal(list.status, 'ok');
    assert.equal(list.transaction, 1);
    assert.deepEqual(
      (list.data as { cameras: { id: string }[] }).cameras.map((c) => c.id),
      ['cam1', 'esp-leg'],
    );

    const health = await rec.request('cam2mqtt', 'health_check', '');
    assert.equal(health.status, 'ok');
    assert.equal((health.data as { healthy: boolean }).healthy, true);
    assert.equal(health.transaction, undefined);

    const snap = await rec.request('cam2mqtt', 'camera/snapshot', { id: 'cam1', transaction: 'a' });
    assert.equal(snap.status, 'ok', JSON.stringify(snap));
    assert.equal(typeof (snap.data as { seq: number }).seq, 'number');

    const cmd = await rec.request('cam2mqtt', 'camera/command', { id: 'cam1', command: 'status?q', transaction: 7 });
    assert.equal(cmd.status, 'ok', JSON.stringify(cmd));
    assert.deepEqual((cmd.data as { answer: unknown }).answer, { echo: 'status?q' });
    const cmd2 = await rec.request('cam2mqtt', 'camera/command', { id: 'cam1', control: 'quality', value: 30 });
    assert.equal(cmd2.status, 'ok');
    assert.equal(nativeCmds(native).at(-1)!.value, 30);

    const since = rec.mark;
    const ren = await rec.request('cam2mqtt', 'camera/rename', { id: 'cam1', name: 'Front door', transaction: 'r1' });
    assert.deepEqual(ren, { status: 'ok', data: { id: 'cam1', name: 'Front door' }, transaction: 'r1' });
    const cfg = await rec.wait('homeassistant/camera/cam2mqtt_cam1/camera/config', () => true, 3000, since);
    assert.equal((JSON.parse(cfg.payload.toString()) as { device: { name: string } }).device.name, 'Front door');

    for (const [path, body, re] of [
      ['camera/rename', { id: 'cam1' }, /expected \{"id"/],
      ['camera/remove', { id: 'ghost', transaction: 3 }, /unknown camera "ghost"/],
      ['camera/command', { id: 'cam1', framesize: 'HUGE' }, /framesize: expected one of/],
      ['camera/list', '{"transaction":', /not valid JSON/],
      ['device/remove', {}, /unknown request "device\/remove"/],
    ] as const) {
      const r = await rec.request('cam2mqtt', path, typeof body === 'string' ? body : body);
      assert.equal(r.status, 'error', path);
      assert.match(r.error as string, re);
      assert.deepEqual(r.data, {});
      if (typeof body === 'object' && 'transaction' in body) assert.equal(r.transaction, body.transaction);
    }
  });

  it('removes a camera: its retained topics, its discovery and its stored record are cleared', async () => {
    const cam3 = nativeCam(b, 'cam3', { caps: ['lamp'] });
    try {
      await rec.wait('homeassistant/switch/cam2mqtt_cam3/lamp/config');
      await rec.waitText('cam2mqtt/cam3/availability', '{"state":"online"}');
      await ext.settled();
      const announced = ext.discovery.topicsOf('cam2mqtt_cam3');
      assert.ok(announced.length >= 10);
      await cam3.stop();
      const since = rec.mark;
      const r = await rec.request('cam2mqtt', 'camera/remove', 'cam3');
      assert.equal(r.status, 'ok');
      for (const t of [
        ...announced,
        'cam2mqtt/cam3/availability',
        'cam2mqtt/cam3/info',
        'cam2mqtt/cam3/motion',
        'cam2mqtt/cam3/snapshot',
      ]) {
        await rec.wait(t, (m) => m.payload.length === 0, 3000, since);
      }
      const late = await Recorder.connect(url, ['cam2mqtt/cam3/#', 'homeassistant/+/cam2mqtt_cam3/#']);
      await sleep(300);
      assert.deepEqual(
        late.messages.map((m) => m.topic),
        [],
        'nothing retained is left',
      );
      await late.close();
      assert.equal(b.bridge.extension<KnownCameras>('known_cameras')?.store.get('cam3'), undefined);
    } finally {
      await cam3.stop();
    }
  });

  it('re-publishes states when Home Assistant comes online (birth)', async () => {
    const since = rec.mark;
    await rec.publish('homeassistant/status', 'online');
    await rec.wait('cam2mqtt/cam1/availability', () => true, 3000, since);
    const got = new Set(rec.messages.slice(since).map((m) => m.topic));
    for (const t of [
      'cam2mqtt/cam1/motion',
      'cam2mqtt/cam1/info',
      'cam2mqtt/cam1/snapshot',
      'cam2mqtt/esp-leg/availability',
      'cam2mqtt/bridge/info',
    ])
      assert.ok(got.has(t), `re-published ${t}`);
  });

  it('follows a camera that drops off: availability offline, then online again', async () => {
    const since = rec.mark;
    native.kill();
    await rec.waitText('cam2mqtt/cam1/availability', '{"state":"offline"}', 5000, since);
    await waitFor(() => rec.json('cam2mqtt/cam1/info')?.online === false, 3000, 'info online=false');
    await rec.waitText('cam2mqtt/cam1/availability', '{"state":"online"}', 5000, since);
  });

  it('keeps delivering to everyone while one subscriber has stopped reading', async () => {
    const frozen: Socket = tcpConnect(Number(new URL(url).port), '127.0.0.1');
    await new Promise<void>((resolve) => frozen.once('connect', () => resolve()));
    frozen.write(rawConnect('frozen-subscriber'));
    frozen.write(rawSubscribe('#'));
    await sleep(200);
    frozen.pause();
    const healthy = await Recorder.connect(url, ['load/#']);
    try {
      // 1. cam2mqtt's own messages (snapshots, states) never wait for the frozen client.
      const N = 600;
      const payload = Buffer.alloc(64 * 1024, 7);
      let t0 = Date.now();
      for (let i = 0; i < N; i++) ext.publisher.send('load/bridge', payload);
      await waitFor(
        () => healthy.on('load/bridge').length >= N,
        10_000,
        `${N} bridge messages at the healthy subscriber`,
      );
      let ms = Date.now() - t0;
      console.log(
        `# ${N} x 64 KiB (${(N * 64) / 1024} MiB) from the bridge reached a healthy subscriber in ${ms} ms with a frozen subscriber connected`,
      );
      // Not held up until the frozen client's drain timeout (5 s) let go: a relation, not a bound on how
      // fast a loaded machine moves 37.5 MiB.
      assert.ok(
        !b.logs.some((l) => /frozen-subscriber .*nothing taken for/.test(l.msg)),
        `delivered (in ${ms} ms) without waiting for the frozen client's drain timeout`,
      );
      await waitFor(
        () => b.logs.some((l) => /frozen-subscriber .* is not reading/.test(l.msg)),
        10_000,
        'the frozen client to be disconnected',
      );
      // 2. Another client's messages: held up at most until the frozen client is dropped.
      const frozen2: Socket = tcpConnect(Number(new URL(url).port), '127.0.0.1');
      await new Promise<void>((resolve) => frozen2.once('connect', () => resolve()));
      frozen2.write(rawConnect('frozen-subscriber-2'));
      frozen2.write(rawSubscribe('#'));
      await sleep(200);
      frozen2.pause();
      const pub = await Recorder.connect(url, []);
      t0 = Date.now();
      for (let i = 0; i < N; i++) pub.client.publish('load/client', payload, { qos: 0 });
      await waitFor(
        () => healthy.on('load/client').length >= N,
        // Generous: on a loaded 2-core machine 37.5 MiB through the broker twice took over 40 s once.
        90_000,
        `${N} client messages at the healthy subscriber`,
      );
      ms = Date.now() - t0;
      console.log(
        `# ${N} x 64 KiB from another client reached a healthy subscriber in ${ms} ms with a frozen subscriber connected`,
      );
      assert.ok(ms < 80_000, `took ${ms} ms`);
      frozen2.destroy();
      await pub.close();
      // The cameras' state still flows.
      const since = rec.mark;
      legacy.setMotion(true);
      await rec.waitText('cam2mqtt/esp-leg/motion', 'ON', 3000, since);
      legacy.setMotion(false);
    } finally {
      frozen.destroy();
      await healthy.close();
    }
  });

  it('speaks MQTT over WebSocket on the HTTP port', async () => {
    const ws = await Recorder.connect(`ws://127.0.0.1:${b.port}/mqtt`, ['cam2mqtt/bridge/state']);
    await ws.waitText('cam2mqtt/bridge/state', '{"state":"online"}');
    await ws.close();
  });

  it('publishes bridge offline on a clean stop', async () => {
    const watcher = await Recorder.connect(url, ['cam2mqtt/bridge/state', 'cam2mqtt/cam1/availability']);
    await watcher.waitText('cam2mqtt/bridge/state', '{"state":"online"}');
    const since = watcher.mark;
    await native.stop();
    await legacy.stop();
    await b.stop();
    await watcher.waitText('cam2mqtt/bridge/state', '{"state":"offline"}', 3000, since);
    await watcher.close();
  });
});

describe('MQTT embedded broker security and limits', () => {
  let b: TestBridge;
  let port: number;
  let cam: SimulatedNativeCamera;

  before(async () => {
    port = await freePort();
    b = await startBridge(
      {
        mqtt: {
          enabled: true,
          port,
          max_packet_bytes: 65536,
          users: [
            { username: 'ha', password: 'secret', admin: true },
            { username: 'viewer', password: 'look' },
          ],
        },
      },
      { extensions: [capture().factory] },
    );
    // Stand-in for the page's http.auth: every non-public HTTP route and upgrade is refused.
    b.bridge.http.setGuard((_req, res) => {
      if (res) res.writeHead(401).end();
      return false;
    });
    cam = nativeCam(b, 'cam1');
    await waitFor(() => b.bridge.hub.get('cam1')?.online, 5000, 'camera online');
  });

  after(async () => {
    await cam?.stop();
    await b?.stop();
  });

  it('refuses anonymous clients and wrong passwords', async () => {
    await assert.rejects(
      Recorder.connect(`mqtt://127.0.0.1:${port}`),
      (err: Error & { code?: number }) => err.code === 5 || /Not authorized/i.test(err.message),
    );
    await assert.rejects(
      Recorder.connect(`mqtt://127.0.0.1:${port}`, [], { username: 'ha', password: 'wrong' }),
      (err: Error & { code?: number }) => err.code === 4 || /Bad username or password/i.test(err.message),
    );
    assert.ok(b.logs.some((l) => /MQTT login refused .*anonymous clients are refused/.test(l.msg)));
    assert.ok(b.logs.some((l) => /MQTT login refused .*wrong username or password \(user "ha"\)/.test(l.msg)));
  });

  it('lets read-only users read but not command; admins command', async () => {
    const viewer = await Recorder.connect(`mqtt://127.0.0.1:${port}`, ['cam2mqtt/#'], {
      username: 'viewer',
      password: 'look',
    });
    await viewer.waitText('cam2mqtt/cam1/availability', '{"state":"online"}');
    cam.received.length = 0;
    const closed = new Promise<void>((resolve) => viewer.client.once('close', () => resolve()));
    viewer.client.publish('cam2mqtt/cam1/set/lamp', 'ON');
    await closed;
    assert.ok(b.logs.some((l) => /MQTT user "viewer" .* may not publish to cam2mqtt\/cam1\/set\/lamp/.test(l.msg)));
    await sleep(200);
    assert.deepEqual(cam.received, []);
    await viewer.close();
    const admin = await Recorder.connect(`mqtt://127.0.0.1:${port}`, [], { username: 'ha', password: 'secret' });
    await admin.publish('cam2mqtt/cam1/set/lamp', 'ON');
    await waitFor(() => cam.received.length === 1, 3000, 'admin command');
    await admin.close();
  });

  it('accepts MQTT over WebSocket with broker credentials even behind the page login', async () => {
    const ws = await Recorder.connect(`ws://127.0.0.1:${b.port}/mqtt`, ['cam2mqtt/bridge/state'], {
      username: 'ha',
      password: 'secret',
    });
    await ws.waitText('cam2mqtt/bridge/state', '{"state":"online"}');
    await ws.close();
    await assert.rejects(
      Recorder.connect(`ws://127.0.0.1:${b.port}/mqtt`),
      (err: Error & { code?: number }) => err.code === 5 || /Not authorized/i.test(err.message),
    );
  });

  it('refuses an oversized publish without disturbing other clients', async () => {
    const other = await Recorder.connect(`mqtt://127.0.0.1:${port}`, ['t/#'], { username: 'ha', password: 'secret' });
    const big = await Recorder.connect(`mqtt://127.0.0.1:${port}`, [], { username: 'ha', password: 'secret' });
    const closed = new Promise<void>((resolve) => big.client.once('close', () => resolve()));
    big.client.publish('t/big', Buffer.alloc(200 * 1024));
    await closed;
    assert.ok(
      b.logs.some((l) => /refused: packet of \d+ bytes is larger than mqtt.max_packet_bytes \(65536\)/.test(l.msg)),
    );
    const bigWs = await Recorder.connect(`ws://127.0.0.1:${b.port}/mqtt`, [], { username: 'ha', password: 'secret' });
    const closedWs = new Promise<void>((resolve) => bigWs.client.once('close', () => resolve()));
    bigWs.client.publish('t/big', Buffer.alloc(200 * 1024));
    await closedWs;
    await waitFor(
      () =>
        b.logs.some((l) => /\(websocket\) refused: WebSocket message larger than mqtt.max_packet_bytes/.test(l.msg)),
      3000,
      'websocket refusal line',
    );
    await other.publish('t/ok', 'fine');
    await other.waitText('t/ok', 'fine');
    assert.equal(other.on('t/big').length, 0);
    await bigWs.close();
    await big.close();
    await other.close();
  });
});

describe('MQTT known cameras across restarts', () => {
  it('brings cameras back offline with the same entities, and keeps a rename', async () => {
    const port = await freePort();
    const first = await startBridge(
      { mqtt: { enabled: true, port } },
      { extensions: [capture().factory], keepDataDir: true },
    );
    const dataDir = first.dataDir;
    const cam = nativeCam(first, 'garage', { caps: ['lamp', 'servo', 'restart'] });
    try {
      const rec = await Recorder.connect(`mqtt://127.0.0.1:${port}`, ['cam2mqtt/#']);
      await rec.waitText('cam2mqtt/garage/availability', '{"state":"online"}');
      const r = await rec.request('cam2mqtt', 'camera/rename', { id: 'garage', name: 'Garage' });
      assert.equal(r.status, 'ok');
      await rec.close();
      await cam.stop();
      await first.stop();

      const cap = capture();
      const second = await startBridge({ mqtt: { enabled: true, port } }, { extensions: [cap.factory], dataDir });
      try {
        const hub = second.bridge.hub;
        const g = hub.get('garage');
        assert.ok(g, 'restored');
        assert.equal(g.online, false);
        assert.equal(g.name, 'Garage');
        assert.deepEqual([...g.capabilities].sort(), ['lamp', 'restart', 'servo']);
        const rec2 = await Recorder.connect(`mqtt://127.0.0.1:${port}`, [
          'cam2mqtt/garage/#',
          'homeassistant/+/cam2mqtt_garage/#',
        ]);
        await rec2.waitText('cam2mqtt/garage/availability', '{"state":"offline"}');
        const pan = await rec2.wait('homeassistant/number/cam2mqtt_garage/pan/config');
        assert.equal((JSON.parse(pan.payload.toString()) as { device: { name: string } }).device.name, 'Garage');
        // The camera's hello name does not undo the rename.
        const again = nativeCam(second, 'garage', { caps: ['lamp', 'servo', 'restart'], name: 'ESP32 thing' });
        await rec2.waitText('cam2mqtt/garage/availability', '{"state":"online"}');
        assert.equal(hub.get('garage')!.name, 'Garage');
        await again.stop();
        await rec2.close();
      } finally {
        await second.stop();
      }
    } finally {
      await cam.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
