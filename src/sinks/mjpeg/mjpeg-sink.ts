import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Extension, ExtensionFactory, SinkFigures } from '../../extension.js';
import { type HttpServer, sendError, sendJson } from '../../http/server.js';
import { remoteOf } from '../../http/upgrade.js';
import type { Camera } from '../../hub/camera.js';
import type { Frame } from '../../hub/frame.js';
import type { CameraHub } from '../../hub/hub.js';
import type { Logger } from '../../logging.js';
import { CONTENT_TYPE, partOf, STREAM_PREAMBLE } from './part.js';
import { MjpegViewer } from './viewer.js';

export interface MjpegOptions {
  queueBytes: number;
  stallTimeoutMs: number;
  idleRepeatMs: number;
}

/** The viewers of one camera; subscribes to the camera only while it has viewers. */
class CameraStream {
  readonly viewers = new Set<MjpegViewer>();
  lastSentAt = 0;
  private readonly unsubscribe: () => void;

  constructor(readonly cam: Camera) {
    this.unsubscribe = cam.subscribe((f) => this.send(f));
  }

  send(frame: Frame): void {
    const part = partOf(frame);
    this.lastSentAt = Date.now();
    for (const v of this.viewers) v.offer(part);
  }

  close(): void {
    this.unsubscribe();
  }
}

/** GET /api/cameras/:id/stream.mjpeg: any number of viewers from the camera's one upstream. */
export class MjpegSink implements Extension {
  readonly name = 'mjpeg';
  private readonly streams = new Map<string, CameraStream>();
  /** Frames delivered and dropped by viewers that have left, per camera (for /metrics: monotonic). */
  private readonly gone = new Map<string, { delivered: number; dropped: number }>();
  private timer: NodeJS.Timeout | undefined;
  private readonly log: Logger;

  constructor(
    private readonly hub: CameraHub,
    http: HttpServer,
    logger: Logger,
    private readonly opts: MjpegOptions,
  ) {
    this.log = logger.child({ mod: 'mjpeg' });
    http.get('/api/cameras/:id/stream.mjpeg', (req, res) => this.serve(req, res, req.params.id!));
    http.get('/api/cameras/:id/viewers', ({ params: p }, res) => {
      if (!hub.get(p.id!)) return sendError(res, 404, `unknown camera "${p.id}"`);
      sendJson(
        res,
        200,
        [...(this.streams.get(p.id!)?.viewers ?? [])].map((v) => v.toJSON()),
      );
    });
    hub.listen(this, 'removed', (cam) => {
      this.gone.delete(cam.id);
      const s = this.streams.get(cam.id);
      if (!s) return;
      for (const v of s.viewers) v.res.destroy();
    });
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), 250);
    this.timer.unref();
  }

  viewers(cameraId?: string): number {
    if (cameraId !== undefined) return this.streams.get(cameraId)?.viewers.size ?? 0;
    let n = 0;
    for (const s of this.streams.values()) n += s.viewers.size;
    return n;
  }

  /** The viewers' own counters, summed when asked (nothing more is counted per frame). */
  figures(): SinkFigures {
    const delivered: Record<string, number> = {};
    const dropped: Record<string, number> = {};
    const viewers: Record<string, number> = {};
    for (const [id, g] of this.gone) {
      delivered[id] = g.delivered;
      dropped[id] = g.dropped;
    }
    for (const [id, s] of this.streams) {
      viewers[id] = s.viewers.size;
      for (const v of s.viewers) {
        delivered[id] = (delivered[id] ?? 0) + v.delivered;
        dropped[id] = (dropped[id] ?? 0) + v.dropped;
      }
    }
    return { mjpeg_viewers: viewers, mjpeg_frames_delivered: delivered, mjpeg_frames_dropped: dropped };
  }

  private serve(req: IncomingMessage, res: ServerResponse, id: string): void {
    const cam = this.hub.get(id);
    if (!cam) return sendError(res, 404, `unknown camera "${id}"`);
    const remote = remoteOf(req);
    // A raw body until the connection closes, like every MJPEG server: chunked encoding would wrap
    // each part in a chunk header and CRLF (three buffers per write, per viewer).
    res.useChunkedEncodingByDefault = false;
    res.writeHead(200, {
      'Content-Type': CONTENT_TYPE,
      'Cache-Control': 'no-cache, no-store, must-revalidate',
      Pragma: 'no-cache',
      Expires: '0',
      Connection: 'close',
      'X-Accel-Buffering': 'no',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    req.socket.setNoDelay(true);
    res.write(STREAM_PREAMBLE);
    const viewer = new MjpegViewer(res, remote, this.opts.queueBytes);
    let stream = this.streams.get(id);
    if (!stream) {
      stream = new CameraStream(cam);
      this.streams.set(id, stream);
    }
    stream.viewers.add(viewer);
    this.log.debug(`viewer ${remote} joined ${id} (${stream.viewers.size} watching)`);
    // Show the newest frame at once instead of waiting for the next one.
    if (cam.latest) viewer.offer(partOf(cam.latest));
    const leave = () => {
      const s = this.streams.get(id);
      if (!s?.viewers.delete(viewer)) return;
      // Kept for cameras that still exist only, so the map stays as bounded as the hub's cameras.
      if (this.hub.get(id)) {
        const g = this.gone.get(id) ?? { delivered: 0, dropped: 0 };
        g.delivered += viewer.delivered;
        g.dropped += viewer.dropped;
        this.gone.set(id, g);
      }
      this.log.debug(`viewer ${remote} left ${id} after ${viewer.delivered} frames (${viewer.dropped} dropped)`);
      if (s.viewers.size === 0) {
        s.close();
        this.streams.delete(id);
      }
    };
    res.on('close', leave);
    res.on('error', leave);
  }

  private tick(): void {
    const now = Date.now();
    for (const s of this.streams.values()) {
      // Browsers paint a part only once the next one starts; repeat the last frame while the camera is quiet.
      if (this.opts.idleRepeatMs > 0 && s.cam.latest && now - s.lastSentAt >= this.opts.idleRepeatMs)
        s.send(s.cam.latest);
      for (const v of s.viewers) {
        if (v.stalledSince !== undefined && now - v.stalledSince > this.opts.stallTimeoutMs) {
          this.log.warn(
            `viewer ${v.remote} of ${s.cam.id} accepted no data for ${Math.round((now - v.stalledSince) / 1000)} s, disconnecting it (${v.delivered} frames delivered, ${v.dropped} dropped)`,
          );
          v.res.destroy();
        }
      }
    }
  }

  stop(): void {
    this.hub.unlisten(this);
    if (this.timer) clearInterval(this.timer);
    for (const s of this.streams.values()) {
      for (const v of s.viewers) v.res.end();
      s.close();
    }
    this.streams.clear();
  }
}

export const mjpegExtension: ExtensionFactory = ({ hub, http, logger, config: { limits } }) =>
  new MjpegSink(hub, http, logger, {
    queueBytes: limits.viewer_queue_bytes,
    stallTimeoutMs: limits.viewer_stall_timeout * 1000,
    idleRepeatMs: limits.idle_repeat_interval * 1000,
  });
