// Writes test/vectors/native-v1.json from the TypeScript codec. The JSON is committed and is the
// contract: test/native-vectors.test.ts and the firmware's host tests both check every vector.
// Run: npm run build && node dist/test/vectors/generate.js
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type BridgeMessage,
  type CameraMessage,
  encodeFrame,
  encodeText,
  FLAG_SNAPSHOT,
  FLAG_TIME_SYNCED,
} from '../../src/sources/native/codec.js';

// A tiny but well-formed JPEG (SOI, APP0 JFIF, EOI): the bytes only need to look like a JPEG here.
const JPEG = Buffer.from('ffd8ffe000104a46494600010100000100010000ffd9', 'hex');

interface Vector {
  name: string;
  direction: 'camera->bridge' | 'bridge->camera';
  kind: 'text' | 'binary';
  hex: string;
  text?: string;
  message: unknown;
  note?: string;
}
interface Invalid {
  name: string;
  kind: 'text' | 'binary';
  hex: string;
  error: string;
}

const text = (
  name: string,
  direction: Vector['direction'],
  message: CameraMessage | BridgeMessage,
  note?: string,
): Vector => {
  const t = encodeText(message);
  return {
    name,
    direction,
    kind: 'text',
    hex: Buffer.from(t, 'utf8').toString('hex'),
    text: t,
    message,
    ...(note ? { note } : {}),
  };
};
const frame = (name: string, seq: number, time: number, flags: number, note: string): Vector => ({
  name,
  direction: 'camera->bridge',
  kind: 'binary',
  hex: encodeFrame(seq, time, JPEG, flags).toString('hex'),
  message: { flags, seq, time, jpeg_hex: JPEG.toString('hex') },
  note,
});

const vectors: Vector[] = [
  text('hello', 'camera->bridge', {
    type: 'hello',
    v: 1,
    id: 'garage',
    token: 's3cret',
    name: 'Garage',
    model: 'AI-Thinker',
    fw: '1.0.0',
    caps: ['lamp', 'framesize', 'quality', 'fps', 'flip', 'motion', 'snapshot', 'restart'],
    info: { framesize: 'VGA', quality: 12, rssi: -61 },
  }),
  text(
    'hello_minimal',
    'camera->bridge',
    { type: 'hello', v: 1, id: 'cam-1' },
    'no token, no metadata: accepted when the camera has no token configured',
  ),
  text('hello_servo', 'camera->bridge', {
    type: 'hello',
    v: 1,
    id: 'porch',
    name: 'Porch',
    caps: ['servo', 'lamp'],
    info: { pan: 90, tilt: 90 },
  }),
  frame('frame_synced', 42, 1763734575123, FLAG_TIME_SYNCED, 'capture time is Unix ms (NTP synced)'),
  frame('frame_unsynced', 7, 15234, 0, 'capture time is ms since boot: the bridge uses its receive time'),
  frame(
    'frame_snapshot',
    4294967295,
    1763734575999,
    FLAG_TIME_SYNCED | FLAG_SNAPSHOT,
    'full-resolution answer to a snapshot command; sequence at uint32 max (wraps to 0 next)',
  ),
  text('motion_start', 'camera->bridge', {
    type: 'motion',
    state: 'start',
    time: 1763734575123,
    region: { x: 250, y: 100, w: 300, h: 400 },
  }),
  text('motion_end', 'camera->bridge', { type: 'motion', state: 'end', time: 1763734581000 }),
  text('info', 'camera->bridge', {
    type: 'info',
    info: { rssi: -58, uptime: 3600, heap: 151234, psram: 4012345, framesize: 'SVGA', lamp: 0, temperature: 47.5 },
  }),
  text('log', 'camera->bridge', { type: 'log', level: 'warn', msg: 'WiFi reconnected after 3 attempts' }),
  text('ack_ok', 'camera->bridge', { type: 'ack', id: 7, ok: true, result: { framesize: 'VGA' } }),
  text('ack_error', 'camera->bridge', { type: 'ack', id: 8, ok: false, error: 'unsupported framesize QSXGA' }),
  text('welcome', 'bridge->camera', { type: 'welcome', v: 1, id: 'garage', time: 1763734575000, watching: false }),
  text('demand_on', 'bridge->camera', { type: 'demand', watching: true }),
  text('demand_off', 'bridge->camera', { type: 'demand', watching: false }),
  text('cmd_lamp', 'bridge->camera', { type: 'cmd', id: 1, name: 'lamp', value: 100 }),
  text('cmd_framesize', 'bridge->camera', { type: 'cmd', id: 2, name: 'framesize', value: 'VGA' }),
  text('cmd_quality', 'bridge->camera', { type: 'cmd', id: 3, name: 'quality', value: 12 }),
  text('cmd_fps', 'bridge->camera', { type: 'cmd', id: 4, name: 'fps', value: 10 }),
  text('cmd_vflip', 'bridge->camera', { type: 'cmd', id: 5, name: 'vflip', value: true }),
  text('cmd_pan', 'bridge->camera', { type: 'cmd', id: 6, name: 'pan', value: 120 }),
  text('cmd_snapshot', 'bridge->camera', { type: 'cmd', id: 9, name: 'snapshot' }),
  text('cmd_restart', 'bridge->camera', { type: 'cmd', id: 10, name: 'restart' }),
  text('cmd_status', 'bridge->camera', { type: 'cmd', id: 11, name: 'status' }),
  text('cmd_raw', 'bridge->camera', { type: 'cmd', id: 12, name: 'raw', value: 'xclk=20' }),
  text('bye', 'bridge->camera', { type: 'bye', reason: 'bridge shutting down' }),
];

