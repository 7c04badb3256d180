import { open } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import path from 'node:path';
import send from 'send';
import { remoteEvents } from '../../cluster/gate.js';
import { TICKS_PER_SECOND } from '../../formats/avi.js';
import { type Handler, HttpError, type HttpServer, type Request, sendError, sendJson } from '../../http/server.js';
import { CAMERA_ID_RE } from '../../util/slug.js';
import type { ClipRow } from './db.js';
import { CLIP_ID_RE, type FrameRef, readFrames } from './files.js';
import type { RecordingsExtension } from './index.js';
import { clipPaths } from './recorder.js';

const MAX_LIMIT = 500;
const BOUNDARY = 'cam2mqtt-clip';

/** A time in a query: Unix ms or an ISO 8601 date. */
function timeParam(name: string, v: string | null): number | undefined {
  if (v === null || v === '') return undefined;
  const n = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(n))
    throw new HttpError(400, `${name}: expected Unix ms or an ISO 8601 time, got ${JSON.stringify(v.slice(0, 40))}`);
  return n;
}

function queryOf(req: Request): URLSearchParams {
  return new URL(req.url ?? '/', 'http://x').searchParams;
}

/** The clip named by the route's :id (400 for an id that is not one, 404 for none). */
function clipOf(rec: RecordingsExtension, req: Request): ClipRow {
  const id = req.params.id ?? '';
  if (!CLIP_ID_RE.test(id)) throw new HttpError(400, 'expected an event id of 1-128 characters a-z A-Z 0-9 _ -');
  const row = rec.index.get(id);
  if (!row) throw new HttpError(404, `no event "${id}" (never recorded, or removed by retention)`);
  return row;
}

/** An event as the API shows it. */
export function eventJson(rec: RecordingsExtension, row: ClipRow): Record<string, unknown> {
  const p = clipPaths(row.id);
  return {
    id: row.id,
    event_id: row.event_id,
    camera: row.camera,
    kind: row.kind,
    part: row.part,
    start: new Date(row.start).toISOString(),
    start_ms: row.start,
    end: row.end === null ? null : new Date(row.end).toISOString(),
    recording: row.end === null,
    duration_s: row.duration,
    frames: row.frames,
    bytes: row.bytes,
    corrupt_frames: row.corrupt,
    dropped_frames: row.dropped,
    region: row.region,
    snapshot_seq: row.snapshot_seq,
    clip_url: rec.url(p.clip),
    mjpeg_url: rec.url(p.mjpeg),
    thumbnail_url: rec.url(p.thumbnail),
    // In a cluster: the instance whose disk holds the clip (every instance answers for it).
    ...(remoteEvents(rec.hub) ? { instance: remoteEvents(rec.hub)!.instance } : {}),
  };
}

/**
 * The events API (docs/recordings.md), behind the same login as the rest: the list, one event, its
 * clip as AVI (with Range, for players that seek) or as MJPEG at its real pace, its thumbnail, DELETE.
 */
export function registerEventRoutes(rec: RecordingsExtension, http: HttpServer): void {
  // In a cluster (src/cluster/events.ts), an event this index does not hold is answered by the instance
  // that holds it: its JSON, clip (Range passes through), frames, thumbnail and DELETE.
  const elsewhere: Handler = async (req, res, next) => {
    const remote = remoteEvents(rec.hub);
    const id = req.params.id ?? '';
    if (!remote || !CLIP_ID_RE.test(id) || rec.index.get(id)) return next();
    // Another instance looking for the holder: "not here" is an answer, not a refusal worth a log line.
    if (remote.fromPeer(req)) return void res.writeHead(404).end();
    if (!(await remote.forward(req, res, id))) next();
  };
  http.get('/api/events/:id', elsewhere);
  http.get('/api/events/:id/:file', elsewhere);
  http.delete('/api/events/:id', elsewhere);

  http.get('/api/events', async (req, res) => {
    const q = queryOf(req);
    const camera = q.get('camera') || undefined;
    if (camera !== undefined && !CAMERA_ID_RE.test(camera)) throw new HttpError(400, 'camera: expected a camera id');
    const kindRaw = q.get('kind') || 'motion';
    if (kindRaw !== 'motion' && kindRaw !== 'continuous' && kindRaw !== 'all')
      throw new HttpError(400, 'kind: expected motion, continuous or all');
    const limitRaw = q.get('limit');
    const limit = limitRaw === null || limitRaw === '' ? 50 : Number(limitRaw);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT)
      throw new HttpError(400, `limit: expected a whole number from 1 to ${MAX_LIMIT}`);
    const cursor = q.get('cursor');
    let before: { start: number; id: string } | undefined;
    if (cursor) {
      const m = /^(\d+):([A-Za-z0-9_-]{1,128})$/.exec(cursor);
      if (!m) throw new HttpError(400, 'cursor: expected the `next` value of the previous page');
      before = { start: Number(m[1]), id: m[2]! };
    }
    const rows = rec.index.query({
      camera,
      kind: kindRaw === 'all' ? undefined : kindRaw,
      since: timeParam('since', q.get('since')),
      until: timeParam('until', q.get('until')),
      before,
      limit: limit + 1,
    });
    let events = rows.map((r) => eventJson(rec, r));
    // In a cluster: the same page from every other live instance, merged newest first (the cursor is
    // the same on each); one that does not answer is named, not an error.
    const remote = remoteEvents(rec.hub);
    let unreachable: string[] | undefined;
    if (remote && !remote.fromPeer(req)) {
      const other = await remote.list(q, limit + 1);
      unreachable = other.unreachable;
      events = [...events, ...other.events].sort(
        (a, b) => Number(b.start_ms) - Number(a.start_ms) || (String(b.id) < String(a.id) ? -1 : 1),
      );
    }
    const more = events.length > limit;
    const page = events.slice(0, limit);
    const last = page.at(-1);
    sendJson(res, 200, {
      events: page,
      next: more && last ? `${last.start_ms}:${last.id}` : null,
      ...(unreachable ? { unreachable } : {}),
    });
  });

  http.get('/api/events/:id', (req, res) => sendJson(res, 200, eventJson(rec, clipOf(rec, req))));

  http.get('/api/events/:id/clip.avi', (req, res) => {
    const row = clipOf(rec, req);
    sendFile(req, res, rec, row, row.clip_path, 'video/x-msvideo');
  });

  http.get('/api/events/:id/thumbnail.jpg', (req, res) => {
    const row = clipOf(rec, req);
    const pending = rec.pendingThumbs.get(row.id);
    if (pending) {
      res.writeHead(200, {
        'Content-Type': 'image/jpeg',
        'Content-Length': pending.data.length,
        'Cache-Control': 'no-cache',
      });
      res.end(req.method === 'HEAD' ? undefined : pending.data);
      return;
    }
    if (!row.thumb_path) throw new HttpError(404, `event "${row.id}" has no thumbnail`);
    sendFile(req, res, rec, row, row.thumb_path, 'image/jpeg');
  });

  // The frames' positions and times, for the page's player (it fetches the JPEGs with Range).
  http.get('/api/events/:id/frames', async (req, res) => {
    const row = clipOf(rec, req);
    const frames = await framesOf(rec, row);
    sendJson(res, 200, {
      id: row.id,
      ticks_per_second: TICKS_PER_SECOND,
      recording: row.end === null,
      frames: frames.map((f) => [f.tick, f.pos, f.size]),
    });
  });

  http.get('/api/events/:id/clip.mjpeg', async (req, res) => {
    const row = clipOf(rec, req);
    const q = queryOf(req);
    const speed = Number(q.get('speed') ?? 1);
    if (!(speed >= 0.25 && speed <= 16)) throw new HttpError(400, 'speed: expected a number from 0.25 to 16');
    const from = Number(q.get('start') ?? 0);
    if (!(from >= 0)) throw new HttpError(400, 'start: expected seconds from the start of the clip');
    const frames = await framesOf(rec, row);
    await playMjpeg(req, res, path.join(rec.dir, row.clip_path), frames, speed, from);
  });

  http.delete('/api/events/:id', async (req, res) => {
    const row = clipOf(rec, req);
    if (rec.isOpen(row.id)) throw new HttpError(409, `event "${row.id}" is still being recorded`);
    await rec.remove(row, 'deleted through the API');
    sendJson(res, 200, { deleted: row.id });
  });
}

