// Fuzz: the ESP32-CAM_MJPEG2SD codec (src/sources/mjpeg2sd/codec.ts). Its parsers take anything a camera
// sends and never throw; the command encoder throws only RangeError (over the firmware's 127 bytes).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  classify,
  encodeCommand,
  MAX_COMMAND_BYTES,
  parseBinary,
  parseLooseJson,
  parseText,
} from '../../src/sources/mjpeg2sd/codec.js';
import { fuzz, never, only, repeated } from './fuzz.js';

const text = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'binary', maxLength: 300 }) },
  { weight: 2, arbitrary: fc.json({ maxDepth: 3 }).map((j) => `#${Math.floor(Date.now() / 1000)}|${j}`) },
  // The firmware's unescaped sprintf JSON, broken in every way, and large runs of its pieces.
  {
    weight: 2,
    arbitrary: fc
      .array(
        fc.oneof(
          fc.constantFrom('{', '}', '"', ':', ',', '"a":', '"k":"v', '\\', ' ', '\n', '-1.5', 'true'),
          fc.string({ maxLength: 4 }),
        ),
        { maxLength: 60 },
      )
      .map((a) => a.join('')),
  },
  { weight: 1, arbitrary: repeated(['"a":"x', '"a":', '"ab":"', '{"', '"a": "b" "', '#1|', '=']).map((s) => `{${s}`) },
);

test('fuzz legacy text: parseText and classify never throw, never hang, and give back parts of the input', () =>
  fuzz(
    'legacy text',
    1000,
    fc.property(text, (t) => {
      const p = never('parseText', () => parseText(t));
      assert.ok(p.payload.length <= t.length);
      assert.ok(p.epoch === undefined || (Number.isInteger(p.epoch) && p.epoch > 1_500_000_000));
      const c = never('classify', () => classify(p.payload));
      if (c.kind === 'json') {
        // Every key and string value is a piece of the input: nothing grows.
        for (const [k, v] of Object.entries(c.data)) {
          assert.ok(k.length <= p.payload.length);
          if (typeof v === 'string') assert.ok(v.length <= p.payload.length * 2);
        }
        assert.ok(Object.keys(c.data).length <= p.payload.length);
      }
      if (c.kind === 'setting') assert.ok(c.key.length + c.value.length < p.payload.length);
    }),
  ));

test('fuzz legacy loose JSON: valid JSON objects of scalars come back unchanged', () =>
  fuzz(
    'legacy loose json round trip',
    500,
    fc.property(
      fc.dictionary(
        fc.string({ minLength: 1, maxLength: 20 }).filter((k) => k !== '__proto__'),
        fc.oneof(fc.string(), fc.integer(), fc.boolean()),
        { noNullPrototype: true },
      ),
      (o) => {
        const out = never('parseLooseJson', () => parseLooseJson(JSON.stringify(o)));
        assert.deepEqual(out, o);
      },
    ),
  ));

const binary = fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  // A JPEG-looking frame with an epoch suffix, as the firmware sends it, or with the tail damaged.
  fc
    .tuple(
      fc.uint8Array({ maxLength: 100 }),
      fc.oneof(fc.constant(''), fc.stringMatching(/^\d{0,14}$/), fc.string({ maxLength: 40 })),
    )
    .map(([body, suffix]) => new Uint8Array([0xff, 0xd8, ...body, 0xff, 0xd9, ...Buffer.from(suffix, 'latin1')])),
);

test('fuzz legacy binary: parseBinary never throws and the JPEG length stays inside the message', () =>
  fuzz(
    'legacy binary',
    1000,
    fc.property(binary, (bytes) => {
      const buf = Buffer.from(bytes);
      const f = never('parseBinary', () => parseBinary(buf));
      if (buf.length < 4 || buf[0] !== 0xff || buf[1] !== 0xd8) return assert.equal(f, undefined);
      assert.ok(f && f.jpegLength >= 2 && f.jpegLength <= buf.length);
      if (f.epoch !== undefined) assert.ok(f.epoch >= 1_577_836_800 && f.epoch <= Date.now() / 1000 + 86_400);
    }),
  ));

test('fuzz legacy frame round trip: JPEG + epoch seconds -> the same JPEG length and epoch', () =>
  fuzz(
    'legacy frame round trip',
    500,
    fc.property(
      fc.uint8Array({ maxLength: 200 }),
      fc.integer({ min: 1_577_836_800, max: Math.floor(Date.now() / 1000) }),
      (body, epoch) => {
        // A real JPEG ends at its last FF D9: a body without FF D9 near its end, as in a real frame.
        const jpeg = Buffer.from([0xff, 0xd8, ...body.map((b) => (b === 0xd9 ? 0 : b)), 0xff, 0xd9]);
        const f = parseBinary(Buffer.concat([jpeg, Buffer.from(String(epoch))]));
        assert.deepEqual(f, { jpegLength: jpeg.length, epoch });
      },
    ),
  ));

test('fuzz legacy commands: encodeCommand joins with ";" or throws RangeError past the firmware buffer', () =>
  fuzz(
    'legacy commands',
    1000,
    fc.property(fc.array(fc.string({ unit: 'binary', maxLength: 40 }), { maxLength: 8 }), (items) => {
      const r = only(RangeError, 'encodeCommand', () => encodeCommand(items));
      const joined = items.join(';');
      if (r instanceof Error) assert.ok(Buffer.byteLength(joined) > MAX_COMMAND_BYTES);
      else assert.equal(r, joined);
    }),
  ));
