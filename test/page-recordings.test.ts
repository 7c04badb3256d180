import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { ClipEvent } from '../src/hub/events.js';
import { SimulatedNativeCamera } from '../src/simulator/native-camera.js';
import { cameraUrl } from '../src/simulator/simulate.js';
import { sleep, startBridge, type TestBridge, waitFor } from './helpers/bridge.js';
import { launchBrowser, nextFrames, openPage, tileSel, tileState } from './page-helpers.js';

// Browser globals inside page.evaluate callbacks (this project compiles without the DOM lib).
declare const document: any;

// The page's recorded events in headless Chromium: the strip under a tile, the wall's recent events,
// and a clip played in its tile (frames change, pause holds the picture, speed, then live again).

describe('page: recorded events and the clip player', () => {
  let t: TestBridge;
  let sim: SimulatedNativeCamera;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  let clip: ClipEvent;

  before(async () => {
    t = await startBridge({ recordings: { enabled: true, pre_seconds: 1, post_seconds: 1, min_free_bytes: 0 } });
    sim = new SimulatedNativeCamera({
      url: cameraUrl(t.url, 'native'),
      id: 'hall',
      fps: 10,
      width: 320,
      height: 240,
      hue: 280,
    });
    sim.start();
    const cam = await waitFor(() => t.bridge.hub.get('hall'), 5000, 'camera');
    await waitFor(() => cam.frames > 12, 10_000, 'frames');
    browser = await launchBrowser();
    ({ page, errors } = await openPage(browser, `${t.url}/`));
    await nextFrames(page, 'hall', 0, 10_000);
    // A clip recorded while the page is open: its strip gets it live (the clip message).
    const closed = new Promise<ClipEvent>((resolve) =>
      t.bridge.hub.listen({}, 'clip', (c) => {
        if (c.state === 'closed') resolve(c);
      }),
    );
    sim.setMotion(true);
    await sleep(2000);
    sim.setMotion(false);
    clip = await closed;
  });

  after(async () => {
    await browser?.close();
    await sim?.stop();
    await t?.stop();
  });

  it('shows the event in the tile strip and in the recent events, with its thumbnail', async () => {
    const btn = `${tileSel('hall')} .events-strip button.event[data-clip="${clip.id}"]`;
    await page.waitForSelector(btn, { timeout: 10_000 });
    await page.waitForSelector(`.recent-events button.event[data-clip="${clip.id}"]`, { timeout: 10_000 });
    await waitFor(
      () => page.evaluate((s) => document.querySelector(`${s} img`)?.naturalWidth ?? 0, btn),
      5000,
      'the thumbnail loaded',
    );
  });

  it('plays the clip in the tile: frames change, pause holds, speed, then it returns to live', async () => {
    await page.click(`${tileSel('hall')} .events-strip button.event[data-clip="${clip.id}"]`);
    await waitFor(
      () => page.evaluate((s) => document.querySelector(s)?.dataset.playing, tileSel('hall')),
      5000,
      'the player',
    );
    const live = (await tileState(page, 'hall'))!;
    const seen = new Set<number>();
    const end = Date.now() + 1500;
    while (Date.now() < end) {
      seen.add((await tileState(page, 'hall'))!.index);
      await sleep(80);
    }
    assert.ok(seen.size >= 5, `the picture changes while the clip plays (${seen.size} different frames)`);
    assert.equal((await tileState(page, 'hall'))!.frames, live.frames, 'no live frame is drawn meanwhile');

    await page.click(`${tileSel('hall')} .player button:has-text("Pause")`);
    await sleep(200);
    const held = (await tileState(page, 'hall'))!.index;
    await sleep(700);
    assert.equal((await tileState(page, 'hall'))!.index, held, 'paused: the same picture');
    // Seek back to the start, then play at 4x to the end.
    await page.evaluate((s) => {
      const seek = document.querySelector(`${s} .player .seek`);
      seek.value = '0';
      seek.dispatchEvent(new Event('input'));
    }, tileSel('hall'));
    await page.selectOption(`${tileSel('hall')} .player select.speed`, '4');
    const t0 = Date.now();
    await page.click(`${tileSel('hall')} .player button:has-text("Play")`);
    await waitFor(
      () => page.evaluate((s) => !document.querySelector(s)?.dataset.playing, tileSel('hall')),
      15_000,
      'the end of the clip',
    );
    const took = (Date.now() - t0) / 1000;
    assert.ok(took < clip.durationS, `4x: ${took} s for a ${clip.durationS} s clip`);
    // Live again.
    await nextFrames(page, 'hall', live.frames, 5000);
    assert.deepEqual(errors, []);
  });
});
