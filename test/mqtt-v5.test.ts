// The embedded broker (Aedes 2) speaks MQTT 5 and 3.1.1 on the same port and over WebSocket: real
// mqtt.js clients of both versions, real mosquitto_sub -V mqttv311 / mqttv5, and raw packets for
// the bad input (a v5 CONNECT with an unsupported property, an oversized packet split anyhow).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import mqttPacket from 'mqtt-packet';
import type { ExtensionFactory } from '../src/extension.js';
import { SimulatedNativeCamera } from '../src/simulator/native-camera.js';
import { MqttExtension } from '../src/sinks/mqtt/mqtt-extension.js';
import { freePort, sleep, startBridge, type TestBridge, waitFor } from './helpers/bridge.js';
import { Recorder, rawPublish } from './mqtt-helpers.js';

const MOSQUITTO_SUB = '/usr/bin/mosquitto_sub';

function capture(): { factory: ExtensionFactory; get: () => MqttExtension } {
  let ext: MqttExtension | undefined;
  return { factory: (ctx) => (ext = new MqttExtension(ctx)), get: () => ext! };
}

/** Connect and return the client with the CONNACK it got (or the error it was refused with). */
function connectWith(
  url: string,
  opts: IClientOptions,
): Promise<{ client: MqttClient; connack: mqttPacket.IConnackPacket | undefined; error?: Error }> {
  return new Promise((resolve) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
    let connack: mqttPacket.IConnackPacket | undefined;
    client.on('packetreceive', (p) => {
      if (p.cmd === 'connack') connack = p as mqttPacket.IConnackPacket;
    });
    client.once('connect', (p) => resolve({ client, connack: p }));
    client.once('error', (error) => resolve({ client, connack, error }));
  });
}

/** mosquitto_sub for one message: its stdout. */
function mosquittoSub(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const c = spawn(MOSQUITTO_SUB, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.on('exit', (code) => resolve({ code: code ?? 1, out, err }));
  });
}

function rawV5Connect(clientId: string, properties: Record<string, unknown>): Buffer {
  return mqttPacket.generate(
    { cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: true, keepalive: 30, clientId, properties },
    { protocolVersion: 5 },
  );
}

/** The small native camera every suite here streams from, online. */
async function startCamera(b: TestBridge): Promise<SimulatedNativeCamera> {
  const cam = new SimulatedNativeCamera({
    url: `ws://127.0.0.1:${b.port}/api/camera`,
    id: 'cam1',
    fps: 5,
    width: 160,
    height: 120,
    hue: 40,
    reconnectDelayMs: 200,
  }).start();
  await waitFor(() => b.bridge.hub.get('cam1')?.online, 5000, 'camera online');
  return cam;
}

