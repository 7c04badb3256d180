import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import type { Camera } from '../src/hub/camera.js';
import { SimulatedMjpeg2sdCamera } from '../src/simulator/mjpeg2sd-camera.js';
import { classify, parseBinary, parseLooseJson, parseText } from '../src/sources/mjpeg2sd/codec.js';
import { startBridge, type TestBridge, waitFor } from './helpers/bridge.js';

const camWhen = (t: TestBridge, id: string, pred: (c: Camera) => unknown, label: string, ms = 3000) =>
  waitFor(
    () => {
      const c = t.bridge.hub.get(id);
      return c && pred(c) ? c : undefined;
    },
    ms,
    label,
  );

/** A fake JPEG of n bytes: FF D8 ... FF D9, random inside. */
const fakeJpeg = (n: number) =>
  Buffer.concat([Buffer.from([0xff, 0xd8]), randomBytes(n - 4), Buffer.from([0xff, 0xd9])]);
const now = () => Math.floor(Date.now() / 1000);

async function rawLegacy(t: TestBridge): Promise<{ ws: WebSocket; texts: string[] }> {
  const ws = new WebSocket(`ws://127.0.0.1:${t.port}/ws`);
  const texts: string[] = [];
  ws.on('message', (d, bin) => {
    if (!bin) texts.push(d.toString());
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return { ws, texts };
}

describe('MJPEG2SD codec', () => {
  it('parses #epoch|payload and tolerates garbage times', () => {
    assert.deepEqual(parseText(`#${1763734575}|MotionStart`), { epoch: 1763734575, payload: 'MotionStart' });
    assert.deepEqual(parseText('#12|framesize=8'), { epoch: undefined, payload: 'framesize=8' });
    assert.deepEqual(parseText('Connected'), { epoch: undefined, payload: 'Connected' });
  });

  it('splits JPEG and ASCII epoch suffix; garbage suffix falls back', () => {
    const j = fakeJpeg(100);
    assert.deepEqual(parseBinary(Buffer.concat([j, Buffer.from('1763734575')])), {
      jpegLength: 100,
      epoch: 1763734575,
    });
    assert.deepEqual(parseBinary(Buffer.concat([j, Buffer.from('17x')])), { jpegLength: 100, epoch: undefined });
    assert.deepEqual(parseBinary(Buffer.concat([j, Buffer.from('42')])), { jpegLength: 100, epoch: undefined });
    assert.deepEqual(parseBinary(j), { jpegLength: 100, epoch: undefined });
    assert.equal(parseBinary(Buffer.from('89504e470d0a1a0a0000', 'hex')), undefined);
  });

  it('reads sprintf-built JSON with unescaped quotes', () => {
    const data = parseLooseJson('{"hostName":"Bob\'s "cam"","framesize":"9","wifi_rssi":"-60 dBm","free_heap":123}');
    assert.equal(data?.hostName, 'Bob\'s "cam"');
    assert.equal(data?.framesize, '9');
    assert.equal(data?.free_heap, 123);
    assert.deepEqual(classify('lampLevel=15'), { kind: 'setting', key: 'lampLevel', value: '15' });
    assert.deepEqual(classify('MotionEnd'), { kind: 'motion', on: false });
  });

  it('the linear tolerant scan finds exactly what the old regular expression found', () => {
    // The expression it replaced (quadratic on long malformed input, fine on these short ones).
    const old = (text: string) => {
      const out: Record<string, string | number | boolean> = {};
      const re = /"([^"]{1,64})"\s*:\s*(?:"([\s\S]*?)"(?=\s*[,}])|(-?\d+(?:\.\d+)?|true|false))/g;
      let m: RegExpExecArray | null;
      let n = 0;
      while ((m = re.exec(text))) {
        n++;
        if (m[2] !== undefined) out[m[1]!] = m[2];
        else out[m[1]!] = m[3] === 'true' ? true : m[3] === 'false' ? false : Number(m[3]);
      }
      return n > 0 ? out : undefined;
    };
    const pieces = ['"', ':', ',', '}', '{', ' ', '\n', 'a', 'b', '1', '-', '.', 'true', 'false', '\\', '\u00a0'];
    let seed = 13;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    let compared = 0;
    for (let t = 0; t < 20_000; t++) {
      let s = '{';
      const len = Math.floor(rnd() * 30);
      for (let i = 0; i < len; i++) s += pieces[Math.floor(rnd() * pieces.length)];
      try {
        JSON.parse(s);
        continue; // valid JSON never reaches the scan
      } catch {
        compared++;
      }
      assert.deepEqual(parseLooseJson(s), old(s), `input ${JSON.stringify(s)}`);
    }
    assert.ok(compared > 15_000);
  });
});

