import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { Extension, ExtensionContext, ExtensionFactory, SinkFigures } from '../../extension.js';
import { safeEqual } from '../../http/auth/index.js';
import { sendError, urlOf } from '../../http/server.js';
import type { Camera } from '../../hub/camera.js';
import type { Logger } from '../../logging.js';

/**
 * Process metrics (event loop lag, GC, RSS, heap: prom-client's default set) are the process's, not
 * a bridge's: one registry per process, made on the first scrape, merged into each bridge's answer
 * (tests and tools run several bridges in one process; each set would install its own GC observer).
 */
let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, eventLoopMonitoringPrecision: 20 });
  }
  return processRegistry;
}

type Figures = () => { cams: Camera[]; figures: SinkFigures; now: number };

/** A counter whose value is read at scrape time from a count the bridge already keeps. */
function readCounter(reg: Registry, name: string, help: string, read: (c: Counter<'camera'>) => void): void {
  new Counter({
    name,
    help,
    labelNames: ['camera'],
    registers: [reg],
    collect() {
      this.reset();
      read(this);
    },
  });
}

function readGauge(
  reg: Registry,
  name: string,
  help: string,
  labels: 'camera'[],
  read: (g: Gauge<'camera'>) => void,
): void {
  new Gauge({
    name,
    help,
    labelNames: labels,
    registers: [reg],
    collect() {
      this.reset();
      read(this);
    },
  });
}

/** Per-camera counts from a SinkFigures map (absent: the sink is off, the metric has no samples). */
function perCamera(m: Counter<'camera'> | Gauge<'camera'>, values: Record<string, number> | undefined, cams: Camera[]) {
  if (!values) return;
  for (const cam of cams) {
    const v = values[cam.id] ?? 0;
    if (m instanceof Counter) m.inc({ camera: cam.id }, v);
    else m.set({ camera: cam.id }, v);
  }
}

/**
 * The bridge's metrics (docs/metrics.md): per camera, per sink, and the process. Every value is read when
 * Prometheus scrapes (each metric's collect()): the frame path counts nothing for it beyond what the hub
 * and the sinks already count. Labels are camera ids only (bounded by limits.max_cameras).
 */
export function bridgeRegistry(read: Figures): { registry: Registry; refresh(): void } {
  const reg = new Registry();
  // One read of the hub and the sinks per scrape (refresh()), shared by every metric's collect().
  let snap = read();
  const s = () => snap;
  readGauge(reg, 'cam2mqtt_cameras', 'Cameras the bridge knows', [], (g) => g.set(s().cams.length));
  readGauge(reg, 'cam2mqtt_camera_online', '1 while the camera is connected', ['camera'], (g) => {
    for (const c of s().cams) g.set({ camera: c.id }, c.online ? 1 : 0);
  });
  readCounter(reg, 'cam2mqtt_camera_frames_total', 'Frames received from the camera', (m) => {
    for (const c of s().cams) m.inc({ camera: c.id }, c.frames);
  });
  readCounter(reg, 'cam2mqtt_camera_bytes_total', 'JPEG bytes received from the camera', (m) => {
    for (const c of s().cams) m.inc({ camera: c.id }, c.bytes);
  });
  readGauge(reg, 'cam2mqtt_camera_fps', 'Frames per second received (last second)', ['camera'], (g) => {
    for (const c of s().cams) g.set({ camera: c.id }, Math.round(c.fps * 100) / 100);
  });
  readGauge(
    reg,
    'cam2mqtt_camera_frame_age_seconds',
    'Seconds since the newest frame arrived (no sample before the first frame)',
    ['camera'],
    (g) => {
      const { cams, now } = s();
      for (const c of cams) if (c.latest) g.set({ camera: c.id }, Math.max(0, now - c.latest.receivedAt) / 1000);
    },
  );
  readCounter(reg, 'cam2mqtt_camera_reconnects_total', 'Connections after the first one', (m) => {
    for (const c of s().cams) m.inc({ camera: c.id }, Math.max(0, c.connections - 1));
  });
  readGauge(reg, 'cam2mqtt_mjpeg_viewers', 'MJPEG stream viewers', ['camera'], (g) =>
    perCamera(g, s().figures.mjpeg_viewers, s().cams),
  );
  readCounter(reg, 'cam2mqtt_mjpeg_frames_delivered_total', 'MJPEG parts written to viewers', (m) =>
    perCamera(m, s().figures.mjpeg_frames_delivered, s().cams),
  );
  readCounter(
    reg,
    'cam2mqtt_mjpeg_frames_dropped_total',
    'MJPEG parts a slow viewer skipped (latest frame wins)',
    (m) => perCamera(m, s().figures.mjpeg_frames_dropped, s().cams),
  );
  const total = (name: string, help: string, key: keyof SinkFigures, counter: boolean) => {
    const value = () => s().figures[key];
    if (counter)
      readCounter(reg, name, help, (m) => {
        const v = value();
        if (typeof v === 'number') m.inc(v);
      });
    else
      readGauge(reg, name, help, [], (g) => {
        const v = value();
        if (typeof v === 'number') g.set(v);
      });
  };
  total('cam2mqtt_page_clients', 'Open control-page sockets', 'page_clients', false);
  total('cam2mqtt_mqtt_clients', 'Clients of the embedded MQTT broker', 'mqtt_clients', false);
  total('cam2mqtt_mqtt_messages_published_total', 'MQTT messages published', 'mqtt_messages_published', true);
  total('cam2mqtt_mqtt_bytes_published_total', 'MQTT payload bytes published', 'mqtt_bytes_published', true);
  total(
    'cam2mqtt_mqtt_snapshots_dropped_total',
    'Snapshots not published (too big, or superseded)',
    'mqtt_snapshots_dropped',
    true,
  );
  return {
    registry: reg,
    refresh: () => {
      snap = read();
    },
  };
}

