// http.auth: login form + session cookie for people, HTTP Basic / token for programs, cameras unaffected.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SimulatedMjpeg2sdCamera } from '../src/simulator/mjpeg2sd-camera.js';
import { SimulatedNativeCamera } from '../src/simulator/native-camera.js';
import { freePort, startBridge, type TestBridge, waitFor } from './helpers/bridge.js';
import { MjpegClient } from './helpers/mjpeg-client.js';
import { PageWsClient } from './page-helpers.js';

const USER = 'admin';
const PASS = 'correct horse battery';
const TOKEN = 'tok-0123456789abcdef';
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

/** POST /login as the browser form does; returns status, location and the session cookie. */
async function login(
  url: string,
  fields: Record<string, string>,
): Promise<{
  status: number;
  location: string | null;
  cookie: string | undefined;
  setCookie: string | null;
  body: string;
}> {
  const res = await fetch(`${url}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
  const setCookie = res.headers.get('set-cookie');
  return {
    status: res.status,
    location: res.headers.get('location'),
    cookie: setCookie?.split(';')[0],
    setCookie,
    body: await res.text(),
  };
}

/** A WebSocket upgrade's HTTP status (101 when accepted). */
function upgradeStatus(url: string, pathname: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request({
      host: u.hostname,
      port: u.port,
      path: pathname,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
        ...headers,
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('http.auth with username, password and token', () => {
  let t: TestBridge;
  let cam: SimulatedNativeCamera;
  let legacy: SimulatedMjpeg2sdCamera;
  let dataDir: string;
  let port: number;
  before(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'cam2mqtt-auth-'));
    port = await freePort();
    t = await startBridge({ http: { port, auth: { username: USER, password: PASS, token: TOKEN } } }, { dataDir });
    // Cameras keep their own endpoints: no page credentials needed.
    cam = new SimulatedNativeCamera({
      url: `ws://127.0.0.1:${t.port}/api/camera`,
      id: 'door',
      fps: 10,
      width: 160,
      height: 120,
      hue: 10,
      idleIntervalMs: 100,
    });
    legacy = new SimulatedMjpeg2sdCamera({
      url: `ws://127.0.0.1:${t.port}/ws`,
      id: 'ESP-CAM-1',
      fps: 5,
      width: 160,
      height: 120,
      hue: 50,
    });
    cam.start();
    legacy.start();
    await waitFor(
      () => t.bridge.hub.get('door')?.latest && t.bridge.hub.get('esp-cam-1')?.latest,
      5000,
      'cameras connect without page credentials',
    );
  });
  after(async () => {
    await cam.stop();
    await legacy.stop();
    await t.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('sends people to the login form and programs a 401 with a Basic challenge', async () => {
    let res = await fetch(`${t.url}/`, { redirect: 'manual', headers: { Accept: 'text/html' } });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/login?next=%2F');
    for (const p of [
      '/api/cameras',
      '/api/cameras/door/snapshot.jpg',
      '/api/cameras/door/stream.mjpeg',
      '/api/presets',
      '/assets/app.js',
      '/api/cameras/door/log',
    ]) {
      res = await fetch(`${t.url}${p}`);
      assert.equal(res.status, 401, p);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Basic realm="cam2mqtt"/);
      await res.arrayBuffer();
    }
    res = await fetch(`${t.url}/api/cameras/door/command`, { method: 'POST', body: JSON.stringify({ lamp: true }) });
    assert.equal(res.status, 401, 'commands need auth too');
    assert.equal((await fetch(`${t.url}/healthz`)).status, 200, 'health stays public');
    res = await fetch(`${t.url}/login`);
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.match(html, /name="username"/);
    assert.match(html, /name="password"/);
    assert.match(res.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
  });

  it('refuses /api/ws without credentials but keeps the camera endpoints public', async () => {
    assert.equal(await upgradeStatus(t.url, '/api/ws'), 401);
    assert.equal(await upgradeStatus(t.url, '/api/ws?token=wrong-token-123'), 401);
    assert.equal(await upgradeStatus(t.url, `/api/ws?token=${TOKEN}`), 101);
    assert.ok(t.bridge.hub.get('door')!.online && t.bridge.hub.get('esp-cam-1')!.online);
  });

  it('logs in with the form: session cookie HttpOnly, SameSite=Strict, and it opens everything', async () => {
    const before = t.logs.length;
    const bad = await login(t.url, { username: USER, password: 'wrong', next: '/' });
    assert.equal(bad.status, 401);
    assert.equal(bad.setCookie, null);
    assert.match(bad.body, /Wrong username or password/);
    const refused = t.logs.slice(before).filter((l) => /login refused/.test(l.msg));
    assert.equal(refused.length, 1, 'one log line per refused login');
    assert.match(
      refused[0]!.msg,
      /login refused for user "admin" from 127\.0\.0\.1 \(login form, \/login\): wrong credentials \(1 failure\)/,
    );
    assert.ok(!refused[0]!.msg.includes('wrong'.repeat(2)) && !refused[0]!.msg.includes(PASS), 'never logs a password');

    const ok = await login(t.url, { username: USER, password: PASS, next: '/#cam=door' });
    assert.equal(ok.status, 303);
    assert.equal(ok.location, '/#cam=door');
    assert.match(ok.setCookie!, /^cam2mqtt_session=[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=604800$/);
    const headers = { Cookie: ok.cookie! };
    for (const p of ['/', '/assets/app.js', '/api/cameras', '/api/cameras/door/snapshot.jpg', '/api/presets']) {
      const res = await fetch(`${t.url}${p}`, { headers });
      assert.equal(res.status, 200, p);
      await res.arrayBuffer();
    }
    assert.equal(await upgradeStatus(t.url, '/api/ws', headers), 101);
    const page = new PageWsClient(t.url, { headers });
    await page.opened;
    const hello = await page.hello();
    assert.equal(hello.auth, true);
    assert.equal(hello.stream_token, TOKEN, 'a logged-in page can offer tokenised stream URLs');
    page.close();
    // Already logged in: /login leads back to the page.
    const again = await fetch(`${t.url}/login?next=/x`, { redirect: 'manual', headers });
    assert.equal(again.status, 303);
    assert.equal(again.headers.get('location'), '/x');
  });

  it('never redirects off-site after login', async () => {
    for (const next of ['//evil.example/', 'https://evil.example/', '/\\evil.example']) {
      const r = await login(t.url, { username: USER, password: PASS, next });
      assert.equal(r.location, '/', next);
    }
  });

  it('accepts HTTP Basic (user + password, or the token as password) and ?token= / Bearer for programs', async () => {
    const snap = `${t.url}/api/cameras/door/snapshot.jpg`;
    assert.equal((await fetch(snap, { headers: { Authorization: basic(USER, PASS) } })).status, 200);
    assert.equal((await fetch(snap, { headers: { Authorization: basic('vlc', TOKEN) } })).status, 200);
    assert.equal((await fetch(`${snap}?token=${TOKEN}`)).status, 200);
    assert.equal((await fetch(snap, { headers: { Authorization: `Bearer ${TOKEN}` } })).status, 200);
    const before = t.logs.length;
    assert.equal((await fetch(snap, { headers: { Authorization: basic(USER, 'nope') } })).status, 401);
    assert.equal((await fetch(`${snap}?token=not-the-token`)).status, 401);
    const lines = t.logs.slice(before).filter((l) => /login refused/.test(l.msg));
    assert.equal(lines.length, 2);
    assert.match(lines[0]!.msg, /user "admin" from 127\.0\.0\.1 \(HTTP Basic, \/api\/cameras\/door\/snapshot\.jpg\)/);
    assert.match(lines[1]!.msg, /a token from 127\.0\.0\.1 \(\?token=/);
    // MJPEG for VLC / Home Assistant with the token in the URL.
    const viewer = new MjpegClient(`${t.url}/api/cameras/door/stream.mjpeg?token=${TOKEN}`);
    try {
      await waitFor(() => viewer.parts.length >= 2, 3000, 'MJPEG parts with ?token=');
      assert.equal(viewer.status, 200);
    } finally {
      viewer.close();
    }
    const login2 = await login(t.url, { username: USER, password: PASS });
    assert.ok(login2.cookie, 'a success clears the failure count');
  });

  it('logs out: the cookie is cleared and that session no longer works', async () => {
    const { cookie } = await login(t.url, { username: USER, password: PASS });
    const headers = { Cookie: cookie! };
    assert.equal((await fetch(`${t.url}/api/cameras`, { headers })).status, 200);
    const out = await fetch(`${t.url}/logout`, { method: 'POST', redirect: 'manual', headers });
    assert.equal(out.status, 303);
    assert.match(out.headers.get('set-cookie') ?? '', /cam2mqtt_session=; .*Max-Age=0/);
    assert.equal((await fetch(`${t.url}/api/cameras`, { headers })).status, 401);
  });

  it('keeps sessions across a restart (signing key in the data dir, mode 0600) and ends them when the password changes', async () => {
    const { cookie } = await login(t.url, { username: USER, password: PASS });
    const headers = { Cookie: cookie! };
    assert.equal(statSync(path.join(dataDir, 'session.key')).mode & 0o777, 0o600);
    await cam.stop();
    await legacy.stop();
    await t.stop();
    t = await startBridge({ http: { port, auth: { username: USER, password: PASS, token: TOKEN } } }, { dataDir });
    const ok = await waitFor(
      async () => (await fetch(`${t.url}/api/cameras`, { headers })).status,
      2000,
      'bridge back',
    );
    assert.equal(ok, 200, 'still logged in after a restart');
    await t.stop();
    t = await startBridge(
      { http: { port, auth: { username: USER, password: 'a new password', token: TOKEN } } },
      { dataDir },
    );
    const after = await waitFor(
      async () => (await fetch(`${t.url}/api/cameras`, { headers })).status,
      2000,
      'bridge back',
    );
    assert.equal(after, 401, 'a password change signs everyone out');
  });
});

describe('failed logins are rate limited', () => {
  let t: TestBridge;
  before(async () => {
    t = await startBridge({ http: { auth: { username: USER, password: PASS } } });
  });
  after(async () => {
    await t.stop();
  });

  it('locks an address after five failures, even for the right password, with Retry-After', async () => {
    for (let i = 1; i <= 5; i++) {
      const r = await login(t.url, { username: USER, password: `guess-${i}` });
      assert.equal(r.status, i < 5 ? 401 : 401, `attempt ${i}`);
    }
    const locked = await login(t.url, { username: USER, password: PASS });
    assert.equal(locked.status, 429);
    assert.match(locked.body, /Too many failed attempts/);
    const api = await fetch(`${t.url}/api/cameras`, { headers: { Authorization: basic(USER, PASS) } });
    assert.equal(api.status, 429);
    assert.ok(Number(api.headers.get('retry-after')) > 0);
    const lines = t.logs.filter((l) => /login refused/.test(l.msg));
    assert.equal(lines.filter((l) => /wrong credentials/.test(l.msg)).length, 5);
    assert.match(lines[4]!.msg, /5 failures; address locked for 30 s/);
    assert.ok(lines.some((l) => /too many failed logins/.test(l.msg)));
  });
});

describe('token-only auth', () => {
  let t: TestBridge;
  before(async () => {
    t = await startBridge({ http: { auth: { token: TOKEN } } });
  });
  after(async () => {
    await t.stop();
  });

  it('asks for the token on the login form', async () => {
    const html = await (await fetch(`${t.url}/login`)).text();
    assert.match(html, /name="token"/);
    assert.doesNotMatch(html, /name="username"/);
    assert.equal((await login(t.url, { token: 'wrong-token-xx' })).status, 401);
    const ok = await login(t.url, { token: TOKEN });
    assert.equal(ok.status, 303);
    assert.equal((await fetch(`${t.url}/api/cameras`, { headers: { Cookie: ok.cookie! } })).status, 200);
  });
});

describe('without http.auth', () => {
  it('warns at startup that everything is open, and /login just leads to the page', async () => {
    const t = await startBridge({});
    try {
      assert.ok(
        t.logs.some(
          (l) =>
            l.level === 40 &&
            /http\.auth is not set: the page, the API and the streams are open to anyone on the network/.test(l.msg),
        ),
      );
      const res = await fetch(`${t.url}/login`, { redirect: 'manual' });
      assert.equal(res.status, 303);
      assert.equal(res.headers.get('location'), '/');
      assert.equal((await fetch(`${t.url}/`)).status, 200);
    } finally {
      await t.stop();
    }
  });
});
