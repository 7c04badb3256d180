import path from 'node:path';
import type { Extension, ExtensionContext, ExtensionFactory } from '../extension.js';
import type { Logger } from '../logging.js';
import type { Camera, Protocol } from './camera.js';
import type { CameraHub } from './hub.js';
import { CameraStore } from './store.js';

/**
 * Cameras that connected once stay known across restarts (`<dataDir>/cameras.json`), whatever sinks are
 * on: they come back as offline cameras, so Home Assistant entities stay and the page shows them.
 * First in the start order, so every sink sees the restored cameras.
 */
export class KnownCameras implements Extension {
  readonly name = 'known_cameras';
  readonly store: CameraStore;
  private readonly hub: CameraHub;
  private readonly log: Logger;

  constructor(ctx: ExtensionContext) {
    this.hub = ctx.hub;
    this.log = ctx.logger.child({ mod: 'store' });
    this.store = new CameraStore(
      path.join(ctx.dataDir, 'cameras.json'),
      ctx.logger,
      1000,
      ctx.config.limits.max_cameras,
    );
  }

  start(): void {
    const hub = this.hub;
    let restored = 0;
    for (const c of this.store.load()) {
      if (hub.get(c.id)?.online) continue;
      hub.restore(c.id, c.protocol as Protocol | undefined, {
        name: c.name,
        ...(c.renamed ? { renamed: true } : {}),
        ...(c.model ? { model: c.model } : {}),
        ...(c.firmware ? { firmware: c.firmware } : {}),
        capabilities: c.capabilities,
        ...(c.last_seen ? { lastSeen: Date.parse(c.last_seen) } : {}),
      });
      restored++;
    }
    if (restored)
      this.log.info(`${restored} known camera(s) restored from ${this.store.file} (offline until they connect)`);
    const upsert = (cam: Camera) => this.store.upsert(cam);
    hub.listen(this, 'camera', upsert);
    hub.listen(this, 'updated', upsert);
    hub.listen(this, 'offline', upsert);
    hub.listen(this, 'removed', (cam) => this.store.delete(cam.id));
    for (const cam of hub.list()) this.store.upsert(cam);
  }

  async stop(): Promise<void> {
    this.hub.unlisten(this);
    for (const cam of this.hub.list()) this.store.upsert(cam);
    await this.store.close();
  }

  status(): Record<string, unknown> {
    return { file: this.store.file, cameras: this.store.list().length };
  }
}

export const knownCamerasExtension: ExtensionFactory = (ctx) => new KnownCameras(ctx);
