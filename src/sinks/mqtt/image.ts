import type { Camera } from '../../hub/camera.js';
import { type Frame, jpegSize } from '../../hub/frame.js';
import type { CameraHub } from '../../hub/hub.js';
import type { Publisher } from './state.js';

export interface ImageOptions {
  /** homeassistant.image_interval in ms (> 0). */
  intervalMs: number;
  /** `<base>/<id>/image` */
  topic(id: string): string;
  /** Larger frames are not published (mqtt.snapshot_max_bytes: the same limit as snapshots). */
  maxBytes: number;
  /** Cameras that are not published (reserved ids). */
  skip(id: string): boolean;
}

/**
 * Home Assistant's MQTT `image` entity (`image.<id>`): the newest frame of each online camera at most
 * every `homeassistant.image_interval` seconds, and a motion snapshot at once. HA's dashboards redraw
 * an image entity when it is published, where a `camera` entity is polled every 10 s.
 *
 * The frame's own Buffer is published (the one the hub keeps as `latest` and the snapshot topic
 * carries): never copied. A timer reads `cam.latest`, so the frame path does nothing for it, and a
 * camera that sent nothing new since the last tick is not published again.
 */
export class ImagePublisher {
  private timer: NodeJS.Timeout | undefined;
  private readonly last = new Map<string, Frame>();
  /** Online cameras without a picture since: their first frame goes out at the next stats tick, not an interval later. */
  private readonly fresh = new Set<string>();
  /** Images published, since start (/metrics reads it via the MQTT sink's figures). */
  published = 0;

  constructor(
    private readonly hub: CameraHub,
    private readonly publisher: Publisher,
    private readonly opts: ImageOptions,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.tick(), this.opts.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.last.clear();
    this.fresh.clear();
  }

  online(cam: Camera): void {
    this.fresh.add(cam.id);
  }

  /** Once a second (the hub's stats tick): the first frame of a camera that just came online. */
  stats(): void {
    for (const id of this.fresh) {
      const cam = this.hub.get(id);
      if (!cam?.online) this.fresh.delete(id);
      else if (cam.latest) this.publish(cam, cam.latest);
    }
  }

  /** A motion snapshot goes out at once, whatever the interval. */
  snapshot(cam: Camera, frame: Frame): void {
    if (cam.online) this.publish(cam, frame);
  }

  forget(id: string): void {
    this.last.delete(id);
    this.fresh.delete(id);
  }

  private tick(): void {
    for (const cam of this.hub.list()) {
      const f = cam.latest;
      if (cam.online && f && this.last.get(cam.id) !== f) this.publish(cam, f);
    }
  }

  private publish(cam: Camera, frame: Frame): void {
    if (this.opts.skip(cam.id) || jpegSize(frame) > this.opts.maxBytes) return;
    this.last.set(cam.id, frame);
    this.fresh.delete(cam.id);
    this.published++;
    // Retained: a Home Assistant that (re)starts shows the last picture at once, not after the next tick.
    this.publisher.retain(this.opts.topic(cam.id), frame.data, 0);
  }
}
