// Fuzz: the native protocol codec (src/sources/native/codec.ts). Its decoders throw ProtocolError and
// nothing else; the encoders round-trip through them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  type CameraMessage,
  decodeCameraText,
  decodeFrameHeader,
  encodeFrame,
  encodeText,
  FRAME_HEADER_BYTES,
  ProtocolError,
} from '../../src/sources/native/codec.js';
import { fuzz, only, repeated } from './fuzz.js';

const frameBytes = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  // Near misses: a frame kind byte, any header length, a JPEG marker or not.
  fc
    .tuple(
      fc.integer({ min: 0, max: 255 }),
      fc.integer({ min: 0, max: 0xffff }),
      fc.uint8Array({ minLength: 12, maxLength: 12 }),
      fc.uint8Array({ maxLength: 48 }),
    )
    .map(([flags, hl, rest, tail]) => {
      const b = Buffer.from([0x01, flags, hl >> 8, hl & 0xff, ...rest, ...tail]);
      if (tail.length >= 2 && hl < b.length - 1 && hl >= 16) {
        b[hl] = 0xff;
        b[hl + 1] = 0xd8;
      }
      return new Uint8Array(b);
    }),
);

test('fuzz native frames: decodeFrameHeader throws only ProtocolError; a decoded JPEG lies inside the message', () =>
  fuzz(
    'native frame header',
    2000,
    fc.property(frameBytes, (bytes) => {
      const buf = Buffer.from(bytes);
      const h = only(ProtocolError, 'decodeFrameHeader', () => decodeFrameHeader(buf));
      if (h instanceof Error) return;
      assert.ok(h.offset >= FRAME_HEADER_BYTES && h.offset + 4 <= buf.length);
      assert.equal(buf[h.offset], 0xff);
      assert.equal(buf[h.offset + 1], 0xd8);
      // A u64 of ms: past 2^53 it is rounded, never negative or NaN.
      assert.ok(Number.isInteger(h.time) && h.time >= 0);
      assert.ok(h.seq >= 0 && h.seq <= 0xffff_ffff && h.flags >= 0 && h.flags <= 255);
    }),
  ));

test('fuzz native frames: encodeFrame -> decodeFrameHeader gives back seq, time, flags and the JPEG', () =>
  fuzz(
    'native frame round trip',
    1000,
    fc.property(
      fc.integer({ min: 0, max: 0xffff_ffff }),
      fc.maxSafeNat(),
      fc.integer({ min: 0, max: 255 }),
      fc.uint8Array({ minLength: 2, maxLength: 200 }),
      (seq, time, flags, body) => {
        const jpeg = Buffer.from([0xff, 0xd8, ...body]);
        const msg = encodeFrame(seq, time, jpeg, flags);
        const h = decodeFrameHeader(msg);
        assert.deepEqual(h, { flags, seq, time, offset: FRAME_HEADER_BYTES });
        assert.deepEqual(msg.subarray(h.offset), jpeg);
      },
    ),
  ));

const jsonish = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  { weight: 3, arbitrary: fc.json({ maxDepth: 3 }) },
  {
    weight: 3,
    // Objects with the protocol's keys and any values: what the validation is about.
    arbitrary: fc
      .record(
        {
          type: fc.oneof(fc.constantFrom('hello', 'motion', 'info', 'log', 'ack', 'welcome', 'x'), fc.jsonValue()),
          v: fc.jsonValue(),
          id: fc.jsonValue(),
          token: fc.jsonValue(),
          name: fc.jsonValue(),
          caps: fc.oneof(fc.array(fc.string()), fc.jsonValue()),
          info: fc.oneof(fc.dictionary(fc.string(), fc.jsonValue()), fc.jsonValue()),
          state: fc.oneof(fc.constantFrom('start', 'end'), fc.jsonValue()),
          time: fc.oneof(fc.integer(), fc.jsonValue()),
          region: fc.oneof(
            fc.record({ x: fc.integer(), y: fc.integer(), w: fc.integer(), h: fc.integer() }),
            fc.jsonValue(),
          ),
          level: fc.oneof(fc.constantFrom('debug', 'info', 'warn', 'error'), fc.jsonValue()),
          msg: fc.jsonValue(),
          ok: fc.oneof(fc.boolean(), fc.jsonValue()),
          error: fc.jsonValue(),
        },
        { requiredKeys: ['type'] },
      )
      .map((o) => JSON.stringify(o)),
  },
  { weight: 1, arbitrary: repeated(['[', '{"a":', '"\\u0000', '{', '\\"', '1e9999,']) },
);

test('fuzz native text: decodeCameraText throws only ProtocolError and returns only valid messages', () =>
  fuzz(
    'native text',
    2000,
    fc.property(jsonish, (t) => {
      const m = only(ProtocolError, 'decodeCameraText', () => decodeCameraText(t));
      if (m instanceof Error) return;
      assert.ok(['hello', 'motion', 'info', 'log', 'ack'].includes(m.type));
      // What was accepted encodes and decodes to the same message.
      assert.deepEqual(decodeCameraText(encodeText(m)), JSON.parse(encodeText(m)));
    }),
  ));

const str = fc.string({ maxLength: 30 });
const cameraMessage: fc.Arbitrary<CameraMessage> = fc.oneof(
  fc.record(
    {
      type: fc.constant('hello' as const),
      v: fc.integer({ min: 0, max: 9 }),
      id: fc.string({ minLength: 1, maxLength: 30 }),
      token: str,
      name: str,
      model: str,
      fw: str,
      caps: fc.array(str, { maxLength: 5 }),
      info: fc.dictionary(
        fc.string({ maxLength: 10 }).filter((k) => k !== '__proto__'),
        fc.oneof(str, fc.integer(), fc.boolean()),
        { noNullPrototype: true },
      ),
    },
    { requiredKeys: ['type', 'v', 'id'] },
  ),
  fc.record(
    {
      type: fc.constant('motion' as const),
      state: fc.constantFrom('start' as const, 'end' as const),
      time: fc.maxSafeNat(),
      region: fc.record({ x: fc.nat(1000), y: fc.nat(1000), w: fc.nat(1000), h: fc.nat(1000) }),
    },
    { requiredKeys: ['type', 'state', 'time'] },
  ),
  fc.record({
    type: fc.constant('info' as const),
    info: fc.dictionary(
      fc.string({ maxLength: 10 }).filter((k) => k !== '__proto__'),
      fc.oneof(str, fc.integer()),
      { noNullPrototype: true },
    ),
  }),
  fc.record({
    type: fc.constant('log' as const),
    level: fc.constantFrom('debug' as const, 'info' as const, 'warn' as const, 'error' as const),
    msg: str,
  }),
  fc.record(
    {
      type: fc.constant('ack' as const),
      id: fc.integer(),
      ok: fc.constant(true as const),
      result: fc.oneof(str, fc.integer()),
    },
    { requiredKeys: ['type', 'id', 'ok'] },
  ),
  fc.record({ type: fc.constant('ack' as const), id: fc.integer(), ok: fc.constant(false as const), error: str }),
);

test('fuzz native text round trip: encodeText -> decodeCameraText is the identity, and the bytes are canonical', () =>
  fuzz(
    'native text round trip',
    1000,
    fc.property(cameraMessage, (m) => {
      const text = encodeText(m);
      const back = decodeCameraText(text);
      // (fast-check makes some objects without a prototype: compare plain JSON.)
      assert.deepEqual(back, JSON.parse(JSON.stringify(m)));
      assert.equal(encodeText(back), text);
    }),
  ));
