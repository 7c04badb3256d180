import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { test } from 'node:test';
import { CommandError, parseCommand } from '../src/hub/controls.js';
import { controlCapabilities, controlUrl, translateControl } from '../src/sources/http/control.js';
import { HttpAuth, parseChallenge, verifyDigest } from '../src/sources/http/http-auth.js';
import { getText, splitCredentials } from '../src/sources/http/http-client.js';
import { backoffDelay } from '../src/sources/http/mjpeg-pull.js';
import { ServoController } from '../src/sources/http/servo.js';

// The pieces behind pulled cameras' commands: control_url templates per firmware, servo URLs,
// HTTP Digest, backoff.

test('control_url: templates with {key}/{value}, or ?key=value appended', () => {
  assert.equal(
    controlUrl('http://cam/control?var={key}&val={value}', 'framesize', '10'),
    'http://cam/control?var=framesize&val=10',
  );
  assert.equal(controlUrl('http://cam/control', 'lampLevel', '15'), 'http://cam/control?lampLevel=15');
  assert.equal(controlUrl('http://cam/control?x=1', 'quality', '12'), 'http://cam/control?x=1&quality=12');
  assert.equal(controlUrl('http://cam/set/{key}/{value}', 'a b', 'c&d'), 'http://cam/set/a%20b/c%26d');
});

test('control keys per firmware: names, scales and framesize tables', () => {
  const t = (keys: Parameters<typeof translateControl>[0], name: string, value?: unknown) => {
    const r = translateControl(keys, parseCommand(name, value));
    return `${r.key}=${r.value}`;
  };
  // Stock CameraWebServer: led_intensity 0-255, the current esp32-camera enum.
  assert.equal(t('camerawebserver', 'lamp', 100), 'led_intensity=255');
  assert.equal(t('camerawebserver', 'lamp', 'OFF'), 'led_intensity=0');
  assert.equal(t('camerawebserver', 'framesize', 'VGA'), 'framesize=10');
  assert.equal(t('camerawebserver', 'vflip', 'ON'), 'vflip=1');
  // MJPEG2SD v10 and v8.
  assert.equal(t('mjpeg2sd', 'lamp', 100), 'lampLevel=15');
  assert.equal(t('mjpeg2sd', 'framesize', 'SVGA'), 'framesize=11');
  assert.equal(t('mjpeg2sd_v8', 'framesize', 'SVGA'), 'framesize=9');
  assert.equal(t('mjpeg2sd', 'motion_detection', true), 'enableMotion=1');
  assert.equal(t('mjpeg2sd', 'restart'), 'reset=1');
  assert.equal(t('mjpeg2sd', 'raw', 'record=1'), 'record=1');
  assert.throws(
    () => t('mjpeg2sd_v8', 'framesize', 'QHD'),
    (e: unknown) => e instanceof CommandError && e.code === 'unsupported',
  );
  assert.throws(
    () => t('camerawebserver', 'restart'),
    (e: unknown) => e instanceof CommandError && e.code === 'unsupported',
  );
  assert.throws(
    () => t('camerawebserver', 'raw', 'a b=1'),
    (e: unknown) => e instanceof CommandError && e.code === 'invalid',
  );
  assert.ok(controlCapabilities('camerawebserver').includes('lamp'));
  assert.ok(controlCapabilities('mjpeg2sd').includes('restart'));
});

test('credentials in camera URLs become auth and leave the URL', () => {
  const c = splitCredentials('http://admin:p%40ss@192.168.1.5:81/stream');
  assert.equal(c.url.toString(), 'http://192.168.1.5:81/stream');
  assert.equal(c.username, 'admin');
  assert.equal(c.password, 'p@ss');
  assert.equal(splitCredentials('http://cam/x').username, undefined);
});

