import { pullGate } from '../../cluster/gate.js';
import type { Extension, ExtensionContext, ExtensionFactory } from '../../extension.js';
import type { CameraHub } from '../../hub/hub.js';
import type { Logger } from '../../logging.js';
import { MotionService } from '../../motion/service.js';
import { PulledCamera } from './pulled-camera.js';

/**
 * Cameras that serve HTTP (cameras.<id>.mjpeg_url / snapshot_url), pulled by cam2mqtt and fed to the
 * hub like cameras that dial in, plus server-side motion detection (cameras.<id>.motion_detection).
 */
class HttpCamerasExtension implements Extension {
  readonly name = 'http_cameras';
  readonly cameras = new Map<string, PulledCamera>();
  readonly motion: MotionService;
  private readonly log: Logger;
  private readonly hub: CameraHub;

  constructor(ctx: ExtensionContext) {
    const { hub, config, logger } = ctx;
    this.hub = hub;
    this.log = logger.child({ mod: 'http-cameras' });
    for (const [id, c] of Object.entries(config.cameras)) {
      if (!c.mjpeg_url && !c.snapshot_url) {
        const extra = ['control_url', 'servo_url', 'auth', 'on_demand'].filter((k) =>
          k === 'on_demand' ? c.on_demand : (c as Record<string, unknown>)[k] !== undefined,
        );
        if (extra.length)
          this.log.warn(
            `camera ${id}: ${extra.join(', ')} ignored: they apply to cameras pulled over HTTP (set mjpeg_url or snapshot_url)`,
          );
        continue;
      }
      const cam = hub.get(id);
      if (!cam) continue;
      this.cameras.set(
        id,
        new PulledCamera(cam, c, {
          hub,
          logger,
          commandTimeoutMs: config.limits.command_timeout * 1000,
          cameraTimeoutMs: config.limits.camera_timeout * 1000,
        }),
      );
    }
    this.motion = new MotionService(hub, logger, config.cameras);
  }

  get active(): boolean {
    return this.cameras.size > 0 || this.motion.enabled.length > 0;
  }

  async start(): Promise<void> {
    // Motion first: its subscription is demand, so on-demand cameras it watches connect straight away.
    await this.motion.start();
    // In a cluster exactly one instance pulls each camera: the one holding its lease (docs/scale-out.md).
    const gate = pullGate(this.hub);
    for (const [id, c] of this.cameras) {
      if (gate) gate.lease(id, { acquired: () => c.start(), lost: () => c.stop() });
      else c.start();
    }
  }

  stop(): void {
    this.motion.stop();
    const gate = pullGate(this.hub);
    for (const [id, c] of this.cameras) {
      gate?.release(id);
      c.stop();
    }
  }

  status(): Record<string, unknown> {
    const cameras: Record<string, unknown> = {};
    for (const [id, c] of this.cameras) cameras[id] = c.statusJSON();
    return { cameras, motion: this.motion.status() };
  }
}

export const httpCamerasExtension: ExtensionFactory = (ctx) => {
  const ext = new HttpCamerasExtension(ctx);
  return ext.active ? ext : undefined;
};
