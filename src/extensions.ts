import { clusterExtension } from './cluster/index.js';
import type { ExtensionFactory } from './extension.js';
import { haExtension } from './ha/ha-extension.js';
import { authExtension } from './http/auth/index.js';
import { knownCamerasExtension } from './hub/known-cameras.js';
import { apiExtension } from './sinks/api/api-sink.js';
import { metricsExtension } from './sinks/metrics/metrics-extension.js';
import { mjpegExtension } from './sinks/mjpeg/mjpeg-sink.js';
import { mqttExtension } from './sinks/mqtt/mqtt-extension.js';
import { pageExtension } from './sinks/page/index.js';
import { recordingsExtension } from './sinks/recordings/index.js';
import { httpCamerasExtension } from './sources/http/pull-extension.js';
import { mjpeg2sdSourceExtension } from './sources/mjpeg2sd/mjpeg2sd-source.js';
import { nativeSourceExtension } from './sources/native/native-source.js';

/**
 * What every bridge runs, whatever a test or tool adds after it: the hub's memory of cameras first (so
 * every sink sees restored cameras), the sources of cameras that dial in over WebSocket, the streams and
 * the REST API.
 */
export const coreExtensions: ExtensionFactory[] = [
  knownCamerasExtension,
  // cluster.* only: the registry and relays (before the API: its snapshot route answers for relayed cameras).
  clusterExtension,
  nativeSourceExtension,
  mjpeg2sdSourceExtension,
  mjpegExtension,
  apiExtension,
];

/**
 * Every source and sink of the bridge, in start order (stopped in reverse). Each lives in its own
 * folder and talks only to the hub and the HTTP port it gets in its ExtensionContext (src/extension.ts).
 * After the core: the login guard before anything it guards, then recordings (their motion listener
 * puts the clip URLs on the event before MQTT publishes it), the page, pulled cameras (a source),
 * MQTT, Home Assistant and Prometheus metrics (which read the others' figures when scraped).
 */
export const defaultExtensions: ExtensionFactory[] = [
  ...coreExtensions,
  authExtension,
  // Before the page and MQTT: its motion listener adds the clip's URLs to the event they publish.
  recordingsExtension,
  pageExtension,
  httpCamerasExtension,
  mqttExtension,
  haExtension,
  metricsExtension,
];
