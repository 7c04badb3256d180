// Hostile input on the embedded MQTT broker (issue 13): a retained-message flood and a login flood.
// Each case asserts the bridge is still up, a good camera's MJPEG viewer kept its frame rate, RSS
// stayed within +20 MB, the event loop lag stayed at most 50 ms (the bridge runs in this process),
// and the one log line was written.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { type Socket, connect as tcpConnect } from 'node:net';
import { availableParallelism, loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import mqtt from 'mqtt';
import mqttPacket from 'mqtt-packet';
import { SimulatedNativeCamera } from '../../src/simulator/native-camera.js';
import { freePort, sleep, startBridge, type TestBridge, waitFor } from '../helpers/bridge.js';
import { MjpegClient } from '../helpers/mjpeg-client.js';
import { Recorder } from '../mqtt-helpers.js';
import { blockedMonitor } from './harness.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function rssMb(): number {
  gc();
  gc();
  return process.memoryUsage().rss / 1024 / 1024;
}

/** Runs `attack` while watching the bridge: viewer frame rate, RSS, event-loop lag. */
async function underAttack(b: TestBridge, attack: () => Promise<void>): Promise<void> {
  const viewer = new MjpegClient(`${b.url}/api/cameras/good/stream.mjpeg`);
  try {
    await waitFor(() => viewer.parts.length >= 5, 5000, 'the viewer to get frames');
    const t0 = Date.now();
    const n0 = viewer.parts.length;
    // The machine's own event-loop noise (other processes on 2 shared cores), for comparison.
    const calm = monitorEventLoopDelay({ resolution: 10 });
    calm.enable();
    await sleep(2000);
    calm.disable();
    const calmMaxMs = calm.max / 1e6;
    const fpsBefore = ((viewer.parts.length - n0) * 1000) / (Date.now() - t0);
    const rss0 = rssMb();
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    const blocked = blockedMonitor();
    const t1 = Date.now();
    const n1 = viewer.parts.length;
    await attack();
    const fpsDuring = ((viewer.parts.length - n1) * 1000) / (Date.now() - t1);
    lag.disable();
    blocked.stop();
    const rss1 = rssMb();
    const maxLagMs = lag.max / 1e6;
    const p99LagMs = lag.percentile(99) / 1e6;
    console.log(
      `# viewer ${fpsBefore.toFixed(1)} fps before, ${fpsDuring.toFixed(1)} fps during; RSS ${rss0.toFixed(1)} -> ${rss1.toFixed(1)} MB; event loop lag max ${maxLagMs.toFixed(1)} ms, p99 ${p99LagMs.toFixed(1)} ms (without the attack: max ${calmMaxMs.toFixed(1)} ms; load average ${loadavg()[0]!.toFixed(1)})`,
    );
    assert.equal(viewer.error, undefined);
    assert.ok(fpsDuring >= fpsBefore * 0.7, `viewer frame rate ${fpsDuring.toFixed(1)} vs ${fpsBefore.toFixed(1)} fps`);
    assert.ok(rss1 - rss0 <= 20, `RSS grew ${(rss1 - rss0).toFixed(1)} MB`);
    // At most 50 ms. On an overloaded machine (load average above twice the cores: the process waits
    // for a core, and every burst of work stretches) a generous bound instead, still far below the
    // seconds a blocking parser or an unbounded queue would cost.
    const overloaded = loadavg()[0]! > 2 * availableParallelism();
    const bound = overloaded ? Math.max(300, 5 * calmMaxMs) : 50;
    // As in the harness: lag beyond 50 ms passes when no single callback kept the loop busy for more
    // than 50 ms of CPU (the rest was waiting for a core, which the machine's other jobs cause).
    assert.ok(
      maxLagMs <= bound || blocked.max <= 50,
      `event loop lag ${maxLagMs.toFixed(1)} ms > ${bound} ms, ${blocked.max.toFixed(1)} ms of it busy (without the attack: ${calmMaxMs.toFixed(1)} ms; load ${loadavg()[0]!.toFixed(1)})`,
    );
    const health = await fetch(`${b.url}/healthz`);
    assert.equal(health.status, 200, 'the bridge is still up');
  } finally {
    viewer.close();
  }
}

