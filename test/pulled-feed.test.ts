// PulledCamera over the FrameFeed interface: the lifecycle (attach on the first frame, offline when the
// feed is down, snapshots through grab, demand passed on, stop) with a feed written here. It stands for
// "another pulled protocol": the real feeds (MjpegFeed, StillsFeed) are tested against real HTTP cameras
// in http-sources.test.ts and hostile/pulled-cameras.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cameraSchema } from '../src/config/schema.js';
import { CommandError } from '../src/hub/controls.js';
import { CameraHub } from '../src/hub/hub.js';
import { createLogger } from '../src/logging.js';
import type { FeedOwner, FeedStatus, FrameFeed } from '../src/sources/http/feed.js';
import { PulledCamera } from '../src/sources/http/pulled-camera.js';

const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0, 0xff, 0xd9]);

class ScriptedFeed implements FrameFeed {
  readonly protocol = 'mjpeg' as const;
  readonly model = 'test feed';
  readonly url = 'test://cam';
  readonly what = 'test frames';
  calls: string[] = [];
  grabFails = false;
  constructor(readonly owner: FeedOwner) {}
  start(watched: boolean): void {
    this.calls.push(`start ${watched}`);
  }
  stop(): void {
    this.calls.push('stop');
  }
  setDemand(watching: boolean): void {
    this.calls.push(`demand ${watching}`);
  }
  restart(): void {
    this.calls.push('restart');
  }
  async grab(): Promise<void> {
    this.calls.push('grab');
    if (this.grabFails) throw new Error('HTTP 500');
    setImmediate(() => this.owner.frame(JPEG));
  }
  status(): FeedStatus {
    return { streaming: true, connects: 1, frames: 0, oversize: 0, lastError: undefined };
  }
}

test('PulledCamera runs any FrameFeed: online with the first frame, snapshots by grab, offline when down', async () => {
  const logger = createLogger({ level: 'silent', format: 'json' });
  const hub = new CameraHub({
    logger,
    configured: {},
    allowUnknown: true,
    maxCameras: 4,
    cameraTimeoutMs: 60_000,
    commandTimeoutMs: 1000,
  });
  const cam = hub.restore('porch', undefined);
  let feed: ScriptedFeed | undefined;
  const p = new PulledCamera(
    cam,
    cameraSchema.parse({ mjpeg_url: 'http://127.0.0.1:9/stream' }),
    { hub, logger, commandTimeoutMs: 1000, cameraTimeoutMs: 60_000 },
    (owner) => {
      feed = new ScriptedFeed(owner);
      return feed;
    },
  );
  const f = feed!;
  p.start();
  assert.deepEqual(f.calls, ['start false']);
  assert.equal(cam.online, false, 'no frame yet');

  f.owner.frame(JPEG);
  assert.equal(cam.online, true);
  assert.equal(cam.protocol, 'mjpeg');
  assert.equal(cam.model, 'test feed');
  assert.equal(cam.latest?.data, JPEG, 'the same Buffer, not a copy');
  assert.equal(cam.info.source, 'test://cam');

  const shot = await p.snapshot(1000);
  assert.equal(shot.data, JPEG);
  assert.ok(f.calls.includes('grab'));
  f.grabFails = true;
  await assert.rejects(p.snapshot(1000), (e: unknown) => e instanceof CommandError && e.code === 'rejected');

  p.setDemand(true);
  assert.ok(f.calls.includes('demand true'));
  f.owner.down('gone');
  assert.equal(cam.online, false);
  f.owner.reachable();
  assert.equal(cam.online, true, 'reachable brings it back without a frame');

  assert.equal(p.statusJSON().streaming, true);
  p.stop();
  assert.equal(f.calls.at(-1), 'stop');
  assert.equal(cam.online, false);
});