describe('MJPEG2SD cameras on /ws', () => {
  let t: TestBridge;
  before(async () => {
    t = await startBridge({ limits: { command_timeout: 1.5 } });
  });
  after(async () => {
    await t.stop();
  });

  it('frames before the hello, garbage time, then hello: one camera with the frame kept', async () => {
    const { ws } = await rawLegacy(t);
    const early = fakeJpeg(2000);
    ws.send(Buffer.concat([early, Buffer.from('9')]));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(t.bridge.hub.get('esp-cam_mjpeg_904caaf23a08'), undefined);
    ws.send(
      '#0|{"hostName":"ESP-CAM_MJPEG_904CAAF23A08","framesize":"9","fw_version":"8.8","wifi_rssi":"-60 dBm","free_heap":"151000","camModel":"OV2640","lampLevel":"15"}',
    );
    const cam = await camWhen(t, 'esp-cam_mjpeg_904caaf23a08', (c) => c.latest, 'camera with early frame');
    assert.ok(cam.latest!.data.equals(early));
    assert.ok(Math.abs(cam.latest!.cameraTime - Date.now()) < 5000, 'garbage time falls back to receive time');
    assert.equal(cam.protocol, 'legacy');
    assert.equal(cam.model, 'OV2640');
    assert.equal(cam.firmware, '8.8');
    assert.equal(cam.info.framesize, 'SVGA');
    assert.equal(cam.info.framesize_index, 9);
    assert.equal(cam.info.rssi, -60);
    assert.equal(cam.info.heap, 151000);
    assert.equal(cam.info.lamp, 100);
    ws.close();
  });

  it('reassembles 10 KB-fragmented frames byte for byte and reads the epoch suffix', async () => {
    const { ws } = await rawLegacy(t);
    ws.send(`#${now()}|{"hostName":"frag-cam","framesize":"11","fw_version":"10.2"}`);
    const cam = await camWhen(t, 'frag-cam', (c) => c.online, 'online');
    assert.equal(cam.info.framesize, 'SVGA', 'v10 table: 11 is SVGA');
    const jpeg = fakeJpeg(35 * 1024);
    const msg = Buffer.concat([jpeg, Buffer.from('1763734575')]);
    for (let o = 0; o < msg.length; o += 10 * 1024)
      ws.send(msg.subarray(o, o + 10 * 1024), { binary: true, fin: o + 10 * 1024 >= msg.length });
    await camWhen(t, 'frag-cam', (c) => c.latest, 'fragmented frame');
    assert.ok(cam.latest!.data.equals(jpeg));
    assert.equal(cam.latest!.cameraTime, 1763734575000);
    const res = await fetch(`${t.url}/api/cameras/frag-cam/snapshot.jpg`);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(jpeg));
    ws.close();
  });

  it('motion, key=value echoes and status JSON update the camera; bad binary is refused', async () => {
    const { ws } = await rawLegacy(t);
    ws.send(`#${now()}|{"hostName":"talker","framesize":"8","fw_version":"8.8"}`);
    const cam = await camWhen(t, 'talker', (c) => c.online, 'online');
    ws.send(Buffer.concat([fakeJpeg(500), Buffer.from(String(now()))]));
    ws.send(`#${now()}|MotionStart`);
    await camWhen(t, 'talker', (c) => c.motion, 'motion on');
    ws.send(`#${now()}|MotionEnd`);
    await camWhen(t, 'talker', (c) => !c.motion, 'motion off');
    ws.send(`#${now()}|framesize=13`);
    await camWhen(t, 'talker', (c) => c.info.framesize === 'UXGA', 'framesize echo');
    ws.send(`#${now()}|{"free_heap":"99000","wifi_rssi":"-72 dBm"}`);
    await camWhen(t, 'talker', (c) => c.info.rssi === -72, 'status merge');
    ws.send(`#${now()}|paused`);
    await camWhen(t, 'talker', (c) => c.info.paused === true, 'paused');
    ws.send(Buffer.from('GIF89a not a jpeg'));
    await waitFor(
      () => /talker: refused a binary message of 17 bytes that is not a JPEG/.test(t.logText()),
      2000,
      'log line',
    );
    assert.equal(cam.online, true);
    assert.ok(cam.log.toArray().some((l) => l.dir === '<' && l.text === 'MotionStart'));
    ws.close();
  });

  it('commands: translated, paced one at a time, answered by the echo', async () => {
    const sim = new SimulatedMjpeg2sdCamera({
      url: `ws://127.0.0.1:${t.port}/ws`,
      id: 'ESP-PACED',
      fps: 5,
      width: 160,
      height: 120,
      hue: 10,
      reconnect: false,
    }).start();
    await camWhen(t, 'esp-paced', (c) => c.online, 'online');
    const post = (body: unknown) =>
      fetch(`${t.url}/api/cameras/esp-paced/command`, { method: 'POST', body: JSON.stringify(body) }).then(
        async (r) => ({ status: r.status, body: (await r.json()) as { answer?: unknown; error?: string } }),
      );
    // Five at once: the camera holds one pending command, so the bridge must queue them.
    const results = await Promise.all([
      post({ lamp: true }),
      post({ framesize: 'VGA' }),
      post({ quality: 10 }),
      post({ fps: 4 }),
      post({ vflip: true }),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      [200, 200, 200, 200, 200],
    );
    assert.deepEqual(
      results.map((r) => r.body.answer),
      ['lampLevel=15', 'framesize=8', 'quality=10', 'socketFps=4', 'vflip=1'],
    );
    assert.deepEqual(sim.received, ['lampLevel=15', 'framesize=8', 'quality=10', 'socketFps=4', 'vflip=1']);
    assert.equal((sim as SimulatedMjpeg2sdCamera).droppedCommands, 0);
    const status = await post({ command: 'status?q' });
    assert.equal((status.body.answer as Record<string, string>).hostName, 'ESP-PACED');
    const long = await post({ command: `x=${'a'.repeat(130)}` });
    assert.equal(long.status, 400);
    assert.match(long.body.error!, /at most 127/);
    await sim.stop();
  });

  it('a camera that does not echo gets a clear timeout', async () => {
    const { ws } = await rawLegacy(t);
    ws.send(`#${now()}|{"hostName":"deaf"}`);
    await camWhen(t, 'deaf', (c) => c.online, 'online');
    const r = await fetch(`${t.url}/api/cameras/deaf/command`, { method: 'POST', body: '{"quality":20}' });
    assert.equal(r.status, 504);
    assert.match(((await r.json()) as { error: string }).error, /camera deaf did not answer "quality=20" within 1.5 s/);
    ws.close();
  });
});
