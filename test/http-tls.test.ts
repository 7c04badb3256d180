// TLS on the HTTP port (http.tls, docs/deploy.md#tls): self-signed certificates made with openssl, then
// every surface of the port over https:// and wss:// with real clients: an MJPEG viewer, both camera
// protocols' simulators, the firmware's host build (OpenSSL client, certificate verified), MQTT over
// WebSocket, the page socket and the page itself in headless Chromium. The bridge as a child process
// (the CLI) switches certificates on SIGHUP, keeps the old one if the new files are bad, and refuses to
// start with a missing file.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import mqtt from 'mqtt';
import type { Browser } from 'playwright-core';
import { jpegCycle } from '../src/simulator/frames.js';
import { SimulatedMjpeg2sdCamera } from '../src/simulator/mjpeg2sd-camera.js';
import { SimulatedNativeCamera } from '../src/simulator/native-camera.js';
import { freePort, startBridge, type TestBridge, waitFor } from './helpers/bridge.js';
import { buildFirmware, HOST_BIN, ROOT } from './helpers/firmware-build.js';
import { MjpegClient } from './helpers/mjpeg-client.js';
import { launchBrowser, nextFrames, PageWsClient, tileSel } from './page-helpers.js';

const CLI = path.join(ROOT, 'dist', 'src', 'cli.js');
const tmpDirs: string[] = [];
const tmp = (prefix: string) => {
  const d = mkdtempSync(path.join(tmpdir(), prefix));
  tmpDirs.push(d);
  return d;
};

interface Cert {
  cert: string;
  key: string;
  pem: string;
  /** SHA-256 fingerprint as Node prints it (AA:BB:...). */
  fingerprint: string;
}

/** A self-signed certificate for 127.0.0.1 (and localhost), by openssl as an administrator would. */
function makeCert(dir: string, name: string): Cert {
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  const r = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      `/CN=cam2mqtt test ${name}`,
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, `openssl req failed: ${r.stderr}${r.error ?? ''}`);
  const fp = spawnSync('openssl', ['x509', '-in', cert, '-noout', '-fingerprint', '-sha256'], { encoding: 'utf8' });
  const fingerprint = /=([0-9A-F:]+)/.exec(fp.stdout)?.[1] ?? '';
  assert.ok(fingerprint, fp.stderr);
  return { cert, key, pem: readFileSync(cert, 'utf8'), fingerprint };
}

/** The SHA-256 fingerprint of the certificate the server presents right now. */
function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const fp = s.getPeerCertificate().fingerprint256;
      s.end();
      resolve(fp);
    });
    s.on('error', reject);
  });
}

function getText(url: string, ca?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const onRes = (res: import('node:http').IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    };
    const req = url.startsWith('https:') ? httpsGet(url, { ca }, onRes) : httpGet(url, onRes);
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
  });
}

let certs: { a: Cert; b: Cert; dir: string };

before(() => {
  const dir = tmp('c2m-tls-');
  certs = { a: makeCert(dir, 'a'), b: makeCert(dir, 'b'), dir };
});