const hex = (s: string) => Buffer.from(s, 'utf8').toString('hex');
const invalid: Invalid[] = [
  { name: 'frame_short', kind: 'binary', hex: '0101001000000001', error: 'shorter than the 16-byte frame header' },
  {
    name: 'frame_kind',
    kind: 'binary',
    hex: encodeFrame(1, 1, JPEG).toString('hex').replace(/^01/, '02'),
    error: 'unknown binary message kind',
  },
  {
    name: 'frame_header_len',
    kind: 'binary',
    hex: encodeFrame(1, 1, JPEG)
      .toString('hex')
      .replace(/^01010010/, '0101000c'),
    error: 'frame header length',
  },
  {
    name: 'frame_not_jpeg',
    kind: 'binary',
    hex: '01010010000000010000000000000001' + '89504e470d0a1a0a',
    error: 'not a JPEG',
  },
  { name: 'text_not_json', kind: 'text', hex: hex('hello'), error: 'not JSON' },
  { name: 'text_unknown_type', kind: 'text', hex: hex('{"type":"dance"}'), error: 'unknown message type' },
  { name: 'hello_no_id', kind: 'text', hex: hex('{"type":"hello","v":1}'), error: '"id"' },
  { name: 'motion_bad_state', kind: 'text', hex: hex('{"type":"motion","state":"maybe","time":1}'), error: '"state"' },
  {
    name: 'motion_bad_region',
    kind: 'text',
    hex: hex('{"type":"motion","state":"start","time":1,"region":{"x":0,"y":0,"w":1001,"h":5}}'),
    error: '"region"',
  },
  { name: 'ack_no_error', kind: 'text', hex: hex('{"type":"ack","id":3,"ok":false}'), error: '"error"' },
];

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(here, '../../../test/vectors/native-v1.json');
writeFileSync(
  out,
  `${JSON.stringify({ protocol: 'cam2mqtt native v1', spec: 'docs/protocol.md', vectors, invalid }, null, 2)}\n`,
);
console.log(`wrote ${vectors.length} vectors and ${invalid.length} invalid cases to ${out}`);
