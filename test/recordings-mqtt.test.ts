import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Camera } from '../src/hub/camera.js';
import { SimulatedNativeCamera } from '../src/simulator/native-camera.js';
import { cameraUrl } from '../src/simulator/simulate.js';
import type { RecordingsExtension } from '../src/sinks/recordings/index.js';
import { freePort, sleep, startBridge, type TestBridge, waitFor } from './helpers/bridge.js';
import { checkDiscovery, Recorder } from './mqtt-helpers.js';

// Recordings over MQTT (the embedded Aedes broker, a real mqtt.js client): the motion event payloads,
// the last-event sensor and the recording switch, with their Home Assistant discovery.

describe('recordings over MQTT and Home Assistant discovery', () => {
  let t: TestBridge;
  let sub: Recorder;
  let sim: SimulatedNativeCamera;
  let cam: Camera;
  let rec: RecordingsExtension;

  before(async () => {
    const port = await freePort();
    t = await startBridge({
      mqtt: { enabled: true, port },
      recordings: { enabled: true, pre_seconds: 0.5, post_seconds: 0.5, min_free_bytes: 0 },
    });
    rec = t.bridge.extension<RecordingsExtension>('recordings')!;
    sub = await Recorder.connect(`mqtt://127.0.0.1:${port}`, ['cam2mqtt/#', 'homeassistant/#']);
    sim = new SimulatedNativeCamera({
      url: cameraUrl(t.url, 'native'),
      id: 'drive',
      fps: 10,
      width: 160,
      height: 120,
      hue: 60,
    });
    sim.start();
    cam = await waitFor(() => t.bridge.hub.get('drive'), 5000, 'camera');
    await waitFor(() => cam.frames > 8, 10_000, 'frames');
  });

  after(async () => {
    await sim?.stop();
    await sub?.close();
    await t?.stop();
  });

  it('announces sensor.<id>_last_event (timestamp, diagnostic, URLs as attributes) and switch.<id>_recording', async () => {
    const last = await sub.wait('homeassistant/sensor/cam2mqtt_drive/last_event/config', (m) => m.payload.length > 0);
    const s = checkDiscovery(last.topic, last.payload.toString(), {
      prefix: 'homeassistant',
      base: 'cam2mqtt',
      cameraId: 'drive',
    });
    assert.equal(s.payload.default_entity_id, 'sensor.drive_last_event');
    assert.equal(s.payload.device_class, 'timestamp');
    assert.equal(s.payload.entity_category, 'diagnostic');
    assert.equal(s.payload.state_topic, 'cam2mqtt/drive/last_event');
    assert.equal(s.payload.json_attributes_topic, 'cam2mqtt/drive/last_event');
    const sw = await sub.wait('homeassistant/switch/cam2mqtt_drive/recording/config', (m) => m.payload.length > 0);
    const w = checkDiscovery(sw.topic, sw.payload.toString(), {
      prefix: 'homeassistant',
      base: 'cam2mqtt',
      cameraId: 'drive',
    });
    assert.equal(w.payload.default_entity_id, 'switch.drive_recording');
    assert.equal(w.payload.command_topic, 'cam2mqtt/drive/set/recording');
    assert.equal(w.payload.state_topic, 'cam2mqtt/drive/recording');
    await sub.waitText('cam2mqtt/drive/recording', 'ON');
  });

  it('motion_start carries thumbnail_url at once; motion_end clip_url, thumbnail_url, duration_s and frames', async () => {
    const mark = sub.mark;
    sim.setMotion(true);
    const start = await sub.wait('cam2mqtt/drive/event', (m) => m.payload.includes('motion_start'), 5000, mark);
    const s = JSON.parse(start.payload.toString()) as Record<string, unknown>;
    assert.match(String(s.thumbnail_url), /^http:\/\/.+\/api\/events\/drive-\d+\/thumbnail\.jpg$/);
    // The picture is there as soon as the event is.
    const th = await fetch(String(s.thumbnail_url).replace(/^http:\/\/[^/]+/, t.url));
    assert.equal(th.status, 200);
    assert.equal(th.headers.get('content-type'), 'image/jpeg');
    await th.arrayBuffer();
    await sleep(800);
    sim.setMotion(false);
    const end = await sub.wait('cam2mqtt/drive/event', (m) => m.payload.includes('motion_end'), 10_000, mark);
    const e = JSON.parse(end.payload.toString()) as Record<string, unknown>;
    assert.equal(e.event_id, s.event_id);
    assert.equal(e.thumbnail_url, s.thumbnail_url);
    assert.match(String(e.clip_url), /\/api\/events\/drive-\d+\/clip\.avi$/);
    const row = rec.index.get(String(e.clip_url).split('/').at(-2)!)!;
    assert.ok(row.end !== null, 'motion_end comes once the clip is closed');
    assert.equal(e.frames, row.frames);
    assert.equal(e.duration_s, row.duration);
    assert.ok(Number(e.frames) >= 10);
    // The clip link works when the event arrives.
    const clip = await fetch(String(e.clip_url).replace(/^http:\/\/[^/]+/, t.url));
    assert.equal(clip.status, 200);
    assert.equal(Number(clip.headers.get('content-length')), row.bytes);
    await clip.arrayBuffer();
    // The last event sensor: the time, and the URLs as attributes.
    const le = await sub.wait('cam2mqtt/drive/last_event', (m) => m.payload.includes(row.id), 5000, mark);
    const j = JSON.parse(le.payload.toString()) as Record<string, unknown>;
    assert.equal(le.retain, false, 'live message (a fresh subscriber gets it retained)');
    assert.equal(j.time, new Date(row.start).toISOString());
    assert.equal(j.clip_url, e.clip_url);
    assert.equal(j.thumbnail_url, e.thumbnail_url);
    assert.equal(j.frames, row.frames);
  });

  it('the recording switch turns recording off and on from Home Assistant', async () => {
    let mark = sub.mark;
    await sub.publish('cam2mqtt/drive/set/recording', 'OFF');
    await sub.waitText('cam2mqtt/drive/recording', 'OFF', 5000, mark);
    assert.equal(cam.recording, false);
    const clips = rec.index.totals().clips;
    sim.setMotion(true);
    const start = await sub.wait('cam2mqtt/drive/event', (m) => m.payload.includes('motion_start'), 5000, mark);
    assert.equal(JSON.parse(start.payload.toString()).thumbnail_url, undefined, 'no recording, no thumbnail');
    sim.setMotion(false);
    await sub.wait('cam2mqtt/drive/event', (m) => m.payload.includes('motion_end'), 5000, mark);
    assert.equal(rec.index.totals().clips, clips);
    assert.equal((rec.status() as { preroll_frames: number }).preroll_frames, 0, 'no ring while off');
    // A bad payload is refused and the real state said again.
    mark = sub.mark;
    await sub.publish('cam2mqtt/drive/set/recording', 'maybe');
    await sub.waitText('cam2mqtt/drive/recording', 'OFF', 5000, mark);
    mark = sub.mark;
    await sub.publish('cam2mqtt/drive/set/recording', 'ON');
    await sub.waitText('cam2mqtt/drive/recording', 'ON', 5000, mark);
    assert.equal(cam.recording, true);
    // The switch is kept in the index: a restart keeps it (the row is there).
    assert.equal(rec.index.switches().get('drive'), true);
  });
});
