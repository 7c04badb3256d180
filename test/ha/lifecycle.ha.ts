// Lifecycle in a REAL Home Assistant 2024.3.3: a camera disconnect makes its entities unavailable
// (and `ha status` says so), reconnecting restores them, restarting cam2mqtt keeps the same entities
// (no duplicates, no _2 ids) and restarting HA brings the states back (birth message + retained).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Connection } from 'home-assistant-js-websocket';
import type { SimulatedMjpeg2sdCamera } from '../../src/simulator/mjpeg2sd-camera.js';
import type { SimulatedNativeCamera } from '../../src/simulator/native-camera.js';
import { freePort } from '../helpers/bridge.js';
import {
  assertHaHealthy,
  type Cam2mqtt,
  legacyCamera,
  nativeCamera,
  readStreamUntil,
  removeDir,
  runCli,
  skip,
  startCam2mqtt,
} from './cam2mqtt-ha.js';
import {
  connectWs,
  getState,
  type HomeAssistant,
  haFetch,
  listConfigEntries,
  listDevices,
  listEntities,
  startHomeAssistant,
  waitFor,
} from './hass.js';

const FRONT = [
  'camera.frontdoor',
  'binary_sensor.frontdoor_motion',
  'switch.frontdoor_lamp',
  'sensor.frontdoor_fps',
  'number.frontdoor_pan',
];
const GARAGE = [
  'camera.garage_cam',
  'binary_sensor.garage_cam_motion',
  'switch.garage_cam_lamp',
  'select.garage_cam_framesize',
];

