import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  type BridgeMessage,
  type CameraMessage,
  decodeCameraText,
  decodeFrameHeader,
  encodeFrame,
  encodeText,
} from '../src/sources/native/codec.js';

interface Vector {
  name: string;
  direction: string;
  kind: 'text' | 'binary';
  hex: string;
  message: Record<string, unknown>;
}
interface Invalid {
  name: string;
  kind: 'text' | 'binary';
  hex: string;
  error: string;
}
const file = JSON.parse(readFileSync(new URL('../../test/vectors/native-v1.json', import.meta.url), 'utf8')) as {
  vectors: Vector[];
  invalid: Invalid[];
};

describe('native protocol v1 vectors (test/vectors/native-v1.json)', () => {
  it('covers every message type in both directions', () => {
    const types = new Set(file.vectors.filter((v) => v.kind === 'text').map((v) => v.message.type));
    for (const t of ['hello', 'motion', 'info', 'log', 'ack', 'welcome', 'demand', 'cmd', 'bye'])
      assert.ok(types.has(t), `no vector for ${t}`);
    assert.ok(file.vectors.some((v) => v.kind === 'binary'));
  });

  for (const v of file.vectors) {
    it(`${v.name}: encodes to the exact bytes and decodes back`, () => {
      const bytes = Buffer.from(v.hex, 'hex');
      if (v.kind === 'text') {
        assert.equal(
          Buffer.from(encodeText(v.message as unknown as CameraMessage | BridgeMessage), 'utf8').toString('hex'),
          v.hex,
        );
        if (v.direction === 'camera->bridge') assert.deepEqual(decodeCameraText(bytes.toString('utf8')), v.message);
      } else {
        const m = v.message as { flags: number; seq: number; time: number; jpeg_hex: string };
        assert.equal(encodeFrame(m.seq, m.time, Buffer.from(m.jpeg_hex, 'hex'), m.flags).toString('hex'), v.hex);
        const h = decodeFrameHeader(bytes);
        assert.deepEqual({ flags: h.flags, seq: h.seq, time: h.time }, { flags: m.flags, seq: m.seq, time: m.time });
        assert.equal(bytes.subarray(h.offset).toString('hex'), m.jpeg_hex);
      }
    });
  }

  for (const bad of file.invalid) {
    it(`${bad.name}: refused with a clear reason`, () => {
      const bytes = Buffer.from(bad.hex, 'hex');
      assert.throws(
        () => (bad.kind === 'text' ? decodeCameraText(bytes.toString('utf8')) : decodeFrameHeader(bytes)),
        (err: Error) => err.message.includes(bad.error),
      );
    });
  }
});
