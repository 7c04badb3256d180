// The plug-in seam (src/extension.ts, src/extensions.ts) and the typed hub's listeners (hub.listen):
// one listener's exception stays in its extension, stop() leaves no listener behind, and the known
// cameras come back after a restart whatever sinks are on.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { ExtensionFactory } from '../src/extension.js';
import type { HubEvent } from '../src/hub/events.js';
import { SimulatedNativeCamera } from '../src/simulator/native-camera.js';
import { startBridge, waitFor } from './helpers/bridge.js';

const EVENTS: HubEvent[] = [
  'camera',
  'online',
  'offline',
  'removed',
  'updated',
  'info',
  'motion',
  'snapshot',
  'log',
  'stats',
];

describe('the extension seam and the typed hub', () => {
  it('isolates a throwing listener: one log line, the other listeners and the source carry on', async () => {
    const seen: string[] = [];
    const faulty: ExtensionFactory = ({ hub }) => {
      const ext = {
        name: 'faulty',
        start() {
          hub.listen(ext, 'online', () => {
            throw new Error('bug in a listener');
          });
        },
        stop() {},
      };
      return ext;
    };
    const witness: ExtensionFactory = ({ hub }) => {
      const ext = {
        name: 'witness',
        start() {
          hub.listen(ext, 'online', (cam) => seen.push(cam.id));
        },
        stop() {},
      };
      return ext;
    };
    const t = await startBridge({}, { extensions: [faulty, witness] });
    const cam = new SimulatedNativeCamera({
      url: `ws://127.0.0.1:${t.port}/api/camera`,
      id: 'iso',
      fps: 5,
      width: 160,
      height: 120,
      hue: 10,
    }).start();
    try {
      await waitFor(() => seen.includes('iso'), 5000, 'the second listener ran');
      await waitFor(() => (t.bridge.hub.get('iso')?.frames ?? 0) > 3, 5000, 'frames keep arriving');
      const lines = t.logs.filter((l) => l.msg.includes('faulty: its "online" listener failed'));
      assert.equal(lines.length, 1, 'one log line for the exception');
      assert.match(lines[0]!.msg, /bug in a listener/);
    } finally {
      await cam.stop();
      await t.stop();
    }
  });

  it('removes every hub listener of every extension on stop', async () => {
    const t = await startBridge({
      mqtt: { enabled: true, port: 0 },
      cameras: { pulled: { snapshot_url: 'http://127.0.0.1:9/x.jpg', motion_detection: true } },
    });
    const hub = t.bridge.hub;
    const during = EVENTS.reduce((n, e) => n + hub.listenerCount(e), 0);
    assert.ok(during > 10, `the extensions listen (${during} listeners)`);
    await t.stop();
    for (const e of EVENTS) assert.equal(hub.listenerCount(e), 0, `no "${e}" listener left`);
  });

  it('restores known cameras after a restart with mqtt.enabled: false', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'cam2mqtt-known-'));
    try {
      const first = await startBridge({ mqtt: { enabled: false } }, { dataDir });
      const cam = new SimulatedNativeCamera({
        url: `ws://127.0.0.1:${first.port}/api/camera`,
        id: 'remembered',
        name: 'Porch',
        fps: 5,
        width: 160,
        height: 120,
        hue: 50,
      }).start();
      await waitFor(() => first.bridge.hub.get('remembered')?.online, 5000, 'camera online');
      await cam.stop();
      await first.stop();

      const second = await startBridge({ mqtt: { enabled: false } }, { dataDir });
      try {
        const list = (await (await fetch(`${second.url}/api/cameras`)).json()) as {
          id: string;
          name: string;
          online: boolean;
        }[];
        const c = list.find((x) => x.id === 'remembered');
        assert.ok(c, 'the camera is known after the restart');
        assert.equal(c.name, 'Porch');
        assert.equal(c.online, false);
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