describe('cam2mqtt lifecycle in a real Home Assistant', { skip }, () => {
  let ha: HomeAssistant | undefined;
  let cam: Cam2mqtt | undefined;
  let native: SimulatedNativeCamera | undefined;
  let legacy: SimulatedMjpeg2sdCamera | undefined;
  let conn: Connection | undefined;
  let raw: Record<string, unknown> = {};
  let dataDir: string | undefined;
  const t0 = Date.now();

  const state = async (id: string) => (await getState(ha!, id))?.state;
  const available = (ids: string[], timeoutMs = 60_000) =>
    Promise.all(
      ids.map((id) =>
        waitFor(
          async () => {
            const s = await state(id);
            return s !== undefined && s !== 'unavailable';
          },
          timeoutMs,
          `${id} available`,
        ),
      ),
    );
  const unavailable = (ids: string[], timeoutMs = 60_000) =>
    Promise.all(
      ids.map((id) => waitFor(async () => (await state(id)) === 'unavailable', timeoutMs, `${id} unavailable`)),
    );
  const ours = async () =>
    (await listEntities(conn!))
      .filter((e) => e.unique_id.startsWith('cam2mqtt_'))
      .map((e) => `${e.unique_id}=${e.entity_id}`)
      .sort();

  before(async () => {
    ha = await startHomeAssistant();
    raw = {
      http: { host: '127.0.0.1', port: await freePort() },
      mqtt: { enabled: true, host: '127.0.0.1', port: await freePort() },
    };
    cam = await startCam2mqtt(raw);
    dataDir = cam.dataDir;
    native = nativeCamera(cam.url).start();
    legacy = legacyCamera(cam.url).start();
    await waitFor(
      () => cam!.tb.bridge.hub.list().filter((c) => c.online && c.latest).length === 2,
      20_000,
      'both cameras online',
    );
    const r = await runCli([
      'ha',
      'link',
      '--url',
      ha.url,
      '--token',
      ha.token,
      '--data-dir',
      dataDir,
      '--bridge',
      cam.url,
    ]);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    conn = await connectWs(ha.url, ha.token);
    await available([...FRONT, ...GARAGE]);
  });

  after(async () => {
    conn?.close();
    await native?.stop();
    await legacy?.stop();
    await cam?.stop();
    removeDir(dataDir);
    if (ha && process.env.HA_VERBOSE === '1') console.log(ha.logs());
    await ha?.stop();
    console.log(`# lifecycle.ha.ts: ${((Date.now() - t0) / 1000).toFixed(1)} s in total`);
  });

  it('a camera disconnect makes its entities unavailable; reconnecting restores them', async () => {
    let t = Date.now();
    await native!.stop();
    await unavailable(FRONT);
    console.log(`# native camera gone -> its entities unavailable in HA after ${Date.now() - t} ms`);
    await available(GARAGE, 5_000);
    const st = await runCli([
      'ha',
      'status',
      '--url',
      ha!.url,
      '--token',
      ha!.token,
      '--data-dir',
      dataDir!,
      '--bridge',
      cam!.url,
    ]);
    assert.equal(st.code, 0, st.stderr);
    assert.match(st.stdout, /Front door \(frontdoor\): \d+ entities, \d+ unavailable/);
    assert.match(st.stdout, /Unavailable \(\d+\):[\s\S]*camera\.frontdoor/);
    assert.doesNotMatch(st.stdout, /Unavailable[\s\S]*camera\.garage_cam /);

    t = Date.now();
    native!.start();
    await available(FRONT);
    console.log(`# native camera back -> available in HA after ${Date.now() - t} ms`);

    t = Date.now();
    // Like a power cut: the socket just dies, no close frame. Then it boots and dials in again.
    legacy!.opts.reconnect = false;
    legacy!.kill();
    await unavailable(GARAGE);
    legacy!.opts.reconnect = true;
    legacy!.start();
    await available(GARAGE);
    console.log(`# MJPEG2SD camera power-cut and back -> available in HA after ${Date.now() - t} ms`);
  });

  it('restarting cam2mqtt keeps the same entities (no duplicates, no _2) and brings them back', async () => {
    const before = await ours();
    const devsBefore = (await listDevices(conn!)).filter((d) =>
      d.identifiers.some(([dom, id]) => dom === 'mqtt' && id.startsWith('cam2mqtt_')),
    ).length;
    let t = Date.now();
    await cam!.stop();
    await unavailable(['camera.frontdoor', 'camera.garage_cam', 'sensor.cam2mqtt_bridge_version']);
    // The embedded broker goes with cam2mqtt, so HA's MQTT client is disconnected: HA shows even the
    // bridge's connection sensor (which has no availability topic) as unavailable, not just off.
    await waitFor(
      async () =>
        ['off', 'unavailable'].includes((await state('binary_sensor.cam2mqtt_bridge_connection_state')) ?? ''),
      30_000,
      'bridge connection_state off',
    );
    console.log(`# cam2mqtt stopped -> unavailable in HA after ${Date.now() - t} ms`);

    t = Date.now();
    cam = await startCam2mqtt(raw, dataDir);
    // The simulators dial in again by themselves; HA's MQTT client reconnects to the broker by itself.
    await available([...FRONT, ...GARAGE, 'sensor.cam2mqtt_bridge_version'], 90_000);
    console.log(`# cam2mqtt restarted -> everything available in HA after ${Date.now() - t} ms`);
    assert.equal(await state('binary_sensor.cam2mqtt_bridge_connection_state'), 'on');
    assert.deepEqual(await ours(), before, 'same unique ids and entity ids after the restart');
    const devsAfter = (await listDevices(conn!)).filter((d) =>
      d.identifiers.some(([dom, id]) => dom === 'mqtt' && id.startsWith('cam2mqtt_')),
    ).length;
    assert.equal(devsAfter, devsBefore);
    assert.ok(!before.some((x) => /_\d+$/.test(x)), 'no _2 entity ids');

    // The live view follows the restarted bridge too (HA re-opens the stream URL).
    const ac = new AbortController();
    const s = await haFetch(ha!.url, ha!.token, '/api/camera_proxy_stream/camera.frontdoor_live', {
      signal: ac.signal,
    });
    assert.equal(s.status, 200);
    const buf = await readStreamUntil(s, (b) => b.indexOf(Buffer.from([0xff, 0xd9])) > 0, 2_000_000, ac);
    assert.ok(buf.indexOf(Buffer.from([0xff, 0xd8, 0xff])) >= 0, 'a JPEG through the live view');

    // Linking again after the restart changes nothing.
    const again = await runCli([
      'ha',
      'link',
      '--url',
      ha!.url,
      '--token',
      ha!.token,
      '--data-dir',
      dataDir!,
      '--bridge',
      cam!.url,
    ]);
    assert.equal(again.code, 0, again.stdout);
    assert.match(again.stdout, /already uses cam2mqtt's broker/);
    assert.equal((await listConfigEntries(ha!, 'mjpeg')).length, 2);
    assert.deepEqual(await ours(), before);
  });

  it('restarting Home Assistant brings the states back (birth message)', async () => {
    native!.setMotion(true);
    await waitFor(
      async () => (await state('binary_sensor.frontdoor_motion')) === 'on',
      20_000,
      'motion on before the restart',
    );
    native!.send({ type: 'info', info: { lamp: 100 } });
    await waitFor(async () => (await state('switch.frontdoor_lamp')) === 'on', 20_000, 'lamp on before the restart');
    const t = Date.now();
    await ha!.restart();
    console.log(`# Home Assistant restarted in ${Date.now() - t} ms`);
    await waitFor(
      async () => (await state('binary_sensor.frontdoor_motion')) === 'on',
      60_000,
      'motion on after the HA restart',
    );
    await waitFor(async () => (await state('switch.frontdoor_lamp')) === 'on', 60_000, 'lamp on after the HA restart');
    await available([...FRONT, ...GARAGE], 60_000);
    console.log(`# states back in HA ${Date.now() - t} ms after the restart began`);
    // HA publishes its birth message only once its discovery has cooled down (a few seconds).
    await waitFor(
      () => cam!.tb.logs.some((l) => /Home Assistant is online/.test(l.msg)),
      30_000,
      'cam2mqtt to see the birth message',
    );
    console.log(`# birth message seen by cam2mqtt ${Date.now() - t} ms after the restart began`);
    const ents = await waitFor(async () => listEntities(conn!), 30_000, 'websocket after the restart');
    assert.ok(
      !ents.some((e) => e.unique_id.startsWith('cam2mqtt_') && /_\d+$/.test(e.entity_id)),
      'no _2 ids after the HA restart',
    );
    native!.setMotion(false);
    await waitFor(async () => (await state('binary_sensor.frontdoor_motion')) === 'off', 20_000, 'motion off again');
  });

  it("HA has no MQTT repair issue and logged no warning about cam2mqtt's topics or entities", async () => {
    await assertHaHealthy(ha!, conn!);
  });
});
