import type { ExtensionFactory } from './bridge.js';
import { haExtension } from './ha/ha-extension.js';
import { authExtension } from './http/auth/index.js';
import { mqttExtension } from './sinks/mqtt/mqtt-extension.js';
import { pageExtension } from './sinks/page/index.js';
import { httpCamerasExtension } from './sources/http/pull-extension.js';

/**
 * The features plugged into the bridge, in start order. Each lives in its own folder under sinks/ or
 * sources/ and only talks to the hub and the HTTP port.
 */
export const defaultExtensions: ExtensionFactory[] = [
  authExtension,
  pageExtension,
  httpCamerasExtension,
  mqttExtension,
  haExtension,
];
