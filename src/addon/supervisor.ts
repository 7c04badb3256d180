// The Supervisor's API, as the add-on sees it (http://supervisor, SUPERVISOR_TOKEN in the environment):
// only GET /services/mqtt, which answers with HA's MQTT broker (the Mosquitto add-on) when one is
// installed and the add-on declares `services: [mqtt:want]`.

/** The MQTT service the Supervisor offers (its `data`). */
export interface MqttService {
  host: string;
  port: number;
  ssl: boolean;
  username?: string;
  password?: string;
  protocol?: string;
  addon?: string;
}

export type MqttLookup = { service: MqttService } | { service: undefined; why: string };

/**
 * Ask the Supervisor for the MQTT service. Never throws: without a token (not running as an add-on), an
 * unreachable Supervisor or no service offered, it says why, and cam2mqtt runs its embedded broker.
 */
export async function lookupMqttService(opts: {
  url: string;
  token: string | undefined;
  timeoutMs?: number;
}): Promise<MqttLookup> {
  if (!opts.token) return { service: undefined, why: 'no SUPERVISOR_TOKEN (not running as a Home Assistant add-on)' };
  const base = opts.url.replace(/\/+$/, '');
  let r: Response;
  try {
    r = await fetch(`${base}/services/mqtt`, {
      headers: { authorization: `Bearer ${opts.token}`, accept: 'application/json' },
      signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
    });
  } catch (err) {
    return { service: undefined, why: `the Supervisor at ${base} did not answer (${(err as Error).message})` };
  }
  const text = await r.text().catch(() => '');
  let body: { result?: string; message?: string; data?: Partial<MqttService> } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    // not JSON: reported below
  }
  if (!r.ok || body.result !== 'ok' || !body.data) {
    const msg = body.message ?? (text.slice(0, 120) || `HTTP ${r.status}`);
    return { service: undefined, why: `the Supervisor offers no MQTT service (${msg})` };
  }
  const d = body.data;
  if (typeof d.host !== 'string' || !d.host || !Number.isInteger(d.port))
    return {
      service: undefined,
      why: `the Supervisor's MQTT service has no usable host and port: ${text.slice(0, 200)}`,
    };
  return {
    service: {
      host: d.host,
      port: d.port as number,
      ssl: d.ssl === true,
      ...(typeof d.username === 'string' && d.username ? { username: d.username } : {}),
      ...(typeof d.password === 'string' ? { password: d.password } : {}),
      ...(typeof d.protocol === 'string' ? { protocol: d.protocol } : {}),
      ...(typeof d.addon === 'string' ? { addon: d.addon } : {}),
    },
  };
}
