import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, type TestContext, test } from 'node:test';
import WebSocket from 'ws';
import { Camera } from '../../src/hub/camera.js';
import { CameraStore } from '../../src/hub/store.js';
import { createLogger } from '../../src/logging.js';
import { jpegCycle } from '../../src/simulator/frames.js';
import { SimulatedNativeCamera } from '../../src/simulator/native-camera.js';
import { encodeFrame } from '../../src/sources/native/codec.js';
import { freePort, sleep, waitFor } from '../helpers/bridge.js';
import { Mjpeg2sdEmulator } from '../http-camera-emulators.js';
import { measureDuring, type Rig, startBridgeWithGoodCamera } from './harness.js';
import { assertHeldOnThisMachine, type Held } from './loaded.js';

/** The measured lag, in the test's output (the figures in the report come from here). */
const report = (t: TestContext, h: Held) =>
  t.diagnostic(
    `event loop lag ${h.lagMs.toFixed(1)} ms${h.quietLagMs !== undefined ? ` (quiet window: ${h.quietLagMs.toFixed(1)} ms, load average ${h.loadAvg?.toFixed(1)})` : ''}`,
  );

// Hostile input on the two camera WebSocket endpoints (/api/camera native, /ws MJPEG2SD), issue 13
// items 2, 3, 4 and 5. Each case sends what a stranger on the network could send, with a real bridge, a
// real good camera and a real MJPEG viewer beside it, and asserts the five bounds of the harness.

interface Client {
  ws: WebSocket;
  closed: Promise<{ code: number; reason: string }>;
}

async function dial(rig: Rig, wsPath: string, zeroMask = false): Promise<Client> {
  // zeroMask: an all-zero masking key makes ws send the caller's Buffer as it is, so an attacker in this
  // same process adds no copies of a big message to the RSS that the test measures for the bridge.
  const ws = new WebSocket(`ws://127.0.0.1:${rig.b.port}${wsPath}`, {
    perMessageDeflate: false,
    ...(zeroMask ? { generateMask: (mask: Buffer) => void mask.fill(0) } : {}),
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  ws.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, closed };
}

const hello = (id: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ type: 'hello', v: 1, id, ...extra });

// Rendered once at load: a simulator rendering its own pictures inside a measured window would put the
// test's JPEG encoding (and its garbage) into the bridge's lag.
const FRAMES = jpegCycle({ width: 160, height: 120, hue: 30, cycle: 2, quality: 70 });

/** 128 KiB of JSON that JSON.parse refuses and that made the old tolerant scan quadratic (7 s in the probe). */
const MALFORMED = `{${'"a":"b'.repeat(Math.ceil((128 * 1024) / 6))}`.slice(0, 128 * 1024);

/** A raw, masked client frame header announcing `len` payload bytes (RFC 6455, len < 65536). */
function partialFrameHeader(opcode: number, len: number): Buffer {
  const h = Buffer.alloc(8);
  h[0] = 0x80 | opcode;
  h[1] = 0x80 | 126;
  h.writeUInt16BE(len, 2);
  h.writeUInt32BE(0x01020304, 4); // mask key
  return h;
}

