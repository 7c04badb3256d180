import assert from 'node:assert/strict';
import { test } from 'node:test';
import mqtt from 'mqtt';
import WebSocket from 'ws';
import { freePort, startBridge, type TestBridge, waitFor } from './helpers/bridge.js';
import { SecurityCamEmulator } from './http-camera-emulators.js';

// securityCam servos (SERVO_URL): /control_servo?tr=<int>&el=<int>, relative steps, both required.
// The same moves from the page's D-pad (page socket and REST), the REST command API, MQTT (what HA's
// pan/tilt numbers publish) and the hub's CameraLink.move. cam2mqtt's convention: pan grows to the right,
// tilt upwards; securityCam's own buttons: left tr=5, right tr=-5, up el=-5, down el=5.

const fast = { reconnect: { min_delay: 0.2, max_delay: 1 }, read_timeout: 3 };

async function post(
  b: TestBridge,
  path: string,
  body: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await fetch(`${b.url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: r.status, json: (await r.json()) as Record<string, unknown> };
}

/** The servo requests the emulator got since `from`, as [tr, el] pairs. */
function servoCalls(cam: SecurityCamEmulator, from = 0): [string, string][] {
  return cam.servo
    .requestsTo('/control_servo')
    .slice(from)
    .map((r) => [r.query.tr!, r.query.el!]);
}

test('servo steps from the page D-pad, REST and the hub arrive as securityCam expects; position tracked; errors reported', async () => {
  const cam = await new SecurityCamEmulator({ fps: 8 }).listen();
  const b = await startBridge({
    cameras: { front: { mjpeg_url: cam.mjpegUrl, servo_url: cam.servoUrl, servo_step: 7, ...fast } },
  });
  try {
    const hub = b.bridge.hub;
    await waitFor(() => hub.get('front')?.online, 10_000, 'camera online');
    const c = hub.get('front')!;
    assert.ok(c.capabilities.has('servo'));
    assert.equal(c.info.pan, 90);
    assert.equal(c.info.tilt, 90);

    // D-pad over REST (the page's route): left 5 = securityCam's left button.
    let r = await post(b, '/api/cameras/front/ptz', { direction: 'left', step: 5 });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.deepEqual(servoCalls(cam), [['5', '0']]);
    r = await post(b, '/api/cameras/front/ptz', { direction: 'up', step: 5 });
    assert.equal(r.status, 200);
    assert.deepEqual(servoCalls(cam, 1), [['0', '-5']]);
    assert.equal(c.info.pan, 85);
    assert.equal(c.info.tilt, 95);
    // The camera's own idea of the position matches the tracked one (in its sense: pan mirrored).
    assert.equal(cam.pan, 95);
    assert.equal(cam.tilt, 85);

    // Absolute pan/tilt through the command API: the step is computed from the tracked position.
    r = await post(b, '/api/cameras/front/command', { pan: 100 });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.deepEqual(servoCalls(cam, 2), [['-15', '0']]);
    assert.equal(c.info.pan, 100);

    // CameraLink.move (relative, with the camera's servo_step of 7).
    const moved = await c.link!.move!('right', undefined, 5000);
    assert.deepEqual(servoCalls(cam, 3), [['-7', '0']]);
    assert.deepEqual(
      { pan: (moved.answer as { pan: number }).pan, tilt: (moved.answer as { tilt: number }).tilt },
      { pan: 107, tilt: 95 },
    );
    await c.link!.move!('home', undefined, 5000);
    assert.deepEqual(servoCalls(cam, 4), [['17', '5']]);
    assert.deepEqual([cam.pan, cam.tilt], [90, 90], 'camera back at its start position');

    // Every call had both parameters, at most 4 characters each (the firmware's limits).
    for (const [tr, el] of servoCalls(cam)) assert.ok(tr.length <= 4 && el.length <= 4);

    // Errors from the camera reach whoever asked.
    await cam.servo.close();
    r = await post(b, '/api/cameras/front/ptz', { direction: 'down', step: 5 });
    assert.equal(r.status, 502);
    assert.match(String(r.json.error), /servo .*control_servo.*connection refused/);
    r = await post(b, '/api/cameras/front/command', { tilt: 10 });
    assert.equal(r.status, 502);
    assert.ok(
      c.log.toArray().some((e) => e.dir === '!' && /servo/.test(e.text)),
      'failure in the camera log',
    );
  } finally {
    await b.stop();
    await cam.close().catch(() => {});
  }
});

test('a servo URL template with {pan}/{tilt} and {tr}/{el}; an HTTP 500 from the camera is reported', async () => {
  const cam = await new SecurityCamEmulator({ fps: 5 }).listen();
  // A firmware with absolute positions, emulated by the same server (it ignores unknown parameters).
  const b = await startBridge({
    cameras: {
      cam2: {
        mjpeg_url: cam.mjpegUrl,
        servo_url: `${cam.servo.url}/control_servo?tr={tr}&el={el}&abs_pan={pan}&abs_tilt={tilt}`,
        ...fast,
      },
    },
  });
  try {
    const hub = b.bridge.hub;
    await waitFor(() => hub.get('cam2')?.online, 10_000, 'camera online');
    const r = await post(b, '/api/cameras/cam2/command', { tilt: 120 });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const q = cam.servo.requestsTo('/control_servo')[0]!.query;
    assert.deepEqual(q, { tr: '0', el: '-30', abs_pan: '90', abs_tilt: '120' });
    // A camera that answers 500 (securityCam does when a parameter is missing): the error reaches the caller.
    const cam3 = await new SecurityCamEmulator({ fps: 5 }).listen();
    const b2 = await startBridge({
      cameras: { cam3: { mjpeg_url: cam3.mjpegUrl, servo_url: `${cam3.servo.url}/control_servo?el={el}`, ...fast } },
    });
    try {
      await waitFor(() => b2.bridge.hub.get('cam3')?.online, 10_000, 'cam3 online');
      const rr = await post(b2, '/api/cameras/cam3/command', { tilt: 80 });
      assert.equal(rr.status, 502);
      assert.match(String(rr.json.error), /HTTP 500.*Missing or bad parameter/);
      assert.equal(b2.bridge.hub.get('cam3')!.info.tilt, 90, 'a refused move does not change the tracked position');
    } finally {
      await b2.stop();
      await cam3.close();
    }
  } finally {
    await b.stop();
    await cam.close();
  }
});

test('servo moves from MQTT (HA pan/tilt numbers) and the page socket D-pad', async () => {
  const cam = await new SecurityCamEmulator({ fps: 8 }).listen();
  const mqttPort = await freePort();
  const b = await startBridge({
    mqtt: { enabled: true, port: mqttPort },
    cameras: { front: { mjpeg_url: cam.mjpegUrl, servo_url: cam.servoUrl, ...fast } },
  });
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, {
    clientId: 'servo-test',
    reconnectPeriod: 0,
  });
  const ws = new WebSocket(`${b.url.replace('http', 'ws')}/api/ws`);
  const replies: Record<string, unknown>[] = [];
  ws.on('message', (data, isBinary) => {
    if (!isBinary) replies.push(JSON.parse(data.toString()) as Record<string, unknown>);
  });
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  opened.catch(() => {});
  try {
    const hub = b.bridge.hub;
    await waitFor(() => hub.get('front')?.online, 10_000, 'camera online');
    // MQTT: what Home Assistant's Pan number publishes.
    await client.publishAsync('cam2mqtt/front/set/pan', '70');
    await waitFor(() => cam.servo.requestsTo('/control_servo').length >= 1, 10_000, 'servo request from MQTT');
    assert.deepEqual(servoCalls(cam), [['20', '0']]);
    await client.publishAsync('cam2mqtt/front/set/tilt', '100');
    await waitFor(() => cam.servo.requestsTo('/control_servo').length >= 2, 10_000, 'second servo request from MQTT');
    assert.deepEqual(servoCalls(cam, 1), [['0', '-10']]);

    // The page socket: {t: 'ptz', id, direction, step}.
    await opened;
    ws.send(JSON.stringify({ t: 'ptz', id: 'front', direction: 'right', step: 10, rid: 1 }));
    const reply = await waitFor(() => replies.find((m) => m.t === 'reply' && m.rid === 1), 10_000, 'ptz reply');
    assert.equal(reply.ok, true, JSON.stringify(reply));
    assert.deepEqual(servoCalls(cam, 2), [['-10', '0']]);
    assert.deepEqual([hub.get('front')!.info.pan, hub.get('front')!.info.tilt], [80, 100]);
  } finally {
    ws.terminate();
    await client.endAsync(true);
    await b.stop();
    await cam.close();
  }
});
