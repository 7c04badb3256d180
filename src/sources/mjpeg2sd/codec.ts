// ESP32-CAM_MJPEG2SD "websocket surveillance" protocol, as the unmodified firmware speaks it
// (../shared/reference/legacy-camera-protocols.md section 1).

import { MAX_COMMAND_BYTES } from '../../devices/mjpeg2sd.js';
import { isJpeg } from '../../hub/frame.js';

export { MAX_COMMAND_BYTES };

// Before NTP sync the epoch suffix/prefix can be garbage: only trust times after 2020-01-01.
const MIN_PLAUSIBLE_EPOCH = 1_577_836_800;

export interface Mjpeg2sdText {
  /** Camera epoch seconds, if present and plausible. */
  epoch: number | undefined;
  payload: string;
}

/** `#<epoch>|<payload>`; text without the prefix is taken whole as the payload. */
export function parseText(text: string): Mjpeg2sdText {
  const m = /^#(\d*)\|([\s\S]*)$/.exec(text);
  if (!m) return { epoch: undefined, payload: text };
  return { epoch: plausibleEpoch(m[1]!), payload: m[2]! };
}

function plausibleEpoch(digits: string): number | undefined {
  if (!digits || digits.length > 12) return undefined;
  const n = Number(digits);
  return n >= MIN_PLAUSIBLE_EPOCH && n <= Date.now() / 1000 + 86_400 ? n : undefined;
}

export interface Mjpeg2sdFrame {
  /** Length of the JPEG (up to and including the last FF D9). */
  jpegLength: number;
  epoch: number | undefined;
}

/**
 * Binary message = JPEG followed by ASCII decimal epoch seconds, no separator. Find the last FF D9
 * near the end; the digits after it are the time. Returns undefined for something that is not a JPEG.
 */
export function parseBinary(buf: Buffer): Mjpeg2sdFrame | undefined {
  if (!isJpeg(buf)) return undefined;
  // The suffix is at most ~12 bytes; look a little further to be safe but never scan the whole frame.
  const stop = Math.max(2, buf.length - 32);
  for (let i = buf.length - 2; i >= stop; i--) {
    if (buf[i] === 0xff && buf[i + 1] === 0xd9) {
      const end = i + 2;
      let digits = '';
      for (let j = end; j < buf.length; j++) {
        const c = buf[j]!;
        if (c < 0x30 || c > 0x39) {
          digits = '';
          break;
        }
        digits += String.fromCharCode(c);
      }
      return { jpegLength: end, epoch: plausibleEpoch(digits) };
    }
  }
  // No end marker in the tail: a truncated or odd JPEG; pass it on whole, time unknown.
  return { jpegLength: buf.length, epoch: undefined };
}

export type Mjpeg2sdPayload =
  | { kind: 'motion'; on: boolean }
  | { kind: 'paused' }
  | { kind: 'json'; data: Record<string, string | number | boolean> }
  | { kind: 'setting'; key: string; value: string }
  | { kind: 'other'; text: string };

export function classify(payload: string): Mjpeg2sdPayload {
  const p = payload.trim();
  if (p === 'MotionStart') return { kind: 'motion', on: true };
  if (p === 'MotionEnd') return { kind: 'motion', on: false };
  if (p === 'paused') return { kind: 'paused' };
  if (p.startsWith('{')) {
    const data = parseLooseJson(p);
    if (data) return { kind: 'json', data };
  }
  const kv = /^([A-Za-z_][\w.]*)=(.*)$/s.exec(p);
  if (kv) return { kind: 'setting', key: kv[1]!, value: kv[2]! };
  return { kind: 'other', text: p };
}

/**
 * The firmware builds its JSON with sprintf and does not escape values, so a quote or backslash in a
 * value breaks JSON.parse. Try the real parser first, then pull "key":value pairs out one by one.
 */
