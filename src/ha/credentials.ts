// Which logins Home Assistant gets, from cam2mqtt's settings.
import type { Config } from '../config/schema.js';
import type { BridgeCredentials } from './bridge-info.js';
import type { Credentials } from './link.js';

/**
 * The login HA's MQTT integration uses. Embedded broker: the first `mqtt.users` entry with
 * `admin: true` (HA publishes commands to cam2mqtt's topics, which read-only users may not), or the
 * user named by `pick`. External broker: mqtt.username / mqtt.password.
 */
export function mqttCredentialsFor(config: Config, pick?: string): { credentials?: Credentials; problem?: string } {
  const m = config.mqtt;
  if (m.server) {
    return m.username !== undefined ? { credentials: { username: m.username, password: m.password ?? '' } } : {};
  }
  if (m.users.length === 0) return {};
  if (pick !== undefined) {
    const u = m.users.find((x) => x.username === pick);
    if (!u) return { problem: `there is no MQTT user "${pick}" in mqtt.users` };
    return { credentials: { username: u.username, password: u.password } };
  }
  const admin = m.users.find((u) => u.admin);
  if (!admin) {
    return {
      problem:
        "cam2mqtt's broker has users (mqtt.users) but none with admin: true; Home Assistant sends commands to cam2mqtt's topics, which read-only users may not: add a user with admin: true for Home Assistant",
    };
  }
  return { credentials: { username: admin.username, password: admin.password } };
}

/** The login HA's mjpeg integration sends to cam2mqtt's streams (http.auth; a token works as a Basic password). */
export function httpCredentialsFor(config: Config): Credentials | undefined {
  const a = config.http.auth;
  if (!a) return undefined;
  if (a.username !== undefined && a.password !== undefined) return { username: a.username, password: a.password };
  if (a.token !== undefined) return { username: 'cam2mqtt', password: a.token };
  return undefined;
}

/** How `cam2mqtt ha` authenticates to the bridge's REST API. */
export function bridgeCredentialsFor(config: Config): BridgeCredentials | undefined {
  const a = config.http.auth;
  if (!a) return undefined;
  if (a.token !== undefined) return { token: a.token };
  return { username: a.username, password: a.password };
}
