// Login on the control page in a real browser: the form, a refused password, the session cookie, logout.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { SimulatedNativeCamera } from '../src/simulator/native-camera.js';
import { startBridge, type TestBridge, waitFor } from './helpers/bridge.js';
import { launchBrowser, nextFrames, openPage } from './page-helpers.js';

declare const document: any;

describe('control page with http.auth', () => {
  let t: TestBridge;
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let page: Page;
  let cam: SimulatedNativeCamera;

  before(async () => {
    t = await startBridge({ http: { auth: { username: 'admin', password: 's3cret-pass' } } });
    cam = new SimulatedNativeCamera({
      url: `ws://127.0.0.1:${t.port}/api/camera`,
      id: 'door',
      name: 'Door',
      fps: 10,
      width: 320,
      height: 240,
      hue: 15,
    });
    cam.start();
    await waitFor(() => t.bridge.hub.get('door')?.latest, 5000, 'camera (no page credentials needed)');
    browser = await launchBrowser();
    ({ context, page } = await openPage(browser, t.url));
  });
  after(async () => {
    await context?.close().catch(() => {});
    await browser?.close().catch(() => {});
    await cam.stop();
    await t.stop();
  });

  it('requires a login, refuses a wrong password, then shows the cameras', async () => {
    assert.match(page.url(), /\/login\?next=%2F$/);
    await page.fill('input[name="username"]', 'admin');
    await page.fill('input[name="password"]', 'wrong password');
    await page.click('button[type="submit"]');
    await page.waitForSelector('.error:text("Wrong username or password.")');
    assert.match(page.url(), /\/login$/);
    assert.equal(await page.$('.tile'), null);
    assert.ok(
      t.logs.some((l) => /login refused for user "admin" from 127\.0\.0\.1 \(login form/.test(l.msg)),
      'one log line for the refused login',
    );

    await page.fill('input[name="password"]', 's3cret-pass');
    await page.click('button[type="submit"]');
    await page.waitForURL(`${t.url}/`);
    await nextFrames(page, 'door');
    // The session cookie is HttpOnly: page scripts cannot read it.
    assert.equal(await page.evaluate(() => document.cookie), '');
    const cookies = await context!.cookies();
    const session = cookies.find((c) => c.name === 'cam2mqtt_session')!;
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Strict');
  });

  it('logs out and sends the next visit back to the login form', async () => {
    await page.click('#logout button');
    await page.waitForURL(/\/login$/);
    await page.goto(t.url);
    assert.match(page.url(), /\/login\?next=%2F$/);
  });
});
