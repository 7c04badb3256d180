import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jpegCycle } from '../src/simulator/frames.js';
import { boundaryFromContentType, MultipartParser, type PartHeaders } from '../src/sources/http/multipart-parser.js';

const frames = jpegCycle({ width: 160, height: 120, hue: 40, cycle: 6, quality: 70 });

interface Run {
  parts: Buffer[];
  headers: PartHeaders[];
  oversize: (number | undefined)[];
  ended: boolean;
  parser: MultipartParser;
}

/**
 * Feed `stream` to a parser in chunks of the given sizes (cycled), as a socket would. Parsed twice:
 * with onPart (bodies copied together) and with onSlices (bodies as views of the chunks); both must
 * give the same parts, headers and refusals.
 */
function parse(
  stream: Buffer,
  boundary: string | undefined,
  chunkSizes: number[] = [65536],
  maxFrameBytes = 1 << 20,
): Run {
  const copied = parseIn('part', stream, boundary, chunkSizes, maxFrameBytes);
  for (const mode of ['slices', 'transient'] as const) {
    const other = parseIn(mode, stream, boundary, chunkSizes, maxFrameBytes);
    assert.deepEqual(other.parts, copied.parts, `${mode}: the same bodies as onPart`);
    assert.deepEqual(other.headers, copied.headers);
    assert.deepEqual(other.oversize, copied.oversize);
    assert.equal(other.ended, copied.ended);
  }
  return copied;
}

function parseIn(
  mode: 'part' | 'slices' | 'transient',
  stream: Buffer,
  boundary: string | undefined,
  chunkSizes: number[],
  maxFrameBytes: number,
): Run {
  const run: Run = {
    parts: [],
    headers: [],
    oversize: [],
    ended: false,
    parser: undefined as unknown as MultipartParser,
  };
  run.parser = new MultipartParser(
    { boundary, maxFrameBytes, transient: mode === 'transient' },
    {
      // Copy: a zero-copy part is a view of a chunk, and the test reuses nothing, but be explicit.
      // In transient mode the body is kept as it is: the parser must have copied it already.
      onPart: (b, h) => {
        if (mode === 'transient') {
          run.parts.push(b);
          run.headers.push({ ...h });
          return;
        }
        run.parts.push(Buffer.from(b));
        run.headers.push({ ...h });
      },
      ...(mode === 'slices'
        ? {
            onSlices: (slices: Buffer[], size: number, h: PartHeaders) => {
              assert.ok(slices.length > 0 && slices.every((x) => x.length > 0), 'no empty slices');
              assert.equal(
                slices.reduce((a, x) => a + x.length, 0),
                size,
              );
              run.parts.push(Buffer.concat(slices));
              run.headers.push({ ...h });
            },
          }
        : {}),
      onOversize: (size) => run.oversize.push(size),
      onEnd: () => {
        run.ended = true;
      },
    },
  );
  let pos = 0;
  let i = 0;
  // Transient: every chunk is pushed from one reused buffer, scribbled over after each push, like the
  // raw socket reader's shared read buffer.
  const scratch = Buffer.alloc(Math.min(stream.length, Math.max(...chunkSizes)));
  while (pos < stream.length) {
    const n = chunkSizes[i++ % chunkSizes.length]!;
    if (mode === 'transient') {
      const m = stream.copy(scratch, 0, pos, pos + n);
      run.parser.push(scratch.subarray(0, m));
      scratch.fill(0x55);
    } else run.parser.push(stream.subarray(pos, pos + n));
    pos += n;
  }
  run.parser.finish();
  return run;
}

const CHUNKINGS: [string, number[]][] = [
  ['one chunk', [1 << 30]],
  ['64 KiB chunks', [65536]],
  ['1-byte chunks', [1]],
  ['odd chunks', [7, 1, 13, 2, 1460, 3, 31]],
  ['chunks around a boundary length', [29, 30, 31, 32]],
];

function esp(boundary: string, list: Buffer[], padded = false): Buffer {
  // MJPEG2SD: headers, JPEG, then the boundary after each frame.
  const out: Buffer[] = [Buffer.from(`--${boundary}\r\n`)];
  for (const f of list) {
    out.push(
      Buffer.from(
        `Content-Type: image/jpeg\r\nContent-Length: ${padded ? String(f.length).padStart(10, ' ') : f.length}\r\n\r\n`,
      ),
      f,
      Buffer.from(`\r\n--${boundary}\r\n`),
    );
  }
  return Buffer.concat(out);
}

