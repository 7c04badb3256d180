// The control page in a real browser: tiles, frames (read back from pixels), video clock, motion box,
// info messages, hover info, live add/offline/remove, visibility-driven frame delivery, full view, phone.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { SimulatedMjpeg2sdCamera } from '../src/simulator/mjpeg2sd-camera.js';
import { SimulatedNativeCamera } from '../src/simulator/native-camera.js';
import { encodeFrame, FLAG_TIME_SYNCED } from '../src/sources/native/codec.js';
import { sleep, startBridge, type TestBridge, waitFor } from './helpers/bridge.js';
import { launchBrowser, nextFrames, openPage, tileSel, tileState } from './page-helpers.js';

// Browser globals inside page.evaluate callbacks (this project compiles without the DOM lib).
declare const document: any;
declare const getComputedStyle: any;
declare const Event: any;

/** 3 h 25 min 10 s behind: the video clock must show this camera's time, not the browser's. */
const SKEW_MS = (3 * 3600 + 25 * 60 + 10) * 1000;

class SkewedCamera extends SimulatedNativeCamera {
  override sendFrame(flags = FLAG_TIME_SYNCED): void {
    const jpeg = this.nextJpeg();
    this.ws!.send(encodeFrame(this.seq++, Date.now() - SKEW_MS, jpeg, flags));
    this.framesSent++;
  }
}

const SIZE = { width: 320, height: 240 };

