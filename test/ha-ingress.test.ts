// Home Assistant ingress (src/http/ingress.ts, http.ingress_gateway), through a real nginx that does what
// HA's ingress proxy does (homeassistant/components/hassio/ingress.py): the browser asks for
// /api/hassio_ingress/<token>/<path>, the proxy strips the prefix, passes Host and Origin through, adds
// X-Ingress-Path: /api/hassio_ingress/<token> and X-Forwarded-*, and proxies WebSockets. The page is opened
// in headless Chromium inside an iframe of a same-origin "HA frontend" page, as HA's sidebar panel shows it.
//
// The gateway address on a test machine: HA's gateway is 172.30.32.2; here nginx makes its upstream
// connections from 127.0.0.2 (proxy_bind; all of 127.0.0.0/8 is loopback on Linux) and the bridge is told
// http.ingress_gateway: 127.0.0.2, while the test's own direct requests come from 127.0.0.1. A second nginx
// location proxies with the same header but from 127.0.0.1: the header alone must not let anyone in.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Frame, Page } from 'playwright-core';
import WebSocket from 'ws';
import { SimulatedNativeCamera } from '../src/simulator/native-camera.js';
import { freePort, startBridge, type TestBridge, waitFor } from './helpers/bridge.js';
import { MjpegClient } from './helpers/mjpeg-client.js';
import { launchBrowser, nextFrames, tileSel, tileState } from './page-helpers.js';

const TOKEN = 'Xq3_ingress-token_9f';
const PREFIX = `/api/hassio_ingress/${TOKEN}`;
const GATEWAY = '127.0.0.2';

function nginxBinary(): string {
  for (const p of ['/usr/sbin/nginx', '/usr/bin/nginx', '/usr/local/sbin/nginx']) if (existsSync(p)) return p;
  throw new Error(
    'nginx not found: the ingress test needs it. Install it with "apt-get install -y nginx-light" (.ci/run does).',
  );
}

function nginxConf(dir: string, listen: number, bridge: number): string {
  const proxied = (bind: string) => `
      proxy_pass http://127.0.0.1:${bridge}/;
      ${bind}
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header X-Ingress-Path ${PREFIX};
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Host $http_host;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_buffering off;
      proxy_read_timeout 1h;`;
  return `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  server {
    listen 127.0.0.1:${listen};
    # "Home Assistant's frontend": the add-on's panel is an iframe on the ingress URL, same origin.
    location = / {
      default_type text/html;
      return 200 '<!doctype html><title>Home Assistant</title><iframe id="addon" src="${PREFIX}/" style="width:1300px;height:850px"></iframe>';
    }
    location = /favicon.ico { return 204; }
    # HA's ingress proxy: connects from the gateway address.
    location ${PREFIX}/ {${proxied(`proxy_bind ${GATEWAY};`)}
    }
    # The same header from another address: a client pretending to be ingress.
    location /not-the-gateway/ {${proxied('')}
    }
  }
}
`;
}

