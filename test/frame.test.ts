import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jpegSize, jpegSlices, SlicedFrame, slicesAreJpeg } from '../src/hub/frame.js';
import { partLength, partOf } from '../src/sinks/mjpeg/part.js';

const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8]), Buffer.alloc(10_000, 7), Buffer.from([0xff, 0xd9])]);
const chunks = [jpeg.subarray(0, 1), jpeg.subarray(1, 1460), jpeg.subarray(1460, 2920), jpeg.subarray(2920)];

test('a sliced frame keeps its chunks; data joins them once, on first use, and is then shared', () => {
  const f = new SlicedFrame(chunks, 7, 1000, 1001);
  assert.equal(jpegSize(f), jpeg.length);
  assert.equal(f.size, jpeg.length);
  // The slices are the chunks themselves (same memory), not copies.
  assert.equal(jpegSlices(f).length, 4);
  jpegSlices(f).forEach((s, i) => assert.equal(s, chunks[i]));
  const d = f.data;
  assert.deepEqual(d, jpeg);
  assert.equal(f.data, d, 'memoized: the same Buffer on every access');
  assert.notEqual(d.buffer, chunks[1]!.buffer, 'one copy for contiguous consumers');
});

test('a frame of one chunk is never copied', () => {
  const f = new SlicedFrame([jpeg], 1, 0, 0);
  assert.equal(f.data, jpeg);
});

test('a plain frame is its own single slice', () => {
  const f = { data: jpeg, seq: 1, cameraTime: 0, receivedAt: 0 };
  assert.deepEqual(jpegSlices(f), [jpeg]);
  assert.equal(jpegSize(f), jpeg.length);
});

test('an MJPEG part of a sliced frame writes the chunks between headers and boundary, uncopied', () => {
  const f = new SlicedFrame(chunks, 7, 1000, 1001);
  const part = partOf(f);
  assert.equal(part.length, chunks.length + 2);
  assert.match(part[0]!.toString('latin1'), new RegExp(`Content-Length: ${jpeg.length}\r\n`));
  for (let i = 0; i < chunks.length; i++) assert.equal(part[i + 1], chunks[i]);
  assert.equal(partLength(part), part[0]!.length + jpeg.length + part[part.length - 1]!.length);
});

test('slicesAreJpeg sees a start marker split over two slices', () => {
  assert.ok(slicesAreJpeg(chunks));
  assert.ok(!slicesAreJpeg([Buffer.from('hello world')]));
  assert.ok(!slicesAreJpeg([]));
});
