import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { aviHeader, HEADER, jpegComplete, jpegDimensions, TICKS_PER_SECOND } from '../src/formats/avi.js';
import { type Frame, SlicedFrame } from '../src/hub/frame.js';
import { jpegCycle } from '../src/simulator/frames.js';
import { ClipWriter } from '../src/sinks/recordings/clip-writer.js';
import { readFrames, repairClip } from '../src/sinks/recordings/files.js';

// src/formats/avi.ts to the byte, and what real ffmpeg/ffprobe (Debian's, installed by .ci/run) read
// from the files the clip writer makes: frame count, duration, and every JPEG byte-identical.

const dir = mkdtempSync(path.join(tmpdir(), 'cam2mqtt-avi-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const jpegs = jpegCycle({ width: 160, height: 120, hue: 200, cycle: 16 });

/** A RIFF writer written apart from src/formats/avi.ts: the layout as the AVI spec lists it. */
function expectedFile(frames: Buffer[], ticks: number[], totalTicks: number): Buffer {
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n >>> 0);
    return b;
  };
  const u16 = (n: number) => {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(n);
    return b;
  };
  const cc = (s: string) => Buffer.from(s, 'latin1');
  const chunks: Buffer[] = [];
  const index: Buffer[] = [];
  let off = 4;
  let maxChunk = 0;
  let bytes = 0;
  let t = 0;
  const empty = () => {
    chunks.push(cc('00dc'), u32(0));
    index.push(cc('00dc'), u32(0), u32(off), u32(0));
    off += 8;
    t++;
  };
  frames.forEach((f, i) => {
    while (t < ticks[i]!) empty();
    chunks.push(cc('00dc'), u32(f.length), f, ...(f.length % 2 ? [Buffer.alloc(1)] : []));
    index.push(cc('00dc'), u32(0x10), u32(off), u32(f.length));
    off += 8 + f.length + (f.length % 2);
    maxChunk = Math.max(maxChunk, f.length);
    bytes += f.length;
    t++;
  });
  while (t < totalTicks) empty();
  const movi = Buffer.concat(chunks);
  const idx = Buffer.concat(index);
  const avih = Buffer.concat([
    u32(1_000_000 / TICKS_PER_SECOND),
    u32(Math.ceil(bytes / (totalTicks / TICKS_PER_SECOND))),
    u32(0),
    u32(0x110),
    u32(totalTicks),
    u32(0),
    u32(1),
    u32(maxChunk),
    u32(160),
    u32(120),
    Buffer.alloc(16),
  ]);
  const strh = Buffer.concat([
    cc('vids'),
    cc('MJPG'),
    u32(0),
    u32(0),
    u32(0),
    u32(1),
    u32(TICKS_PER_SECOND),
    u32(0),
    u32(totalTicks),
    u32(maxChunk),
    u32(0xffffffff),
    u32(0),
    u16(0),
    u16(0),
    u16(160),
    u16(120),
  ]);
  const strf = Buffer.concat([
    u32(40),
    u32(160),
    u32(120),
    u16(1),
    u16(24),
    cc('MJPG'),
    u32(160 * 120 * 3),
    Buffer.alloc(16),
  ]);
  const strl = Buffer.concat([cc('strl'), cc('strh'), u32(56), strh, cc('strf'), u32(40), strf]);
  const hdrl = Buffer.concat([cc('hdrl'), cc('avih'), u32(56), avih, cc('LIST'), u32(strl.length), strl]);
  const body = Buffer.concat([
    cc('AVI '),
    cc('LIST'),
    u32(hdrl.length),
    hdrl,
    cc('LIST'),
    u32(4 + movi.length),
    cc('movi'),
    movi,
    cc('idx1'),
    u32(idx.length),
    idx,
  ]);
  return Buffer.concat([cc('RIFF'), u32(body.length), body]);
}

function frame(data: Buffer, seq: number, t: number): Frame {
  return { data, seq, cameraTime: t, receivedAt: t };
}

async function writeClip(file: string, frames: Frame[]): Promise<void> {
  const w = new ClipWriter(file, { width: 160, height: 120 }, (err) => assert.fail(err));
  for (const f of frames) w.add(f);
  const fig = await w.close();
  assert.equal(fig.error, undefined);
}

function probe(file: string): { frames: number; duration: number; pts: number[] } {
  const out = execFileSync(
    'ffprobe',
    ['-v', 'error', '-count_frames', '-show_entries', 'stream=nb_read_frames:format=duration', '-of', 'json', file],
    { encoding: 'utf8' },
  );
  const j = JSON.parse(out) as { streams: { nb_read_frames: string }[]; format: { duration?: string } };
  const pts = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', file], {
    encoding: 'utf8',
  })
    .trim()
    .split('\n')
    .filter(Boolean)
    .map(Number);
  return { frames: Number(j.streams[0]!.nb_read_frames), duration: Number(j.format.duration ?? Number.NaN), pts };
}

