// Fuzz: the MJPEG multipart parser (src/sources/http/multipart-parser.ts). It documents no error at
// all: whatever a camera sends, push() and finish() must not throw, parts stay within maxFrameBytes
// and within the bytes received, and a well-formed stream gives the same frames however it is chunked.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { boundaryFromContentType, MultipartParser } from '../../src/sources/http/multipart-parser.js';
import { fuzz, MAX_MS, never } from './fuzz.js';

interface Run {
  parts: Buffer[];
  oversize: number;
}

/** Feed `data` cut at `cuts` (positions), then finish. */
function parse(data: Buffer, cuts: number[], boundary: string | undefined, maxFrameBytes: number): Run {
  const out: Run = { parts: [], oversize: 0 };
  const p = new MultipartParser(
    { boundary, maxFrameBytes },
    {
      // Copy: a part may be a view of a chunk (zero-copy), and the test keeps them all.
      onPart: (body) => out.parts.push(Buffer.from(body)),
      onOversize: () => out.oversize++,
    },
  );
  const t0 = performance.now();
  let at = 0;
  for (const c of [...new Set(cuts)].sort((a, b) => a - b)) {
    if (c <= at || c >= data.length) continue;
    p.push(data.subarray(at, c));
    at = c;
  }
  if (at < data.length) p.push(data.subarray(at));
  p.finish();
  const ms = performance.now() - t0;
  assert.ok(ms <= MAX_MS, `parsing ${data.length} bytes took ${ms.toFixed(0)} ms`);
  return out;
}

const cuts = (max: number) => fc.array(fc.integer({ min: 1, max: Math.max(1, max) }), { maxLength: 40 });

// Anything at all, and near misses made of the pieces a parser looks for.
const noise = fc.oneof(
  fc.uint8Array({ maxLength: 600 }).map((u) => Buffer.from(u)),
  fc
    .array(
      fc.oneof(
        fc.constantFrom(
          '--',
          '--bnd',
          'bnd',
          '\r\n',
          '\n',
          '\r\n\r\n',
          'Content-Length: ',
          '12',
          '99999999999999',
          ': ',
          '--bnd--',
          '\xff\xd8',
          '\xff\xd9',
          'Content-Type: image/jpeg\r\n',
        ),
        fc.string({ maxLength: 6 }),
      ),
      { maxLength: 80 },
    )
    .map((a) => Buffer.from(a.join(''), 'latin1')),
);

test('fuzz multipart: any bytes, any chunking: no throw, no hang, parts bounded by maxFrameBytes and the input', () =>
  fuzz(
    'multipart any bytes',
    1000,
    fc.property(
      noise,
      fc.oneof(
        fc.constant(undefined),
        fc.constant('bnd'),
        fc.constant('--bnd'),
        fc.string({ minLength: 1, maxLength: 8 }),
      ),
      fc.integer({ min: 1, max: 700 }),
      cuts(600),
      (data, boundary, max, at) => {
        const r = never('MultipartParser', () => parse(data, at, boundary, max));
        let total = 0;
        for (const part of r.parts) {
          assert.ok(part.length > 0 && part.length <= max, `part of ${part.length} bytes (max ${max})`);
          total += part.length;
        }
        assert.ok(total <= data.length, `${total} bytes of parts from ${data.length} bytes`);
      },
    ),
  ));

test('fuzz multipart: boundaryFromContentType never throws and returns a non-empty token or undefined', () =>
  fuzz(
    'multipart content type',
    1000,
    fc.property(
      fc.oneof(
        fc.string({ unit: 'binary', maxLength: 80 }),
        fc.string().map((s) => `multipart/x-mixed-replace; boundary=${s}`),
      ),
      (ct) => {
        const b = never('boundaryFromContentType', () => boundaryFromContentType(ct));
        assert.ok(b === undefined || (b.length > 0 && b.length <= ct.length));
      },
    ),
  ));

/** A JPEG-looking body: FF D8, bytes, FF D9. */
const jpeg = fc.uint8Array({ minLength: 0, maxLength: 300 }).map((u) => Buffer.from([0xff, 0xd8, ...u, 0xff, 0xd9]));

interface Stream {
  data: Buffer;
  frames: Buffer[];
  boundary: string;
  declared: boolean;
}

