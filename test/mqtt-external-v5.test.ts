// cam2mqtt as a client of an external broker: MQTT 5 against the real Mosquitto 2, and the fallback to
// 3.1.1 against a broker that refuses 5.
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { ExtensionFactory } from '../src/extension.js';
import { SimulatedNativeCamera } from '../src/simulator/native-camera.js';
import { MqttExtension } from '../src/sinks/mqtt/mqtt-extension.js';
import { startBridge, waitFor } from './helpers/bridge.js';
import { type Mosquitto, Recorder, startMosquitto } from './mqtt-helpers.js';

function capture(): { factory: ExtensionFactory; get: () => MqttExtension } {
  let ext: MqttExtension | undefined;
  return { factory: (ctx) => (ext = new MqttExtension(ctx)), get: () => ext! };
}

/**
 * Stands for an old broker that only speaks MQTT 3.1.1 (Mosquitto cannot be told to refuse 5): a TCP
 * proxy in front of the real Mosquitto that answers a protocol-level-5 CONNECT with the 3.1.1 CONNACK
 * "unacceptable protocol version" (return code 1) and closes, as such brokers do, and forwards every
 * other connection to Mosquitto untouched.
 */
async function oldBroker(target: number): Promise<{ port: number; refusedV5: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const state = { refusedV5: 0 };
  const server: Server = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      // Fixed header (type + remaining length), then 00 04 "MQTT" and the protocol level.
      let i = 1;
      while (i < buf.length && (buf[i]! & 0x80) !== 0) i++;
      const level = buf[i + 1 + 6];
      if (level === undefined) return;
      sock.off('data', onData);
      if (level === 5) {
        state.refusedV5++;
        sock.end(Buffer.from([0x20, 0x02, 0x00, 0x01]));
        return;
      }
      const up = tcpConnect(target, '127.0.0.1');
      sockets.add(up);
      up.on('close', () => sockets.delete(up));
      up.on('error', () => sock.destroy());
      sock.on('close', () => up.destroy());
      up.write(buf);
      sock.pipe(up);
      up.pipe(sock);
    };
    sock.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as { port: number }).port,
    get refusedV5() {
      return state.refusedV5;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('external broker protocol', () => {
  let mosq: Mosquitto;
  before(async () => {
    mosq = await startMosquitto();
  });
  after(async () => {
    await mosq?.stop();
  });

  it('uses MQTT 5 with Mosquitto 2: snapshots arrive with their message expiry', async () => {
    const cap = capture();
    const b = await startBridge(
      { mqtt: { enabled: true, server: mosq.url, snapshot_expiry: 900 } },
      { extensions: [cap.factory] },
    );
    const cam = new SimulatedNativeCamera({
      url: `ws://127.0.0.1:${b.port}/api/camera`,
      id: 'cam5',
      fps: 5,
      width: 160,
      height: 120,
      hue: 10,
      reconnectDelayMs: 200,
    }).start();
    try {
      await waitFor(() => b.logs.some((l) => /connected to MQTT broker .* \(MQTT 5\)/.test(l.msg)), 5000, 'v5 login');
      assert.ok(!b.logs.some((l) => /does not speak MQTT 5/.test(l.msg)));
      assert.equal(cap.get().transport.status().protocol, '5');
      const sub = await Recorder.connect(mosq.url, [], { protocolVersion: 5 });
      const props = new Promise<Record<string, unknown> | undefined>((resolve) =>
        sub.client.on('message', (topic, _p, packet) => {
          if (topic === 'cam2mqtt/cam5/snapshot') resolve(packet.properties as Record<string, unknown> | undefined);
        }),
      );
      await sub.client.subscribeAsync('cam2mqtt/cam5/snapshot');
      const p = await props;
      const left = p?.messageExpiryInterval as number;
      assert.ok(left > 0 && left <= 900, `messageExpiryInterval ${left}`);
      await sub.close();
    } finally {
      await cam.stop();
      await b.stop();
    }
  });

  it('falls back to MQTT 3.1.1 with one log line when the broker refuses 5', async () => {
    const old = await oldBroker(mosq.port);
    const cap = capture();
    const b = await startBridge(
      { mqtt: { enabled: true, server: `mqtt://127.0.0.1:${old.port}` } },
      { extensions: [cap.factory] },
    );
    try {
      await waitFor(
        () => b.logs.some((l) => /connected to MQTT broker .* \(MQTT 3\.1\.1\)/.test(l.msg)),
        5000,
        '3.1.1 login',
      );
      assert.equal(b.logs.filter((l) => /does not speak MQTT 5 .*using MQTT 3\.1\.1/.test(l.msg)).length, 1);
      assert.ok(!b.logs.some((l) => /cannot reach the MQTT broker/.test(l.msg)), 'no "cannot reach" line');
      assert.equal(old.refusedV5, 1);
      assert.equal(cap.get().transport.status().protocol, '3.1.1');
      // Everything works over 3.1.1 (through the proxy): state retained on the broker.
      const rec = await Recorder.connect(mosq.url, ['cam2mqtt/bridge/state']);
      await rec.waitText('cam2mqtt/bridge/state', '{"state":"online"}');
      await rec.close();
    } finally {
      await b.stop();
      await old.close();
    }
  });
});