/** `ffmpeg -i clip.avi -c copy -f image2 %04d.jpg`: the JPEGs as ffmpeg reads them. */
function extract(file: string): Buffer[] {
  const out = path.join(dir, `x-${path.basename(file)}`);
  mkdirSync(out);
  execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-c', 'copy', '-f', 'image2', path.join(out, '%04d.jpg')]);
  return readdirSync(out)
    .sort()
    .map((f) => readFileSync(path.join(out, f)));
}

describe('AVI/MJPEG clips (src/formats/avi.ts, the clip writer)', () => {
  it('writes the header placeholders as documented', () => {
    const h = aviHeader({ width: 640, height: 480 });
    assert.equal(h.length, HEADER.bytes);
    assert.equal(h.toString('latin1', 0, 4), 'RIFF');
    assert.equal(h.readUInt32LE(HEADER.riffSize), 0);
    assert.equal(h.readUInt32LE(HEADER.moviSize), 0);
    assert.equal(h.toString('latin1', HEADER.movi, HEADER.movi + 4), 'movi');
    assert.equal(h.readUInt32LE(HEADER.strhLength), 0);
  });

  it('reads JPEG sizes and end markers', () => {
    assert.deepEqual(jpegDimensions(jpegs[0]!), { width: 160, height: 120 });
    assert.equal(jpegComplete(jpegs[0]!), true);
    assert.equal(jpegComplete(jpegs[0]!.subarray(0, jpegs[0]!.length - 10)), false);
  });

  it('writes a clip byte for byte: frames at their real times, empty chunks for the gaps, idx1 at close', async () => {
    // 10 fps, with a 1 s hole after frame 9 and a frame 3 ms late (rounds to its tick).
    const times = jpegs.map((_, i) => 1_700_000_000_000 + i * 100 + (i >= 10 ? 1000 : 0) + (i === 4 ? 3 : 0));
    const file = path.join(dir, 'exact.avi');
    // Odd frames as a pulled camera's socket slices: written as they are, never joined.
    const sliced = (j: Buffer, i: number, t: number): Frame => {
      const f = new SlicedFrame([j.subarray(0, 1), j.subarray(1, 700), j.subarray(700)], i, t, t);
      Object.defineProperty(f, 'data', { get: () => assert.fail('a sliced frame was joined') });
      return f;
    };
    await writeClip(
      file,
      jpegs.map((j, i) => (i % 2 ? sliced(j, i, times[i]!) : frame(j, i, times[i]!))),
    );
    const ticks = times.map((t) => Math.round((t - times[0]!) / 10));
    // The last frame is shown for the clip's average frame interval.
    const avg = (times.at(-1)! - times[0]!) / 10 / (jpegs.length - 1);
    const total = ticks.at(-1)! + Math.round(avg);
    assert.deepEqual(readFileSync(file), expectedFile(jpegs, ticks, total));

    const p = probe(file);
    assert.equal(p.frames, jpegs.length);
    assert.ok(Math.abs(p.duration - total / TICKS_PER_SECOND) < 0.011, `duration ${p.duration}`);
    assert.deepEqual(
      p.pts,
      ticks.map((t) => t / TICKS_PER_SECOND),
    );
    const out = extract(file);
    assert.equal(out.length, jpegs.length);
    out.forEach((b, i) => assert.ok(b.equals(jpegs[i]!), `frame ${i + 1} differs`));
  });

  it('a clip cut short plays up to its last whole frame, and the repair indexes it', async () => {
    const times = jpegs.map((_, i) => 1_700_000_000_000 + i * 100);
    const file = path.join(dir, 'cut.avi');
    // What a crash leaves: the frames written so far, no idx1, counts still 0, the last frame half there.
    const whole = new ClipWriter(file, { width: 160, height: 120 }, (err) => assert.fail(err));
    for (const [i, j] of jpegs.entries()) whole.add(frame(j, i, times[i]!));
    await whole.close();
    const full = readFileSync(file);
    const last = (await readFrames(file))!.frames.at(-1)!;
    const cut = Buffer.from(full.subarray(0, last.pos + Math.floor(last.size / 2)));
    aviHeader({ width: 160, height: 120 }).copy(cut, 0);
    writeFileSync(file, cut);

    const before = extract(file);
    assert.equal(before.length, jpegs.length - 1);
    before.forEach((b, i) => assert.ok(b.equals(jpegs[i]!), `frame ${i + 1} differs`));

    const r = await repairClip(file);
    assert.equal(r?.frames, jpegs.length - 1);
    assert.equal(r?.wasIndexed, false);
    const p = probe(file);
    assert.equal(p.frames, jpegs.length - 1);
    // The whole frames and the empty chunks after them: 15 frames 100 ms apart.
    assert.ok(Math.abs(p.duration - (jpegs.length - 1) / 10) < 0.011, `duration ${p.duration}`);
    const listed = await readFrames(file);
    assert.equal(listed?.frames.length, jpegs.length - 1);
    // Repairing a whole file changes nothing.
    const again = readFileSync(file);
    assert.equal((await repairClip(file))?.wasIndexed, true);
    assert.ok(readFileSync(file).equals(again));
    truncateSync(file, 100);
    assert.equal(await repairClip(file), undefined);
  });
});