test('Digest: challenge parsing, a response the server accepts, stale nonce retried, wrong password not', async () => {
  const ch = parseChallenge(
    'Digest realm="IP Camera, front", qop="auth,auth-int", nonce="abc\\"d", opaque=xyz, algorithm=MD5',
  );
  assert.equal(ch.scheme, 'digest');
  assert.deepEqual(ch.params, {
    realm: 'IP Camera, front',
    qop: 'auth,auth-int',
    nonce: 'abc"d',
    opaque: 'xyz',
    algorithm: 'MD5',
  });

  let nonce = 'n1';
  let stale = false;
  const server = createServer((req, res) => {
    if (verifyDigest(req.headers.authorization, 'GET', { username: 'u', password: 'pw', realm: 'cam', nonce })) {
      res.end('ok');
      return;
    }
    res
      .writeHead(401, {
        'WWW-Authenticate': `Digest realm="cam", qop="auth", nonce="${nonce}", algorithm=SHA-256${stale ? ', stale=true' : ''}`,
      })
      .end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = new URL(`http://127.0.0.1:${(server.address() as { port: number }).port}/x?y=1`);
  try {
    const auth = new HttpAuth({ username: 'u', password: 'pw', type: 'digest' });
    assert.equal((await getText(url, { auth, timeoutMs: 5000 })).body, 'ok');
    assert.match(auth.header('GET', '/x?y=1') ?? '', /^Digest .*algorithm=SHA-256.*qop=auth, nc=00000002/);
    // The server rotates its nonce and says stale=true: answered again without fuss.
    nonce = 'n2';
    stale = true;
    assert.equal((await getText(url, { auth, timeoutMs: 5000 })).body, 'ok');
    // A wrong password is tried once per request, then the 401 comes back.
    const wrong = new HttpAuth({ username: 'u', password: 'nope', type: 'digest' });
    await assert.rejects(getText(url, { auth: wrong, timeoutMs: 5000 }), /HTTP 401/);
  } finally {
    server.close();
  }
});

test('servo URLs: securityCam steps in its own sense, templates, tracked and clamped position', async () => {
  const calls: string[] = [];
  const server = createServer((req, res) => {
    calls.push(req.url ?? '');
    res.end('OK');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  try {
    const sc = new ServoController(`${base}/control_servo`, {
      step: 5,
      home: { pan: 90, tilt: 90 },
      auth: undefined,
      timeoutMs: 5000,
    });
    await sc.move('left');
    await sc.move('right', 20);
    await sc.move('up');
    await sc.move('down');
    await sc.moveTo(180, 0);
    await sc.move('right', 30); // at the limit already: the step still goes out, the position stays clamped
    assert.deepEqual(sc.position, { pan: 180, tilt: 0 });
    await sc.move('home');
    assert.deepEqual(calls, [
      '/control_servo?tr=5&el=0',
      '/control_servo?tr=-20&el=0',
      '/control_servo?tr=0&el=-5',
      '/control_servo?tr=0&el=5',
      '/control_servo?tr=-75&el=90',
      '/control_servo?tr=-30&el=0',
      '/control_servo?tr=90&el=-90',
    ]);
    calls.length = 0;
    const abs = new ServoController(`${base}/ptz?pan={pan}&tilt={tilt}&dx={dpan}`, {
      step: 10,
      home: { pan: 90, tilt: 90 },
      auth: undefined,
      timeoutMs: 5000,
    });
    await abs.move('up');
    await abs.moveTo(0, undefined);
    assert.deepEqual(calls, ['/ptz?pan=90&tilt=100&dx=0', '/ptz?pan=0&tilt=100&dx=-90']);
    await assert.rejects(abs.move('sideways' as 'left'), /direction: expected left, right, up, down or home/);
  } finally {
    server.close();
  }
});

test('reconnect backoff doubles from min to max with jitter', () => {
  const b = { minMs: 1000, maxMs: 30_000 };
  for (const [failures, base] of [
    [1, 1000],
    [2, 2000],
    [3, 4000],
    [5, 16_000],
    [6, 30_000],
    [50, 30_000],
  ] as const) {
    const d = backoffDelay(b, failures);
    assert.ok(d >= base * 0.8 && d <= base * 1.2, `failures ${failures}: ${d} around ${base}`);
  }
});