// Well-formed streams as cameras write them: CRLF or LF, "--" or not before the token, Content-Length
// present (maybe space padded like MJPEG2SD's %10u) or absent, other headers, garbage between parts
// (only after parts with a length: without one, bytes up to the next boundary belong to the picture).
const stream: fc.Arbitrary<Stream> = fc
  .record({
    token: fc.stringMatching(/^[A-Za-z0-9'()+_,.:=?-]{1,30}$/).map((t) => `bnd${t}`),
    declared: fc.boolean(),
    dashes: fc.boolean(),
    nl: fc.constantFrom('\r\n', '\n'),
    preamble: fc.constantFrom('', '\r\n', 'some text\r\n'),
    parts: fc.array(
      fc.record({
        body: jpeg,
        length: fc.constantFrom('none', 'plain', 'padded'),
        extra: fc.constantFrom('', 'X-Timestamp: 1733000000.123456\r\n', 'Content-Type: image/jpeg\r\n'),
        garbage: fc.constantFrom('', '\r\n', '\r\n\r\n', 'junk\r\n'),
      }),
      { minLength: 1, maxLength: 6 },
    ),
    close: fc.boolean(),
  })
  .map((s) => {
    // An undeclared boundary is learnt from the first "--" line: such streams use the dashes.
    const delim = `${s.dashes || !s.declared ? '--' : ''}${s.token}`;
    const chunks: Buffer[] = [Buffer.from(s.declared ? s.preamble : '', 'latin1')];
    for (const [i, p] of s.parts.entries()) {
      if (i > 0 && s.parts[i - 1]!.length === 'none') chunks.push(Buffer.from(s.nl));
      const len =
        p.length === 'plain'
          ? `Content-Length: ${p.body.length}${s.nl}`
          : p.length === 'padded'
            ? `Content-Length: ${String(p.body.length).padStart(10)}${s.nl}`
            : '';
      chunks.push(
        Buffer.from(
          `${delim}${s.nl}Content-Type: image/jpeg${s.nl}${len}${p.extra.replace('\r\n', s.nl)}${s.nl}`,
          'latin1',
        ),
      );
      chunks.push(p.body);
      if (p.length !== 'none') chunks.push(Buffer.from(`${s.nl}${p.garbage}`, 'latin1'));
    }
    if (s.close)
      chunks.push(Buffer.from(`${s.parts.at(-1)!.length === 'none' ? s.nl : ''}${delim}--${s.nl}`, 'latin1'));
    // Without a closing delimiter a stream's last part without a length ends where the stream ends.
    return { data: Buffer.concat(chunks), frames: s.parts.map((p) => p.body), boundary: s.token, declared: s.declared };
  });

test('fuzz multipart: a well-formed stream gives its frames, the same whatever the chunking', () =>
  fuzz(
    'multipart chunking',
    1000,
    fc.property(
      stream.chain((s) => fc.tuple(fc.constant(s), cuts(s.data.length - 1), fc.integer({ min: 1, max: 64 }))),
      ([s, at, step]) => {
        const boundary = s.declared ? s.boundary : undefined;
        const max = 1 << 20;
        const whole = parse(s.data, [], boundary, max);
        assert.deepEqual(whole.parts, s.frames, 'in one chunk');
        assert.deepEqual(parse(s.data, at, boundary, max).parts, s.frames, `cut at ${[...at].sort((a, b) => a - b)}`);
        // And in small pieces of `step` bytes.
        const small = Array.from({ length: Math.ceil(s.data.length / step) }, (_, i) => i * step);
        assert.deepEqual(parse(s.data, small, boundary, max).parts, s.frames, `in pieces of ${step} bytes`);
      },
    ),
  ));

test('fuzz multipart: frames over maxFrameBytes are refused, the others delivered, whatever the chunking', () =>
  fuzz(
    'multipart oversize',
    500,
    fc.property(
      stream.chain((s) => fc.tuple(fc.constant(s), cuts(s.data.length - 1), fc.integer({ min: 4, max: 200 }))),
      ([s, at, max]) => {
        const boundary = s.declared ? s.boundary : undefined;
        const expected = s.frames.filter((f) => f.length <= max);
        for (const c of [[], at]) {
          const r = parse(s.data, c, boundary, max);
          assert.deepEqual(r.parts, expected);
          assert.equal(r.oversize, s.frames.length - expected.length);
        }
      },
    ),
  ));
