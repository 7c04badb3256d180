import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { SinkFigures } from '../../extension.js';
import type { Camera } from '../../hub/camera.js';

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

export type Figures = () => { cams: Camera[]; figures: SinkFigures; now: number };

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
function bridgeRegistry(read: Figures): { registry: Registry; refresh(): void } {
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

/** What one scrape needs: the bridge's figures read once, then the text of every metric. */
export interface Scraper {
  scrape(): Promise<{ contentType: string; text: string }>;
}

export function bridgeScraper(read: Figures, version: string): Scraper {
  const b = bridgeRegistry(read);
  const info = new Gauge({ name: 'cam2mqtt_info', help: 'The bridge version', labelNames: ['version'], registers: [] });
  info.set({ version }, 1);
  b.registry.registerMetric(info);
  return {
    async scrape() {
      b.refresh();
      const merged = Registry.merge([processMetrics(), b.registry]);
      return { contentType: merged.contentType, text: await merged.metrics() };
    },
  };
}