/** GET /metrics: the Prometheus text format. */
class MetricsExtension implements Extension {
  readonly name = 'metrics';
  private readonly registry: Registry;
  private readonly refresh: () => void;
  private readonly log: Logger;
  private scrapes = 0;

  constructor(private readonly ctx: ExtensionContext) {
    this.log = ctx.logger.child({ mod: 'metrics' });
    const version = new Gauge({
      name: 'cam2mqtt_info',
      help: 'The bridge version',
      labelNames: ['version'],
      registers: [],
    });
    version.set({ version: ctx.bridge.version }, 1);
    const b = bridgeRegistry(() => ({ cams: ctx.hub.list(), figures: ctx.bridge.figures(), now: Date.now() }));
    this.registry = b.registry;
    this.refresh = b.refresh;
    this.registry.registerMetric(version);
    ctx.http.public.get('/metrics', (req, res) => this.serve(req, res));
  }

  /**
   * The scraper token (metrics.token: Bearer or ?token=) or the API's own login (http.auth). With neither
   * set, /metrics is as open as the API.
   */
  private allowed(req: IncomingMessage, res: ServerResponse): boolean {
    const token = this.ctx.config.metrics.token;
    if (token !== undefined) {
      const [scheme, value = ''] = (req.headers.authorization ?? '').split(/\s+/, 2);
      const given = /^bearer$/i.test(scheme ?? '') ? value : urlOf(req).searchParams.get('token');
      if (given !== null && safeEqual(given, token)) return true;
      if (!this.ctx.config.http.auth) {
        res.writeHead(401, {
          'Content-Type': 'text/plain; charset=utf-8',
          'WWW-Authenticate': 'Bearer realm="cam2mqtt"',
        });
        res.end('metrics.token required: Authorization: Bearer TOKEN\n');
        return false;
      }
    }
    return this.ctx.http.authorize(req, res);
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.allowed(req, res)) return;
    this.scrapes++;
    try {
      this.refresh();
      const merged = Registry.merge([processMetrics(), this.registry]);
      const text = await merged.metrics();
      res.writeHead(200, { 'Content-Type': merged.contentType, 'Cache-Control': 'no-store' });
      res.end(text);
    } catch (err) {
      this.log.error(`metrics not collected: ${(err as Error).message}`);
      sendError(res, 500, 'metrics not collected');
    }
  }

  start(): void {}
  stop(): void {}

  status(): Record<string, unknown> {
    return { scrapes: this.scrapes, token: this.ctx.config.metrics.token !== undefined };
  }
}

export const metricsExtension: ExtensionFactory = (ctx) =>
  ctx.config.metrics.enabled ? new MetricsExtension(ctx) : undefined;