describe('camera WebSocket endpoints under hostile input', () => {
  let rig: Rig;
  let legacyPulled: Mjpeg2sdEmulator;

  before(async () => {
    legacyPulled = await new Mjpeg2sdEmulator({ fps: 10 }).listen();
    rig = await startBridgeWithGoodCamera({
      limits: { camera_timeout: 2, hello_timeout: 2 },
      mqtt: { enabled: true, port: await freePort() },
      cameras: {
        tokened: { token: 'secret-token-1' },
        porch: {
          mjpeg_url: `${legacyPulled.url}/sustain?stream=0`,
          reconnect: { min_delay: 0.2, max_delay: 1 },
          read_timeout: 3,
        },
      },
    });
    await waitFor(() => rig.b.bridge.hub.get('porch')?.online, 10_000, 'the pulled camera online');
  });

  after(async () => {
    await rig.stop();
    await legacyPulled.close();
  });

  test('128 KiB of malformed JSON on /ws before any hello: closed with 1009 unparsed, the loop never blocks', async (t) => {
    const m = await measureDuring(rig, async () => {
      const c = await dial(rig, '/ws');
      c.ws.send(MALFORMED);
      return c.closed;
    });
    assert.equal(m.result.code, 1009);
    report(
      t,
      await assertHeldOnThisMachine(rig, m, {
        logLine: /text message of 131072 bytes before the hello is larger than 4096 bytes/,
      }),
    );
  });

  test('the same 128 KiB as a native hello on /api/camera: closed with 1009, one log line', async (t) => {
    const m = await measureDuring(rig, async () => {
      const c = await dial(rig, '/api/camera');
      c.ws.send(MALFORMED);
      return c.closed;
    });
    assert.equal(m.result.code, 1009);
    report(
      t,
      await assertHeldOnThisMachine(rig, m, {
        logLine: /hello larger than 4096 bytes \(closed with 1009 before reading it\)/,
      }),
    );
  });

  test("the probe's five hellos with 3 MiB names: each refused unparsed (1009), memory back within bounds", async (t) => {
    const big = Buffer.from(hello('bigname', { name: 'N'.repeat(3 * 1024 * 1024) }));
    const m = await measureDuring(rig, async () => {
      const cs = await Promise.all([0, 1, 2, 3, 4].map(() => dial(rig, '/api/camera', true)));
      // One at a time, one shared Buffer, sent unmasked-in-effect (zero key): no copy in this process.
      for (const c of cs) {
        c.ws.send(big, { binary: false });
        await sleep(50);
      }
      return Promise.all(cs.map((c) => c.closed));
    });
    assert.deepEqual(
      m.result.map((r) => r.code),
      [1009, 1009, 1009, 1009, 1009],
    );
    assert.equal(rig.b.bridge.hub.get('bigname'), undefined);
    report(
      t,
      await assertHeldOnThisMachine(rig, m, {
        logLine: /hello larger than 4096 bytes \(closed with 1009 before reading it\)/,
        logCount: 5,
      }),
    );
  });

  test('an identified MJPEG2SD camera sending malformed JSON at the text limit: refused or scanned in linear time', async (t) => {
    const c = await dial(rig, '/ws');
    c.ws.send(`#1700000000|${JSON.stringify({ hostName: 'legacy-hostile', fw_version: '10.5' })}`);
    await waitFor(() => rig.b.bridge.hub.get('legacy-hostile')?.online, 5000, 'legacy camera online');
    // A real camera's frames keep it alive; this one sends none, so it pings, or on a loaded machine the
    // test outlasts camera_timeout (2 s) and the camera goes offline for that reason instead.
    const alive = setInterval(() => c.ws.ping(), 300);
    t.after(() => clearInterval(alive));
    const limit = 32 * 1024;
    const m = await measureDuring(rig, async () => {
      // Just under the limit: the tolerant scan runs on it (once, linear).
      for (let i = 0; i < 5; i++) c.ws.send(`{${'"a":"b'.repeat(Math.floor((limit - 100) / 6))}`);
      // Over the limit: refused before parsing.
      c.ws.send(MALFORMED);
      await sleep(300);
    });
    const cam = rig.b.bridge.hub.get('legacy-hostile')!;
    assert.ok(cam.online, 'the camera stays connected');
    assert.ok(String(cam.info.a ?? '').length <= 256);
    report(
      t,
      await assertHeldOnThisMachine(rig, m, {
        logLine: /refused a text message of 131072 bytes, larger than limits.max_text_bytes \(32768\)/,
      }),
    );
    c.ws.close();
    await c.closed;
  });

  test('a hello with a 3000-character name: stored, published and shown with at most 64', async (t) => {
    const longName = 'N'.repeat(3000);
    // Made before the window: rendering its pictures is the test's work, not the bridge's.
    const cam = new SimulatedNativeCamera({
      url: `ws://127.0.0.1:${rig.b.port}/api/camera`,
      id: 'longname',
      name: longName,
      fps: 2,
      width: 160,
      height: 120,
      frames: FRAMES,
      hue: 30,
    });
    const m = await measureDuring(rig, async () => {
      cam.start();
      await waitFor(() => rig.b.bridge.hub.get('longname')?.online, 5000, 'longname online');
      return cam;
    });
    const api = (await (await fetch(`${rig.url}/api/cameras`)).json()) as { cameras?: { id: string; name: string }[] };
    const list = Array.isArray(api) ? (api as { id: string; name: string }[]) : (api.cameras ?? []);
    const shown = list.find((c) => c.id === 'longname');
    assert.ok(shown, 'listed in the API');
    assert.ok(shown.name.length <= 64, `API name of ${shown.name.length} chars`);
    const file = path.join(rig.b.dataDir, 'cameras.json');
    await waitFor(() => readFileSync(file, 'utf8').includes('"longname"'), 5000, 'cameras.json written');
    const stored = JSON.parse(readFileSync(file, 'utf8')) as { cameras: Record<string, { name: string }> };
    assert.ok(stored.cameras.longname!.name.length <= 64);
    assert.ok(readFileSync(file).length < 64 * 1024, 'cameras.json stays small');
    // No log line is promised for a cut name; the bounds still hold.
    report(t, await assertHeldOnThisMachine(rig, m));
    await m.result.stop();
  });

  test('info messages with thousands of new keys: at most 64 kept, values cut to 256, one summary line', async (t) => {
    const cam = new SimulatedNativeCamera({
      url: `ws://127.0.0.1:${rig.b.port}/api/camera`,
      id: 'infoflood',
      fps: 2,
      width: 160,
      height: 120,
      frames: FRAMES,
      hue: 60,
    }).start();
    await waitFor(() => rig.b.bridge.hub.get('infoflood')?.online, 5000, 'infoflood online');
    // Built before the window: the test's own JSON work must not count as the bridge's lag.
    const texts: string[] = [];
    for (let n = 0; n < 10; n++) {
      const info: Record<string, string> = { big: 'x'.repeat(5000) };
      for (let i = 0; i < 1500; i++) info[`k${n}_${i}`] = 'v';
      texts.push(JSON.stringify({ type: 'info', info }));
    }
    const m = await measureDuring(rig, async () => {
      for (const t of texts) {
        cam.ws!.send(t);
        await sleep(20);
      }
      await sleep(500);
    });
    const c = rig.b.bridge.hub.get('infoflood')!;
    assert.ok(Object.keys(c.info).length <= 64, `${Object.keys(c.info).length} info keys kept`);
    assert.ok(String(c.info.big).length <= 256);
    assert.ok(c.droppedInfoKeys > 14_000);
    report(t, await assertHeldOnThisMachine(rig, m, { logLine: /camera infoflood: dropped \d+ info key\(s\)/ }));
    await cam.stop();
  });

  test('a hello id longer than 64 characters: closed with 4000, one log line', async (t) => {
    const m = await measureDuring(rig, async () => {
      const c = await dial(rig, '/api/camera');
      c.ws.send(hello('x'.repeat(65)));
      return c.closed;
    });
    assert.equal(m.result.code, 4000);
    report(t, await assertHeldOnThisMachine(rig, m, { logLine: /hello id of 65 characters is longer than 64/ }));
  });

  test('a dial-in hello with the id of a pulled camera: refused with 4003, the pulled camera keeps pulling', async (t) => {
    const porch = rig.b.bridge.hub.get('porch')!;
    const m = await measureDuring(rig, async () => {
      const native = await dial(rig, '/api/camera');
      native.ws.send(hello('porch'));
      const legacy = await dial(rig, '/ws');
      legacy.ws.send(`#1700000000|${JSON.stringify({ hostName: 'porch' })}`);
      return [await native.closed, await legacy.closed];
    });
    assert.deepEqual(
      m.result.map((r) => r.code),
      [4003, 4003],
    );
    report(
      t,
      await assertHeldOnThisMachine(rig, m, {
        logLine: /camera id "porch" belongs to a camera the bridge pulls over HTTP/,
        logCount: 2,
      }),
    );
    assert.equal(porch.protocol, 'mjpeg');
    const before = porch.frames;
    await waitFor(() => porch.frames >= before + 5, 5000, 'the pulled camera still pulling');
    assert.ok(porch.online);
  });

  test('newest-wins needs the token once one is configured; an untokened camera can be replaced', async (t) => {
    const owner = new SimulatedNativeCamera({
      url: `ws://127.0.0.1:${rig.b.port}/api/camera`,
      id: 'tokened',
      token: 'secret-token-1',
      fps: 5,
      width: 160,
      height: 120,
      frames: FRAMES,
      hue: 200,
    }).start();
    await waitFor(() => rig.b.bridge.hub.get('tokened')?.online, 5000, 'tokened online');
    const ownerWs = owner.ws;
    const m = await measureDuring(rig, async () => {
      const none = await dial(rig, '/api/camera');
      none.ws.send(hello('tokened'));
      const wrong = await dial(rig, '/api/camera');
      wrong.ws.send(hello('tokened', { token: 'guess' }));
      return [await none.closed, await wrong.closed];
    });
    assert.deepEqual(
      m.result.map((r) => r.code),
      [4001, 4001],
    );
    report(
      t,
      await assertHeldOnThisMachine(rig, m, { logLine: /camera tokened: (token required|wrong token)/, logCount: 2 }),
    );
    assert.equal(owner.ws, ownerWs, 'the owner kept its connection');
    assert.ok(rig.b.bridge.hub.get('tokened')!.online);
    await owner.stop();

    // Without a token, as documented: the newest connection wins (4004 for the old one).
    const first = await dial(rig, '/api/camera');
    first.ws.send(hello('untokened'));
    await waitFor(() => rig.b.bridge.hub.get('untokened')?.online, 5000, 'untokened online');
    const second = await dial(rig, '/api/camera');
    second.ws.send(hello('untokened'));
    assert.equal((await first.closed).code, 4004);
    second.ws.close();
    await second.closed;
  });

  test('half a WebSocket frame, then silence, after the hello: the camera goes offline (camera_timeout)', async (t) => {
    const m = await measureDuring(rig, async () => {
      const c = await dial(rig, '/api/camera');
      c.ws.send(hello('halfframe'));
      await waitFor(() => rig.b.bridge.hub.get('halfframe')?.online, 5000, 'halfframe online');
      // A binary frame announcing 1000 bytes, of which 10 arrive; the socket stays open.
      const sock = (c.ws as unknown as { _socket: import('node:net').Socket })._socket;
      sock.write(Buffer.concat([partialFrameHeader(0x2, 1000), encodeFrame(1, Date.now(), Buffer.alloc(10))]));
      await waitFor(() => !rig.b.bridge.hub.get('halfframe')!.online, 6000, 'halfframe offline');
      return c.closed;
    });
    assert.equal(m.result.code, 4008);
    report(
      t,
      await assertHeldOnThisMachine(rig, m, {
        logLine: /camera halfframe: nothing received for \d+ s, closing its connection/,
      }),
    );
  });

  test('half a text frame before any hello, then silence: closed after hello_timeout', async (t) => {
    const m = await measureDuring(rig, async () => {
      const c = await dial(rig, '/ws');
      const sock = (c.ws as unknown as { _socket: import('node:net').Socket })._socket;
      sock.write(Buffer.concat([partialFrameHeader(0x1, 2000), Buffer.from('{"hostName":')]));
      return c.closed;
    });
    assert.equal(m.result.code, 4008);
    report(t, await assertHeldOnThisMachine(rig, m, { logLine: /sent no hello within 2 s, closing it/ }));
  });
});

