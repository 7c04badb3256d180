import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readDotenv } from '../src/config/dotenv.js';
import { loadConfig } from '../src/config/load.js';
import { freePort, waitFor } from './helpers/bridge.js';
import { SecurityCamEmulator } from './http-camera-emulators.js';

// The DIY Security Camera Server seed's .env (HTTP_AUTH_USERNAME, HTTP_AUTH_PASSWORD, CAM_URL,
// SERVO_URL) works unchanged: one pulled camera plus the page login.

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/cli.js');

function tempDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'cam2mqtt-dotenv-'));
}

test('the seed .env maps to http.auth and one camera with mjpeg_url and servo_url', () => {
  const dir = tempDir();
  try {
    writeFileSync(
      path.join(dir, '.env'),
      [
        '# securityCam/server/.env',
        'HTTP_AUTH_USERNAME=exampleUser',
        'HTTP_AUTH_PASSWORD="longNicePassword"',
        'CAM_URL=http://192.168.1.50/mjpeg',
        'SERVO_URL=http://192.168.1.50:81/control_servo',
        'CAM2MQTT_LOG_LEVEL=debug',
        '',
      ].join('\n'),
    );
    const r = readDotenv(dir, {});
    assert.equal(r.file, path.join(dir, '.env'));
    assert.deepEqual(r.overrides, {
      'http.auth.username': 'exampleUser',
      'http.auth.password': 'longNicePassword',
      'cameras.securitycam.mjpeg_url': 'http://192.168.1.50/mjpeg',
      'cameras.securitycam.servo_url': 'http://192.168.1.50:81/control_servo',
    });
    assert.deepEqual(r.env, { CAM2MQTT_LOG_LEVEL: 'debug' });
    assert.deepEqual(r.warnings, []);
    const text = r.log.join('\n');
    assert.match(
      text,
      /HTTP_AUTH_USERNAME, HTTP_AUTH_PASSWORD from .*\.env: page, API and stream login for user "exampleUser"/,
    );
    assert.match(text, /CAM_URL from .*: camera "securitycam" pulled from http:\/\/192\.168\.1\.50\/mjpeg/);
    assert.match(text, /SERVO_URL from .*: pan\/tilt for camera "securitycam"/);
    assert.doesNotMatch(text, /longNicePassword/, 'never logs the password');

    // And the settings it produces are valid.
    const { config } = loadConfig({ raw: {}, env: r.env, overrides: r.overrides });
    assert.equal(config.http.auth?.username, 'exampleUser');
    assert.equal(config.cameras.securitycam?.mjpeg_url, 'http://192.168.1.50/mjpeg');
    assert.equal(config.cameras.securitycam?.servo_url, 'http://192.168.1.50:81/control_servo');
    assert.equal(config.log.level, 'debug');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('.env edge cases: real environment wins, CAM_ID, half a login, bad URLs, no file', () => {
  const dir = tempDir();
  try {
    assert.deepEqual(readDotenv(dir, {}).overrides, {}, 'no .env: nothing');
    writeFileSync(
      path.join(dir, '.env'),
      'HTTP_AUTH_USERNAME=a\nCAM_URL=not a url\nSERVO_URL=ftp://x/\nCAM_ID=Porch\n',
    );
    const r = readDotenv(dir, { CAM_URL: 'http://10.0.0.9/mjpeg', CAM2MQTT_LOG_LEVEL: 'warn' });
    assert.deepEqual(r.overrides, { 'cameras.porch.mjpeg_url': 'http://10.0.0.9/mjpeg' });
    assert.match(r.log.join('\n'), /CAM_URL from the environment/);
    assert.equal(r.warnings.length, 2);
    assert.match(r.warnings.join('\n'), /HTTP_AUTH_USERNAME is set without HTTP_AUTH_PASSWORD/);
    assert.match(r.warnings.join('\n'), /SERVO_URL "ftp:\/\/x\/" is not an http:\/\/ URL/);
    writeFileSync(path.join(dir, '.env'), 'CAM_ID=bad id!\nCAM_URL=http://x/\n');
    assert.match(readDotenv(dir, {}).warnings.join('\n'), /CAM_ID "bad id!" is not a valid camera id/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('cam2mqtt started in a folder with the seed .env: logs the mapping, pulls the camera, asks for the login', async () => {
  const cam = await new SecurityCamEmulator({ fps: 8 }).listen();
  const dir = tempDir();
  const port = await freePort();
  writeFileSync(
    path.join(dir, '.env'),
    `HTTP_AUTH_USERNAME=exampleUser\nHTTP_AUTH_PASSWORD=longNicePassword\nCAM_URL=${cam.mjpegUrl}\nSERVO_URL=${cam.servoUrl}\n`,
  );
  const child = spawn(process.execPath, [CLI, '--http-port', String(port), '--data-dir', path.join(dir, 'data')], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', CAM2MQTT_MQTT_ENABLED: 'false', CAM2MQTT_HTTP_HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    await waitFor(() => /control page:/.test(out), 20_000, `cam2mqtt to start; output so far:\n${out}`);
    assert.match(
      out,
      /HTTP_AUTH_USERNAME, HTTP_AUTH_PASSWORD from .*\.env: page, API and stream login for user "exampleUser"/,
    );
    assert.match(out, /CAM_URL from .*\.env: camera "securitycam" pulled from/);
    assert.match(out, /SERVO_URL from .*\.env: pan\/tilt for camera "securitycam"/);
    assert.doesNotMatch(out, /longNicePassword/);
    const base = `http://127.0.0.1:${port}`;
    const anon = await fetch(`${base}/api/cameras/securitycam`);
    assert.equal(anon.status, 401, 'the page login from .env is enforced');
    await anon.arrayBuffer();
    const auth = { Authorization: `Basic ${Buffer.from('exampleUser:longNicePassword').toString('base64')}` };
    const info = await waitFor(
      async () => {
        const r = await fetch(`${base}/api/cameras/securitycam`, { headers: auth });
        const j = (await r.json()) as { online: boolean; capabilities: string[] };
        return j.online ? j : undefined;
      },
      15_000,
      'camera online through the bridge',
    );
    assert.ok(info.capabilities.includes('servo'));
    const r = await fetch(`${base}/api/cameras/securitycam/ptz`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ direction: 'left', step: 5 }),
    });
    assert.equal(r.status, 200);
    await r.arrayBuffer();
    assert.deepEqual(
      cam.servo.requestsTo('/control_servo').map((q) => q.query),
      [{ tr: '5', el: '0' }],
    );
  } finally {
    child.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 10_000).unref())]);
    if (code === 'timeout') child.kill('SIGKILL');
    await cam.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
