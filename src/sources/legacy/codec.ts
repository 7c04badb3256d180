// ESP32-CAM_MJPEG2SD "websocket surveillance" protocol, as the unmodified firmware speaks it
// (../shared/reference/legacy-camera-protocols.md section 1).

export const MAX_COMMAND_BYTES = 127;
// Before NTP sync the epoch suffix/prefix can be garbage: only trust times after 2020-01-01.
const MIN_PLAUSIBLE_EPOCH = 1_577_836_800;

export interface LegacyText {
  /** Camera epoch seconds, if present and plausible. */
  epoch: number | undefined;
  payload: string;
}

/** `#<epoch>|<payload>`; text without the prefix is taken whole as the payload. */
export function parseText(text: string): LegacyText {
  const m = /^#(\d*)\|([\s\S]*)$/.exec(text);
  if (!m) return { epoch: undefined, payload: text };
  return { epoch: plausibleEpoch(m[1]!), payload: m[2]! };
}

function plausibleEpoch(digits: string): number | undefined {
  if (!digits || digits.length > 12) return undefined;
  const n = Number(digits);
  return n >= MIN_PLAUSIBLE_EPOCH && n <= Date.now() / 1000 + 86_400 ? n : undefined;
}

export interface LegacyFrame {
  /** Length of the JPEG (up to and including the last FF D9). */
  jpegLength: number;
  epoch: number | undefined;
}

/**
 * Binary message = JPEG followed by ASCII decimal epoch seconds, no separator. Find the last FF D9
 * near the end; the digits after it are the time. Returns undefined for something that is not a JPEG.
 */
export function parseBinary(buf: Buffer): LegacyFrame | undefined {
  if (buf.length < 4 || buf[0] !== 0xff || buf[1] !== 0xd8) return undefined;
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

export type LegacyPayload =
  | { kind: 'motion'; on: boolean }
  | { kind: 'paused' }
  | { kind: 'json'; data: Record<string, string | number | boolean> }
  | { kind: 'setting'; key: string; value: string }
  | { kind: 'other'; text: string };

export function classify(payload: string): LegacyPayload {
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
  const out: Record<string, string | number | boolean> = {};
  // A string value ends at a quote followed by , or } (so inner quotes survive). One regular expression
  // with a lazy value scan did the same in O(n^2): each key without such an end rescanned to the end of
  // the text (128 KiB took seconds). Here each value end is looked up once and reused, so it is linear.
  const keyRe = /"([^"]{1,64})"\s*:\s*/g;
  const endRe = /"(?=\s*[,}])/g;
  const scalarRe = /-?\d+(?:\.\d+)?|true|false/y;
  let end = -1; // position of the next value end at or after the current value (-1: not looked up yet)
  let m: RegExpExecArray | null;
  let n = 0;
  while ((m = keyRe.exec(text))) {
    const v = keyRe.lastIndex;
    if (text[v] === '"') {
      if (end !== Number.POSITIVE_INFINITY && end <= v) {
        endRe.lastIndex = v + 1;
        end = endRe.exec(text)?.index ?? Number.POSITIVE_INFINITY;
      }
      if (end !== Number.POSITIVE_INFINITY) {
        n++;
        out[m[1]!] = text.slice(v + 1, end);
        keyRe.lastIndex = end + 1;
        continue;
      }
    } else {
      scalarRe.lastIndex = v;
      const x = scalarRe.exec(text);
      if (x) {
        n++;
        out[m[1]!] = x[0] === 'true' ? true : x[0] === 'false' ? false : Number(x[0]);
        keyRe.lastIndex = scalarRe.lastIndex;
        continue;
      }
    }
    // No value here: look for the next key from the next character, as a global regex would.
    keyRe.lastIndex = m.index + 1;
  }
  return n > 0 ? out : undefined;
}

/** Join command items with ';' and enforce the firmware's 127-byte buffer. */
export function encodeCommand(items: string[]): string {
  const text = items.join(';');
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_COMMAND_BYTES)
    throw new RangeError(`command is ${bytes} bytes; MJPEG2SD cameras accept at most ${MAX_COMMAND_BYTES}`);
  return text;
}
