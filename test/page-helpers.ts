// Shared by the control page tests: a real headless Chromium, and a raw /api/ws client.
import { existsSync } from 'node:fs';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import WebSocket from 'ws';
import { decodeFrameMessage, type FrameHeader } from '../src/sinks/page/wire.js';
import { waitFor } from './helpers/bridge.js';

// Browser globals inside page.evaluate callbacks (this project compiles without the DOM lib).
declare const document: any;

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Headless Chromium; a missing browser fails the test with how to install it (CI does), never skips. */
export async function launchBrowser(extraArgs: string[] = []): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: the control page tests need a real browser. Install it with "apt-get update && apt-get install -y chromium" (Debian), or set CHROMIUM_PATH. .ci/run installs it.`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...extraArgs,
    ],
  });
}

/** A page with UTC time (the video clock is shown in the browser's zone) that reports page errors. */
export async function openPage(
  browser: Browser,
  url: string,
  viewport = { width: 1400, height: 900 },
): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport, timezoneId: 'UTC', locale: 'en-GB' });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) errors.push(m.text());
  });
  await page.goto(url);
  return { context, page, errors };
}

export const tileSel = (id: string) => `.tile[data-id="${id}"]`;

export interface TileState {
  /** Frame index read from the picture's pixels (the simulator's black/white band). */
  index: number;
  seq: number;
  cameraTime: number;
  frames: number;
  fps: number;
  width: number;
  height: number;
}

/**
 * What a tile shows, read back from its canvas pixels (the same decoding as simulator/frames.ts
 * readIndex) next to the header fields the page recorded for the drawn frame.
 */
export async function tileState(page: Page, id: string): Promise<TileState | undefined> {
  return page.evaluate((sel) => {
    const tile = document.querySelector(sel);
    const canvas = tile?.querySelector('canvas');
    if (!tile || !canvas || !tile.dataset.seq) return undefined;
    const w = canvas.width,
      h = canvas.height;
    const px = canvas.getContext('2d').getImageData(0, 0, w, h).data as Uint8ClampedArray;
    const band = Math.max(8, Math.floor(h / 8));
    const y = Math.floor(band / 2);
    let v = 0;
    for (let i = 0; i < 8; i++) {
      const x = Math.floor((i + 0.5) * (w / 8));
      const o = (y * w + x) * 4;
      v = (v << 1) | ((px[o]! + px[o + 1]! + px[o + 2]!) / 3 > 128 ? 1 : 0);
    }
    return {
      index: v,
      seq: Number(tile.dataset.seq),
      cameraTime: Number(tile.dataset.cameraTime),
      frames: Number(tile.dataset.frames),
      fps: Number(tile.dataset.fps ?? 0),
      width: w,
      height: h,
    };
  }, tileSel(id));
}

/** Wait until the tile has drawn more frames than `after` and return its state. */
export async function nextFrames(page: Page, id: string, after = 0, timeoutMs = 5000): Promise<TileState> {
  return waitFor(
    async () => {
      const s = await tileState(page, id);
      return s && s.frames > after ? s : undefined;
    },
    timeoutMs,
    `tile ${id} to draw frames after ${after}`,
  );
}

export interface PageMessage {
  t: string;
  [k: string]: unknown;
}

/** A raw page socket, as the browser page uses it: JSON in, JSON and binary frames out. */
export class PageWsClient {
  readonly ws: WebSocket;
  readonly messages: PageMessage[] = [];
  readonly frames: (FrameHeader & { jpeg: Buffer; at: number })[] = [];
  closed: { code: number; reason: string } | undefined;
  private nextRid = 1;
  readonly opened: Promise<void>;

  constructor(url: string, opts: WebSocket.ClientOptions = {}) {
    this.ws = new WebSocket(`${url.replace(/^http/, 'ws')}/api/ws`, { perMessageDeflate: false, ...opts });
    this.ws.on('message', (data, isBinary) => {
      if (isBinary) this.frames.push({ ...decodeFrameMessage(data as Buffer), at: Date.now() });
      else this.messages.push(JSON.parse(data.toString()) as PageMessage);
    });
    this.ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
    });
    this.ws.on('error', () => {});
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
  }

  send(msg: unknown): void {
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  async hello(): Promise<PageMessage> {
    return waitFor(() => this.messages.find((m) => m.t === 'hello'), 3000, 'hello');
  }

  /** Send a request and wait for its reply (or error with the same rid). */
  async request(msg: Record<string, unknown>, timeoutMs = 5000): Promise<PageMessage> {
    const rid = this.nextRid++;
    this.send({ ...msg, rid });
    return waitFor(
      () => this.messages.find((m) => (m.t === 'reply' || m.t === 'error') && m.rid === rid),
      timeoutMs,
      `reply to ${JSON.stringify(msg)}`,
    );
  }

  waitMessage(pred: (m: PageMessage) => unknown, label: string, timeoutMs = 3000): Promise<PageMessage> {
    return waitFor(() => this.messages.find(pred), timeoutMs, label);
  }

  close(): void {
    this.ws.terminate();
  }
}
