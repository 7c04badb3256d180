import type { Config } from './config/schema.js';
import type { HttpServer } from './http/server.js';
import type { CameraHub } from './hub/hub.js';
import type { Logger } from './logging.js';

/** What features may know about the bridge itself (for /healthz, MQTT's bridge device, the page). */
export interface BridgeView {
  readonly version: string;
  /** Base URL for people and Home Assistant. */
  readonly publicUrl: string;
  /** The bridge's status: version, viewers, and each extension's status() under its name. */
  status(): Record<string, unknown>;
  /** People watching right now, over every extension (of one camera, with `cameraId`). */
  viewers(cameraId?: string): number;
  /** Every extension's figures, merged (read at scrape time by /metrics and the HA diagnostic entities). */
  figures(): SinkFigures;
}

/**
 * Counts a sink already keeps, handed out when asked (a Prometheus scrape, a diagnostic tick), never
 * pushed: reading them costs the frame path nothing. Per-camera maps are keyed by camera id.
 */
export interface SinkFigures {
  /** MJPEG viewers now, per camera. */
  mjpeg_viewers?: Record<string, number>;
  /** MJPEG parts written to viewers, since start, per camera. */
  mjpeg_frames_delivered?: Record<string, number>;
  /** MJPEG parts a slow viewer skipped (latest frame wins), since start, per camera. */
  mjpeg_frames_dropped?: Record<string, number>;
  /** Open page sockets. */
  page_clients?: number;
  /** Clients of the embedded MQTT broker (absent with an external broker). */
  mqtt_clients?: number;
  mqtt_messages_published?: number;
  mqtt_bytes_published?: number;
  /** Snapshots not published: too big, or superseded by a newer one. */
  mqtt_snapshots_dropped?: number;
}

/** What every extension gets: the hub (the event bus), the HTTP port, settings and a logger. */
export interface ExtensionContext {
  bridge: BridgeView;
  hub: CameraHub;
  http: HttpServer;
  config: Config;
  dataDir: string;
  logger: Logger;
}

/**
 * A feature plugged into the bridge: a source (camera connections in) or a sink (MQTT, streams,
 * the page...). Built in list order (src/extensions.ts) once the hub and the HTTP port exist,
 * started in that order once the port listens, stopped in reverse. After stop() the bridge removes
 * every hub listener the extension registered with `hub.listen(extension, ...)`.
 */
export interface Extension {
  readonly name: string;
  start(): Promise<void> | void;
  stop(): Promise<void> | void;
  /** Shown in /healthz (with a login) and on the page's status strip, under the extension's name. */
  status?(): Record<string, unknown>;
  /** People watching through this extension right now (summed into /healthz `viewers`); of one camera with `cameraId`. */
  viewers?(cameraId?: string): number;
  /** What this extension counts, for /metrics and Home Assistant's diagnostic entities (SinkFigures). */
  figures?(): SinkFigures;
}

/** Builds an extension, or returns undefined when its settings leave it off. */
export type ExtensionFactory = (ctx: ExtensionContext) => Extension | undefined;
