import type { BridgeView } from '../../extension.js';
import type { Camera } from '../../hub/camera.js';
import type { Publisher } from './state.js';

/** A changed viewer or reconnect count goes out at most this often... */
const MIN_INTERVAL_MS = 5_000;
/** ...and the frame age (always changing) at least this often, else not at all. */
const MAX_INTERVAL_MS = 60_000;

interface Sent {
  at: number;
  key: string;
}

/**
 * The diagnostic entities' figures, rate-limited (Home Assistant's recorder stores every state change):
 * `<base>/<id>/diagnostics` {viewers, reconnects, frame_age} per camera and `<base>/bridge/diagnostics`
 * {viewers, mqtt_clients, cameras_online}. A change of a count is published within MIN_INTERVAL_MS;
 * the frame age alone only every MAX_INTERVAL_MS. Run from the hub's once-a-second stats tick.
 */
export class Diagnostics {
  private readonly sent = new Map<string, Sent>();

  constructor(
    private readonly bridge: BridgeView,
    private readonly publisher: Publisher,
    private readonly topic: (id: string) => string,
    private readonly bridgeTopic: string,
    private readonly mqttClients: () => number | null,
  ) {}

  tick(cams: Camera[], now = Date.now()): void {
    let viewers = 0;
    let online = 0;
    for (const cam of cams) {
      const v = this.bridge.viewers(cam.id);
      viewers += v;
      if (cam.online) online++;
      const reconnects = Math.max(0, cam.connections - 1);
      const age = cam.online && cam.latest ? Math.round((now - cam.latest.receivedAt) / 100) / 10 : null;
      this.offer(this.topic(cam.id), `${v}/${reconnects}/${cam.online}`, now, () => ({
        viewers: v,
        reconnects,
        frame_age: age,
      }));
    }
    const clients = this.mqttClients();
    this.offer(this.bridgeTopic, `${viewers}/${clients}/${online}`, now, () => ({
      viewers,
      mqtt_clients: clients,
      cameras_online: online,
    }));
  }

  forget(id: string): void {
    this.sent.delete(this.topic(id));
  }

  private offer(topic: string, key: string, now: number, payload: () => Record<string, unknown>): void {
    const s = this.sent.get(topic);
    const due = !s || now - s.at >= MAX_INTERVAL_MS || (s.key !== key && now - s.at >= MIN_INTERVAL_MS);
    if (!due) return;
    this.sent.set(topic, { at: now, key });
    this.publisher.retain(topic, JSON.stringify(payload()), 0);
  }
}
