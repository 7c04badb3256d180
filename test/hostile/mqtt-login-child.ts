// The login-flood attacker of mqtt.test.ts, in its own process (as a stranger on the network would be):
// up to COUNT wrong logins from LOCAL_ADDRESS for MS milliseconds, 25 every 100 ms, in parallel.
// Prints one JSON line: how many were answered "bad user name or password" (4), refused unchecked (3).
import { type Socket, connect as tcpConnect } from 'node:net';
import mqttPacket from 'mqtt-packet';

const [portText = '1883', localAddress = '127.0.0.2', countText = '500', msText = '3000'] = process.argv.slice(2);
const sockets = new Set<Socket>();
const counts = { answered: 0, unchecked: 0, other: 0 };

function attempt(i: number): Promise<void> {
  return new Promise((resolve) => {
    const sock = tcpConnect({ port: Number(portText), host: '127.0.0.1', localAddress });
    sockets.add(sock);
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    parser.on('packet', (p) => {
      if (p.cmd !== 'connack') return;
      const code = (p as mqttPacket.IConnackPacket).returnCode;
      if (code === 4) counts.answered++;
      else if (code === 3) counts.unchecked++;
      else counts.other++;
      sock.destroy();
    });
    sock.on('data', (d: Buffer) => parser.parse(d));
    sock.on('error', () => {});
    sock.on('close', () => {
      sockets.delete(sock);
      resolve();
    });
    sock.write(
      mqttPacket.generate({
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clean: true,
        keepalive: 30,
        clientId: `guess-${i}`,
        username: 'ha',
        password: Buffer.from(`guess${i}`),
      }),
    );
  });
}

const all: Promise<void>[] = [];
const end = Date.now() + Number(msText);
for (let i = 0; i < Number(countText) && Date.now() < end; i++) {
  all.push(attempt(i));
  if (i % 25 === 24) await new Promise((r) => setTimeout(r, 100));
}
await new Promise((r) => setTimeout(r, Math.max(0, end - Date.now())));
for (const s of sockets) s.destroy();
await Promise.all(all);
process.stdout.write(`${JSON.stringify(counts)}\n`);
