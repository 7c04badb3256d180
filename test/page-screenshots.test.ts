// The documentation screenshots (docs/wall.jpg, docs/wall-tile.png): nine simulated cameras showing
// painted scenes instead of test patterns. Writes files only when asked:
//   npx tsc -p . && CAM2MQTT_SCREENSHOTS=docs node --test dist/test/page-screenshots.test.js
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import jpeg from 'jpeg-js';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { SimulatedCamera } from '../src/simulator/camera.js';
import { SimulatedMjpeg2sdCamera } from '../src/simulator/mjpeg2sd-camera.js';
import { SimulatedNativeCamera } from '../src/simulator/native-camera.js';
import { sleep, startBridge, type TestBridge, waitFor } from './helpers/bridge.js';
import { launchBrowser, nextFrames, tileSel } from './page-helpers.js';

const OUT = process.env.CAM2MQTT_SCREENSHOTS;

/** A small painted scene: sky, hills, a house, and a walker crossing (frame i of n). */
function scene(seed: number, i: number, n: number, w = 480, h = 360): Buffer {
  const px = Buffer.alloc(w * h * 4);
  const night = seed % 4 === 3;
  const horizon = h * (0.52 + (seed % 3) * 0.04);
  const hill = (x: number) =>
    horizon - 26 * Math.sin((x / w) * Math.PI * (1.5 + (seed % 2)) + seed) - 12 * Math.sin(x / 23 + seed);
  const hx = w * (0.18 + ((seed * 37) % 50) / 100),
    hw = w * 0.22,
    hh = h * 0.2;
  const walkerX = w * (0.05 + 0.9 * (i / n)),
    walkerY = horizon + h * 0.22;
  let r = seed * 7919 + i;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let c: [number, number, number];
      const sky = y / horizon;
      if (y < hill(x)) {
        c = night ? [12 + 20 * sky, 18 + 26 * sky, 40 + 40 * sky] : [70 + 90 * sky, 130 + 70 * sky, 200 + 30 * sky];
      } else {
        const g = (y - horizon) / (h - horizon);
        c = night ? [18, 32 + 10 * g, 22] : [60 + 40 * g + (seed % 5) * 8, 110 - 30 * g, 50 + 10 * g];
      }
      // House with a roof and a lit window.
      const inHouse = x > hx && x < hx + hw && y > horizon - hh && y < horizon + 6;
      const roof =
        y <= horizon - hh &&
        y > horizon - hh - (hw / 2 - Math.abs(x - hx - hw / 2)) * 0.7 &&
        x > hx - 6 &&
        x < hx + hw + 6;
      if (inHouse) c = night ? [40, 36, 44] : [196, 180, 150];
      if (roof) c = [120, 48, 40];
      const win = x > hx + hw * 0.6 && x < hx + hw * 0.8 && y > horizon - hh * 0.7 && y < horizon - hh * 0.35;
      if (win) c = night ? [250, 210, 110] : [90, 120, 150];
      // The walker: a body and a head.
      const dx = x - walkerX,
        dy = y - walkerY;
      if ((Math.abs(dx) < 7 && dy > -34 && dy < 0) || dx * dx + (dy + 42) * (dy + 42) < 64)
        c = night ? [200, 200, 210] : [40, 40, 60];
      r = (r * 1103515245 + 12345) & 0x7fffffff;
      const noise = ((r >> 16) % 9) - 4;
      const vignette = 1 - 0.35 * (((x - w / 2) / w) ** 2 + ((y - h / 2) / h) ** 2) * 2;
      const o = (y * w + x) * 4;
      px[o] = Math.max(0, Math.min(255, c[0] * vignette + noise));
      px[o + 1] = Math.max(0, Math.min(255, c[1] * vignette + noise));
      px[o + 2] = Math.max(0, Math.min(255, c[2] * vignette + noise));
      px[o + 3] = 255;
    }
  }
  return Buffer.from(jpeg.encode({ data: px, width: w, height: h }, 80).data);
}

const cycle = (seed: number) => Array.from({ length: 24 }, (_, i) => scene(seed, i, 24));

describe('documentation screenshots', { skip: OUT ? false : 'set CAM2MQTT_SCREENSHOTS=<dir> to write them' }, () => {
  let t: TestBridge;
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let page: Page;
  const cams: SimulatedCamera[] = [];

  before(async () => {
    t = await startBridge({});
    const url = `ws://127.0.0.1:${t.port}`;
    const native: [string, string][] = [
      ['front', 'Front door'],
      ['garage', 'Garage'],
      ['garden', 'Garden'],
      ['driveway', 'Driveway'],
      ['backyard', 'Back yard'],
      ['workshop', 'Workshop'],
    ];
    native.forEach(([id, name], i) =>
      cams.push(
        new SimulatedNativeCamera({
          url: `${url}/api/camera`,
          id,
          name,
          fps: 10,
          width: 480,
          height: 360,
          hue: 0,
          frames: cycle(i),
        }),
      ),
    );
    ['ESP-CAM-ATTIC', 'ESP-CAM-SHED', 'ESP-CAM-GATE'].forEach((id, i) =>
      cams.push(
        new SimulatedMjpeg2sdCamera({
          url: `${url}/ws`,
          id,
          fps: 8,
          width: 480,
          height: 360,
          hue: 0,
          frames: cycle(i + 6),
          fwVersion: '10.4',
        }),
      ),
    );
    for (const c of cams) c.start();
    await waitFor(() => t.bridge.hub.list().filter((c) => c.latest).length === 9, 8000, 'nine cameras');
    browser = await launchBrowser();
    context = await browser.newContext({
      viewport: { width: 1920, height: 1080 },
      timezoneId: 'Europe/Amsterdam',
      deviceScaleFactor: 1,
    });
    page = await context.newPage();
    await page.goto(t.url);
  });
  after(async () => {
    await context?.close().catch(() => {});
    await browser?.close().catch(() => {});
    await Promise.all(cams.map((c) => c.stop()));
    await t.stop();
  });

  it('writes docs/wall.jpg and docs/wall-tile.png', async () => {
    for (const c of t.bridge.hub.list()) await nextFrames(page, c.id, 2, 8000);
    (cams[0] as SimulatedNativeCamera).setMotion(true, { x: 560, y: 520, w: 220, h: 380 });
    (cams[2] as SimulatedNativeCamera).send({ type: 'info', info: { framesize: 'SVGA' } });
    (cams[1] as SimulatedNativeCamera).send({ type: 'info', info: { lamp: 100 } });
    await page.waitForSelector(`${tileSel('front')}.motion`);
    await sleep(400);
    mkdirSync(OUT!, { recursive: true });
    // JPEG: the painted scenes make a PNG of the whole wall ~1 MB.
    await page.screenshot({ path: path.join(OUT!, 'wall.jpg'), type: 'jpeg', quality: 88 });
    // One tile up close: hover info, D-pad, and the message log of the Remote query.
    const input = `${tileSel('workshop')} .query-input`;
    await page.fill(input, '/status');
    await page.press(input, 'Enter');
    await sleep(400);
    await page.press(input, 'Escape');
    await page.hover(`${tileSel('workshop')} canvas`);
    await sleep(700);
    const box = (await (await page.$(tileSel('workshop')))!.boundingBox())!;
    await page.screenshot({
      path: path.join(OUT!, 'wall-tile.png'),
      clip: { x: box.x - 8, y: box.y - 8, width: box.width + 16, height: box.height + 16 },
    });
    assert.ok(box.width > 300);
  });
});
