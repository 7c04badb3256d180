import type { ExtensionFactory } from './extension.js';
import { haExtension } from './ha/ha-extension.js';
import { authExtension } from './http/auth/index.js';
import { knownCamerasExtension } from './hub/known-cameras.js';
import { apiExtension } from './sinks/api/api-sink.js';
import { mjpegExtension } from './sinks/mjpeg/mjpeg-sink.js';
import { mqttExtension } from './sinks/mqtt/mqtt-extension.js';
import { pageExtension } from './sinks/page/index.js';
import { httpCamerasExtension } from './sources/http/pull-extension.js';
import { mjpeg2sdSourceExtension } from './sources/mjpeg2sd/mjpeg2sd-source.js';
import { nativeSourceExtension } from './sources/native/native-source.js';

/**
 * Every source and sink of the bridge, in start order (stopped in reverse). Each lives in its own
 * folder and talks only to the hub and the HTTP port it gets in its ExtensionContext (src/extension.ts).
 */
export const defaultExtensions: ExtensionFactory[] = [
  // The hub's memory of cameras first, so every sink sees restored cameras.
  knownCamerasExtension,
  // Sources: cameras dialling in over WebSocket.
  nativeSourceExtension,
  mjpeg2sdSourceExtension,
  // Sinks that every bridge has: the streams and the REST API.
  mjpegExtension,
  apiExtension,
  // Features: the login guard before anything it guards, then the page, pulled cameras (a source), MQTT, HA.
  authExtension,
  pageExtension,
  httpCamerasExtension,
  mqttExtension,
  haExtension,
];

/** The extensions every bridge runs whatever the test or tool adds: the store, the sources, the streams, the API. */
export const coreExtensions: ExtensionFactory[] = defaultExtensions.slice(0, 5);
