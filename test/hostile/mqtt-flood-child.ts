// The retained-flood attacker of mqtt.test.ts, in its own process (as a stranger on the network would
// be), so its own work does not count against the bridge's event loop. Prints one JSON line.
import mqtt from 'mqtt';
import type { IPubackPacket } from 'mqtt-packet';

const [url = '', countText = '60', sizeText = '1945600'] = process.argv.slice(2);
const payload = Buffer.alloc(Number(sizeText), 0x61);
const codes: (number | undefined)[] = [];
const v5 = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000 });
v5.on('packetreceive', (p) => {
  if (p.cmd === 'puback') codes.push((p as IPubackPacket).reasonCode);
});
for (let i = 0; i < Number(countText); i++)
  await v5.publishAsync(`junk/${i}`, payload, { qos: 1, retain: true }).catch(() => {});
const stillConnected = v5.connected;
await v5.endAsync();
// MQTT 3.1.1 cannot be told per publish: it is disconnected.
const v4 = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000 });
const closed = new Promise<void>((resolve) => v4.once('close', () => resolve()));
v4.publish('junk/v4', payload, { qos: 1, retain: true });
await closed;
v4.end(true);
process.stdout.write(`${JSON.stringify({ codes, stillConnected })}\n`);