async function startNginx(dir: string, listen: number, bridge: number): Promise<ChildProcess> {
  for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(path.join(dir, d), { recursive: true });
  writeFileSync(path.join(dir, 'nginx.conf'), nginxConf(dir, listen, bridge));
  const ng = spawn(nginxBinary(), ['-p', dir, '-c', path.join(dir, 'nginx.conf')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  ng.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  await waitFor(
    async () => {
      if (ng.exitCode !== null) throw new Error(`nginx exited: ${out}`);
      return (await fetch(`http://127.0.0.1:${listen}/`).catch(() => undefined))?.ok;
    },
    10_000,
    'nginx up',
  );
  return ng;
}

describe('Home Assistant ingress through nginx (prefix, X-Ingress-Path, the gateway address)', () => {
  let t: TestBridge;
  let ng: ChildProcess | undefined;
  let dir: string;
  let cam: SimulatedNativeCamera;
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let page: Page;
  let frame: Frame;
  let ngPort = 0;
  const requested: string[] = [];
  const sockets: string[] = [];
  const errors: string[] = [];

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'cam2mqtt-ingress-'));
    const port = await freePort();
    t = await startBridge({
      recordings: { enabled: true, pre_seconds: 1, post_seconds: 1, min_free_bytes: 0 },
      http: {
        port,
        ingress_gateway: GATEWAY,
        auth: { username: 'admin', password: 'secret-pass', token: 'api-token-123456' },
      },
    });
    cam = new SimulatedNativeCamera({
      url: `ws://127.0.0.1:${port}/api/camera`,
      id: 'ingcam',
      name: 'Ingress cam',
      fps: 8,
      width: 320,
      height: 240,
      hue: 120,
      caps: ['lamp', 'framesize'],
      reconnectDelayMs: 200,
    }).start();
    await waitFor(() => t.bridge.hub.get('ingcam')?.latest, 5000, 'camera frames');
    ngPort = await freePort();
    ng = await startNginx(dir, ngPort, port);
    browser = await launchBrowser();
    context = await browser.newContext({ viewport: { width: 1400, height: 900 }, timezoneId: 'UTC' });
    page = await context.newPage();
    page.on('request', (r) => requested.push(r.url()));
    page.on('response', (r) => {
      if (r.status() >= 400) errors.push(`${r.status()} ${r.url()}`);
    });
    page.on('websocket', (ws) => sockets.push(ws.url()));
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) errors.push(m.text());
    });
    await page.goto(`http://127.0.0.1:${ngPort}/`);
    const handle = await page.waitForSelector('iframe#addon');
    frame = (await handle.contentFrame())!;
    assert.ok(frame, 'the add-on iframe');
  });

  after(async () => {
    await context?.close().catch(() => {});
    await browser?.close().catch(() => {});
    await cam?.stop();
    if (ng && ng.exitCode === null) {
      ng.kill('SIGTERM');
      await new Promise((r) => ng!.once('exit', r));
    }
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows the page inside the iframe under the prefix, without a login: tiles draw frames', async () => {
    // tileState reads the canvas with evaluate(), which a Frame has as a Page does.
    const first = await nextFrames(frame as unknown as Page, 'ingcam', 0, 15_000);
    const later = await nextFrames(frame as unknown as Page, 'ingcam', first.frames, 10_000);
    assert.ok(later.seq > first.seq, 'frames keep coming over the page socket');
    assert.equal(new URL(frame.url()).pathname, `${PREFIX}/`, 'no redirect to a login');
    // Every request the page made (assets, the page socket, REST) stayed under the prefix.
    const ours = requested.map((u) => new URL(u)).filter((u) => u.port === String(ngPort));
    assert.ok(
      ours.some((u) => u.pathname === `${PREFIX}/assets/app.js`),
      'the bundle under the prefix',
    );
    assert.deepEqual(
      sockets.map((u) => new URL(u).pathname),
      [`${PREFIX}/api/ws`],
      'the page socket under the prefix',
    );
    for (const u of ours)
      assert.ok(u.pathname === '/' || u.pathname.startsWith(`${PREFIX}/`), `${u.pathname} under the prefix`);
    assert.deepEqual(errors, []);
  });

  it('a command from the page reaches the camera', async () => {
    await frame.click(`${tileSel('ingcam')} button[title^="Lamp"]`);
    await waitFor(() => cam.state.lamp === 100, 5000, 'the lamp turned on');
    const input = `${tileSel('ingcam')} .query-input`;
    await frame.fill(input, '/framesize QVGA');
    await frame.press(input, 'Enter');
    await waitFor(
      () => cam.received.some((r) => (JSON.parse(r) as { name: string }).name === 'framesize'),
      5000,
      'framesize command',
    );
  });

  it('the snapshot link and the MJPEG stream work under the prefix', async () => {
    const snap = await frame.evaluate(
      async (sel: string) => {
        const a = (globalThis as any).document.querySelector(sel) as { href: string };
        const r = await fetch(a.href);
        return {
          href: a.href,
          status: r.status,
          type: r.headers.get('content-type'),
          bytes: (await r.arrayBuffer()).byteLength,
        };
      },
      `${tileSel('ingcam')} a[download]`,
    );
    assert.equal(new URL(snap.href).pathname, `${PREFIX}/api/cameras/ingcam/snapshot.jpg`);
    assert.equal(snap.status, 200);
    assert.equal(snap.type, 'image/jpeg');
    assert.ok(snap.bytes > 1000);
    const mj = new MjpegClient(`http://127.0.0.1:${ngPort}${PREFIX}/api/cameras/ingcam/stream.mjpeg`);
    try {
      await waitFor(() => mj.parts.length >= 3, 10_000, 'MJPEG parts through ingress');
      assert.equal(mj.status, 200);
    } finally {
      mj.close();
    }
  });

  it('a recorded clip plays in the page under the prefix (MJPEG at its pace in an <img>, the AVI file)', async () => {
    // (The page's own events strip and player are the recordings feature's: this plays the clip URLs
    // the events API gives, relative to the page, as a browser does.)
    cam.setMotion(true);
    await new Promise((r) => setTimeout(r, 1500));
    cam.setMotion(false);
    const auth = { authorization: 'Bearer api-token-123456' };
    const ev = await waitFor(
      async () => {
        const r = (await (await fetch(`${t.url}/api/events?camera=ingcam`, { headers: auth })).json()) as {
          events: { id: string; recording: boolean; frames: number }[];
        };
        return r.events.find((e) => !e.recording && e.frames > 5);
      },
      20_000,
      'a finished clip',
    );
    const played = await frame.evaluate(async (id: string) => {
      const doc = (globalThis as any).document;
      const img = doc.createElement('img');
      img.src = `api/events/${encodeURIComponent(id)}/clip.mjpeg`;
      doc.body.appendChild(img);
      const t0 = Date.now();
      while (!(img.naturalWidth > 0) && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 50));
      const avi = await fetch(`api/events/${encodeURIComponent(id)}/clip.avi`);
      const head = new Uint8Array(await avi.arrayBuffer()).slice(0, 4);
      const out = {
        src: img.src,
        width: img.naturalWidth,
        height: img.naturalHeight,
        avi: avi.status,
        riff: String.fromCharCode(...head),
      };
      img.remove();
      return out;
    }, ev.id);
    assert.equal(new URL(played.src).pathname, `${PREFIX}/api/events/${ev.id}/clip.mjpeg`);
    assert.deepEqual([played.width, played.height], [320, 240], 'the clip plays: its frames are drawn');
    assert.equal(played.avi, 200);
    assert.equal(played.riff, 'RIFF');
    // The page's own player (the events strip under the tile) plays it in the tile, through ingress.
    const btn = `${tileSel('ingcam')} .events-strip button.event[data-clip="${ev.id}"]`;
    await frame.waitForSelector(btn, { timeout: 15_000 });
    // A DOM click: in the iframe's smaller viewport the tile's hover controls lie over the strip.
    await frame.$eval(btn, (b: { click(): void }) => b.click());
    await waitFor(
      () =>
        frame.evaluate(
          (s: string) => (globalThis as any).document.querySelector(s)?.dataset.playing,
          tileSel('ingcam'),
        ),
      5000,
      'the player',
    );
    const seen = new Set<number>();
    const end = Date.now() + 1500;
    while (Date.now() < end) {
      seen.add((await tileState(frame as unknown as Page, 'ingcam'))!.index);
      await new Promise((r) => setTimeout(r, 80));
    }
    assert.ok(seen.size >= 3, `the picture changes while the clip plays (${seen.size} different frames)`);
    assert.deepEqual(errors, [], 'no failed request while playing (frames and clip under the prefix)');
  });

  it('the page may be framed by its own origin through ingress, by nobody otherwise', async () => {
    const via = await fetch(`http://127.0.0.1:${ngPort}${PREFIX}/`);
    assert.match(via.headers.get('content-security-policy') ?? '', /frame-ancestors 'self'/);
    assert.equal(via.headers.get('x-frame-options'), 'SAMEORIGIN');
    const direct = await fetch(`${t.url}/`, { headers: { authorization: 'Bearer api-token-123456' } });
    assert.equal(direct.status, 200);
    assert.match(direct.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
    assert.equal(direct.headers.get('x-frame-options'), 'DENY');
  });

  it('requests not from the gateway address need a login, X-Ingress-Path or not', async () => {
    const forged = { 'x-ingress-path': PREFIX };
    // Straight to the bridge from 127.0.0.1 with the header.
    const api = await fetch(`${t.url}/api/cameras`, { headers: forged });
    assert.equal(api.status, 401);
    const html = await fetch(`${t.url}/`, { headers: { ...forged, accept: 'text/html' }, redirect: 'manual' });
    assert.equal(html.status, 303);
    assert.match(html.headers.get('location') ?? '', /^\/login\?next=/);
    const mj = await fetch(`${t.url}/api/cameras/ingcam/snapshot.jpg`, { headers: forged });
    assert.equal(mj.status, 401);
    const ws = new WebSocket(`ws://127.0.0.1:${t.port}/api/ws`, { headers: { ...forged, origin: t.url } });
    const code = await new Promise<number>((resolve) => {
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
      ws.on('error', () => {});
    });
    ws.terminate();
    assert.equal(code, 401, 'the page socket too');
    // Through a proxy that sets the header but is not the gateway.
    const other = await fetch(`http://127.0.0.1:${ngPort}/not-the-gateway/api/cameras`);
    assert.equal(other.status, 401);
    // The gateway without the header is an ordinary client too: checked in-process (nginx always sets it).
    const ingress = t.bridge.http.ingress;
    const fake = (addr: string, headers: Record<string, string>) =>
      ({ socket: { remoteAddress: addr }, headers }) as never;
    assert.equal(ingress.prefixOf(fake('127.0.0.2', {})), undefined);
    assert.equal(ingress.prefixOf(fake('::ffff:127.0.0.2', forged)), PREFIX);
    assert.equal(ingress.prefixOf(fake('127.0.0.2', { 'x-ingress-path': '/a/../b' })), undefined);
    assert.equal(ingress.prefixOf(fake('127.0.0.2', { 'x-ingress-path': '//evil.example/x' })), undefined);
    // With a login, direct access works as before.
    assert.equal(
      (await fetch(`${t.url}/api/cameras`, { headers: { authorization: 'Bearer api-token-123456' } })).status,
      200,
    );
  });
});
