// Hostile input on the control page in a real headless Chromium (issue 13, items 7 and 10): camera
// names and info values carrying markup show as text and never run, and a hostile `next` after login
// never leaves the site.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import WebSocket from 'ws';
import { encodeText } from '../../src/sources/native/codec.js';
import { waitFor } from '../helpers/bridge.js';
import { launchBrowser, openPage } from '../page-helpers.js';
import { measureDuring, type Rig, startBridgeWithGoodCamera } from './harness.js';
import { assertHeldOnThisMachine } from './loaded.js';

// Browser globals inside page.evaluate callbacks (this project compiles without the DOM lib).
declare const document: any;
declare const window: any;

const USER = 'admin';
const PASS = 'correct horse battery';
const TOKEN = 'tok-0123456789abcdef';

// Each of them sets a flag if it ever runs; none may.
const NAME = '<script>window.__xss="name"</script>';
const HOST = '<img src=x onerror="window.__xss=\'host\'">';
const MODEL = '<svg onload="window.__xss=\'model\'">';
const FRAMESIZE = '"><iframe srcdoc="<script>parent.__xss=1</script>">';

describe('control page: hostile names, info values and next=', () => {
  let rig: Rig;
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let page: Page;
  let errors: string[];
  const dialogs: string[] = [];
  let evil: WebSocket | undefined;

  before(async () => {
    rig = await startBridgeWithGoodCamera(
      { http: { auth: { username: USER, password: PASS, token: TOKEN } } },
      { viewerQuery: `?token=${TOKEN}` },
    );
    browser = await launchBrowser();
    ({ context, page, errors } = await openPage(browser, rig.url));
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
  });
  after(async () => {
    evil?.close();
    await context?.close().catch(() => {});
    await browser?.close().catch(() => {});
    await rig.stop();
  });

  async function logIn(): Promise<void> {
    await page.fill('input[name="username"]', USER);
    await page.fill('input[name="password"]', PASS);
    await page.click('button[type="submit"]');
    await page.waitForLoadState('load');
  }

  it('a /login?next=/%09/evil-host/pwned link ends on the site, before and after logging in', async () => {
    // Measured: the hostile links themselves (plain HTTP, as the browser sends them); then the browser.
    // One plain /login first, so the measurement sees the hostile links and not the process's first
    // request (code compiled on first use, while Chromium starts beside it).
    await (await fetch(`${rig.url}/login`)).arrayBuffer();
    const m = await measureDuring(rig, async () => {
      for (const next of ['/%09/evil-host/pwned', '//evil-host/pwned'])
        await (await fetch(`${rig.url}/login?next=${next}`, { redirect: 'manual' })).arrayBuffer();
    });
    await assertHeldOnThisMachine(rig, m);
    await page.goto(`${rig.url}/login?next=/%09/evil-host/pwned`);
    await logIn();
    const afterLogin = page.url();
    // Logged in now: /login sends straight on to `next`.
    await page.goto(`${rig.url}/login?next=/%09/evil-host/pwned`);
    const loggedIn = page.url();
    await page.goto(`${rig.url}/login?next=//evil-host/pwned`);
    const result = { afterLogin, loggedIn, slashes: page.url() };
    for (const [k, u] of Object.entries(result)) assert.equal(new URL(u).origin, rig.url, `${k}: ${u}`);
    assert.equal(new URL(result.afterLogin).pathname, '/');
  });

  it('a camera named <script>... with markup in its info: shown as text, no script runs', async () => {
    // The hostile input is the camera's hello: measured. Playwright's client runs in this process
    // too, so the browser's checks come after the measurement, not inside it.
    const m = await measureDuring(rig, async () => {
      evil = new WebSocket(`ws://127.0.0.1:${rig.b.port}/api/camera`);
      await new Promise((resolve, reject) => evil!.once('open', resolve).once('error', reject));
      evil.send(
        encodeText({
          type: 'hello',
          v: 1,
          id: 'xss',
          name: NAME,
          model: MODEL,
          fw: MODEL,
          caps: ['lamp'],
          info: { hostname: HOST, framesize: FRAMESIZE, temperature: HOST },
        } as never),
      );
      await waitFor(() => rig.b.bridge.hub.get('xss')?.online, 5000, 'the hostile camera online');
    });
    await assertHeldOnThisMachine(rig, m);
    await page.goto(rig.url);
    // Logged in by the test before; log in here if that one failed, so this one still tests its own thing.
    if (new URL(page.url()).pathname === '/login') await logIn();
    const tile = '.tile[data-id="xss"]';
    await page.waitForSelector(tile);
    // The info panel (hover shows it; the button pins it): the model and firmware show only there.
    await page.hover(tile);
    await page.evaluate((sel) => document.querySelector(`${sel} button[title="Camera info"]`).click(), tile);
    await page.waitForTimeout(500);
    const result = await page.evaluate((sel) => {
      const el = document.querySelector(sel);
      return {
        // What is rendered, not what the DOM holds: the text must be visible.
        // biome-ignore lint/performance/useDomNodeTextContent: visible text is the point
        text: String(el?.innerText ?? ''),
        flag: window.__xss ?? null,
        injected: document.querySelectorAll('.tile script, .tile img, .tile svg[onload], .tile iframe').length,
      };
    }, tile);
    assert.equal(result.flag, null, 'no injected script ran');
    assert.deepEqual(dialogs, [], 'no dialog opened');
    assert.equal(result.injected, 0, 'no element was made from camera-supplied text');
    assert.ok(result.text.includes(NAME), `the name is visible as text:\n${result.text}`);
    assert.ok(result.text.includes(HOST), 'the hostname is visible as text');
    assert.ok(result.text.includes(MODEL), 'the model is visible as text (info panel)');
    assert.deepEqual(
      errors.filter((e) => /xss|Content Security Policy/i.test(e)),
      [],
    );
  });
});
