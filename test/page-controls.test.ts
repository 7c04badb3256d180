// The control page's controls in a real browser: remote query + log, query all, presets (saved on the
// bridge, surviving a restart), D-pad and arrow keys, buttons (framesize, lamp, pause, snapshot, stream URL).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { SimulatedMjpeg2sdCamera } from '../src/simulator/mjpeg2sd-camera.js';
import { SimulatedNativeCamera } from '../src/simulator/native-camera.js';
import { freePort, startBridge, type TestBridge, waitFor } from './helpers/bridge.js';
import { launchBrowser, nextFrames, openPage, tileSel } from './page-helpers.js';

const SIZE = { width: 320, height: 240 };

/** The commands a native simulated camera received, as {name, value}. */
const nativeCmds = (c: SimulatedNativeCamera) =>
  c.received.map((r) => JSON.parse(r) as { name: string; value?: unknown });

describe('control page: controls', () => {
  let t: TestBridge;
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let page: Page;
  let errors: string[];
  let dataDir: string;
  let port: number;
  let pt: SimulatedNativeCamera;
  let plain: SimulatedNativeCamera;
  let legacy: SimulatedMjpeg2sdCamera;

  const startCams = () => {
    const url = `ws://127.0.0.1:${port}`;
    pt = new SimulatedNativeCamera({
      url: `${url}/api/camera`,
      id: 'pt',
      name: 'Pan tilt',
      fps: 10,
      ...SIZE,
      hue: 200,
      reconnectDelayMs: 200,
    });
    plain = new SimulatedNativeCamera({
      url: `${url}/api/camera`,
      id: 'plain',
      name: 'Plain',
      fps: 10,
      ...SIZE,
      hue: 40,
      caps: ['lamp', 'framesize'],
      reconnectDelayMs: 200,
    });
    legacy = new SimulatedMjpeg2sdCamera({
      url: `${url}/ws`,
      id: 'ESP-CAM-LEGACY',
      fps: 8,
      ...SIZE,
      hue: 100,
      reconnectDelayMs: 200,
    });
    for (const c of [pt, plain, legacy]) c.start();
  };

  before(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'cam2mqtt-page-'));
    port = await freePort();
    t = await startBridge({ http: { port } }, { dataDir });
    startCams();
    await waitFor(() => ['pt', 'plain', 'esp-cam-legacy'].every((id) => t.bridge.hub.get(id)?.latest), 5000, 'cameras');
    browser = await launchBrowser();
    ({ context, page, errors } = await openPage(browser, t.url));
    for (const id of ['pt', 'plain', 'esp-cam-legacy']) await nextFrames(page, id);
  });
  after(async () => {
    await context?.close().catch(() => {});
    await browser?.close().catch(() => {});
    await Promise.all([pt, plain, legacy].map((c) => c?.stop()));
    await t.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const logText = (id: string) => page.$eval(`${tileSel(id)} ol.log`, (e: { textContent: string }) => e.textContent);

  it('sends a Remote query on Enter and shows what was sent (>) and received (<) on hover', async () => {
    const input = `${tileSel('esp-cam-legacy')} .query-input`;
    await page.fill(input, 'status?q');
    await page.press(input, 'Enter');
    await waitFor(() => legacy.received.includes('status?q'), 3000, 'the camera receives the query');
    assert.equal(await page.inputValue(input), '', 'input cleared after sending');
    await page.hover(input);
    await page.waitForSelector(`${tileSel('esp-cam-legacy')} .logpop`, { state: 'visible' });
    await page.waitForSelector(`${tileSel('esp-cam-legacy')} ol.log li.dir-out:has-text("status?q")`);
    await page.waitForSelector(`${tileSel('esp-cam-legacy')} ol.log li.dir-in:has-text("hostName")`);
    // Native camera: a raw command and its acknowledgement.
    const nat = `${tileSel('pt')} .query-input`;
    await page.fill(nat, 'hello camera');
    await page.press(nat, 'Enter');
    await waitFor(
      () => nativeCmds(pt).some((c) => c.name === 'raw' && c.value === 'hello camera'),
      3000,
      'raw command reaches the camera',
    );
    await waitFor(async () => /echo.*hello camera/.test(await logText('pt')), 3000, 'the answer in the log');
    // A typo is explained in the log (kept for this tab's session).
    await page.fill(nat, '/warp 9');
    await page.press(nat, 'Enter');
    await waitFor(async () => /unknown control "warp"/.test(await logText('pt')), 3000, 'the problem in the log');
    // The log survives a reload (the bridge keeps the camera log; the page keeps its own notes per session).
    await page.reload();
    await nextFrames(page, 'pt');
    assert.match(await logText('pt'), /hello camera/);
    assert.match(await logText('pt'), /unknown control "warp"/);
    assert.match(await logText('esp-cam-legacy'), /status\?q/);
    // Arrow up recalls the last query.
    await page.focus(nat);
    await page.press(nat, 'ArrowUp');
    assert.equal(await page.inputValue(nat), '/warp 9');
  });

  it('queries every camera at once from the "query all" input', async () => {
    await page.fill('#query-all', '/lamp on');
    await page.press('#query-all', 'Enter');
    await page.waitForSelector('#all-result:has-text("3/3 cameras answered")');
    assert.equal(pt.state.lamp, 100);
    assert.equal(plain.state.lamp, 100);
    assert.ok(legacy.received.includes('lampLevel=15'));
    await page.waitForSelector(`${tileSel('pt')} button.on[title^="Lamp"]`);
  });

  it('drives pan/tilt with the round D-pad and the arrow keys of a focused tile', async () => {
    assert.equal(await page.isVisible(`${tileSel('plain')} .dpad`), false, 'no D-pad without servos');
    assert.equal(await page.isVisible(`${tileSel('esp-cam-legacy')} .dpad`), false);
    await page.hover(`${tileSel('pt')} canvas`);
    const dpad = await page.$eval(`${tileSel('pt')} .dpad`, (e: any) => {
      const r = e.getBoundingClientRect();
      return { w: r.width, h: r.height, radius: getComputedStyle(e).borderRadius };
    });
    assert.equal(dpad.w, dpad.h);
    assert.equal(dpad.radius, '50%');
    await page.click(`${tileSel('pt')} .d-right`);
    await waitFor(() => pt.state.pan === 100, 3000, 'pan 100');
    await page.click(`${tileSel('pt')} .d-up`);
    await waitFor(() => pt.state.tilt === 100, 3000, 'tilt 100');
    await page.focus(tileSel('pt'));
    await page.keyboard.press('ArrowLeft');
    await waitFor(() => pt.state.pan === 90, 3000, 'arrow left: pan 90');
    await page.keyboard.press('Shift+ArrowDown');
    await waitFor(() => pt.state.tilt === 98, 3000, 'shift+arrow down: a small step');
    await page.click(`${tileSel('pt')} .d-home`);
    await waitFor(() => pt.state.pan === 90 && pt.state.tilt === 90, 3000, 'centre');
    const names = nativeCmds(pt)
      .filter((c) => c.name === 'pan' || c.name === 'tilt')
      .map((c) => `${c.name}=${String(c.value)}`);
    assert.deepEqual(names, ['pan=100', 'tilt=100', 'pan=90', 'tilt=98', 'tilt=90']);
  });

  it('has buttons for framesize, lamp, pause, snapshot and the plain MJPEG URL', async () => {
    await page.selectOption(`${tileSel('pt')} select.framesize`, 'SVGA');
    await waitFor(() => pt.state.framesize === 'SVGA', 3000, 'framesize');
    await page.waitForSelector(`${tileSel('pt')} .messages .msg:text("Frame size SVGA")`);
    await page.click(`${tileSel('pt')} button[title^="Lamp"]`);
    await waitFor(() => pt.state.lamp === 0, 3000, 'lamp off');
    const pause = `${tileSel('esp-cam-legacy')} .buttons button:first-child`;
    await page.click(pause);
    await waitFor(() => legacy.received.includes('pause=1'), 3000, 'pause');
    await page.waitForSelector(`${tileSel('esp-cam-legacy')}.paused .paused-badge`, { state: 'visible' });
    await page.click(pause);
    await waitFor(() => legacy.received.includes('pause=0'), 3000, 'resume');
    await page.waitForSelector(`${tileSel('esp-cam-legacy')}:not(.paused)`);
    const href = await page.getAttribute(`${tileSel('pt')} a[title^="Snapshot"]`, 'href');
    // Relative to the page, so it works under a path prefix (Home Assistant ingress: test/ha-ingress.test.ts).
    assert.equal(href, 'api/cameras/pt/snapshot.jpg');
    const snap = await page.request.get(`${t.url}/${href}`);
    assert.equal(snap.headers()['content-type'], 'image/jpeg');
    await page.click(`${tileSel('pt')} button[title^="Stream URL"]`);
    assert.equal(await page.inputValue(`${tileSel('pt')} input.url`), `${t.url}/api/cameras/pt/stream.mjpeg`);
  });

  it('edits presets, saves them on the bridge, and still has them after the bridge restarts', async () => {
    await page.click('#edit-presets');
    await page.fill('#presets-text', 'Night|/lamp off\nBig|/framesize SVGA\n');
    await page.click('#presets-form button[type="submit"]');
    await page.waitForSelector('#presets-dialog', { state: 'hidden' });
    assert.deepEqual(await page.$$eval('#presets .preset', (els: any[]) => els.map((e) => e.textContent)), [
      'Night',
      'Big',
    ]);
    assert.ok(existsSync(path.join(dataDir, 'presets.json')));
    // Restart the bridge on the same port: the page reconnects by itself, cameras come back.
    await t.stop();
    t = await startBridge({ http: { port } }, { dataDir });
    await page.waitForSelector('#link.open', { timeout: 15_000 });
    await waitFor(
      () => ['pt', 'plain', 'esp-cam-legacy'].every((id) => t.bridge.hub.get(id)?.online),
      8000,
      'cameras reconnect',
    );
    await page.reload();
    await page.waitForSelector('#presets .preset:text("Night")');
    assert.deepEqual(await page.$$eval('#presets .preset', (els: any[]) => els.map((e) => e.textContent)), [
      'Night',
      'Big',
    ]);
    assert.deepEqual(
      await page.$$eval(`${tileSel('pt')} .menu button span`, (els: any[]) => els.map((e) => e.textContent)),
      ['Night', 'Big'],
    );
    assert.deepEqual(
      await page.$$eval('#preset-list option', (els: any[]) => els.map((e) => e.value)),
      ['/lamp off', '/framesize SVGA'],
      'suggested in the query inputs',
    );
    // A preset button sends its command to every camera.
    pt.state.lamp = 100;
    await page.click('#presets .preset:text("Night")');
    await waitFor(
      () => nativeCmds(pt).some((c) => c.name === 'lamp' && c.value === 0) && legacy.received.includes('lampLevel=0'),
      3000,
      'preset sent to all',
    );
    // The per-tile preset menu sends to that camera only.
    const ptSizes = nativeCmds(pt).filter((c) => c.name === 'framesize').length;
    await page.click(`${tileSel('plain')} button[title="Presets for this camera"]`);
    await page.click(`${tileSel('plain')} .menu button:has-text("Big")`);
    await page.waitForSelector(`${tileSel('plain')} .menu`, { state: 'hidden' });
    await waitFor(() => plain.state.framesize === 'SVGA', 3000, 'preset to one camera');
    assert.equal(nativeCmds(pt).filter((c) => c.name === 'framesize').length, ptSizes, 'not to the others');
    assert.deepEqual(
      errors.filter((e) => !/WebSocket/.test(e)),
      [],
    );
  });
});

declare const getComputedStyle: any;
