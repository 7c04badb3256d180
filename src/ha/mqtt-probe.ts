// Which MQTT protocols a broker speaks, asked the only reliable way: a CONNECT with each (5 first).
// `cam2mqtt ha link` uses it to choose the protocol of HA's MQTT entry from what HA's form offers.
import mqtt from 'mqtt';
import type { MqttProtocol } from './ha-versions.js';

export interface ProbeLogin {
  username: string;
  password: string;
}

type Outcome = 'ok' | 'refused' | 'unreachable';

function tryConnect(host: string, port: number, version: 4 | 5, login: ProbeLogin | undefined, timeoutMs: number) {
  return new Promise<Outcome>((resolve) => {
    const client = mqtt.connect({
      host,
      port,
      protocol: 'mqtt',
      protocolVersion: version,
      clientId: `cam2mqtt-ha-probe-${process.pid}-${version}`,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: timeoutMs,
      ...(login ? { username: login.username, password: login.password } : {}),
    });
    let done = false;
    const finish = (o: Outcome): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      client.end(true);
      resolve(o);
    };
    // No answer in time counts as unreachable (HA might still reach it on another route).
    const timer = setTimeout(() => finish('unreachable'), timeoutMs + 500);
    client.once('connect', () => finish('ok'));
    client.once('error', (err: Error & { code?: unknown }) => {
      // A network error has a string code (ECONNREFUSED...); a broker's refusal a numeric reason.
      finish(typeof err.code === 'string' ? 'unreachable' : 'refused');
    });
    // Closed without CONNACK after the TCP connection was made: the broker would not take this version.
    client.once('close', () =>
      finish((client.stream as { bytesRead?: number } | undefined)?.bytesRead ? 'refused' : 'unreachable'),
    );
  });
}

/**
 * The protocols the broker at host:port accepts with this login, best first; undefined when it
 * cannot be reached from here (or refuses both, e.g. a wrong login), so nothing is known.
 */
export async function brokerProtocols(
  host: string,
  port: number,
  login?: ProbeLogin,
  timeoutMs = 5_000,
): Promise<MqttProtocol[] | undefined> {
  const v5 = await tryConnect(host, port, 5, login, timeoutMs);
  if (v5 === 'unreachable') return undefined;
  const v4 = await tryConnect(host, port, 4, login, timeoutMs);
  const out: MqttProtocol[] = [];
  if (v5 === 'ok') out.push('5');
  if (v4 === 'ok') out.push('3.1.1');
  return out.length ? out : undefined;
}