export function parseLooseJson(text: string): Record<string, string | number | boolean> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const out: Record<string, string | number | boolean> = {};
      for (const [k, x] of Object.entries(v)) {
        if (typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean') out[k] = x;
        else if (x !== null) out[k] = JSON.stringify(x);
      }
      return out;
    }
  } catch {
    // fall through to the tolerant scan
  }
  return scanLooseJson(text);
}

const isSpace = (c: number): boolean =>
  c === 0x20 || (c >= 0x09 && c <= 0x0d) || (c > 0x7f && /\s/.test(String.fromCharCode(c)));
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;

/**
 * The tolerant scan, in one linear pass. It finds what the regular expression
 * /"([^"]{1,64})"\s*:\s*(?:"([\s\S]*?)"(?=\s*[,}])|(-?\d+(?:\.\d+)?|true|false))/g would, but that
 * expression retries its lazy value scan from every quote: 128 KiB of `"a":"b` took 14 s (issue 13).
 * Here a string value ends at the first quote followed by optional space and `,` or `}` (so inner
 * quotes survive), found with a table built right to left once.
 */
function scanLooseJson(text: string): Record<string, string | number | boolean> | undefined {
  const n = text.length;
  // closeAt[i]: the first index >= i of a quote that may end a string value, or -1.
  const closeAt = new Int32Array(n + 1).fill(-1);
  let nextNonSpace = -1; // char code of the first non-space at or after i+1
  for (let i = n - 1; i >= 0; i--) {
    const c = text.charCodeAt(i);
    const ends = c === 0x22 && (nextNonSpace === 0x2c || nextNonSpace === 0x7d);
    closeAt[i] = ends ? i : closeAt[i + 1]!;
    if (!isSpace(c)) nextNonSpace = c;
  }
  const out: Record<string, string | number | boolean> = {};
  let found = 0;
  let i = text.indexOf('"');
  while (i >= 0 && i < n) {
    const end = matchPair(text, i, closeAt, out);
    if (end > 0) {
      found++;
      i = text.indexOf('"', end);
    } else {
      i = text.indexOf('"', i + 1);
    }
  }
  return found > 0 ? out : undefined;
}

/** One "key":value at `at` (a quote): stores it and returns the index after it, or -1. */
function matchPair(
  text: string,
  at: number,
  closeAt: Int32Array,
  out: Record<string, string | number | boolean>,
): number {
  const n = text.length;
  const keyEnd = text.indexOf('"', at + 1);
  if (keyEnd < 0 || keyEnd === at + 1 || keyEnd - at - 1 > 64) return -1;
  let p = keyEnd + 1;
  while (p < n && isSpace(text.charCodeAt(p))) p++;
  if (text.charCodeAt(p) !== 0x3a) return -1;
  p++;
  while (p < n && isSpace(text.charCodeAt(p))) p++;
  const key = text.slice(at + 1, keyEnd);
  const c = text.charCodeAt(p);
  if (c === 0x22) {
    const close = closeAt[p + 1] ?? -1;
    if (close >= 0) {
      out[key] = text.slice(p + 1, close);
      return close + 1;
    }
    return -1;
  }
  if (text.startsWith('true', p)) {
    out[key] = true;
    return p + 4;
  }
  if (text.startsWith('false', p)) {
    out[key] = false;
    return p + 5;
  }
  let q = p;
  if (text.charCodeAt(q) === 0x2d) q++;
  const digits = q;
  while (q < n && isDigit(text.charCodeAt(q))) q++;
  if (q === digits) return -1;
  if (text.charCodeAt(q) === 0x2e && isDigit(text.charCodeAt(q + 1))) {
    q++;
    while (q < n && isDigit(text.charCodeAt(q))) q++;
  }
  out[key] = Number(text.slice(p, q));
  return q;
}

/** Join command items with ';' and enforce the firmware's 127-byte buffer. */
export function encodeCommand(items: string[]): string {
  const text = items.join(';');
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_COMMAND_BYTES)
    throw new RangeError(`command is ${bytes} bytes; MJPEG2SD cameras accept at most ${MAX_COMMAND_BYTES}`);
  return text;
}
