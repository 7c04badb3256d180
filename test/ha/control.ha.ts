// cam2mqtt inside a REAL Home Assistant 2024.3.3, linked at startup (homeassistant.url + token):
// - the startup link (no `cam2mqtt ha link` run) and its status in /healthz, live views with a
//   token-only http.auth;
// - an automation on binary_sensor.<id>_motion fires when a simulated camera reports motion, observed
//   over home-assistant-js-websocket; the camera-message -> automation latency is measured and printed;
// - HA's lamp switch, snapshot and restart buttons, framesize select and pan number reach the simulated
//   cameras (native and MJPEG2SD) as the right protocol messages.
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import type { Connection } from 'home-assistant-js-websocket';
import mqtt, { type MqttClient } from 'mqtt';
import type { SimulatedMjpeg2sdCamera } from '../../src/simulator/mjpeg2sd-camera.js';
import type { SimulatedNativeCamera } from '../../src/simulator/native-camera.js';
import { freePort } from '../helpers/bridge.js';
import {
  assertHaHealthy,
  type Cam2mqtt,
  legacyCamera,
  median,
  nativeCamera,
  removeDir,
  skip,
  startCam2mqtt,
} from './cam2mqtt-ha.js';
import {
  connectWs,
  createAutomation,
  getState,
  type HomeAssistant,
  haFetch,
  haJson,
  listConfigEntries,
  startHomeAssistant,
  waitFor,
} from './hass.js';

