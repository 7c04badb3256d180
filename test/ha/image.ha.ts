// cam2mqtt's MQTT `image` entity inside a REAL Home Assistant (the matrix: 2024.3.3 and 2026.11.0), linked at
// startup: image.<id> exists on the camera's device, and the bytes HA serves at /api/image_proxy/image.<id>
// follow the camera: each fetch is a frame the bridge received at most homeassistant.image_interval (plus
// HA's and MQTT's handling, bounded generously) before, and they change as the camera sends new frames.
// The diagnostic sensors (viewers, reconnects, frame age) and the bridge's viewers / MQTT clients exist too.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Connection } from 'home-assistant-js-websocket';
import { imageEntityId } from '../../src/ha/expected.js';
import { jpegCycle } from '../../src/simulator/frames.js';
import { SimulatedNativeCamera } from '../../src/simulator/native-camera.js';
import { freePort } from '../helpers/bridge.js';
import { assertHaHealthy, type Cam2mqtt, removeDir, skip, startCam2mqtt } from './cam2mqtt-ha.js';
import { connectWs, getState, type HomeAssistant, haFetch, listEntities, startHomeAssistant, waitFor } from './hass.js';

const ID = 'porch';
const INTERVAL_S = 1;
/** MQTT delivery and HA's own handling of an image message, on a loaded 2-core machine: generous. */
const SLACK_MS = 5000;

const sha = (b: Buffer | Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('the image entity in a real Home Assistant', { skip }, () => {
  let ha: HomeAssistant | undefined;
  let cam: Cam2mqtt | undefined;
  let sim: SimulatedNativeCamera | undefined;
  let conn: Connection | undefined;
  /** sha256 of every frame the bridge received -> when (the latest time, should a picture repeat). */
  const receivedAt = new Map<string, number>();
  let unsubscribe: (() => void) | undefined;
  const t0 = Date.now();

  before(async () => {
    ha = await startHomeAssistant();
    cam = await startCam2mqtt({
      http: { host: '127.0.0.1', port: await freePort() },
      mqtt: { enabled: true, host: '127.0.0.1', port: await freePort() },
      homeassistant: { url: ha.url, token: ha.token, live: false, image_interval: INTERVAL_S },
    });
    // 96 distinct frames at 6 fps: a picture repeats only every 16 s, far beyond the bound checked.
    const spec = { width: 160, height: 120, hue: 90, cycle: 96 };
    sim = new SimulatedNativeCamera({
      url: `${cam.url.replace(/^http/, 'ws')}/api/camera`,
      id: ID,
      name: 'Porch',
      fps: 6,
      ...spec,
      frames: jpegCycle(spec),
      reconnectDelayMs: 300,
    }).start();
    const hub = cam.tb.bridge.hub;
    await waitFor(() => hub.get(ID)?.online, 20_000, 'camera online');
    unsubscribe = hub.get(ID)!.subscribe((f) => receivedAt.set(sha(f.data), f.receivedAt));
    conn = await connectWs(ha.url, ha.token);
  });

  after(async () => {
    unsubscribe?.();
    conn?.close();
    await sim?.stop();
    await cam?.stop();
    removeDir(cam?.dataDir);
    if (ha && process.env.HA_VERBOSE === '1') console.log(ha.logs());
    await ha?.stop();
    console.log(`# image.ha.ts: ${((Date.now() - t0) / 1000).toFixed(1)} s in total`);
  });

  it('image.<id> exists on the camera device, with the diagnostic sensors', async () => {
    const id = imageEntityId(ID);
    assert.equal(id, 'image.porch');
    const entity = await waitFor(
      async () => (await listEntities(conn!)).find((e) => e.entity_id === id),
      90_000,
      `${id} in the entity registry`,
    );
    assert.equal(entity.platform, 'mqtt');
    assert.equal(entity.unique_id, 'cam2mqtt_porch_image');
    const camera = (await listEntities(conn!)).find((e) => e.entity_id === 'camera.porch');
    assert.equal(entity.device_id, camera?.device_id, 'the image entity is on the camera device');
    // HA creates the discovered entities one after the other: wait for each.
    for (const s of ['sensor.porch_viewers', 'sensor.porch_reconnects', 'sensor.porch_frame_age']) {
      const e = await waitFor(
        async () => (await listEntities(conn!)).find((x) => x.entity_id === s),
        60_000,
        `${s} in the entity registry`,
      );
      assert.equal((e as { entity_category?: string | null }).entity_category, 'diagnostic', `${s} is diagnostic`);
    }
    for (const s of ['sensor.cam2mqtt_bridge_viewers', 'sensor.cam2mqtt_bridge_mqtt_clients'])
      await waitFor(
        async () => (await listEntities(conn!)).some((x) => x.entity_id === s),
        60_000,
        `${s} in the entity registry`,
      );
    // The state of an image entity is when its picture last changed.
    const st = await waitFor(
      async () => {
        const s = await getState(ha!, id);
        return s && s.state !== 'unavailable' && s.state !== 'unknown' ? s : undefined;
      },
      30_000,
      `${id} has a picture`,
    );
    assert.ok(!Number.isNaN(Date.parse(st.state)), `state is a timestamp: ${st.state}`);
    await waitFor(
      async () => Number((await getState(ha!, 'sensor.porch_reconnects'))?.state) === 0,
      30_000,
      'sensor.porch_reconnects = 0',
    );
  });

  it(`/api/image_proxy/image.<id> follows the camera within the interval (${INTERVAL_S} s)`, async () => {
    // The first picture has reached HA (the test above waits for it too, unless it failed early).
    await waitFor(
      async () => {
        const r = await haFetch(ha!.url, ha!.token, `/api/image_proxy/${imageEntityId(ID)}`);
        await r.arrayBuffer();
        return r.status === 200;
      },
      30_000,
      'image_proxy answers',
    );
    const seen = new Set<string>();
    const ages: number[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await haFetch(ha!.url, ha!.token, `/api/image_proxy/${imageEntityId(ID)}`);
      const at = Date.now();
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('content-type'), 'image/jpeg');
      const body = Buffer.from(await r.arrayBuffer());
      assert.equal(body.subarray(0, 2).toString('hex'), 'ffd8');
      const h = sha(body);
      const when = receivedAt.get(h);
      assert.ok(when !== undefined, `fetch ${i}: the picture is a frame the camera sent, byte for byte`);
      const age = at - when;
      ages.push(age);
      assert.ok(
        age <= INTERVAL_S * 1000 + SLACK_MS,
        `fetch ${i}: picture ${age} ms old (bound ${INTERVAL_S * 1000 + SLACK_MS} ms)`,
      );
      seen.add(h);
      await new Promise((res) => setTimeout(res, 1500));
    }
    assert.ok(seen.size >= 3, `the picture changes with the camera: ${seen.size} different pictures in 6 fetches`);
    console.log(`# image_proxy picture age (ms): ${ages.join(', ')} (HA ${ha!.version})`);
    await assertHaHealthy(ha!, conn!);
  });
});
