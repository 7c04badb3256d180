// Load process: MQTT subscribers on <base>/+/snapshot. A normal one (mqtt.js) and optionally a slow one:
// a raw TCP client that reads at a capped byte rate, so the broker sees a real slow consumer.
// argv: JSON {port, normal, slow?: {bytesPerSec}, durationMs}
import { connect as tcp } from 'node:net';
import mqtt from 'mqtt';
import mqttPacket from 'mqtt-packet';

const o = JSON.parse(process.argv[2]!) as {
  port: number;
  normal: number;
  slow?: { bytesPerSec: number };
  durationMs: number;
};
let measuring = false;
const normal: { messages: number; bytes: number; arrivals: number[] }[] = [];
let slowBytes = 0;
let slowClosed = false;

for (let i = 0; i < o.normal; i++) {
  const stat = { messages: 0, bytes: 0, arrivals: [] as number[] };
  normal.push(stat);
  const c = mqtt.connect(`mqtt://127.0.0.1:${o.port}`, {
    clientId: `bench-sub-${i}-${process.pid}`,
    reconnectPeriod: 0,
  });
  await new Promise((resolve, reject) => {
    c.once('connect', resolve);
    c.once('error', reject);
  });
  await c.subscribeAsync('cam2mqtt/+/snapshot');
  c.on('message', (_topic, payload, packet) => {
    if (!measuring || packet.retain) return;
    stat.messages++;
    stat.bytes += payload.length;
    stat.arrivals.push(Date.now());
  });
}
if (o.slow) {
  const sock = tcp(o.port, '127.0.0.1');
  sock.write(
    mqttPacket.generate({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clean: true,
      clientId: `bench-slow-${process.pid}`,
      keepalive: 60,
    }),
  );
  sock.write(
    mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'cam2mqtt/+/snapshot', qos: 0 }] }),
  );
  let budget = 0;
  sock.on('data', (d: Buffer) => {
    if (measuring) slowBytes += d.length;
    if (slowBytes > budget) sock.pause();
  });
  sock.on('close', () => {
    slowClosed = true;
  });
  sock.on('error', () => {});
  setInterval(() => {
    budget += o.slow!.bytesPerSec / 10;
    if (slowBytes <= budget) sock.resume();
  }, 100).unref();
}
await new Promise((r) => setTimeout(r, 300));
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
await new Promise((resolve) => process.stdin.once('data', resolve));
measuring = true;
await new Promise((r) => setTimeout(r, o.durationMs + 1500));
measuring = false;
process.stdout.write(
  `${JSON.stringify({ normal, slow: o.slow ? { bytes: slowBytes, disconnected: slowClosed } : undefined })}\n`,
  () => process.exit(0),
);