describe('control page: the wall', () => {
  let t: TestBridge;
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let page: Page;
  let errors: string[];
  const cams: (SimulatedNativeCamera | SimulatedMjpeg2sdCamera)[] = [];
  let skewed: SkewedCamera;
  let yard: SimulatedNativeCamera;
  let porch: SimulatedMjpeg2sdCamera;

  before(async () => {
    t = await startBridge({});
    const url = `ws://127.0.0.1:${t.port}`;
    skewed = new SkewedCamera({
      url: `${url}/api/camera`,
      id: 'skewed',
      name: 'Skewed clock',
      fps: 10,
      ...SIZE,
      hue: 20,
      idleIntervalMs: 1000,
    });
    yard = new SimulatedNativeCamera({
      url: `${url}/api/camera`,
      id: 'yard',
      name: 'Yard',
      fps: 10,
      ...SIZE,
      hue: 140,
      idleIntervalMs: 1000,
    });
    porch = new SimulatedMjpeg2sdCamera({ url: `${url}/ws`, id: 'ESP-CAM-PORCH', fps: 8, ...SIZE, hue: 260 });
    cams.push(skewed, yard, porch);
    for (const c of cams) c.start();
    await waitFor(
      () => ['skewed', 'yard', 'esp-cam-porch'].every((id) => t.bridge.hub.get(id)?.latest),
      5000,
      'cameras',
    );
    browser = await launchBrowser();
    ({ context, page, errors } = await openPage(browser, t.url));
  });
  after(async () => {
    await context?.close().catch(() => {});
    await browser?.close().catch(() => {});
    await Promise.all(cams.map((c) => c.stop()));
    await t.stop();
  });

  it('shows one tile per camera, each drawing its own camera frames (checked from the pixels)', async () => {
    await page.waitForSelector('.tile[data-id="skewed"]');
    assert.deepEqual(
      await page.$$eval('.tile', (els: any[]) => els.map((e) => e.dataset.id)),
      ['esp-cam-porch', 'skewed', 'yard'],
      'sorted by name',
    );
    for (const id of ['skewed', 'yard', 'esp-cam-porch']) {
      const a = await nextFrames(page, id, 0);
      assert.equal(a.width, 320);
      assert.equal(a.height, 240);
      // The simulator paints its frame index into the picture; the header's seq says which frame that is.
      const expected = (s: number) => (id === 'esp-cam-porch' ? (s - 1) % 32 : s % 32);
      assert.equal(a.index, expected(a.seq), `${id}: the canvas shows frame ${a.seq}`);
      // Keeps drawing: several new frames (10 fps nominal; waited for, as a loaded machine is slower).
      const b = await waitFor(
        async () => {
          const s = await tileState(page, id);
          return s && s.frames >= a.frames + 6 ? s : undefined;
        },
        10_000,
        `${id} keeps drawing (from ${a.frames} frames)`,
      );
      assert.equal(b!.index, expected(b!.seq), `${id}: the canvas shows frame ${b!.seq}`);
      assert.notEqual(b!.index, a.index, `${id}: the picture changed`);
    }
    const fps = Number(await page.$eval(`${tileSel('yard')} .fps`, (e: any) => Number.parseFloat(e.textContent)));
    // Held to the rate the bridge receives (10 fps nominal; a loaded machine slows the simulator too).
    // The page shows what it drew, so it may fall behind, but never shows more than arrives.
    const received = t.bridge.hub.get('yard')!.fps;
    assert.ok(
      fps >= received * 0.6 && fps <= received * 1.3 + 1,
      `the page measures the camera's rate: shows ${fps} fps, the bridge receives ${received} (camera set to 10)`,
    );
    assert.deepEqual(errors, []);
  });

  it("shows the video clock: the camera's own time of the frame shown, following it", async () => {
    const read = () =>
      page.$eval(tileSel('skewed'), (e: any) => ({
        text: e.querySelector('.clock').textContent as string,
        time: Number(e.dataset.cameraTime),
      }));
    const a = await read();
    const expectedNow = Date.now() - SKEW_MS;
    // The frame shown may lag behind on a loaded machine, but is never ahead; the skew is hours.
    assert.ok(
      a.time - expectedNow < 2000 && expectedNow - a.time < 10_000,
      `camera time ${new Date(a.time).toISOString()} vs ${new Date(expectedNow).toISOString()}`,
    );
    assert.ok(
      a.text.endsWith(new Date(a.time).toISOString().slice(11, 19)),
      `clock "${a.text}" shows ${new Date(a.time).toISOString()}`,
    );
    // Follows the camera: waited for rather than slept, so a loaded machine only makes it slower.
    const b = await waitFor(
      async () => {
        const r = await read();
        return r.time - a.time >= 1000 ? r : undefined;
      },
      10_000,
      'the clock follows the camera',
    );
    assert.ok(b.text.endsWith(new Date(b.time).toISOString().slice(11, 19)));
    // MJPEG2SD cameras stamp whole seconds.
    const legacy = await page.$eval(tileSel('esp-cam-porch'), (e: any) => ({
      text: e.querySelector('.clock').textContent as string,
      time: Number(e.dataset.cameraTime),
    }));
    assert.equal(legacy.time % 1000, 0);
    assert.ok(legacy.text.endsWith(new Date(legacy.time).toISOString().slice(11, 19)));
  });

  it('draws a red box around a tile while motion is on, with the reported region', async () => {
    const box = (id: string) =>
      page.$eval(`${tileSel(id)} .view`, (v: any) => {
        const s = getComputedStyle(v, '::after');
        const r = v.querySelector('.region');
        const vb = v.getBoundingClientRect();
        const rb = r.getBoundingClientRect();
        return {
          motion: v.closest('.tile').classList.contains('motion'),
          border: s.content === 'none' ? null : `${s.borderTopWidth} ${s.borderTopStyle} ${s.borderTopColor}`,
          badge: getComputedStyle(v.querySelector('.motion-badge')).display,
          region: r.hidden
            ? null
            : {
                x: (rb.left - vb.left) / vb.width,
                y: (rb.top - vb.top) / vb.height,
                w: rb.width / vb.width,
                h: rb.height / vb.height,
              },
        };
      });
    assert.deepEqual(await box('yard'), { motion: false, border: null, badge: 'none', region: null });
    yard.setMotion(true, { x: 250, y: 500, w: 500, h: 250 });
    await page.waitForSelector(`${tileSel('yard')}.motion`);
    const on = await box('yard');
    assert.equal(on.border, '3px solid rgb(255, 59, 48)');
    assert.equal(on.badge, 'block');
    assert.ok(
      on.region &&
        Math.abs(on.region.x - 0.25) < 0.01 &&
        Math.abs(on.region.y - 0.5) < 0.01 &&
        Math.abs(on.region.w - 0.5) < 0.01 &&
        Math.abs(on.region.h - 0.25) < 0.01,
      JSON.stringify(on.region),
    );
    yard.setMotion(false);
    await page.waitForSelector(`${tileSel('yard')}:not(.motion)`);
    assert.deepEqual(await box('yard'), { motion: false, border: null, badge: 'none', region: null });
    // MJPEG2SD: MotionStart / MotionEnd.
    porch.setMotion(true);
    await page.waitForSelector(`${tileSel('esp-cam-porch')}.motion`);
    assert.equal((await box('esp-cam-porch')).border, '3px solid rgb(255, 59, 48)');
    porch.setMotion(false);
    await page.waitForSelector(`${tileSel('esp-cam-porch')}:not(.motion)`);
  });

  it('shows info messages (framesize, lamp...) at the bottom of the tile for a few seconds', async () => {
    yard.send({ type: 'info', info: { lamp: 100 } });
    const msg = await page.waitForSelector(`${tileSel('yard')} .messages .msg:text("Lamp 100 %")`);
    const pos = await page.$eval(`${tileSel('yard')} .view`, (v: any) => {
      const m = v.querySelector('.messages .msg').getBoundingClientRect();
      const vb = v.getBoundingClientRect();
      return { fromBottom: vb.bottom - m.bottom, height: vb.height };
    });
    assert.ok(pos.fromBottom >= 0 && pos.fromBottom < 20, `at the bottom: ${JSON.stringify(pos)}`);
    porch.sendText('framesize=9');
    await page.waitForSelector(`${tileSel('esp-cam-porch')} .messages .msg:text("Frame size SVGA")`);
    await msg.waitForElementState('hidden', { timeout: 6000 });
  });

  it('shows the camera info when hovering the picture', async () => {
    await page.hover(`${tileSel('yard')} canvas`);
    await page.waitForFunction(
      (sel: string) => getComputedStyle(document.querySelector(sel)).opacity === '1',
      `${tileSel('yard')} .infopanel`,
    );
    const text = await page.$eval(`${tileSel('yard')} .infopanel`, (e: any) => e.textContent as string);
    for (const s of [
      'cam2mqtt native',
      'cam2mqtt-sim',
      'sim-1.0',
      'VGA',
      '-55 dBm',
      'heap 176 KiB',
      'Uptime',
      'Video clock',
    ])
      assert.ok(text.includes(s), `info shows ${s}: ${text}`);
    await page.hover(`${tileSel('esp-cam-porch')} canvas`);
    await page.waitForFunction(
      (sel: string) => getComputedStyle(document.querySelector(sel)).opacity === '1',
      `${tileSel('esp-cam-porch')} .infopanel`,
    );
    const legacy = await page.$eval(`${tileSel('esp-cam-porch')} .infopanel`, (e: any) => e.textContent as string);
    for (const s of ['MJPEG2SD', 'OV2640', '8.8', '-61 dBm', '0-00:12:34'])
      assert.ok(legacy.includes(s), `info shows ${s}: ${legacy}`);
    await page.mouse.move(0, 0);
  });

  it('adds tiles for cameras as they connect, shows one going offline with "last seen", removes removed ones', async () => {
    const late = new SimulatedNativeCamera({
      url: `ws://127.0.0.1:${t.port}/api/camera`,
      id: 'late',
      name: 'Late arrival',
      fps: 10,
      ...SIZE,
      hue: 330,
      reconnect: false,
    });
    late.start();
    try {
      await page.waitForSelector(tileSel('late'));
      await nextFrames(page, 'late');
      late.kill();
      await page.waitForSelector(`${tileSel('late')}.offline`);
      const note = await page.$eval(`${tileSel('late')} .offline-note`, (e: any) => ({
        text: e.textContent as string,
        shown: getComputedStyle(e).display,
      }));
      assert.match(note.text, /^Offline · last seen (just now|\d+ s ago)$/);
      assert.equal(note.shown, 'grid');
      assert.match(await page.$eval('#status', (e: any) => e.textContent as string), /Cameras 3\/4 online/);
      t.bridge.hub.remove('late');
      await page.waitForSelector(tileSel('late'), { state: 'detached' });
    } finally {
      await late.stop();
    }
  });

  it('sends frames only for tiles on screen, and none while the tab is hidden', async () => {
    await page.setViewportSize({ width: 390, height: 420 });
    await sleep(300);
    const check = async () => {
      const visible = await page.$$eval('.tile', (els: any[]) =>
        els.map((e) => {
          const r = e.querySelector('.view').getBoundingClientRect();
          return {
            id: e.dataset.id as string,
            on: r.bottom > -120 && r.top < (document.documentElement.clientHeight as number) + 120,
          };
        }),
      );
      return visible.every((v) => t.bridge.hub.get(v.id)!.watchers === (v.on ? 1 : 0)) ? visible : undefined;
    };
    const vis = await waitFor(check, 3000, 'watchers to match the tiles on screen');
    assert.ok(vis.some((v) => v.on) && vis.some((v) => !v.on), JSON.stringify(vis));
    const off = vis.find((v) => !v.on)!.id;
    if (off !== 'esp-cam-porch')
      await waitFor(
        () => !(off === 'yard' ? yard : skewed).watching,
        2000,
        'an off-screen camera is told nobody watches',
      );
    const frames = Number(await page.$eval(tileSel(off), (e: any) => e.dataset.frames));
    await sleep(600);
    assert.equal(
      Number(await page.$eval(tileSel(off), (e: any) => e.dataset.frames)),
      frames,
      'no frames for an off-screen tile',
    );
    // Scroll it into view: it gets frames again.
    await page.$eval(tileSel(off), (e: any) => e.scrollIntoView());
    await nextFrames(page, off, frames);
    // A hidden tab gets nothing at all.
    await page.evaluate(() => {
      Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
      document.dispatchEvent(new Event('visibilitychange'));
    });
    await waitFor(
      () => ['skewed', 'yard', 'esp-cam-porch'].every((id) => t.bridge.hub.get(id)!.watchers === 0),
      2000,
      'no watchers while hidden',
    );
    await page.evaluate(() => {
      Object.defineProperty(document, 'hidden', { configurable: true, get: () => false });
      document.dispatchEvent(new Event('visibilitychange'));
    });
    await waitFor(check, 3000, 'watchers back when visible');
    // A phone: one column, nothing wider than the screen.
    const layout = await page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth as number,
      tile: document.querySelector('.tile').getBoundingClientRect().width as number,
    }));
    assert.ok(layout.scroll <= 390, `no horizontal scrolling on a phone (${layout.scroll}px)`);
    assert.ok(layout.tile > 340, `tiles use the phone's width (${layout.tile}px)`);
    await page.setViewportSize({ width: 1400, height: 900 });
  });

  it('filters and sorts the tiles; filtered-out tiles get no frames', async () => {
    await page.fill('#filter', 'porch');
    await page.waitForSelector(`${tileSel('yard')}`, { state: 'hidden' });
    assert.deepEqual(await page.$$eval('.tile:not([hidden])', (els: any[]) => els.map((e) => e.dataset.id)), [
      'esp-cam-porch',
    ]);
    await waitFor(
      () => t.bridge.hub.get('yard')!.watchers === 0 && t.bridge.hub.get('esp-cam-porch')!.watchers === 1,
      3000,
      'only the shown tile is sent',
    );
    await page.fill('#filter', 'native');
    await page.waitForSelector(`${tileSel('esp-cam-porch')}`, { state: 'hidden' });
    await page.fill('#filter', '');
    await page.keyboard.press('Escape');
    yard.setMotion(true);
    await page.waitForSelector(`${tileSel('yard')}.motion`);
    await page.selectOption('#sort', 'motion');
    assert.equal(await page.$eval('.tile', (e: any) => e.dataset.id), 'yard', 'recent motion first');
    yard.setMotion(false);
    await page.selectOption('#sort', 'name');
    assert.deepEqual(await page.$$eval('.tile', (els: any[]) => els.map((e) => e.dataset.id)), [
      'esp-cam-porch',
      'skewed',
      'yard',
    ]);
    await waitFor(
      () => ['skewed', 'yard', 'esp-cam-porch'].every((id) => t.bridge.hub.get(id)!.watchers === 1),
      3000,
      'all tiles watched again',
    );
  });

  it('opens one camera in a full view (others stop), and Escape returns to the wall', async () => {
    await page.click(`${tileSel('yard')} button[title^="Full view"]`);
    await page.waitForSelector(`${tileSel('yard')}.solo`);
    const view = await page.$eval(`${tileSel('yard')} .view`, (v: any) => v.getBoundingClientRect().width as number);
    assert.ok(view > 1000, `full view is big (${view}px)`);
    assert.match(page.url(), /#cam=yard$/);
    await waitFor(
      () =>
        t.bridge.hub.get('skewed')!.watchers === 0 &&
        t.bridge.hub.get('esp-cam-porch')!.watchers === 0 &&
        t.bridge.hub.get('yard')!.watchers === 1,
      3000,
      'only the shown camera is sent',
    );
    const f = (await tileState(page, 'yard'))!.frames;
    await nextFrames(page, 'yard', f + 3);
    await page.keyboard.press('Escape');
    await page.waitForSelector('.tile.solo', { state: 'detached' });
    await waitFor(
      () => ['skewed', 'yard', 'esp-cam-porch'].every((id) => t.bridge.hub.get(id)!.watchers === 1),
      3000,
      'all tiles watched again',
    );
    assert.deepEqual(errors, []);
  });
});