describe('cam2mqtt controlled from a real Home Assistant (startup link)', { skip }, () => {
  let ha: HomeAssistant | undefined;
  let cam: Cam2mqtt | undefined;
  let native: SimulatedNativeCamera | undefined;
  let legacy: SimulatedMjpeg2sdCamera | undefined;
  let conn: Connection | undefined;
  let sub: MqttClient | undefined;
  let mqttPort = 0;
  const t0 = Date.now();

  const call = (domain: string, service: string, data: Record<string, unknown>) =>
    haJson(ha!, 'POST', `/api/services/${domain}/${service}`, data);
  const state = async (id: string) => (await getState(ha!, id))?.state;

  before(async () => {
    ha = await startHomeAssistant();
    mqttPort = await freePort();
    cam = await startCam2mqtt({
      // Token-only page auth: HA's live views log in with user "cam2mqtt" and the token as password.
      http: { host: '127.0.0.1', port: await freePort(), auth: { token: 'page-token-123' } },
      mqtt: { enabled: true, host: '127.0.0.1', port: mqttPort },
      homeassistant: { url: ha.url, token: ha.token },
    });
    native = nativeCamera(cam.url).start();
    legacy = legacyCamera(cam.url).start();
    conn = await connectWs(ha.url, ha.token);
  });

  after(async () => {
    conn?.close();
    await sub?.endAsync(true).catch(() => undefined);
    await native?.stop();
    await legacy?.stop();
    await cam?.stop();
    removeDir(cam?.dataDir);
    if (ha && process.env.HA_VERBOSE === '1') console.log(ha.logs());
    await ha?.stop();
    console.log(`# control.ha.ts: ${((Date.now() - t0) / 1000).toFixed(1)} s in total`);
  });

  it('links Home Assistant at startup and shows it in /healthz', async () => {
    const t = Date.now();
    const st = await waitFor(
      async () => {
        // With http.auth on, /healthz shows details (the HA link among them) only to a login: the token.
        const h = (await (
          await fetch(`${cam!.url}/healthz`, { headers: { authorization: 'Bearer page-token-123' } })
        ).json()) as {
          homeassistant?: { state: string; linked: boolean; cameras?: number; live?: number; error?: string };
        };
        const s = h.homeassistant;
        if (s?.state === 'error' && /too old|token|not Home Assistant/.test(s.error ?? '')) throw new Error(s.error);
        return s?.linked && s.state === 'linked' && s.cameras === 2 && s.live === 2 ? s : undefined;
      },
      90_000,
      'homeassistant linked with 2 cameras and 2 live views in /healthz',
    );
    console.log(`# startup link: linked ${Date.now() - t} ms after the cameras started: ${JSON.stringify(st)}`);
    assert.equal((await listConfigEntries(ha!, 'mqtt')).length, 1);
    assert.equal((await listConfigEntries(ha!, 'mjpeg')).length, 2);
    assert.ok(
      cam!.tb.logs.some((l) => /^Home Assistant: Linked: 2 cameras/.test(l.msg)),
      'the link report is logged',
    );
    for (const id of [
      'binary_sensor.frontdoor_motion',
      'binary_sensor.garage_cam_motion',
      'switch.frontdoor_lamp',
      'select.garage_cam_framesize',
    ]) {
      await waitFor(
        async () => {
          const s = await state(id);
          return s !== undefined && s !== 'unavailable';
        },
        20_000,
        `${id} available`,
      );
    }
    // The live view logs in to cam2mqtt with the page token and streams through HA.
    const still = await haFetch(ha!.url, ha!.token, '/api/camera_proxy/camera.frontdoor_live');
    assert.equal(still.status, 200);
    assert.equal(
      Buffer.from(await still.arrayBuffer())
        .subarray(0, 2)
        .toString('hex'),
      'ffd8',
    );
  });

  it('an automation on binary_sensor.<id>_motion fires when the camera reports motion (latency measured)', async () => {
    const fired: { camera: string; at: number }[] = [];
    const unsub = await conn!.subscribeEvents(
      (ev: { data: { camera: string } }) => fired.push({ camera: ev.data.camera, at: performance.now() }),
      'cam2mqtt_test_motion',
    );
    try {
      for (const [slug, camId] of [
        ['frontdoor', 'frontdoor'],
        ['garage_cam', 'garage-cam'],
      ] as const) {
        await createAutomation(ha!, `cam2mqtt_motion_${slug}`, {
          alias: `Motion at ${camId}`,
          trigger: [{ platform: 'state', entity_id: `binary_sensor.${slug}_motion`, to: 'on' }],
          action: [{ event: 'cam2mqtt_test_motion', event_data: { camera: camId } }],
        });
      }
      const results: Record<string, number[]> = {};
      for (const [sim, slug, camId, rounds] of [
        [native!, 'frontdoor', 'frontdoor', 5],
        [legacy!, 'garage_cam', 'garage-cam', 3],
      ] as const) {
        const lat: number[] = [];
        for (let i = 0; i < rounds; i++) {
          await waitFor(
            async () => (await state(`binary_sensor.${slug}_motion`)) === 'off',
            20_000,
            `${slug} motion off`,
          );
          const n = fired.length;
          const start = performance.now();
          sim.setMotion(true);
          const ev = await waitFor(
            () => fired.slice(n).find((f) => f.camera === camId),
            20_000,
            `automation for ${camId} (round ${i + 1})`,
          );
          lat.push(ev.at - start);
          sim.setMotion(false);
        }
        results[camId] = lat;
        const fmt = (x: number) => `${x.toFixed(0)} ms`;
        console.log(
          `# motion -> automation latency, ${camId} (${sim === native ? 'native' : 'MJPEG2SD'}): median ${fmt(median(lat))}, min ${fmt(Math.min(...lat))}, max ${fmt(Math.max(...lat))} over ${lat.length} (${lat.map(fmt).join(', ')})`,
        );
      }
      assert.equal(results.frontdoor!.length, 5);
      assert.equal(results['garage-cam']!.length, 3);
    } finally {
      await unsub();
    }
  });

  it("HA's lamp switch, framesize select and pan number reach the cameras as protocol messages", async () => {
    const nativeCmds = (name: string) =>
      native!.received.map((t) => JSON.parse(t) as { name: string; value: unknown }).filter((c) => c.name === name);

    await call('switch', 'turn_on', { entity_id: 'switch.frontdoor_lamp' });
    const lamp = await waitFor(() => nativeCmds('lamp')[0], 15_000, 'native lamp command');
    assert.ok(Number(lamp.value) > 0 || lamp.value === true, `lamp on: ${JSON.stringify(lamp)}`);
    await waitFor(
      async () => (await state('switch.frontdoor_lamp')) === 'on',
      15_000,
      'switch.frontdoor_lamp on in HA',
    );
    await call('switch', 'turn_on', { entity_id: 'switch.garage_cam_lamp' });
    await waitFor(() => legacy!.received.find((t) => /(^|;)lampLevel=15(;|$)/.test(t)), 15_000, 'legacy lampLevel=15');
    await waitFor(
      async () => (await state('switch.garage_cam_lamp')) === 'on',
      15_000,
      'switch.garage_cam_lamp on in HA',
    );

    await call('select', 'select_option', { entity_id: 'select.frontdoor_framesize', option: 'SVGA' });
    await waitFor(() => nativeCmds('framesize').find((c) => c.value === 'SVGA'), 15_000, 'native framesize SVGA');
    await waitFor(
      async () => (await state('select.frontdoor_framesize')) === 'SVGA',
      15_000,
      'select.frontdoor_framesize SVGA in HA',
    );
    await call('select', 'select_option', { entity_id: 'select.garage_cam_framesize', option: 'SVGA' });
    // MJPEG2SD 8.x numbers its frame sizes; SVGA is 9 there.
    const fs = await waitFor(
      () => legacy!.received.find((t) => /(^|;)framesize=\d+(;|$)/.test(t)),
      15_000,
      'legacy framesize=N',
    );
    assert.match(fs, /(^|;)framesize=9(;|$)/);

    await call('number', 'set_value', { entity_id: 'number.frontdoor_pan', value: 120 });
    const pan = await waitFor(() => nativeCmds('pan').find((c) => Number(c.value) === 120), 15_000, 'native pan 120');
    assert.equal(pan.value, 120);
    console.log(
      `# native camera got: ${native!.received
        .map((t) => {
          const c = JSON.parse(t) as { name: string; value?: unknown };
          return `${c.name}=${JSON.stringify(c.value)}`;
        })
        .join(', ')}`,
    );
    console.log(`# MJPEG2SD camera got: ${legacy!.received.join(' | ')}`);
  });

  it("HA's snapshot and restart buttons reach the cameras", async () => {
    sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { reconnectPeriod: 0 });
    const snaps: string[] = [];
    sub.on('message', (topic, _payload, packet) => {
      if (!packet.retain) snaps.push(topic);
    });
    await sub.subscribeAsync('cam2mqtt/+/snapshot', { qos: 0 });

    await call('button', 'press', { entity_id: 'button.frontdoor_snapshot' });
    await waitFor(
      () => native!.received.some((t) => (JSON.parse(t) as { name: string }).name === 'snapshot'),
      15_000,
      'native snapshot command',
    );
    await waitFor(() => snaps.includes('cam2mqtt/frontdoor/snapshot'), 15_000, 'frontdoor snapshot published');
    // MJPEG2SD has no snapshot command: cam2mqtt publishes its latest frame instead.
    await call('button', 'press', { entity_id: 'button.garage_cam_snapshot' });
    await waitFor(() => snaps.includes('cam2mqtt/garage-cam/snapshot'), 15_000, 'garage-cam snapshot published');

    const connects = { native: native!.connects, legacy: legacy!.connects };
    await call('button', 'press', { entity_id: 'button.frontdoor_restart' });
    await waitFor(
      () => native!.received.some((t) => (JSON.parse(t) as { name: string }).name === 'restart'),
      15_000,
      'native restart command',
    );
    await call('button', 'press', { entity_id: 'button.garage_cam_restart' });
    await waitFor(() => legacy!.received.some((t) => /(^|;)reset=1(;|$)/.test(t)), 15_000, 'legacy reset=1');
    // Both "reboot" (the simulators close and dial in again) and come back in HA.
    await waitFor(
      () =>
        native!.connects > connects.native &&
        legacy!.connects > connects.legacy &&
        native!.connected &&
        legacy!.connected,
      20_000,
      'cameras reconnected',
    );
    for (const id of ['camera.frontdoor', 'camera.garage_cam']) {
      await waitFor(
        async () => {
          const s = await state(id);
          return s !== undefined && s !== 'unavailable';
        },
        30_000,
        `${id} available after restart`,
      );
    }
  });

  it("HA has no MQTT repair issue and logged no warning about cam2mqtt's topics or entities", async () => {
    await assertHaHealthy(ha!, conn!);
  });
});
