import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Camera } from '../src/hub/camera.js';
import type { ClipEvent, MotionEvent } from '../src/hub/events.js';
import type { Frame } from '../src/hub/frame.js';
import { SimulatedNativeCamera } from '../src/simulator/native-camera.js';
import { cameraUrl } from '../src/simulator/simulate.js';
import type { RecordingsExtension } from '../src/sinks/recordings/index.js';
import { encodeFrame, FLAG_TIME_SYNCED } from '../src/sources/native/codec.js';
import { startBridge, type TestBridge, waitFor } from './helpers/bridge.js';

// Motion clips end to end: a simulated native camera over a real WebSocket, the real bridge, real
// files, real SQLite, real ffmpeg/ffprobe, real HTTP (Range, auth).

const PRE = 1;
const POST = 1;
const FPS = 10;
const TOKEN = 'events-token-123';

interface Seen {
  frames: Frame[];
  /** Per event id: what the clip must hold, computed by the rules of docs/recordings.md. */
  starts: Map<string, { pre: Frame[]; thumb: Frame }>;
  ends: Map<string, number>;
}

/** Watch a camera as the recordings sink does: every frame it received, and the ring at motion start. */
function watch(t: TestBridge, cam: Camera): Seen {
  const seen: Seen = { frames: [], starts: new Map(), ends: new Map() };
  cam.subscribe((f) => seen.frames.push(f));
  t.bridge.hub.listen(seen, 'motion', (ev: MotionEvent) => {
    if (ev.camera !== cam) return;
    const latest = cam.latest!;
    if (ev.state === 'start') {
      // The ring: frames of the last PRE seconds before the latest one (by receive time).
      const pre = seen.frames.filter((f) => f.receivedAt >= latest.receivedAt - PRE * 1000);
      seen.starts.set(ev.eventId, { pre, thumb: latest });
    } else {
      seen.ends.set(ev.eventId, latest.receivedAt + POST * 1000);
    }
  });
  return seen;
}

/** The frames the clip of `eventId` must hold: the pre-roll, the event, the post-roll. */
function expectedFrames(seen: Seen, eventId: string): Frame[] {
  const { pre } = seen.starts.get(eventId)!;
  const until = seen.ends.get(eventId)!;
  const from = seen.frames.indexOf(pre.at(-1)!);
  const rest: Frame[] = [];
  for (const f of seen.frames.slice(from + 1)) {
    rest.push(f);
    if (f.receivedAt >= until) break;
  }
  return [...pre, ...rest];
}