async function framesOf(rec: RecordingsExtension, row: ClipRow): Promise<FrameRef[]> {
  try {
    const r = await readFrames(path.join(rec.dir, row.clip_path));
    if (!r) throw new HttpError(500, `${row.clip_path} is not a clip this bridge can read`);
    return r.frames;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new HttpError(404, `the clip of "${row.id}" is gone`);
    throw err;
  }
}

function sendFile(
  req: Request,
  res: ServerResponse,
  rec: RecordingsExtension,
  row: ClipRow,
  rel: string,
  type: string,
): void {
  // The path comes from the index, never from the request: the id only names the row.
  send(req, path.join(rec.dir, rel), { cacheControl: false, dotfiles: 'allow', index: false, acceptRanges: true })
    .on('headers', (r: ServerResponse) => {
      r.setHeader('Content-Type', type);
      r.setHeader('Cache-Control', row.end === null ? 'no-store' : 'private, max-age=3600');
    })
    .on('error', (err: NodeJS.ErrnoException & { status?: number }) => {
      if (res.headersSent) return void res.destroy();
      if (err.status === 404 || err.code === 'ENOENT')
        return sendError(res, 404, `the file of "${row.id}" is gone (removed by retention?)`);
      sendError(res, err.status ?? 500, err.message);
    })
    .pipe(res);
}

/** The clip as multipart MJPEG at its real pace (times `speed`), from `from` seconds on. */
async function playMjpeg(
  req: Request,
  res: ServerResponse,
  file: string,
  frames: FrameRef[],
  speed: number,
  from: number,
): Promise<void> {
  const fh = await open(file, 'r');
  let gone = false;
  req.on('close', () => {
    gone = true;
  });
  try {
    res.writeHead(200, {
      'Content-Type': `multipart/x-mixed-replace; boundary=${BOUNDARY}`,
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    });
    // Each part ends with the next boundary: browsers paint a part when they see it.
    res.write(`--${BOUNDARY}\r\n`);
    const fromTick = from * TICKS_PER_SECOND;
    const list = frames.filter((f) => f.tick >= fromTick);
    const t0 = performance.now();
    const tick0 = list[0]?.tick ?? 0;
    for (const f of list) {
      if (gone) break;
      const due = ((f.tick - tick0) * 1000) / TICKS_PER_SECOND / speed;
      const wait = due - (performance.now() - t0);
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const jpeg = Buffer.allocUnsafe(f.size);
      await fh.read(jpeg, 0, f.size, f.pos);
      const head = `Content-Type: image/jpeg\r\nContent-Length: ${f.size}\r\nX-Clip-Time: ${(f.tick / TICKS_PER_SECOND).toFixed(2)}\r\n\r\n`;
      res.write(head);
      if (!res.write(jpeg)) await new Promise((r) => res.once('drain', r).once('close', r));
      res.write(`\r\n--${BOUNDARY}\r\n`);
    }
    if (!gone) res.end();
  } finally {
    await fh.close();
  }
}