test('boundary from Content-Type: quoted, unquoted, with dashes, with other parameters', () => {
  assert.equal(boundaryFromContentType('multipart/x-mixed-replace; boundary=frame'), 'frame');
  assert.equal(
    boundaryFromContentType('multipart/x-mixed-replace;boundary=123456789000000000000987654321'),
    '123456789000000000000987654321',
  );
  assert.equal(boundaryFromContentType('multipart/x-mixed-replace; boundary="--myboundary"'), 'myboundary');
  assert.equal(
    boundaryFromContentType('multipart/x-mixed-replace; boundary=--BoundaryString; charset=x'),
    'BoundaryString',
  );
  assert.equal(boundaryFromContentType('Multipart/X-Mixed-Replace; BOUNDARY = "a b"'), 'a b');
  assert.equal(boundaryFromContentType('multipart/x-mixed-replace'), undefined);
  assert.equal(boundaryFromContentType(undefined), undefined);
});

for (const [name, sizes] of CHUNKINGS) {
  test(`MJPEG2SD stream (space-padded Content-Length, boundary after each frame), ${name}`, () => {
    const r = parse(esp('123456789000000000000987654321', frames, true), '123456789000000000000987654321', sizes);
    assert.equal(r.parts.length, frames.length);
    r.parts.forEach((p, i) => assert.ok(p.equals(frames[i]!), `frame ${i} differs`));
    assert.equal(r.oversize.length, 0);
  });

  test(`CameraWebServer stream (boundary before each frame, no final boundary), ${name}`, () => {
    const B = '123456789000000000000987654321';
    const s = Buffer.concat(
      frames.flatMap((f) => [
        Buffer.from(
          `\r\n--${B}\r\nContent-Type: image/jpeg\r\nContent-Length: ${f.length}\r\nX-Timestamp: 12.345\r\n\r\n`,
        ),
        f,
      ]),
    );
    const r = parse(s, B, sizes);
    assert.equal(r.parts.length, frames.length);
    r.parts.forEach((p, i) => assert.ok(p.equals(frames[i]!)));
    assert.equal(r.headers[0]!['x-timestamp'], '12.345');
  });

  test(`no Content-Length: parts end at the next boundary, ${name}`, () => {
    const s = Buffer.concat(
      frames
        .flatMap((f) => [Buffer.from('--frame\r\nContent-Type: image/jpeg\r\n\r\n'), f, Buffer.from('\r\n')])
        .concat([Buffer.from('--frame--\r\n')]),
    );
    const r = parse(s, 'frame', sizes);
    assert.equal(r.parts.length, frames.length);
    r.parts.forEach((p, i) => assert.ok(p.equals(frames[i]!), `frame ${i}: ${p.length} vs ${frames[i]!.length}`));
    assert.ok(r.ended, 'closing delimiter seen');
  });

  test(`garbage, LF-only lines, headerless parts, boundary without dashes, ${name}`, () => {
    const [a, b, c, d] = frames as [Buffer, Buffer, Buffer, Buffer];
    const s = Buffer.concat([
      Buffer.from('some preamble\r\n\r\n'),
      Buffer.from(`--xyz\r\nContent-Type: image/jpeg\r\nContent-Length: ${a.length}\r\n\r\n`),
      a,
      Buffer.from('\r\n\r\nrandom garbage between parts --x --xy\r\n'),
      Buffer.from(`--xyz\nContent-Type: image/jpeg\nContent-Length: ${b.length}\n\n`),
      b,
      Buffer.from('\n--xyz\r\n'),
      c, // no headers at all: the JPEG follows the boundary line
      Buffer.from(`\r\nxyz\r\ncontent-length:${d.length}\r\n\r\n`),
      d, // boundary written without "--"
      Buffer.from('\r\n--xyz\r\n'),
    ]);
    const r = parse(s, 'xyz', sizes);
    assert.deepEqual(
      r.parts.map((p) => p.length),
      [a.length, b.length, c.length, d.length],
    );
    assert.ok(r.parts[0]!.equals(a) && r.parts[1]!.equals(b) && r.parts[2]!.equals(c) && r.parts[3]!.equals(d));
    assert.ok(r.parser.garbageBytes > 0, 'garbage counted');
  });

  test(`frames over the limit are refused and reported, the others kept, ${name}`, () => {
    const big = Buffer.alloc(300_000, 0x41);
    big[0] = 0xff;
    big[1] = 0xd8;
    const [a, b] = frames as [Buffer, Buffer];
    const s = Buffer.concat([
      Buffer.from(`--B\r\nContent-Length: ${a.length}\r\n\r\n`),
      a,
      Buffer.from(`\r\n--B\r\nContent-Length: ${big.length}\r\n\r\n`),
      big, // known size: skipped without buffering
      Buffer.from(`\r\n--B\r\nContent-Length: ${b.length}\r\n\r\n`),
      b,
      Buffer.from('\r\n--B\r\nContent-Type: image/jpeg\r\n\r\n'),
      big, // unknown size: measured, then refused
      Buffer.from(`\r\n--B\r\nContent-Length: ${a.length}\r\n\r\n`),
      a,
      Buffer.from('\r\n--B\r\n'),
    ]);
    const r = parse(s, 'B', sizes, 100_000);
    assert.deepEqual(
      r.parts.map((p) => p.length),
      [a.length, b.length, a.length],
    );
    assert.deepEqual(r.oversize, [big.length, big.length]);
  });
}

