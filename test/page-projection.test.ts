// The hub as the page sees it (src/sinks/page/socket/projection.ts), on a real CameraHub: hub events
// become page messages, cameras get stable frame-header indexes, and stop() leaves no listener behind.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HubEvent } from '../src/hub/events.js';
import { CameraHub } from '../src/hub/hub.js';
import { createLogger } from '../src/logging.js';
import type { ServerMessage } from '../src/sinks/page/protocol.js';
import { PageProjection } from '../src/sinks/page/socket/projection.js';

const EVENTS: HubEvent[] = ['camera', 'online', 'offline', 'removed', 'updated', 'info', 'motion', 'log'];

function rig() {
  const hub = new CameraHub({
    logger: createLogger({ level: 'silent', format: 'json' }),
    configured: { garage: { name: 'Garage' }, door: {} },
    allowUnknown: true,
    maxCameras: 10,
    cameraTimeoutMs: 30_000,
    commandTimeoutMs: 1000,
  });
  const sent: ServerMessage[] = [];
  const forgotten: string[] = [];
  const projection = new PageProjection(
    hub,
    (m) => sent.push(m),
    (cam) => forgotten.push(`${cam.id} (${sent.length} sent before)`),
  );
  return { hub, sent, forgotten, projection };
}

describe('page projection', () => {
  it('numbers the cameras once and keeps their numbers; PageCamera is the REST JSON plus idx and the log', () => {
    const { hub, projection } = rig();
    const door = hub.get('door')!;
    const garage = hub.get('garage')!;
    const idx = { door: projection.indexOf(door), garage: projection.indexOf(garage) };
    assert.deepEqual(new Set(Object.values(idx)), new Set([1, 2]));
    assert.equal(projection.indexOf(door), idx.door, 'stable');
    for (let i = 0; i < 50; i++) hub.addLog(garage, '<', `line ${i}`);
    const j = projection.camera(garage, true);
    assert.equal(j.id, 'garage');
    assert.equal(j.name, 'Garage');
    assert.equal(j.idx, idx.garage);
    assert.equal(j.online, false);
    assert.equal(j.last_seen_ms, null);
    assert.equal(j.log?.length, 40, 'the last 40 log lines');
    assert.equal(j.log?.at(-1)?.text, 'line 49');
    assert.equal(projection.camera(garage, false).log, undefined);
    assert.deepEqual(
      projection.cameras().map((c) => c.id),
      ['door', 'garage'],
    );
    assert.deepEqual(projection.stats()[0], {
      id: 'door',
      online: false,
      fps: 0,
      bitrate: 0,
      last_seen_ms: null,
      watchers: 0,
    });
  });

  it('turns hub events into page messages; a removed camera stops its frames before the pages are told', () => {
    const { hub, sent, forgotten, projection } = rig();
    const garage = hub.get('garage')!;
    const idx = projection.indexOf(garage);
    hub.addLog(garage, '!', 'hello');
    hub.setMotion(garage, true, 1234, { x: 0.1, y: 0.2, w: 0.3, h: 0.4 });
    hub.emit('info', garage, { lamp: 40 });
    assert.deepEqual(
      sent.map((m) => m.t),
      ['log', 'motion', 'info'],
    );
    assert.deepEqual(sent[1], {
      t: 'motion',
      id: 'garage',
      state: 'start',
      region: { x: 0.1, y: 0.2, w: 0.3, h: 0.4 },
      camera_time: 1234,
      event_id: 'garage-1234',
    });
    assert.deepEqual(sent[2], { t: 'info', id: 'garage', patch: { lamp: 40 } });
    sent.length = 0;
    hub.remove('garage');
    assert.deepEqual(forgotten, ['garage (0 sent before)']);
    assert.deepEqual(sent, [{ t: 'removed', id: 'garage' }]);
    assert.notEqual(projection.indexOf(garage), idx, 'a removed camera is numbered afresh');
  });

  it('stop() removes every listener it added', () => {
    const { hub, projection } = rig();
    const before = EVENTS.reduce((n, e) => n + hub.listenerCount(e), 0);
    assert.ok(before >= 8, `${before} listeners while running`);
    projection.stop();
    for (const e of EVENTS) assert.equal(hub.listenerCount(e), 0, `no "${e}" listener left`);
  });
});