describe('the known-camera store (cameras.json) under hostile growth', () => {
  const silent = createLogger({ level: 'silent', format: 'json' });

  test('a file from the probe (5 cameras with 3 MiB names) loads bounded and is rewritten small', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cam2mqtt-store-'));
    try {
      const file = path.join(dir, 'cameras.json');
      const cameras: Record<string, unknown> = {};
      for (let i = 0; i < 5; i++)
        cameras[`big${i}`] = { id: `big${i}`, name: 'N'.repeat(3 * 1024 * 1024), capabilities: ['x'.repeat(5000)] };
      writeFileSync(file, JSON.stringify({ version: 1, cameras }));
      const store = new CameraStore(file, silent, 10);
      const loaded = store.load();
      assert.equal(loaded.length, 5);
      for (const c of loaded) {
        assert.ok(c.name.length <= 64);
        assert.ok(c.capabilities.every((x) => x.length <= 32));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('more new ids than limits.max_cameras: the store keeps max_cameras, one log line, a bounded file', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cam2mqtt-store-'));
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push((JSON.parse(l) as { msg: string }).msg);
        cb();
      },
    });
    try {
      const file = path.join(dir, 'cameras.json');
      const store = new CameraStore(file, createLogger({ level: 'info', format: 'json', destination: sink }), 10, 20);
      for (let i = 0; i < 500; i++) {
        const cam = new Camera(`cam${i}`, 'N'.repeat(64));
        cam.lastSeen = Date.now() + i;
        cam.capabilities = new Set(Array.from({ length: 32 }, (_, k) => `cap${k}`.padEnd(32, 'x')));
        store.upsert(cam);
      }
      await store.close();
      const data = JSON.parse(readFileSync(file, 'utf8')) as { cameras: Record<string, unknown> };
      assert.equal(Object.keys(data.cameras).length, 20);
      assert.ok(data.cameras.cam499 && !data.cameras.cam0, 'the longest-unseen cameras were forgotten');
      assert.ok(statSync(file).size < 20 * 2048, `${statSync(file).size} bytes on disk`);
      assert.equal(lines.filter((l) => /limits.max_cameras \(20\) reached/.test(l)).length, 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