test('boundary learnt from the body when the Content-Type has none', () => {
  const r = parse(esp('learnt-boundary', frames.slice(0, 3)), undefined, [5]);
  assert.equal(r.parts.length, 3);
  assert.equal(r.parser.boundary, 'learnt-boundary');
});

test('wrong Content-Length resynchronises on the next boundary', () => {
  const [a, b, c] = frames as [Buffer, Buffer, Buffer];
  const s = Buffer.concat([
    Buffer.from(`--B\r\nContent-Length: ${a.length}\r\n\r\n`),
    a,
    Buffer.from(`\r\n--B\r\nContent-Length: ${b.length - 100}\r\n\r\n`),
    b, // claims less than it sends
    Buffer.from(`\r\n--B\r\nContent-Length: ${c.length}\r\n\r\n`),
    c,
    Buffer.from('\r\n--B\r\n'),
  ]);
  const r = parse(s, 'B', [1000]);
  assert.ok(r.parts[0]!.equals(a));
  assert.ok(r.parts[r.parts.length - 1]!.equals(c), 'the frame after the bad one is intact');
});

test('a body within one chunk is handed out without copying', () => {
  const f = frames[0]!;
  const chunk = Buffer.concat([
    Buffer.from(`--B\r\nContent-Length: ${f.length}\r\n\r\n`),
    f,
    Buffer.from('\r\n--B\r\n'),
  ]);
  let got: Buffer | undefined;
  const p = new MultipartParser(
    { boundary: 'B', maxFrameBytes: 1 << 20 },
    {
      onPart: (b) => {
        got = b;
      },
    },
  );
  p.push(chunk);
  assert.ok(got);
  assert.equal(got.buffer, chunk.buffer, 'same memory as the socket chunk');
});

test('a body split over chunks is handed to onSlices as views of those chunks, never joined', () => {
  const f = frames[0]!;
  const stream = Buffer.concat([
    Buffer.from(`--B\r\nContent-Length: ${f.length}\r\n\r\n`),
    f,
    Buffer.from('\r\n--B\r\n'),
  ]);
  // Separate memory per chunk, as sockets deliver them.
  const chunks: Buffer[] = [];
  for (let at = 0; at < stream.length; at += 1460) chunks.push(Buffer.from(stream.subarray(at, at + 1460)));
  const got: Buffer[][] = [];
  const p = new MultipartParser(
    { boundary: 'B', maxFrameBytes: 1 << 20 },
    { onPart: () => assert.fail('onSlices takes the parts'), onSlices: (sl) => got.push(sl) },
  );
  for (const c of chunks) p.push(c);
  assert.equal(got.length, 1);
  const slices = got[0]!;
  assert.ok(slices.length >= Math.floor(f.length / 1460), 'one slice per chunk');
  for (const sl of slices)
    assert.ok(
      chunks.some((c) => c.buffer === sl.buffer),
      'every slice is a view of a chunk',
    );
  assert.ok(Buffer.concat(slices).equals(f));
});

test('parser throughput (reported, not asserted)', (t) => {
  // VGA-sized frames (~40 KB) in 64 KiB socket chunks, with and without Content-Length.
  const vga = jpegCycle({ width: 640, height: 480, hue: 90, cycle: 4, noise: 12, quality: 75 });
  const withLen = esp(
    '123456789000000000000987654321',
    Array.from({ length: 400 }, (_, i) => vga[i % vga.length]!),
    true,
  );
  const noLen = Buffer.concat(
    Array.from({ length: 400 }, (_, i) => [
      Buffer.from('--frame\r\nContent-Type: image/jpeg\r\n\r\n'),
      vga[i % vga.length]!,
      Buffer.from('\r\n'),
    ]).flat(),
  );
  for (const [name, stream, b] of [
    ['Content-Length', withLen, '123456789000000000000987654321'],
    ['boundary scan', noLen, 'frame'],
  ] as const) {
    let parts = 0;
    let ms = 0;
    // The first pass warms the JIT up; the second is measured.
    for (let pass = 0; pass < 2; pass++) {
      parts = 0;
      const p = new MultipartParser(
        { boundary: b, maxFrameBytes: 1 << 20 },
        {
          onPart: () => {
            parts++;
          },
        },
      );
      const t0 = process.hrtime.bigint();
      for (let pos = 0; pos < stream.length; pos += 65536) p.push(stream.subarray(pos, pos + 65536));
      p.finish();
      ms = Number(process.hrtime.bigint() - t0) / 1e6;
    }
    assert.equal(parts, 400);
    t.diagnostic(
      `${name}: ${(stream.length / 1e6).toFixed(1)} MB, 400 frames of ~${Math.round(vga[0]!.length / 1000)} KB in ${ms.toFixed(1)} ms = ${(stream.length / 1e6 / (ms / 1000)).toFixed(0)} MB/s, ${Math.round(400 / (ms / 1000))} frames/s`,
    );
  }
});
