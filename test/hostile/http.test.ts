import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { safeNext } from '../../src/http/auth/index.js';
import { redactText, redactUrl } from '../../src/util/redact.js';
import { sleep, waitFor } from '../helpers/bridge.js';
import { runNode } from '../helpers/cli.js';
import { StillsEmulator } from '../http-camera-emulators.js';
import { assertHeld, measureDuring, type Rig, startBridgeWithGoodCamera } from './harness.js';

// Hostile HTTP and auth input against a real bridge (issue 13, items 1, 6, 7 and 8): each case sends
// the input and checks that the bridge stayed up, the good camera's MJPEG viewer kept its frame rate,
// RSS and event loop lag stayed bounded, and the one log line was written.

const USER = 'admin';
const PASS = 'correct horse battery';
const TOKEN = 'tok-0123456789abcdef';
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

/** Send raw bytes on a fresh TCP connection; resolves with everything the server sent before closing. */
function raw(port: number, text: string | Buffer, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      s.destroy();
      resolve(Buffer.concat(chunks).toString('latin1'));
    }, timeoutMs);
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', (err) => {
      clearTimeout(timer);
      if (chunks.length) resolve(Buffer.concat(chunks).toString('latin1'));
      else reject(err);
    });
    s.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
    s.write(text);
  });
}

const statusOf = (response: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);

async function loginForm(url: string, form: Record<string, string>, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
  await res.arrayBuffer();
  const setCookie = res.headers.get('set-cookie');
  return { status: res.status, location: res.headers.get('location'), cookie: setCookie?.split(';')[0] };
}