const tmp = mkdtempSync(path.join(tmpdir(), 'cam2mqtt-rec-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function extract(file: string): Buffer[] {
  const out = mkdtempSync(path.join(tmp, 'x-'));
  execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-c', 'copy', '-f', 'image2', path.join(out, '%04d.jpg')]);
  return readdirSync(out)
    .sort()
    .map((f) => readFileSync(path.join(out, f)));
}

function probe(file: string): { frames: number; duration: number } {
  const j = JSON.parse(
    execFileSync(
      'ffprobe',
      ['-v', 'error', '-count_frames', '-show_entries', 'stream=nb_read_frames:format=duration', '-of', 'json', file],
      { encoding: 'utf8' },
    ),
  ) as { streams: { nb_read_frames: string }[]; format: { duration: string } };
  return { frames: Number(j.streams[0]!.nb_read_frames), duration: Number(j.format.duration) };
}

function nextClip(t: TestBridge, state: ClipEvent['state'], camera?: string): Promise<ClipEvent> {
  return new Promise((resolve) => {
    const owner = {};
    t.bridge.hub.listen(owner, 'clip', (c) => {
      if (c.state !== state || (camera && c.camera.id !== camera)) return;
      t.bridge.hub.unlisten(owner);
      resolve(c);
    });
  });
}

const auth = { Authorization: `Bearer ${TOKEN}` };

describe('recordings: motion clips with pre-roll', () => {
  let t: TestBridge;
  let sim: SimulatedNativeCamera;
  let cam: Camera;
  let seen: Seen;
  let rec: RecordingsExtension;
  let clip: ClipEvent;
  let eventId: string;

  before(async () => {
    t = await startBridge({
      http: { auth: { token: TOKEN } },
      recordings: { enabled: true, pre_seconds: PRE, post_seconds: POST, min_free_bytes: 0 },
    });
    rec = t.bridge.extension<RecordingsExtension>('recordings')!;
    sim = new SimulatedNativeCamera({
      url: cameraUrl(t.url, 'native'),
      id: 'porch',
      fps: FPS,
      width: 160,
      height: 120,
      hue: 30,
    });
    sim.start();
    cam = await waitFor(() => t.bridge.hub.get('porch'), 5000, 'camera');
    seen = watch(t, cam);
    await waitFor(() => seen.frames.length >= PRE * FPS + 5, 10_000, 'pre-roll frames');
    const closed = nextClip(t, 'closed', 'porch');
    sim.setMotion(true);
    await waitFor(() => seen.frames.length >= PRE * FPS + 15, 10_000, 'motion frames');
    sim.setMotion(false);
    clip = await closed;
    eventId = clip.eventId;
  });

  after(async () => {
    await sim?.stop();
    await t?.stop();
  });

  it('the clip holds exactly the pre-roll, the motion and the post-roll frames, each byte-identical', () => {
    const want = expectedFrames(seen, eventId);
    assert.ok(seen.starts.get(eventId)!.pre.length >= PRE * FPS - 2, 'a second of pre-roll');
    const row = rec.index.get(clip.id)!;
    const file = path.join(rec.dir, row.clip_path);
    assert.match(row.clip_path, /^porch\/\d{4}-\d{2}-\d{2}\/porch-\d+\.avi$/);
    const got = extract(file);
    assert.equal(got.length, want.length, `frames in the clip: ${got.length}, expected ${want.length}`);
    got.forEach((b, i) => assert.ok(b.equals(want[i]!.data), `frame ${i + 1} (seq ${want[i]!.seq}) differs`));
    assert.equal(row.frames, want.length);

    const p = probe(file);
    assert.equal(p.frames, want.length);
    const real = (want.at(-1)!.cameraTime - want[0]!.cameraTime) / 1000 + 1 / FPS;
    assert.ok(Math.abs(p.duration - real) <= real * 0.1, `ffprobe duration ${p.duration} s, real ${real} s`);

    // The thumbnail: the frame at motion start.
    const thumb = readFileSync(path.join(rec.dir, row.thumb_path!));
    assert.ok(thumb.equals(seen.starts.get(eventId)!.thumb.data));
  });

  it('lists and serves events behind the login: JSON, Range, MJPEG at real pace, thumbnail', async () => {
    assert.equal((await fetch(`${t.url}/api/events`)).status, 401);
    assert.equal((await fetch(`${t.url}/api/events/${clip.id}/clip.avi`)).status, 401);
    const list = (await (await fetch(`${t.url}/api/events?camera=porch`, { headers: auth })).json()) as {
      events: Record<string, unknown>[];
      next: string | null;
    };
    assert.equal(list.events.length, 1);
    const ev = list.events[0]!;
    assert.equal(ev.id, clip.id);
    assert.equal(ev.event_id, eventId);
    assert.equal(ev.camera, 'porch');
    assert.equal(ev.recording, false);
    assert.equal(ev.frames, expectedFrames(seen, eventId).length);
    assert.match(String(ev.clip_url), new RegExp(`/api/events/${clip.id}/clip\\.avi$`));
    const one = await fetch(`${t.url}/api/events/${clip.id}`, { headers: auth });
    assert.deepEqual(await one.json(), ev);

    const row = rec.index.get(clip.id)!;
    const file = readFileSync(path.join(rec.dir, row.clip_path));
    const whole = await fetch(`${t.url}/api/events/${clip.id}/clip.avi`, { headers: auth });
    assert.equal(whole.status, 200);
    assert.equal(whole.headers.get('content-type'), 'video/x-msvideo');
    assert.equal(whole.headers.get('accept-ranges'), 'bytes');
    assert.ok(Buffer.from(await whole.arrayBuffer()).equals(file));
    const mid = await fetch(`${t.url}/api/events/${clip.id}/clip.avi`, {
      headers: { ...auth, Range: 'bytes=1000-1999' },
    });
    assert.equal(mid.status, 206);
    assert.equal(mid.headers.get('content-range'), `bytes 1000-1999/${file.length}`);
    assert.ok(Buffer.from(await mid.arrayBuffer()).equals(file.subarray(1000, 2000)));
    const tail = await fetch(`${t.url}/api/events/${clip.id}/clip.avi`, { headers: { ...auth, Range: 'bytes=-16' } });
    assert.equal(tail.status, 206);
    assert.ok(Buffer.from(await tail.arrayBuffer()).equals(file.subarray(file.length - 16)));
    const past = await fetch(`${t.url}/api/events/${clip.id}/clip.avi`, {
      headers: { ...auth, Range: `bytes=${file.length + 10}-` },
    });
    assert.equal(past.status, 416);
    await past.arrayBuffer();

    const th = await fetch(`${t.url}/api/events/${clip.id}/thumbnail.jpg`, { headers: auth });
    assert.equal(th.headers.get('content-type'), 'image/jpeg');
    assert.ok(Buffer.from(await th.arrayBuffer()).equals(seen.starts.get(eventId)!.thumb.data));

    // MJPEG at the clip's pace: its frames arrive over about the clip's duration.
    const t0 = Date.now();
    const mj = await fetch(`${t.url}/api/events/${clip.id}/clip.mjpeg`, { headers: auth });
    assert.match(mj.headers.get('content-type') ?? '', /^multipart\/x-mixed-replace/);
    const body = Buffer.from(await mj.arrayBuffer());
    const took = (Date.now() - t0) / 1000;
    const parts = body.toString('latin1').split('Content-Type: image/jpeg').length - 1;
    assert.equal(parts, row.frames);
    assert.ok(took >= row.duration * 0.8, `played in ${took} s, the clip lasts ${row.duration} s`);
    const fast = Date.now();
    await (await fetch(`${t.url}/api/events/${clip.id}/clip.mjpeg?speed=4`, { headers: auth })).arrayBuffer();
    assert.ok((Date.now() - fast) / 1000 < took, 'speed=4 plays faster');
  });

  it('refuses bad ids with 400 and unknown ones with 404', async () => {
    for (const bad of ['..%2F..%2Fetc%2Fpasswd', '.hidden', 'a.b', 'a%00b', 'x'.repeat(200)]) {
      const r = await fetch(`${t.url}/api/events/${bad}/clip.avi`, { headers: auth });
      assert.equal(r.status, 400, `${bad}: ${r.status}`);
      await r.arrayBuffer();
    }
    const r = await fetch(`${t.url}/api/events/porch-1/clip.avi`, { headers: auth });
    assert.equal(r.status, 404);
    assert.equal((await fetch(`${t.url}/api/events?limit=0`, { headers: auth })).status, 400);
    assert.equal((await fetch(`${t.url}/api/events?since=yesterday`, { headers: auth })).status, 400);
  });

  it('a corrupt frame is left out of the clip and counted', async () => {
    const closed = nextClip(t, 'closed', 'porch');
    const before = seen.frames.length;
    sim.setMotion(true);
    await waitFor(() => seen.frames.length >= before + 3, 5000, 'frames');
    // A JPEG cut in half: no end marker.
    const jpeg = readFileSync(path.join(rec.dir, rec.index.get(clip.id)!.thumb_path!));
    sim.ws!.send(encodeFrame(999_999, Date.now(), jpeg.subarray(0, jpeg.length >> 1), FLAG_TIME_SYNCED));
    await waitFor(() => seen.frames.some((f) => f.seq === 999_999), 5000, 'the corrupt frame');
    await waitFor(() => seen.frames.length >= before + 8, 5000, 'frames');
    sim.setMotion(false);
    const c = await closed;
    const row = rec.index.get(c.id)!;
    assert.equal(row.corrupt, 1);
    const got = extract(path.join(rec.dir, row.clip_path));
    const want = expectedFrames(seen, c.eventId).filter((f) => f.seq !== 999_999);
    assert.equal(got.length, want.length);
    got.forEach((b, i) => assert.ok(b.equals(want[i]!.data), `frame ${i + 1} differs`));
    assert.equal((rec.status() as { corrupt_frames: number }).corrupt_frames, 1);
  });

  it('a camera that disconnects mid-event closes its clip cleanly', async () => {
    const opened = nextClip(t, 'open', 'porch');
    const closed = nextClip(t, 'closed', 'porch');
    sim.setMotion(true);
    const o = await opened;
    await waitFor(() => seen.frames.length > 0 && seen.frames.at(-1)!.receivedAt > o.start + 1500, 5000, 'frames');
    sim.kill();
    const c = await closed;
    assert.equal(c.id, o.id);
    const row = rec.index.get(c.id)!;
    assert.ok(row.end !== null && row.frames > 10);
    assert.equal(probe(path.join(rec.dir, row.clip_path)).frames, row.frames);
    await waitFor(() => cam.online, 10_000, 'the camera back');
    const n = seen.frames.length;
    await waitFor(() => seen.frames.length > n + 3, 10_000, 'frames again');
  });

  it('DELETE removes an event; its clip is then 404', async () => {
    const row = rec.index.get(clip.id)!;
    assert.equal((await fetch(`${t.url}/api/events/${clip.id}`, { method: 'DELETE' })).status, 401);
    const removed = nextClip(t, 'removed');
    const d = await fetch(`${t.url}/api/events/${clip.id}`, { method: 'DELETE', headers: auth });
    assert.equal(d.status, 200);
    assert.equal((await removed).id, clip.id);
    assert.equal(existsSync(path.join(rec.dir, row.clip_path)), false);
    const r = await fetch(`${t.url}/api/events/${clip.id}/clip.avi`, { headers: auth });
    assert.equal(r.status, 404);
    await r.arrayBuffer();
  });

  it('counts the pre-roll ring in /healthz, bounded by its settings', async () => {
    const h = (await (await fetch(`${t.url}/healthz`, { headers: auth })).json()) as {
      recordings: { preroll_bytes: number; preroll_frames: number };
    };
    assert.ok(
      h.recordings.preroll_frames > 0 && h.recordings.preroll_frames <= PRE * FPS + 3,
      JSON.stringify(h.recordings),
    );
    assert.ok(h.recordings.preroll_bytes > 0 && h.recordings.preroll_bytes <= 16 * 1024 * 1024);
  });
});
