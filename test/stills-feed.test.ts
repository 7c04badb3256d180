// StillsFeed (snapshot_url without a stream) against a real HTTP stills camera: on demand it polls
// slowly while nobody watches, at the full rate (starting at once) while someone does; a snapshot joins
// the poll; stop ends the polls.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { isJpeg } from '../src/hub/frame.js';
import { createLogger } from '../src/logging.js';
import type { FeedOwner } from '../src/sources/http/feed.js';
import { StillsFeed } from '../src/sources/http/stills-feed.js';
import { waitFor } from './helpers/bridge.js';
import { StillsEmulator } from './http-camera-emulators.js';

let cam: StillsEmulator;
before(async () => {
  cam = await new StillsEmulator().listen();
});
after(async () => {
  await cam.close();
});

function owner() {
  const o = { frames: [] as Buffer[], downs: [] as string[], touches: 0 };
  const fo: FeedOwner = {
    frame: (j) => o.frames.push(Buffer.isBuffer(j) ? j : Buffer.concat(j)),
    down: (r) => o.downs.push(r),
    bad: () => {},
    reachable: () => {},
    touch: () => o.touches++,
  };
  return { o, fo };
}

test('on-demand stills: slow polls while nobody watches, full rate at once when watched, slow again after', async () => {
  const { o, fo } = owner();
  const feed = new StillsFeed(
    {
      url: new URL(`http://127.0.0.1:${cam.port}/capture`),
      auth: undefined,
      maxFrameBytes: 1 << 20,
      timeoutMs: 5000,
      // The full rate; idle polls come every min(10 s, camera_timeout / 2) = 4 s here.
      intervalMs: 100,
      backoff: { minMs: 100, maxMs: 1000 },
      log: createLogger({ level: 'silent', format: 'json' }),
      onDemand: true,
      cameraTimeoutMs: 8000,
    },
    fo,
  );
  try {
    feed.start(false);
    await waitFor(() => o.frames.length >= 1, 5000, 'the first still at once');
    assert.ok(isJpeg(o.frames[0]!));
    assert.equal(feed.url, `http://127.0.0.1:${cam.port}/capture`);
    // Idle: no second poll for a good while (generous bound for a loaded machine: well under 4 s).
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(o.frames.length, 1, 'idle on-demand camera is polled slowly');

    const before = cam.served;
    feed.setDemand(true);
    await waitFor(() => cam.served >= before + 5, 5000, 'full-rate polls while watched');

    feed.setDemand(false);
    await new Promise((r) => setTimeout(r, 300));
    const idleFrom = cam.served;
    await new Promise((r) => setTimeout(r, 1000));
    assert.ok(cam.served <= idleFrom + 1, `slow again once nobody watches (${cam.served - idleFrom} polls in 1 s)`);

    // A snapshot request joins the next poll or makes one; its still reaches the owner too.
    const n = o.frames.length;
    await feed.grab();
    assert.equal(o.frames.length, n + 1);
    const s = feed.status();
    assert.equal(s.streaming, false);
    assert.equal(s.frames, o.frames.length);
    assert.equal(o.downs.length, 0);
  } finally {
    feed.stop();
  }
  const stoppedAt = cam.served;
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(cam.served, stoppedAt, 'no polls after stop');
});