describe('embedded broker: MQTT 5 and 3.1.1 side by side', () => {
  let b: TestBridge;
  let port: number;
  let cam: SimulatedNativeCamera;
  let ext: () => MqttExtension;

  before(async () => {
    port = await freePort();
    const cap = capture();
    ext = cap.get;
    b = await startBridge(
      { mqtt: { enabled: true, port, max_packet_bytes: 65536, snapshot_expiry: 600 } },
      { extensions: [cap.factory] },
    );
    cam = await startCamera(b);
  });

  after(async () => {
    await cam?.stop();
    await b?.stop();
  });

  for (const transport of ['tcp', 'websocket'] as const) {
    for (const protocolVersion of [4, 5] as const) {
      it(`serves an mqtt.js client on MQTT ${protocolVersion === 5 ? '5' : '3.1.1'} over ${transport}`, async () => {
        const url = transport === 'tcp' ? `mqtt://127.0.0.1:${port}` : `ws://127.0.0.1:${b.port}/mqtt`;
        const { client, connack, error } = await connectWith(url, { protocolVersion });
        assert.equal(error, undefined);
        try {
          if (protocolVersion === 5) {
            assert.equal(connack?.reasonCode, 0);
            assert.equal(connack?.properties?.maximumPacketSize, 65536, 'Maximum Packet Size announced in CONNACK');
          } else {
            assert.equal(connack?.returnCode, 0);
            assert.equal(connack?.properties, undefined);
          }
          const got = new Promise<{ payload: string; packet: mqttPacket.IPublishPacket }>((resolve) =>
            client.on('message', (topic, payload, packet) => {
              if (topic === 'cam2mqtt/bridge/state') resolve({ payload: payload.toString(), packet });
            }),
          );
          await client.subscribeAsync('cam2mqtt/#', { qos: 1 });
          const m = await got;
          assert.equal(m.payload, '{"state":"online"}');
          assert.equal(m.packet.retain, true);
          // A command from this client reaches the camera (same port, any version).
          cam.received.length = 0;
          await client.publishAsync('cam2mqtt/cam1/set/lamp', 'ON', { qos: 1 });
          await waitFor(() => cam.received.length === 1, 3000, 'the command at the camera');
        } finally {
          await client.endAsync(true);
        }
      });
    }
  }

  it('serves mosquitto_sub -V mqttv311 and -V mqttv5 on the same port', async () => {
    assert.ok(existsSync(MOSQUITTO_SUB), `${MOSQUITTO_SUB} missing: apt-get install -y mosquitto-clients`);
    for (const v of ['mqttv311', 'mqttv5']) {
      const r = await mosquittoSub([
        ...['-h', '127.0.0.1', '-p', String(port), '-V', v, '-t', 'cam2mqtt/bridge/state', '-C', '1', '-W', '10'],
      ]);
      assert.equal(r.code, 0, `${v}: ${r.err}`);
      assert.equal(r.out.trim(), '{"state":"online"}', v);
    }
  });

  it('gives snapshots a message expiry (MQTT 5) and the plain bytes to MQTT 3.1.1', async () => {
    const v5 = await Recorder.connect(`mqtt://127.0.0.1:${port}`, [], { protocolVersion: 5 });
    const v4 = await Recorder.connect(`mqtt://127.0.0.1:${port}`, [], { protocolVersion: 4 });
    try {
      const props = new Promise<Record<string, unknown> | undefined>((resolve) =>
        v5.client.on('message', (topic, _p, packet) => {
          if (topic === 'cam2mqtt/cam1/snapshot') resolve(packet.properties as Record<string, unknown> | undefined);
        }),
      );
      await v5.client.subscribeAsync('cam2mqtt/cam1/snapshot');
      await v4.client.subscribeAsync('cam2mqtt/cam1/snapshot');
      const p = await props;
      const left = p?.messageExpiryInterval as number;
      assert.ok(left > 0 && left <= 600, `messageExpiryInterval ${left}`);
      const m = await v4.wait('cam2mqtt/cam1/snapshot');
      assert.equal(m.payload[0], 0xff);
      assert.equal(m.payload[1], 0xd8);
    } finally {
      await v5.close();
      await v4.close();
    }
  });

  it('loses no retained or QoS 1 message published in the same turn as plain ones, on v5 and v4 wildcards', async () => {
    // Aedes' dedupe would drop them (moscajs/aedes#484): emitInCounterOrder in broker.ts.
    const subs = await Promise.all(
      [4, 5].map((v) => Recorder.connect(`mqtt://127.0.0.1:${port}`, ['order/#'], { protocolVersion: v as 4 | 5 })),
    );
    const pub = await Recorder.connect(`mqtt://127.0.0.1:${port}`, [], { protocolVersion: 5 });
    try {
      for (let i = 0; i < 20; i++) {
        // The bridge's own: a retained state, then a plain event, in one turn.
        ext().publisher.retain(`order/b${i}`, `b${i}`, 1);
        ext().publisher.send(`order/e${i}`, `e${i}`);
        pub.client.publish(`order/r${i}`, `r${i}`, { qos: 1, retain: true });
        pub.client.publish(`order/p${i}`, `p${i}`, { qos: 0 });
      }
      for (const s of subs) {
        await waitFor(() => s.messages.length >= 80, 5000, '80 messages');
        const got = s.messages.map((m) => m.payload.toString());
        for (const k of ['b', 'e', 'r', 'p']) {
          const seq = got.filter((g) => g[0] === k);
          assert.deepEqual(
            seq,
            Array.from({ length: 20 }, (_, i) => `${k}${i}`),
            `${k}: none lost, in order`,
          );
        }
        for (let i = 0; i < 20; i++) assert.ok(got.indexOf(`b${i}`) < got.indexOf(`e${i}`), `b${i} before e${i}`);
      }
      for (let i = 0; i < 20; i++) {
        await pub.publish(`order/r${i}`, '', { retain: true });
        await pub.publish(`order/b${i}`, '', { retain: true });
      }
    } finally {
      for (const s of subs) await s.close();
      await pub.close();
    }
  });

  it('refuses a v5 CONNECT with an unsupported property (an authentication method) with a reason code and one log line', async () => {
    const other = await Recorder.connect(`mqtt://127.0.0.1:${port}`, ['t/#'], { protocolVersion: 5 });
    const sock = tcpConnect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    sock.on('data', (d: Buffer) => chunks.push(d));
    const closed = new Promise<void>((resolve) => sock.once('close', () => resolve()));
    sock.write(rawV5Connect('enhanced-auth', { authenticationMethod: 'SCRAM-SHA-1' }));
    await closed;
    const parser = mqttPacket.parser({ protocolVersion: 5 });
    const packets: mqttPacket.Packet[] = [];
    parser.on('packet', (p) => packets.push(p));
    parser.parse(Buffer.concat(chunks));
    assert.equal(packets[0]?.cmd, 'connack');
    assert.equal((packets[0] as mqttPacket.IConnackPacket).reasonCode, 0x8c, 'bad authentication method');
    await waitFor(
      () => b.logs.filter((l) => /MQTT connection from .* refused: bad authentication method/.test(l.msg)).length === 1,
      3000,
      'one refusal line',
    );
    await other.publish('t/after', 'still here');
    await other.waitText('t/after', 'still here');
    await other.close();
  });

  it('disconnects a v5 client whose packet is bigger than announced (0x95), and only it', async () => {
    const other = await Recorder.connect(`mqtt://127.0.0.1:${port}`, ['t/#'], { protocolVersion: 5 });
    const { client } = await connectWith(`mqtt://127.0.0.1:${port}`, { protocolVersion: 5 });
    const reason = new Promise<number | undefined>((resolve) =>
      client.on('disconnect', (p) => resolve((p as mqttPacket.IDisconnectPacket).reasonCode)),
    );
    const before = b.logs.length;
    // mqtt.js itself would refuse to send more than the announced maximum: bypass it as a hostile client would.
    (client as unknown as { options: { properties?: Record<string, unknown> } }).options.properties = {};
    (client as unknown as { stream: NodeJS.WritableStream }).stream.write(rawPublish('t/big', Buffer.alloc(200_000)));
    assert.equal(await reason, 0x95);
    await waitFor(
      () =>
        b.logs
          .slice(before)
          .filter((l) =>
            /refused: packet of \d+ bytes is larger than mqtt.max_packet_bytes \(65536\); disconnected \(reason 0x95/.test(
              l.msg,
            ),
          ).length === 1,
      3000,
      'one refusal line',
    );
    client.end(true);
    await other.publish('t/ok', 'fine');
    await other.waitText('t/ok', 'fine');
    assert.equal(other.on('t/big').length, 0);
    await other.close();
  });

  it('trips on the header of an oversized packet, its length split over chunks, on 3.1.1 and 5 alike', async () => {
    for (const version of [4, 5] as const) {
      const sock = tcpConnect(port, '127.0.0.1');
      await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
      const closed = new Promise<void>((resolve) => sock.once('close', () => resolve()));
      sock.on('error', () => {});
      sock.resume();
      sock.write(
        mqttPacket.generate(
          {
            cmd: 'connect',
            protocolId: 'MQTT',
            protocolVersion: version,
            clean: true,
            keepalive: 30,
            clientId: `drip-${version}`,
          },
          { protocolVersion: version },
        ),
      );
      await sleep(100);
      const small = rawPublish('t/small', Buffer.alloc(500));
      sock.write(Buffer.concat([small, small.subarray(0, 7)]));
      await sleep(30);
      sock.write(small.subarray(7));
      // 8 MiB announced, the remaining-length bytes arriving one by one: refused on the header alone.
      const header = Buffer.from([0x30, 0x80, 0x80, 0x80, 0x04]);
      for (const byte of header) {
        if (sock.destroyed) break;
        sock.write(Buffer.from([byte]));
        await sleep(30);
      }
      await Promise.race([closed, sleep(3000).then(() => assert.fail(`v${version}: not disconnected`))]);
    }
    assert.equal(
      b.logs.filter((l) => /refused: packet of 8388613 bytes is larger than mqtt.max_packet_bytes/.test(l.msg)).length,
      2,
    );
  });
});

describe('embedded broker: MQTT 5 refusals carry reasons', () => {
  let b: TestBridge;
  let port: number;
  let cam: SimulatedNativeCamera;

  before(async () => {
    port = await freePort();
    b = await startBridge(
      {
        mqtt: {
          enabled: true,
          port,
          users: [
            { username: 'ha', password: 'secret', admin: true },
            { username: 'viewer', password: 'look' },
          ],
        },
      },
      { extensions: [capture().factory] },
    );
    cam = await startCamera(b);
  });

  after(async () => {
    await cam?.stop();
    await b?.stop();
  });

  it('refuses a v5 login with reason code and reason string, a v4 one with its return code', async () => {
    const bad = await connectWith(`mqtt://127.0.0.1:${port}`, { protocolVersion: 5, username: 'ha', password: 'x' });
    assert.equal(bad.connack?.reasonCode, 0x86);
    assert.match(String(bad.connack?.properties?.reasonString), /wrong username or password \(user "ha"\)/);
    bad.client.end(true);
    const anon = await connectWith(`mqtt://127.0.0.1:${port}`, { protocolVersion: 5 });
    assert.equal(anon.connack?.reasonCode, 0x87);
    assert.match(String(anon.connack?.properties?.reasonString), /anonymous clients are refused/);
    anon.client.end(true);
    const v4 = await connectWith(`mqtt://127.0.0.1:${port}`, { protocolVersion: 4, username: 'ha', password: 'x' });
    assert.equal(v4.connack?.returnCode, 4);
    v4.client.end(true);
    const ok = await connectWith(`mqtt://127.0.0.1:${port}`, {
      protocolVersion: 5,
      username: 'ha',
      password: 'secret',
    });
    assert.equal(ok.error, undefined);
    assert.equal(ok.connack?.reasonCode, 0);
    ok.client.end(true);
  });

  it('refuses a read-only user’s v5 publish with PUBACK 0x87 and a reason string, and keeps the connection', async () => {
    const viewer = await Recorder.connect(`mqtt://127.0.0.1:${port}`, ['cam2mqtt/cam1/availability'], {
      protocolVersion: 5,
      username: 'viewer',
      password: 'look',
    });
    let puback: mqttPacket.IPubackPacket | undefined;
    viewer.client.on('packetreceive', (p) => {
      if (p.cmd === 'puback') puback = p as mqttPacket.IPubackPacket;
    });
    cam.received.length = 0;
    await assert.rejects(viewer.client.publishAsync('cam2mqtt/cam1/set/lamp', 'ON', { qos: 1 }));
    assert.equal(puback?.reasonCode, 0x87);
    assert.match(String(puback?.properties?.reasonString), /not authorized to publish to cam2mqtt\/cam1\/set\/lamp/);
    assert.ok(viewer.client.connected, 'still connected');
    assert.ok(b.logs.some((l) => /MQTT user "viewer" .* may not publish .*refused \(reason 0x87/.test(l.msg)));
    await sleep(200);
    assert.deepEqual(cam.received, []);
    // It still reads.
    await viewer.waitText('cam2mqtt/cam1/availability', '{"state":"online"}');
    await viewer.close();
  });
});