function camera(b: TestBridge): SimulatedNativeCamera {
  return new SimulatedNativeCamera({
    url: `ws://127.0.0.1:${b.port}/api/camera`,
    id: 'good',
    fps: 10,
    width: 160,
    height: 120,
    hue: 120,
    reconnectDelayMs: 200,
  }).start();
}

describe('hostile MQTT: retained flood', () => {
  let b: TestBridge;
  let port: number;
  let cam: SimulatedNativeCamera;
  before(async () => {
    port = await freePort();
    // 16 MiB in all, so 4 MiB per topic tree: small enough to measure against the +20 MB bound.
    b = await startBridge({ mqtt: { enabled: true, port, max_retained_bytes: 16 * 1024 * 1024 } });
    cam = camera(b);
    await waitFor(() => b.bridge.hub.get('good')?.online, 5000, 'camera online');
  });
  after(async () => {
    await cam?.stop();
    await b?.stop();
  });

  it('refuses retained messages past the per-tree cap (60 x 1.9 MB on junk/#), one log line, nothing else disturbed', async () => {
    const watcher = await Recorder.connect(`mqtt://127.0.0.1:${port}`, ['cam2mqtt/good/availability']);
    // MQTT 5, QoS 1: each refusal comes back as PUBACK 0x87 and the connection stays; then a 3.1.1
    // client, which is disconnected. In a child process: see mqtt-flood-child.ts.
    const flood = async (): Promise<(number | undefined)[]> => {
      const child = new URL('./mqtt-flood-child.js', import.meta.url).pathname;
      const out = await new Promise<string>((resolve, reject) =>
        execFile(process.execPath, [child, `mqtt://127.0.0.1:${port}`, '60', String(1900 * 1024)], (err, stdout) =>
          err ? reject(err) : resolve(stdout),
        ),
      );
      const r = JSON.parse(out) as { codes: (number | null)[]; stillConnected: boolean };
      assert.ok(r.stillConnected, 'the v5 client stayed connected');
      return r.codes.map((c) => c ?? undefined);
    };
    // The first flood fills junk/# to its cap. The first two also grow the allocator to its working set
    // for 1.9 MB packets (glibc keeps freed buffers' pages for reuse), so RSS is measured on the third.
    const results = await flood();
    await flood();
    const accepted = results.filter((r) => !r).length;
    const refused = results.filter((r) => r === 0x87).length;
    console.log(`# retained flood: ${accepted} accepted, ${refused} refused (PUBACK 0x87)`);
    assert.equal(accepted, 2, 'two 1.9 MB messages fit into 4 MiB');
    assert.equal(refused, 58);
    let again: (number | undefined)[] = [];
    await underAttack(b, async () => {
      again = await flood();
    });
    // junk/0 and junk/1 are only replaced (no growth); every new one is refused.
    assert.equal(again.filter((r) => r === 0x87).length, 58, 'the third flood: all new ones refused');
    assert.ok(b.bridge.hub.get('good')?.online);
    assert.equal(
      b.logs.filter((l) =>
        /retained publish to junk\/\d+ refused: retained messages under junk\/# would take/.test(l.msg),
      ).length,
      3,
      'one log line per flooding v5 client (3 floods)',
    );
    await waitFor(
      () => b.logs.some((l) => /disconnected .*57 more retained publish\(es\) refused for the quota/.test(l.msg)),
      3000,
      'the count on its disconnect line',
    );
    // Other topic trees and deletions still work; the bridge's own state flows.
    const rec = await Recorder.connect(`mqtt://127.0.0.1:${port}`, ['other/#', 'junk/#']);
    await rec.publish('other/x', 'small', { retain: true });
    await rec.waitText('other/x', 'small');
    for (const t of ['junk/0', 'junk/1', 'other/x']) await rec.publish(t, '', { retain: true });
    await rec.close();
    const since = watcher.mark;
    cam.kill();
    await watcher.waitText('cam2mqtt/good/availability', '{"state":"offline"}', 5000, since);
    await watcher.waitText('cam2mqtt/good/availability', '{"state":"online"}', 5000, since);
    await watcher.close();
  });
});

