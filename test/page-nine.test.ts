// Nine cameras on one page, all live at once: the six-connections-per-host trap that stalls a wall of
// <img src=mjpeg> tiles does not apply, because every tile travels over the one page socket.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { SimulatedCamera } from '../src/simulator/camera.js';
import { SimulatedMjpeg2sdCamera } from '../src/simulator/mjpeg2sd-camera.js';
import { SimulatedNativeCamera } from '../src/simulator/native-camera.js';
import { sleep, startBridge, type TestBridge, waitFor } from './helpers/bridge.js';
import { launchBrowser, nextFrames, tileSel, tileState } from './page-helpers.js';

declare const document: any;
declare const localStorage: any;

const NATIVE = [
  ['front', 'Front door'],
  ['garage', 'Garage'],
  ['garden', 'Garden'],
  ['driveway', 'Driveway'],
  ['backyard', 'Back yard'],
  ['workshop', 'Workshop'],
] as const;
const LEGACY = ['ESP-CAM-ATTIC', 'ESP-CAM-SHED', 'ESP-CAM-GATE'] as const;
const NATIVE_FPS = 12;
const LEGACY_FPS = 8;

describe('control page: nine cameras at once', () => {
  let t: TestBridge;
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let page: Page;
  const cams: SimulatedCamera[] = [];
  const ids = [...NATIVE.map(([id]) => id), ...LEGACY.map((h) => h.toLowerCase())];
  let sockets = 0;
  let mjpegRequests = 0;

  before(async () => {
    t = await startBridge({});
    const url = `ws://127.0.0.1:${t.port}`;
    NATIVE.forEach(([id, name], i) =>
      cams.push(
        new SimulatedNativeCamera({
          url: `${url}/api/camera`,
          id,
          name,
          fps: NATIVE_FPS,
          width: 320,
          height: 240,
          hue: (i * 47 + 10) % 360,
          idleIntervalMs: 1000,
        }),
      ),
    );
    LEGACY.forEach((id, i) =>
      cams.push(
        new SimulatedMjpeg2sdCamera({
          url: `${url}/ws`,
          id,
          fps: LEGACY_FPS,
          width: 320,
          height: 240,
          hue: (i * 61 + 200) % 360,
          fwVersion: '10.4',
        }),
      ),
    );
    for (const c of cams) c.start();
    await waitFor(() => ids.every((id) => t.bridge.hub.get(id)?.latest), 8000, 'nine cameras');
    browser = await launchBrowser();
    context = await browser.newContext({ viewport: { width: 1600, height: 1000 }, timezoneId: 'UTC' });
    // Small tiles so that all nine are on screen.
    await context.addInitScript(() => {
      if (!localStorage.getItem('cam2mqtt.density')) localStorage.setItem('cam2mqtt.density', '"s"');
    });
    page = await context.newPage();
    page.on('websocket', () => {
      sockets++;
    });
    page.on('request', (r) => {
      if (r.url().includes('stream.mjpeg')) mjpegRequests++;
    });
    await page.goto(t.url);
  });
  after(async () => {
    await context?.close().catch(() => {});
    await browser?.close().catch(() => {});
    await Promise.all(cams.map((c) => c.stop()));
    await t.stop();
  });

  it("updates all nine tiles at the cameras' rates over one WebSocket", async (ctx) => {
    for (const id of ids) await nextFrames(page, id, 0, 8000);
    const sample = () =>
      page.$$eval('.tile', (els: any[]) =>
        Object.fromEntries(els.map((e) => [e.dataset.id, Number(e.dataset.frames)])),
      );
    // What the bridge received in the same window: on a loaded machine the simulated cameras slow down
    // too, so the page is held to their actual rate, not to the nominal one.
    const received = () => Object.fromEntries(ids.map((id) => [id, t.bridge.hub.get(id)!.frames]));
    await sleep(500);
    const a = await sample();
    const ra = received();
    const t0 = Date.now();
    await sleep(3000);
    const b = await sample();
    const rb = received();
    const secs = (Date.now() - t0) / 1000;
    const rates: Record<string, number> = {};
    const sent: Record<string, number> = {};
    for (const id of ids) {
      rates[id] = (b[id]! - a[id]!) / secs;
      sent[id] = (rb[id]! - ra[id]!) / secs;
    }
    const total = Object.values(rates).reduce((x, y) => x + y, 0);
    ctx.diagnostic(
      `frames/s drawn per tile: ${Object.entries(rates)
        .map(([k, v]) => `${k} ${v.toFixed(1)}`)
        .join(', ')}; total ${total.toFixed(1)} frames/s`,
    );
    for (const id of ids) {
      const want = id.startsWith('esp-cam') ? LEGACY_FPS : NATIVE_FPS;
      assert.ok(
        rates[id]! > 0 && rates[id]! >= sent[id]! * 0.6,
        `${id}: ${rates[id]!.toFixed(1)} frames/s drawn, the bridge received ${sent[id]!.toFixed(1)} (camera set to ${want})`,
      );
      const s = (await tileState(page, id))!;
      const expected = id.startsWith('esp-cam') ? (s.seq - 1) % 32 : s.seq % 32;
      assert.equal(s.index, expected, `${id}: pixels show frame ${s.seq}`);
    }
    assert.equal(sockets, 1, 'one WebSocket for all tiles');
    assert.equal(mjpegRequests, 0, 'no MJPEG connection per tile');
  });

  it('renders the overlays on a big wall (motion box, messages, lamp state)', async () => {
    await page.setViewportSize({ width: 1920, height: 1080 });
    await page.click('#density button[data-d="m"]');
    const front = cams[0] as SimulatedNativeCamera;
    front.setMotion(true, { x: 420, y: 380, w: 300, h: 420 });
    (cams[2] as SimulatedNativeCamera).send({ type: 'info', info: { framesize: 'SVGA' } });
    (cams[1] as SimulatedNativeCamera).send({ type: 'info', info: { lamp: 100 } });
    await page.waitForSelector(`${tileSel('front')}.motion`);
    await page.waitForSelector(`${tileSel('garden')} .msg:text("Frame size SVGA")`);
    await page.waitForSelector(`${tileSel('garage')} button.on[title^="Lamp"]`);
    front.setMotion(false);
    await page.waitForSelector(`${tileSel('front')}:not(.motion)`);
    assert.equal(await page.evaluate(() => document.querySelectorAll('.tile').length), 9);
  });
});