after(() => {
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

describe('http.tls: https:// and wss:// on the HTTP port', () => {
  let t: TestBridge;
  let base: string;
  let mqttPort: number;
  const frames = jpegCycle({ width: 320, height: 240, hue: 30, cycle: 4 });
  let native: SimulatedNativeCamera;
  let legacy: SimulatedMjpeg2sdCamera;
  let browser: Browser | undefined;

  before(async () => {
    mqttPort = await freePort();
    t = await startBridge({
      http: { tls: { cert: certs.a.cert, key: certs.a.key } },
      mqtt: { enabled: true, port: mqttPort },
    });
    base = `https://127.0.0.1:${t.port}`;
    native = new SimulatedNativeCamera({
      url: `wss://127.0.0.1:${t.port}/api/camera`,
      id: 'front',
      fps: 10,
      width: 320,
      height: 240,
      hue: 30,
      frames,
      tls: { ca: certs.a.pem },
    });
    legacy = new SimulatedMjpeg2sdCamera({
      url: `wss://127.0.0.1:${t.port}/ws`,
      id: 'ESP-CAM-GARAGE',
      fps: 5,
      width: 320,
      height: 240,
      hue: 120,
      tls: { ca: certs.a.pem },
    });
    native.start();
    legacy.start();
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await native?.stop();
    await legacy?.stop();
    await t?.stop();
  });

  it('serves the API over https with the configured certificate, and nothing in clear text', async () => {
    assert.equal(await servedFingerprint(t.port), certs.a.fingerprint);
    const health = await getText(`${base}/healthz`, certs.a.pem);
    assert.equal(health.status, 200);
    const cams = await getText(`${base}/api/cameras`, certs.a.pem);
    assert.equal(cams.status, 200);
    assert.ok(Array.isArray(JSON.parse(cams.body)));
    assert.equal(t.bridge.publicUrl.startsWith('https://'), true, `public URL ${t.bridge.publicUrl}`);
    // Plain HTTP on the TLS port gets no page, no API.
    const clear = await getText(`http://127.0.0.1:${t.port}/api/cameras`).catch((err: Error) => ({
      status: 0,
      body: err.message,
    }));
    assert.notEqual(clear.status, 200, 'no API in clear text');
  });

  it('both camera protocols dial in over wss://, and an https MJPEG viewer gets their JPEG bytes', async () => {
    await waitFor(() => t.bridge.hub.get('front')?.online, 10_000, 'native camera online over wss');
    await waitFor(() => t.bridge.hub.get('esp-cam-garage')?.online, 10_000, 'legacy camera online over wss');
    const viewer = new MjpegClient(`${base}/api/cameras/front/stream.mjpeg`, { ca: certs.a.pem });
    try {
      await waitFor(() => viewer.parts.length >= 5, 10_000, '5 MJPEG parts over https');
      assert.equal(viewer.error, undefined);
      for (const p of viewer.parts)
        assert.ok(
          frames.some((f) => f.equals(p.body)),
          'the camera JPEG, byte for byte',
        );
    } finally {
      viewer.close();
    }
    const legacyViewer = new MjpegClient(`${base}/api/cameras/esp-cam-garage/stream.mjpeg`, { ca: certs.a.pem });
    try {
      await waitFor(() => legacyViewer.parts.length >= 2, 10_000, 'legacy camera parts over https');
      assert.equal(legacyViewer.parts[0]!.body[0], 0xff);
    } finally {
      legacyViewer.close();
    }
  });

  it('MQTT over wss:// (/mqtt) and the page socket over wss:// (/api/ws)', async () => {
    const client = await mqtt.connectAsync(`wss://127.0.0.1:${t.port}/mqtt`, {
      ca: certs.a.pem,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
    });
    try {
      const got = new Promise<string>((resolve) =>
        client.on('message', (topic, payload) => {
          if (topic === 'cam2mqtt/front/availability') resolve(payload.toString());
        }),
      );
      await client.subscribeAsync('cam2mqtt/front/availability');
      assert.match(await got, /online/);
    } finally {
      await client.endAsync();
    }
    const page = new PageWsClient(base, { ca: certs.a.pem });
    try {
      await page.opened;
      const hello = await page.hello();
      const ids = (hello.cameras as { id: string }[]).map((c) => c.id);
      assert.ok(ids.includes('front'), ids.join(','));
    } finally {
      page.ws.close();
    }
  });

  it('the page loads and draws a camera in headless Chromium over https', async () => {
    browser = await launchBrowser(['--ignore-certificate-errors']);
    const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const res = await page.goto(`${base}/`);
    assert.equal(res?.status(), 200);
    assert.equal(new URL(page.url()).protocol, 'https:');
    await page.waitForSelector(tileSel('front'), { timeout: 15_000 });
    const s = await nextFrames(page, 'front', 0, 15_000);
    assert.equal(s.width, 320, 'frames drawn from the wss:// page socket');
    assert.deepEqual(errors, []);
    await context.close();
  });

  it("the firmware's host build connects over wss://, verifying the certificate, and streams", {
    timeout: 120_000,
  }, async () => {
    const build = buildFirmware();
    assert.ok(build.ok, `firmware build failed:\n${build.output.slice(-4000)}`);
    const framesDir = tmp('c2m-tls-frames-');
    frames.forEach((f, i) => {
      writeFileSync(path.join(framesDir, `frame-${i}.jpg`), f);
    });
    const run = (id: string, ca: string) => {
      const proc = spawn(
        HOST_BIN,
        [
          '--url',
          `wss://127.0.0.1:${t.port}/api/camera`,
          '--id',
          id,
          '--frames-dir',
          framesDir,
          '--fps',
          '10',
          '--ca-cert',
          ca,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      proc.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      proc.stderr.on('data', (d: Buffer) => {
        out += d.toString();
      });
      return { proc, out: () => out };
    };
    const stopProc = async (proc: ChildProcess) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const k = setTimeout(() => proc.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(k);
    };
    const good = run('fwtls', certs.a.cert);
    // Verification is real: trusting the other certificate, the handshake fails and nothing connects.
    const wrong = run('fwtls-wrong', certs.b.cert);
    try {
      await waitFor(
        () => {
          if (/not supported by this host build/.test(good.out()))
            throw new Error('cam2mqtt-host was built without OpenSSL: apt-get install libssl-dev, then re-run cmake');
          return t.bridge.hub.get('fwtls')?.online;
        },
        20_000,
        'host firmware online over wss',
      );
      await waitFor(() => /welcome: registered as fwtls/.test(good.out()), 5000, 'welcomed');
      const viewer = new MjpegClient(`${base}/api/cameras/fwtls/stream.mjpeg`, { ca: certs.a.pem });
      try {
        await waitFor(() => viewer.parts.length >= 4, 15_000, 'MJPEG parts from the host firmware');
        for (const p of viewer.parts)
          assert.ok(
            frames.some((f) => f.equals(p.body)),
            'the JPEG files, byte for byte, through TLS both ways',
          );
      } finally {
        viewer.close();
      }
      await waitFor(() => /certificate|TLS handshake/.test(wrong.out()), 20_000, 'the wrong CA refused');
      assert.equal(t.bridge.hub.get('fwtls-wrong')?.online ?? false, false);
    } finally {
      await stopProc(good.proc);
      await stopProc(wrong.proc);
    }
  });
});

describe('http.tls: SIGHUP reloads the certificate (the CLI in a child process)', () => {
  let proc: ChildProcess | undefined;
  let out = '';

  after(async () => {
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc!.once('exit', r));
      proc.kill('SIGKILL');
      await exited;
    }
  });

  it('switches to a new certificate on SIGHUP, keeps the current one when the new files are bad', {
    timeout: 90_000,
  }, async () => {
    const dataDir = tmp('c2m-tls-hup-');
    const live = path.join(dataDir, 'tls');
    mkdirSync(live);
    const cert = path.join(live, 'cert.pem');
    const key = path.join(live, 'key.pem');
    copyFileSync(certs.a.cert, cert);
    copyFileSync(certs.a.key, key);
    writeFileSync(
      path.join(dataDir, 'configuration.yaml'),
      `http:\n  host: 127.0.0.1\n  tls:\n    cert: ${cert}\n    key: ${key}\nmqtt:\n  enabled: false\n`,
    );
    const port = await freePort();
    proc = spawn(process.execPath, [CLI, '--data-dir', dataDir, '--http-port', String(port)], {
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    proc.stderr!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    await waitFor(
      async () => (await getText(`https://127.0.0.1:${port}/healthz`, certs.a.pem)).status === 200,
      20_000,
      'bridge up over https',
    );
    assert.equal(await servedFingerprint(port), certs.a.fingerprint);
    assert.match(out, /control page: +https:\/\//);

    // Renewal: new files in place, then SIGHUP.
    copyFileSync(certs.b.cert, cert);
    copyFileSync(certs.b.key, key);
    proc.kill('SIGHUP');
    await waitFor(
      async () => (await servedFingerprint(port)) === certs.b.fingerprint,
      10_000,
      'the new certificate served',
    );
    assert.equal((await getText(`https://127.0.0.1:${port}/healthz`, certs.b.pem)).status, 200);
    await waitFor(() => /TLS certificate reloaded/.test(out), 5000, 'reload logged');

    // A broken renewal (key of another certificate): logged, and the working certificate stays.
    copyFileSync(certs.a.key, key);
    proc.kill('SIGHUP');
    await waitFor(() => /TLS certificate not reloaded/.test(out), 10_000, 'refusal logged');
    assert.equal(await servedFingerprint(port), certs.b.fingerprint, 'still the last good certificate');
    assert.equal(proc.exitCode, null, 'still running');

    const exited = new Promise<number | null>((r) => proc!.once('exit', (code) => r(code)));
    proc.kill('SIGTERM');
    assert.equal(await exited, 0);
  });

  it('refuses to start with a missing certificate file, naming the key', async () => {
    const dataDir = tmp('c2m-tls-bad-');
    writeFileSync(
      path.join(dataDir, 'configuration.yaml'),
      `http:\n  host: 127.0.0.1\n  tls:\n    cert: ${path.join(dataDir, 'nope.pem')}\n    key: ${certs.a.key}\n`,
    );
    const r = spawnSync(process.execPath, [CLI, '--data-dir', dataDir, '--http-port', '0'], {
      env: { PATH: process.env.PATH ?? '', CAM2MQTT_MQTT_ENABLED: 'false' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(r.status, 1, `${r.stdout}${r.stderr}`);
    assert.match(`${r.stdout}${r.stderr}`, /cannot start: http\.tls\.cert: cannot read .*nope\.pem/);
    assert.ok(existsSync(certs.a.key));
  });
});