describe('hostile MQTT: login flood', () => {
  let b: TestBridge;
  let port: number;
  let cam: SimulatedNativeCamera;
  before(async () => {
    port = await freePort();
    b = await startBridge({
      mqtt: { enabled: true, port, users: [{ username: 'ha', password: 'secret', admin: true }] },
    });
    cam = camera(b);
    await waitFor(() => b.bridge.hub.get('good')?.online, 5000, 'camera online');
  });
  after(async () => {
    await cam?.stop();
    await b?.stop();
  });

  /** One login attempt from `localAddress` with raw packets; resolves with the CONNACK code (or -1 if closed). */
  function attempt(password: string, localAddress: string, sockets: Set<Socket>): Promise<number> {
    return new Promise((resolve) => {
      const sock = tcpConnect({ port, host: '127.0.0.1', localAddress });
      sockets.add(sock);
      const parser = mqttPacket.parser({ protocolVersion: 4 });
      let code = -1;
      parser.on('packet', (p) => {
        if (p.cmd === 'connack') code = (p as mqttPacket.IConnackPacket).returnCode ?? -1;
        sock.destroy();
      });
      sock.on('data', (d: Buffer) => parser.parse(d));
      sock.on('error', () => {});
      sock.on('close', () => {
        sockets.delete(sock);
        resolve(code);
      });
      sock.write(
        mqttPacket.generate({
          cmd: 'connect',
          protocolId: 'MQTT',
          protocolVersion: 4,
          clean: true,
          keepalive: 30,
          clientId: `guess-${Math.random().toString(36).slice(2)}`,
          username: 'ha',
          password: Buffer.from(password),
        }),
      );
    });
  }

  it('answers wrong logins ever later per address, never slows a right one, and stays up under 500 guesses', async () => {
    const sockets = new Set<Socket>();
    // 127.0.0.2 is the attacker (loopback is all of 127/8 on Linux); Home Assistant is 127.0.0.1.
    for (let i = 0; i < 3; i++) assert.equal(await attempt('wrong', '127.0.0.2', sockets), 4);
    let t = Date.now();
    assert.equal(await attempt('wrong', '127.0.0.2', sockets), 4);
    const held = Date.now() - t;
    assert.ok(held >= 900, `the 4th wrong login was answered after ${held} ms (expected about 1 s)`);
    // A right login from the same address, while its failures count, is answered at once.
    t = Date.now();
    assert.equal(await attempt('secret', '127.0.0.2', sockets), 0);
    assert.ok(Date.now() - t < 500, `right login took ${Date.now() - t} ms`);

    let answered = 0;
    let unchecked = 0;
    let haMs = 0;
    await underAttack(b, async () => {
      // 500 guesses as fast as they go, in parallel, from another process (mqtt-login-child.ts).
      const child = new URL('./mqtt-login-child.js', import.meta.url).pathname;
      const done = new Promise<string>((resolve, reject) =>
        execFile(process.execPath, [child, String(port), '127.0.0.2', '500', '3000'], (err, stdout) =>
          err ? reject(err) : resolve(stdout),
        ),
      );
      await sleep(1000);
      // Home Assistant logs in meanwhile, from its own address: at once.
      const t0 = Date.now();
      const ha = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
        username: 'ha',
        password: 'secret',
        protocolVersion: 5,
        reconnectPeriod: 0,
        connectTimeout: 5000,
      });
      haMs = Date.now() - t0;
      await ha.endAsync(true);
      const r = JSON.parse(await done) as { answered: number; unchecked: number };
      answered = r.answered;
      unchecked = r.unchecked;
    });
    console.log(
      `# login flood: ${answered} wrong logins answered in 3 s (others held or refused unchecked: ${unchecked}); HA logged in in ${haMs} ms`,
    );
    assert.ok(answered <= 10, `${answered} guesses answered in 3 s`);
    assert.ok(unchecked > 0);
    assert.ok(haMs < 1000, `HA's login took ${haMs} ms`);
    assert.equal(
      b.logs.filter((l) => /MQTT logins from 127\.0\.0\.2 refused without a check for now/.test(l.msg)).length,
      1,
      'one summary line for the flood',
    );
    assert.ok(b.bridge.hub.get('good')?.online);
  });
});
