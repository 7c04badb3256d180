// cam2mqtt native protocol v1: the exact bytes are specified in docs/protocol.md and pinned by
// test/vectors/native-v1.json, which the firmware's host tests decode and encode too.

import { isJpeg } from '../../hub/frame.js';

export const PROTOCOL_VERSION = 1;
export const FRAME_KIND = 0x01;
export const FRAME_HEADER_BYTES = 16;
export const FLAG_TIME_SYNCED = 0x01;
export const FLAG_SNAPSHOT = 0x02;

export interface FrameHeader {
  flags: number;
  seq: number;
  /** Capture time in ms: Unix ms if FLAG_TIME_SYNCED, else ms since the camera booted. */
  time: number;
  /** Offset of the JPEG inside the message. */
  offset: number;
}

export class ProtocolError extends Error {
  override name = 'ProtocolError';
}

export function encodeFrame(seq: number, time: number, jpeg: Buffer, flags = FLAG_TIME_SYNCED): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + jpeg.length);
  writeFrameHeader(out, seq, time, flags);
  jpeg.copy(out, FRAME_HEADER_BYTES);
  return out;
}

export function writeFrameHeader(out: Buffer, seq: number, time: number, flags = FLAG_TIME_SYNCED): void {
  out[0] = FRAME_KIND;
  out[1] = flags & 0xff;
  out.writeUInt16BE(FRAME_HEADER_BYTES, 2);
  out.writeUInt32BE(seq >>> 0, 4);
  out.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(time))), 8);
}

/** Parse the header of a binary message; throws ProtocolError on anything that is not a v1 frame with a JPEG. */
export function decodeFrameHeader(buf: Buffer): FrameHeader {
  if (buf.length < FRAME_HEADER_BYTES)
    throw new ProtocolError(
      `binary message of ${buf.length} bytes is shorter than the ${FRAME_HEADER_BYTES}-byte frame header`,
    );
  if (buf[0] !== FRAME_KIND)
    throw new ProtocolError(
      `unknown binary message kind 0x${buf[0]!.toString(16).padStart(2, '0')} (expected 0x01 frame)`,
    );
  const headerLen = buf.readUInt16BE(2);
  if (headerLen < FRAME_HEADER_BYTES || headerLen > buf.length)
    throw new ProtocolError(`frame header length ${headerLen} is invalid for a ${buf.length}-byte message`);
  if (!isJpeg(buf, headerLen)) throw new ProtocolError('frame payload is not a JPEG (no FF D8 start marker)');
  const hi = buf.readUInt32BE(8);
  const lo = buf.readUInt32BE(12);
  return { flags: buf[1]!, seq: buf.readUInt32BE(4), time: hi * 0x1_0000_0000 + lo, offset: headerLen };
}

// ---- text messages ---------------------------------------------------------------------------------

export interface Region {
  x: number;
  y: number;
  w: number;
  h: number;
}

export type CameraMessage =
  | {
      type: 'hello';
      v: number;
      id: string;
      token?: string;
      name?: string;
      model?: string;
      fw?: string;
      caps?: string[];
      info?: Record<string, unknown>;
    }
  | { type: 'motion'; state: 'start' | 'end'; time: number; region?: Region }
  | { type: 'info'; info: Record<string, unknown> }
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; msg: string }
  | { type: 'ack'; id: number; ok: true; result?: unknown }
  | { type: 'ack'; id: number; ok: false; error: string };

export type BridgeMessage =
  | { type: 'welcome'; v: number; id: string; time: number; watching: boolean }
  | { type: 'demand'; watching: boolean }
  | { type: 'cmd'; id: number; name: string; value?: unknown }
  | { type: 'bye'; reason: string };

// Canonical key order per type: JSON.stringify keeps insertion order, so building the object in
// this order gives the exact bytes of the vectors.
const ORDER: Record<string, string[]> = {
  hello: ['type', 'v', 'id', 'token', 'name', 'model', 'fw', 'caps', 'info'],
  motion: ['type', 'state', 'time', 'region'],
  info: ['type', 'info'],
  log: ['type', 'level', 'msg'],
  ack: ['type', 'id', 'ok', 'result', 'error'],
  welcome: ['type', 'v', 'id', 'time', 'watching'],
  demand: ['type', 'watching'],
  cmd: ['type', 'id', 'name', 'value'],
  bye: ['type', 'reason'],
};

export function encodeText(msg: CameraMessage | BridgeMessage): string {
  const src = msg as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of ORDER[msg.type] ?? Object.keys(src))
    if (src[k] !== undefined) out[k] = k === 'region' ? orderRegion(src[k] as Region) : src[k];
  return JSON.stringify(out);
}

function orderRegion(r: Region): Region {
  return { x: r.x, y: r.y, w: r.w, h: r.h };
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

function need(cond: boolean, what: string): void {
  if (!cond) throw new ProtocolError(what);
}

/** Parse and validate a text message from a camera. */
export function decodeCameraText(text: string): CameraMessage {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    throw new ProtocolError('text message is not JSON');
  }
  need(isObj(m), 'text message is not a JSON object');
  const o = m as Record<string, unknown>;
  switch (o.type) {
    case 'hello':
      need(isInt(o.v), 'hello: "v" must be an integer protocol version');
      need(typeof o.id === 'string' && o.id.length > 0, 'hello: "id" must be a non-empty string');
      need(o.token === undefined || typeof o.token === 'string', 'hello: "token" must be a string');
      need(
        o.caps === undefined || (Array.isArray(o.caps) && o.caps.every((c) => typeof c === 'string')),
        'hello: "caps" must be an array of strings',
      );
      need(o.info === undefined || isObj(o.info), 'hello: "info" must be an object');
      for (const k of ['name', 'model', 'fw'] as const)
        need(o[k] === undefined || typeof o[k] === 'string', `hello: "${k}" must be a string`);
      return o as CameraMessage;
    case 'motion':
      need(o.state === 'start' || o.state === 'end', 'motion: "state" must be "start" or "end"');
      need(isInt(o.time) && (o.time as number) >= 0, 'motion: "time" must be a non-negative integer (ms)');
      if (o.region !== undefined) {
        const r = o.region;
        need(
          isObj(r) &&
            ['x', 'y', 'w', 'h'].every((k) => isInt(r[k]) && (r[k] as number) >= 0 && (r[k] as number) <= 1000),
          'motion: "region" must be {x,y,w,h} integers 0..1000 (per mille of the frame)',
        );
      }
      return o as CameraMessage;
    case 'info':
      need(isObj(o.info), 'info: "info" must be an object');
      return o as CameraMessage;
    case 'log':
      need(
        ['debug', 'info', 'warn', 'error'].includes(o.level as string),
        'log: "level" must be debug, info, warn or error',
      );
      need(typeof o.msg === 'string', 'log: "msg" must be a string');
      return o as CameraMessage;
    case 'ack':
      need(isInt(o.id), 'ack: "id" must be an integer');
      need(typeof o.ok === 'boolean', 'ack: "ok" must be true or false');
      need(o.ok === true || typeof o.error === 'string', 'ack: a failed ack needs an "error" string');
      return o as CameraMessage;
    default:
      throw new ProtocolError(`unknown message type ${JSON.stringify(o.type)}`);
  }
}
