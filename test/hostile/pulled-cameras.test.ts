import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { after, before, describe, type TestContext, test } from 'node:test';
import { jpegCycle } from '../../src/simulator/frames.js';
import { waitFor } from '../helpers/bridge.js';
import { measureDuring, type Rig, startBridgeWithGoodCamera } from './harness.js';
import { assertHeldOnThisMachine, type Held } from './loaded.js';

/** The measured lag, in the test's output (the figures in the report come from here). */
const report = (t: TestContext, h: Held) =>
  t.diagnostic(
    `event loop lag ${h.lagMs.toFixed(1)} ms${h.quietLagMs !== undefined ? ` (quiet window: ${h.quietLagMs.toFixed(1)} ms, load average ${h.loadAvg?.toFixed(1)})` : ''}`,
  );

// Pulled cameras that stall (issue 13 item 4): an ESP32 on weak WiFi stops halfway through a picture and
// leaves the socket open. read_timeout must cover every read: the answer's headers, each MJPEG part and
// each still's body. Real HTTP servers on 127.0.0.1 play the stalling cameras; a good native camera and a
// real MJPEG viewer run beside them, and the harness checks the five bounds.

const JPEG = jpegCycle({ width: 160, height: 120, hue: 40, cycle: 2, quality: 70 })[0]!;

/** An HTTP camera that misbehaves on purpose; `mode` picks how. */
class StallingCamera {
  readonly server: Server;
  requests = 0;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(mode: 'mjpeg-part' | 'still-body' | 'headers') {
    this.server = createServer((_req, res) => {
      this.requests++;
      const n = this.requests;
      if (mode === 'headers') {
        // Accepts, never answers (first two requests), then serves a picture.
        if (n <= 2) return;
        res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': JPEG.length }).end(JPEG);
        return;
      }
      if (mode === 'still-body') {
        // Every request but each third: Content-Length N, N/2 bytes, then silence with the socket open.
        res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': JPEG.length });
        if (n % 3 === 0) res.end(JPEG);
        else res.write(JPEG.subarray(0, JPEG.length >> 1));
        return;
      }
      // MJPEG: three whole parts, then a part with Content-Length N and N/2 bytes, then silence.
      res.writeHead(200, { 'Content-Type': 'multipart/x-mixed-replace; boundary=frame' });
      let sent = 0;
      const t = setInterval(() => {
        res.write(`--frame\r\nContent-Type: image/jpeg\r\nContent-Length: ${JPEG.length}\r\n\r\n`);
        if (sent++ < 3) {
          res.write(JPEG);
          res.write('\r\n');
          return;
        }
        res.write(JPEG.subarray(0, JPEG.length >> 1));
        clearInterval(t);
      }, 50);
      this.timers.add(t);
      res.on('close', () => clearInterval(t));
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', () => resolve()));
    return `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const pulled = { read_timeout: 1, reconnect: { min_delay: 0.2, max_delay: 0.5 } };

describe('pulled cameras that stall', () => {
  let rig: Rig;
  const cams = {
    part: new StallingCamera('mjpeg-part'),
    still: new StallingCamera('still-body'),
    headers: new StallingCamera('headers'),
  };
  const urls: Record<string, string> = {};

  before(async () => {
    for (const [k, c] of Object.entries(cams)) urls[k] = await c.listen();
    rig = await startBridgeWithGoodCamera({});
  });

  after(async () => {
    await rig.stop();
    for (const c of Object.values(cams)) await c.close();
  });

  /** Add a pulled camera to the running bridge, as the extension does at startup. */
  async function withPulled(id: string, cfg: Record<string, unknown>): Promise<() => void> {
    const { PulledCamera } = await import('../../src/sources/http/pulled-camera.js');
    const { cameraSchema } = await import('../../src/config/schema.js');
    const hub = rig.b.bridge.hub;
    const cam = hub.restore(id, undefined);
    const p = new PulledCamera(cam, cameraSchema.parse({ ...pulled, ...cfg }), {
      hub,
      logger: rig.b.bridge.opts.logger,
      commandTimeoutMs: 5000,
      cameraTimeoutMs: 20_000,
    });
    p.start();
    return () => p.stop();
  }

  test('an MJPEG part that stops halfway: read_timeout fires, the camera goes offline, reconnects and comes back', async (t) => {
    const stop = await withPulled('stallpart', { mjpeg_url: `${urls.part}/stream` });
    try {
      const hub = rig.b.bridge.hub;
      await waitFor(() => hub.get('stallpart')?.online, 5000, 'stallpart online');
      let offline = 0;
      const onOff = (c: { id: string }) => c.id === 'stallpart' && offline++;
      hub.on('offline', onOff);
      const m = await measureDuring(
        rig,
        async () => {
          const before = cams.part.requests;
          await waitFor(() => cams.part.requests >= before + 2, 8000, 'two reconnects');
          await waitFor(() => hub.get('stallpart')?.online, 5000, 'stallpart back online');
        },
        { minWindowMs: 3000 },
      );
      hub.off('offline', onOff);
      assert.ok(offline >= 1, 'went offline during the stall');
      report(t, await assertHeldOnThisMachine(rig, m, { logLine: /\/stream: nothing received for 1 s; reconnecting/ }));
    } finally {
      stop();
    }
  });

  test('a still whose body stops halfway: abandoned after read_timeout, the poll goes on, offline and back', async (t) => {
    const stop = await withPulled('stallstill', { snapshot_url: `${urls.still}/capture`, snapshot_poll_interval: 0.2 });
    try {
      const hub = rig.b.bridge.hub;
      let offline = 0;
      let online = 0;
      const onOff = (c: { id: string }) => c.id === 'stallstill' && offline++;
      const onOn = (c: { id: string }) => c.id === 'stallstill' && online++;
      hub.on('offline', onOff);
      hub.on('online', onOn);
      const m = await measureDuring(
        rig,
        async () => {
          // 2 stalls, 1 good, 2 stalls, 1 good: the poll must get past each stall.
          await waitFor(() => cams.still.requests >= 7, 15_000, 'seven requests');
          await waitFor(() => online >= 2, 8000, 'back online after a stall');
        },
        { minWindowMs: 3000 },
      );
      hub.off('offline', onOff);
      hub.off('online', onOn);
      assert.ok(offline >= 1, 'offline after two stalled stills in a row');
      assert.ok(hub.get('stallstill')!.frames >= 2, 'the good stills arrived');
      report(
        t,
        await assertHeldOnThisMachine(rig, m, {
          logLine: /\/capture: the answer stopped after \d+ of \d+ bytes: nothing received for 1 s/,
        }),
      );
    } finally {
      stop();
    }
  });

  test('an answer whose headers never come: read_timeout fires, the poll goes on', async (t) => {
    const stop = await withPulled('stallhead', {
      snapshot_url: `${urls.headers}/capture`,
      snapshot_poll_interval: 0.2,
    });
    try {
      const hub = rig.b.bridge.hub;
      const m = await measureDuring(rig, async () => {
        await waitFor(() => hub.get('stallhead')?.online, 10_000, 'stallhead online after two silent requests');
      });
      assert.ok(cams.headers.requests >= 3);
      report(t, await assertHeldOnThisMachine(rig, m, { logLine: /\/capture: no answer within 1 s/ }));
    } finally {
      stop();
    }
  });
});