describe('hostile HTTP, default settings (no login)', () => {
  let rig: Rig;
  before(async () => {
    rig = await startBridgeWithGoodCamera();
  });
  after(async () => {
    await rig.stop();
  });

  it('baseline: ordinary requests hold every bound (the harness itself)', async () => {
    const m = await measureDuring(rig, async () => {
      for (let i = 0; i < 20; i++) await (await fetch(`${rig.url}/api/cameras`)).arrayBuffer();
    });
    assertHeld(m);
  });

  it('GET /assets/%E0%A4%A (a cut UTF-8 escape) and /api/cameras/%ZZ: 400 and one log line, not an exit', async () => {
    const m = await measureDuring(rig, async () => {
      const a = await fetch(`${rig.url}/assets/%E0%A4%A`);
      const b = await fetch(`${rig.url}/api/cameras/%ZZ/snapshot.jpg`);
      return { a: a.status, aBody: await a.text(), b: b.status, bBody: await b.text() };
    });
    assert.equal(m.result.a, 400);
    assert.match(m.result.aBody, /malformed percent-escape/);
    assert.equal(m.result.b, 400);
    // Two bad URLs, one throttled line (a flood of them cannot flood the log either).
    assertHeld(m, { logLine: /refused GET \/assets\/%E0%A4%A from 127\.0\.0\.1: malformed percent-escape/ });
  });

  it('malformed request lines, headers and chunked bodies: 400 (431 for huge headers) and one log line for all', async () => {
    const m = await measureDuring(rig, async () =>
      Promise.all([
        raw(rig.b.port, 'GET / HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n'),
        raw(rig.b.port, 'GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n'),
        raw(
          rig.b.port,
          'PUT /api/presets HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nxx\r\n0\r\n\r\n',
        ),
        raw(rig.b.port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`),
        raw(rig.b.port, 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n'),
      ]),
    );
    assert.deepEqual(m.result.map(statusOf), [400, 400, 400, 431, 400]);
    assertHeld(m, { logLine: /refused a malformed request from 127\.0\.0\.1: HPE_/ });
  });

  it('malformed JSON and oversize bodies: 400 / 413 and one log line', async () => {
    const m = await measureDuring(rig, async () => {
      const bad = await fetch(`${rig.url}/api/presets`, { method: 'PUT', body: '{"name": ' });
      await bad.arrayBuffer();
      const big = await fetch(`${rig.url}/api/cameras/good/command`, { method: 'POST', body: 'x'.repeat(200_000) });
      await big.arrayBuffer();
      return { bad: bad.status, big: big.status };
    });
    assert.deepEqual(m.result, { bad: 400, big: 413 });
    assertHeld(m, { logLine: /refused PUT \/api\/presets from 127\.0\.0\.1: 400 request body is not valid JSON/ });
  });

  it('an upgrade with a malformed URL or an unknown path is refused; nothing crashes', async () => {
    const up = (path: string) =>
      raw(
        rig.b.port,
        `GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
      );
    const m = await measureDuring(rig, async () => Promise.all([up('//['), up('/api/%ZZ'), up('/ws%E0%A4%A')]));
    assert.deepEqual(m.result.map(statusOf), [400, 404, 404]);
    assertHeld(m, { logLine: /refused GET \/\/\[ from 127\.0\.0\.1: malformed URL/ });
  });

  it('a flood of 300 malformed requests: every one answered 400, one log line, the viewer unaffected', async () => {
    const m = await measureDuring(rig, async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 30; i++)
        statuses.push(
          ...(await Promise.all(
            Array.from({ length: 10 }, async (_, j) => {
              const r = await fetch(`${rig.url}/assets/%ZZ${i}${j}`);
              await r.arrayBuffer();
              return r.status;
            }),
          )),
        );
      return statuses;
    });
    assert.deepEqual(
      m.result.filter((s) => s !== 400),
      [],
      'every request answered 400',
    );
    // One line, then at most one summary per 10 s (the first case's line may still hold this one back).
    const lines = m.logLines.filter((l) => /malformed percent-escape/.test(l.msg)).length;
    const allowed = Math.ceil(m.windowMs / 10_000);
    assert.ok(lines <= allowed, `at most ${allowed} log line(s) for the flood over ${m.windowMs} ms, got ${lines}`);
    assertHeld(m);
  });
});

describe('hostile HTTP with http.auth on', () => {
  let rig: Rig;
  let cam: StillsEmulator;
  before(async () => {
    cam = await new StillsEmulator().listen();
    rig = await startBridgeWithGoodCamera(
      {
        http: { auth: { username: USER, password: PASS, token: TOKEN } },
        cameras: {
          yard: {
            snapshot_url: `http://admin:hunter2@127.0.0.1:${cam.port}/capture?user=admin&pwd=hunter2&size=vga`,
            snapshot_poll_interval: 0.5,
          },
        },
      },
      { viewerQuery: `?token=${TOKEN}` },
    );
  });
  after(async () => {
    await rig.stop();
    await cam.close();
  });

  it('GET /api/cameras/%ZZ/snapshot.jpg?token=...: 400 and one log line, not an exit', async () => {
    const m = await measureDuring(rig, async () => {
      const r = await fetch(`${rig.url}/api/cameras/%ZZ/snapshot.jpg?token=${TOKEN}`);
      return r.status;
    });
    assert.equal(m.result, 400);
    assertHeld(m, {
      logLine:
        /refused GET \/api\/cameras\/%ZZ\/snapshot\.jpg\?token=\*\*\* from 127\.0\.0\.1: malformed percent-escape/,
    });
    assert.ok(!rig.b.logText().includes(TOKEN), 'the token never reaches the log');
  });

  it('/healthz without login: only status, version and counts; with a login: details, credentials masked', async () => {
    const m = await measureDuring(rig, async () => {
      const pub = await (await fetch(`${rig.url}/healthz`)).text();
      const priv = await (await fetch(`${rig.url}/healthz`, { headers: { Authorization: `Bearer ${TOKEN}` } })).text();
      const api = await (await fetch(`${rig.url}/api/cameras/yard?token=${TOKEN}`)).text();
      return { pub, priv, api };
    });
    const pub = JSON.parse(m.result.pub) as Record<string, unknown>;
    assert.deepEqual(Object.keys(pub).sort(), ['cameras', 'online', 'status', 'uptime', 'version', 'viewers']);
    assert.equal(pub.cameras, 2);
    assert.doesNotMatch(m.result.pub, /127\.0\.0\.1|hunter2|capture|yard/);
    assert.doesNotMatch(m.result.priv, /hunter2/);
    assert.match(m.result.priv, /pwd=\*\*\*/);
    assert.match(m.result.priv, /"viewers":1/);
    assert.doesNotMatch(m.result.api, /hunter2/);
    assert.match(m.result.api, /capture\?user=\*\*\*&pwd=\*\*\*&size=vga/);
    assertHeld(m);
    // Neither in any log line since the start (the "pulling stills from ..." line included).
    assert.ok(
      rig.b.logs.some((l) => /pulling stills from http:\/\/127\.0\.0\.1:\d+\/capture\?user=\*\*\*/.test(l.msg)),
    );
    assert.ok(!rig.b.logText().includes('hunter2'), 'no log line shows the password');
    // What the MQTT info document and the page carry (infoPayload / the page socket read cam.info).
    const source = String(rig.b.bridge.hub.get('yard')?.info.source);
    assert.match(source, /^http:\/\/127\.0\.0\.1:\d+\/capture\?user=\*\*\*&pwd=\*\*\*&size=vga$/);
  });

  it('redirects stay on the site: /login?next= and POST /login with //, /\\, /%09/ and absolute URLs lead to /', async () => {
    const hostile = [
      '/%09/evil-host/pwned',
      '//evil-host/pwned',
      '/\\evil-host/pwned',
      '/%2F/evil-host',
      '/%5Cevil-host',
      'https://evil-host/',
      '/\t/evil-host',
      '/%0d%0aSet-Cookie:x=1',
    ];
    const m = await measureDuring(rig, async () => {
      const session = await loginForm(rig.url, { username: USER, password: PASS, next: '/' });
      const out: { next: string; get: string | null; post: string | null }[] = [];
      for (const next of hostile) {
        const get = await fetch(`${rig.url}/login?next=${encodeURIComponent(next)}`, {
          redirect: 'manual',
          headers: { Cookie: session.cookie! },
        });
        await get.arrayBuffer();
        const post = await loginForm(rig.url, { username: USER, password: PASS, next });
        out.push({ next, get: get.headers.get('location'), post: post.location });
      }
      const fine = await loginForm(rig.url, { username: USER, password: PASS, next: '/#cam=good' });
      return { out, fine: fine.location };
    });
    for (const r of m.result.out) assert.deepEqual([r.get, r.post], ['/', '/'], `next=${JSON.stringify(r.next)}`);
    assert.equal(m.result.fine, '/#cam=good', 'a same-site next is kept');
    assertHeld(m);
  });

  it('a client with wrong passwords is locked; the token and a session still pass from the same address', async () => {
    const session = await loginForm(rig.url, { username: USER, password: PASS, next: '/' });
    assert.ok(session.cookie);
    const m = await measureDuring(rig, async () => {
      const wrong: number[] = [];
      for (let i = 0; i < 6; i++)
        wrong.push(
          (await fetch(`${rig.url}/api/cameras`, { headers: { Authorization: basic(USER, `guess-${i}`) } })).status,
        );
      const password = (await fetch(`${rig.url}/api/cameras`, { headers: { Authorization: basic(USER, PASS) } }))
        .status;
      const bearer = (await fetch(`${rig.url}/api/cameras`, { headers: { Authorization: `Bearer ${TOKEN}` } })).status;
      const query = (await fetch(`${rig.url}/api/cameras?token=${TOKEN}`)).status;
      const basicToken = (await fetch(`${rig.url}/api/cameras`, { headers: { Authorization: basic('ha', TOKEN) } }))
        .status;
      const cookie = (await fetch(`${rig.url}/api/cameras`, { headers: { Cookie: session.cookie! } })).status;
      const tokenForm = await loginForm(rig.url, { username: USER, password: TOKEN, next: '/' });
      // X-Forwarded-For from an untrusted peer is ignored: a new "client" is still the locked address.
      const spoofed = (
        await fetch(`${rig.url}/api/cameras`, {
          headers: { Authorization: basic(USER, PASS), 'X-Forwarded-For': '198.51.100.7' },
        })
      ).status;
      return { wrong, password, bearer, query, basicToken, cookie, tokenForm: tokenForm.status, spoofed };
    });
    assert.deepEqual(m.result.wrong, [401, 401, 401, 401, 401, 429]);
    assert.equal(m.result.password, 429, 'a guessable password is not even checked while locked');
    assert.equal(m.result.spoofed, 429);
    assert.deepEqual(
      [m.result.bearer, m.result.query, m.result.basicToken, m.result.cookie, m.result.tokenForm],
      [200, 200, 200, 200, 303],
      'token and session are never blocked',
    );
    assertHeld(m, { logLine: /5 failures; address locked for 30 s/ });
    // The good viewer (on ?token=) is still streaming: measured by assertHeld's frame rate.
  });
});

describe('rate limits per client behind a trusted proxy (http.trusted_proxies)', () => {
  let rig: Rig;
  before(async () => {
    rig = await startBridgeWithGoodCamera(
      { http: { auth: { username: USER, password: PASS, token: TOKEN }, trusted_proxies: ['127.0.0.1', '::1'] } },
      { viewerQuery: `?token=${TOKEN}` },
    );
  });
  after(async () => {
    await rig.stop();
  });

  it('one client guessing behind the proxy is locked; another client behind the same proxy logs in', async () => {
    const via = (client: string) => ({ 'X-Forwarded-For': `${client}, 127.0.0.1` });
    const m = await measureDuring(rig, async () => {
      const guesses: number[] = [];
      for (let i = 0; i < 6; i++)
        guesses.push((await loginForm(rig.url, { username: USER, password: `guess-${i}` }, via('203.0.113.5'))).status);
      const attacker = (await loginForm(rig.url, { username: USER, password: PASS }, via('203.0.113.5'))).status;
      const owner = await loginForm(rig.url, { username: USER, password: PASS, next: '/' }, via('198.51.100.7'));
      // A client cannot pose as another by writing its own X-Forwarded-For: the proxy's entry (the
      // rightmost untrusted one) counts.
      const forged = (
        await loginForm(
          rig.url,
          { username: USER, password: PASS },
          { 'X-Forwarded-For': '198.51.100.7, 203.0.113.5, 127.0.0.1' },
        )
      ).status;
      return { guesses, attacker, owner: owner.status, forged };
    });
    assert.deepEqual(m.result.guesses, [401, 401, 401, 401, 401, 429]);
    assert.equal(m.result.attacker, 429);
    assert.equal(m.result.owner, 303, 'another client behind the same proxy is not locked out');
    assert.equal(m.result.forged, 429);
    assertHeld(m, { logLine: /login refused for user "admin" from 203\.0\.113\.5 .*5 failures; address locked/ });
    const health = (await (await fetch(`${rig.url}/healthz?token=${TOKEN}`)).json()) as {
      auth: { locked_addresses: number };
    };
    assert.equal(health.auth.locked_addresses, 1);
  });
});

describe('the last-resort guard (a bridge in its own process)', () => {
  const FIXTURE = fileURLToPath(new URL('./fixtures/faulty-bridge.js', import.meta.url));
  const spawnFaulty = (env: Record<string, string> = {}) => runNode(FIXTURE, [], env);

  // Changed with issue 15: a timer a handler starts and leaves behind is no longer pinned on its request
  // (that took an AsyncLocalStorage, which costs every promise and callback of the process); an
  // exception there is a bug outside any request, as in the next test. Listeners of the request, the
  // response and an upgraded socket are still the request's.
  it("an exception escaping a request (its listeners, a WebSocket's) is logged and drops only that request", async () => {
    const f = spawnFaulty();
    try {
      const port = Number((await waitFor(() => /READY (\d+)/.exec(f.out())?.[1], 15_000, 'the bridge ready'))!);
      const base = `http://127.0.0.1:${port}`;
      await (await fetch(`${base}/faulty/listener`)).arrayBuffer();
      const body = await fetch(`${base}/faulty/body`, { method: 'POST', body: 'x'.repeat(100) }).then(
        (r) => r.status,
        () => 'dropped',
      );
      assert.equal(body, 'dropped', 'the request whose listener failed is dropped');
      const async = await fetch(`${base}/faulty/async`);
      assert.equal(async.status, 500);
      await async.arrayBuffer();
      const ws = new WebSocket(`ws://127.0.0.1:${port}/faulty/ws`);
      await new Promise<void>((resolve, reject) => {
        ws.on('open', () => ws.send('hello'));
        ws.on('close', () => resolve());
        ws.on('error', reject);
      });
      await waitFor(
        () => (f.out().match(/the request was dropped and the bridge keeps serving/g) ?? []).length >= 3,
        5000,
        'three log lines',
      );
      assert.equal(f.proc.exitCode, null, `the process is still running:\n${f.out()}`);
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
      assert.match(f.out(), /GET \/faulty\/listener failed \(in a 'finish' event\), the request was dropped/);
      assert.match(f.out(), /POST \/faulty\/body failed \(in a 'data' event\).*bug in a request body listener/);
      assert.match(f.out(), /upgrade \/faulty\/ws failed \(in a 'data' event\).*bug in a WebSocket message listener/);
      assert.match(f.out(), /GET \/faulty\/async failed: Error: bug in an async handler/);
    } finally {
      f.proc.kill('SIGTERM');
      await f.exit;
    }
  });

  it('a bug outside any request still ends the process with code 1 and its stack', async () => {
    const f = spawnFaulty({ FAULTY_OUTSIDE: '1' });
    const code = await Promise.race([f.exit, sleep(15_000).then(() => 'timeout')]);
    if (code === 'timeout') f.proc.kill('SIGKILL');
    assert.equal(code, 1, f.out());
    assert.match(f.out(), /Error: bug outside any request/);
  });
});

describe('redactUrl and safeNext (the two pure functions behind items 6 and 7)', () => {
  it('masks userinfo passwords and password-like query values, keeps everything else byte for byte', () => {
    assert.equal(redactUrl('http://admin:hunter2@cam:81/stream?a=1'), 'http://admin:***@cam:81/stream?a=1');
    assert.equal(
      redactUrl('http://cam/snapshot.cgi?user=admin&pwd=hunter2&res=%20x#f'),
      'http://cam/snapshot.cgi?user=***&pwd=***&res=%20x#f',
    );
    assert.equal(
      redactUrl('https://cam/x?Password=a&token=b&api_key=c&q=d'),
      'https://cam/x?Password=***&token=***&api_key=***&q=d',
    );
    assert.equal(redactUrl('http://token@cam/'), 'http://token@cam/');
    assert.equal(redactUrl('not a url'), 'not a url');
    assert.equal(
      redactText('GET http://a:b@cam/x?pwd=1 failed; then rtsp://u:p@cam2/'),
      'GET http://a:***@cam/x?pwd=*** failed; then rtsp://u:***@cam2/',
    );
    // Linear on hostile text: a long run that almost looks like schemes.
    const t0 = Date.now();
    redactText(`${'a.'.repeat(200_000)}://${'x'.repeat(100_000)}`);
    assert.ok(Date.now() - t0 < 2000, 'redactText is linear');
  });

  it('safeNext keeps same-site paths and turns everything else into /', () => {
    for (const ok of ['/', '/#cam=door', '/api/cameras?x=1', '/a/b%20c']) assert.equal(safeNext(ok), ok);
    for (const bad of [
      '//evil',
      '/\\evil',
      '/\t/evil',
      '/%09/evil',
      '/%2F/evil',
      '/%5Cevil',
      'https://evil/',
      'evil',
      '',
      '/%E0%A4%A',
      '/login?next=//evil',
      '/x\r\nSet-Cookie: a=b',
      undefined,
      ['/'],
    ])
      assert.equal(safeNext(bad), '/', JSON.stringify(bad));
  });
});
