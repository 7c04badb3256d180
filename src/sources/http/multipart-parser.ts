/**
 * Streaming parser for multipart/x-mixed-replace (MJPEG over HTTP) as cameras really send it.
 *
 * Robust to what firmware in the field does:
 * - any boundary, declared quoted or not, with or without leading dashes, and written with or without
 *   the "--" prefix RFC 2046 asks for (the boundary token is searched for, not the exact delimiter);
 * - `Content-Length` present (also space padded, as MJPEG2SD's `%10u`), absent (the body then ends at the
 *   next boundary) or wrong (we resynchronise on the next boundary);
 * - bytes between parts (garbage, extra CRLFs, preamble) are skipped;
 * - LF-only line ends;
 * - frames bigger than `maxFrameBytes` are refused and reported through `onOversize`, never buffered.
 *
 * Hot path: Buffer.indexOf does the scanning, and bodies are never copied when the owner takes slices
 * (`onSlices`): a body is handed out as the list of views of the chunks it arrived in (a body within
 * one chunk is one view), boundaries and Content-Length found across chunks without joining them. The
 * owner joins them only where a consumer needs contiguous bytes (Frame.data). With `onPart` alone,
 * a body split over chunks is copied once into a Buffer of its final size.
 */
import { isJpeg } from '../../hub/frame.js';

export interface PartHeaders {
  [name: string]: string;
}

export interface MultipartHandlers {
  /** A complete part body (normally a JPEG) with its headers (lower-case names); unused with onSlices. */
  onPart(body: Buffer, headers: PartHeaders): void;
  /**
   * Instead of onPart, when given: the body as views of the chunks it arrived in (in order, none
   * empty, never copied), with its total length. The views keep the pushed chunks alive.
   */
  onSlices?(slices: Buffer[], size: number, headers: PartHeaders): void;
  /** A part larger than maxFrameBytes was refused; `size` is its length when known (Content-Length or measured). */
  onOversize?(size: number | undefined, limit: number): void;
  /** Bytes skipped outside any part (garbage between parts); reported once per run of garbage. */
  onGarbage?(bytes: number): void;
  /** The closing delimiter (--boundary--) was seen. */
  onEnd?(): void;
}

export interface MultipartOptions {
  /** Boundary from the Content-Type header; undefined = learn it from the first "--xxx" line of the body. */
  boundary: string | undefined;
  maxFrameBytes: number;
  /** Part headers above this size mean we are not looking at headers: resynchronise. */
  maxHeaderBytes?: number;
  /**
   * Pushed chunks are reused by the caller after push() returns (a shared read buffer): every body
   * is then copied, once, into a Buffer of its own (bodies in one chunk too), never sliced.
   */
  transient?: boolean;
}

/** `multipart/x-mixed-replace; boundary="--abc"` -> `abc` (quotes and leading dashes removed). */
export function boundaryFromContentType(contentType: string | undefined): string | undefined {
  if (!contentType) return undefined;
  const m = /;\s*boundary\s*=\s*("([^"]*)"|[^;\s]+)/i.exec(contentType);
  if (!m) return undefined;
  const raw = (m[2] ?? m[1] ?? '').trim();
  const b = raw.replace(/^-+/, '');
  return b.length > 0 ? b : raw.length > 0 ? raw : undefined;
}

enum State {
  /** Looking for a boundary line. */
  Seek,
  /** After a boundary line: reading part headers up to the blank line. */
  Headers,
  /** Reading exactly `remaining` body bytes (Content-Length known). */
  Body,
  /** Skipping `remaining` bytes of an oversize part (Content-Length known). */
  Skip,
  /** No Content-Length: collecting body bytes until the next boundary. */
  Scan,
}

const CR = 0x0d;
const LF = 0x0a;
const DASH = 0x2d;

/** Content-Length as an integer, or undefined when absent or not a number ("  1234" is fine). */
function contentLength(headers: PartHeaders): number | undefined {
  const v = headers['content-length'];
  if (v === undefined) return undefined;
  const s = v.trim();
  if (!/^\d{1,12}$/.test(s)) return undefined;
  return Number(s);
}

export class MultipartParser {
  /** Parts delivered, refused as too big, and bytes of garbage skipped: for status and tests. */
  parts = 0;
  oversize = 0;
  garbageBytes = 0;
  ended = false;

  private state = State.Seek;
  private token: Buffer | undefined;
  /** Unparsed bytes carried over between chunks in Seek/Headers state (small: a partial line or header block). */
  private carry: Buffer | undefined;
  private headers: PartHeaders = {};
  /** Body being filled (Content-Length known, split over chunks): a Buffer to copy into, or slices. */
  private body: Buffer | undefined;
  private bodySlices: Buffer[] | undefined;
  private filled = 0;
  private remaining = 0;
  /** Scan state: chunks of the current body, their total, and whether it is being discarded (too big). */
  private scanChunks: Buffer[] = [];
  private scanBytes = 0;
  private scanDiscard = false;
  /** Copy of the last bytes scanned (token length + 4), to find a boundary split across two chunks. */
  private scanTail: Buffer = Buffer.alloc(0);
  /** Garbage run being counted in Seek state. */
  private garbageRun = 0;
  private readonly maxHeaderBytes: number;

  constructor(
    private readonly opts: MultipartOptions,
    private readonly on: MultipartHandlers,
  ) {
    if (opts.boundary !== undefined)
      this.token = Buffer.from(opts.boundary.replace(/^-+/, '') || opts.boundary, 'latin1');
    this.maxHeaderBytes = opts.maxHeaderBytes ?? 8192;
  }

  get boundary(): string | undefined {
    return this.token?.toString('latin1');
  }

  /** Feed the next chunk from the socket. The chunk may be kept (zero-copy) by a delivered part. */
  push(chunk: Buffer): void {
    let buf = chunk;
    if (this.carry) {
      buf = Buffer.concat([this.carry, chunk]);
      this.carry = undefined;
    }
    let pos = 0;
    while (pos < buf.length && !this.ended) {
      switch (this.state) {
        case State.Seek:
          pos = this.seek(buf, pos);
          break;
        case State.Headers:
          pos = this.readHeaders(buf, pos);
          break;
        case State.Body:
          pos = this.readBody(buf, pos);
          break;
        case State.Skip: {
          const n = Math.min(this.remaining, buf.length - pos);
          this.remaining -= n;
          pos += n;
          if (this.remaining === 0) this.state = State.Seek;
          break;
        }
        case State.Scan:
          pos = this.scan(buf, pos);
          break;
      }
      if (pos < 0) return; // the rest of buf was carried over
    }
  }

  /** The stream ended: a part without Content-Length that was still open is complete if it looks like a JPEG. */
  finish(): void {
    if (this.state === State.Scan && !this.scanDiscard && this.scanBytes > 0) {
      const body = trimTail(Buffer.concat(this.scanChunks, this.scanBytes));
      this.scanChunks = [];
      this.scanBytes = 0;
      if (body.length > this.opts.maxFrameBytes) {
        this.oversize++;
        this.on.onOversize?.(body.length, this.opts.maxFrameBytes);
      } else if (isJpeg(body) && body[body.length - 2] === 0xff && body[body.length - 1] === 0xd9) this.deliver(body);
    } else if (this.state === State.Scan && this.scanDiscard) {
      // An oversize part cut short by the end of the stream is reported like one ended by a boundary.
      this.oversize++;
      this.on.onOversize?.(this.scanBytes, this.opts.maxFrameBytes);
    }
    this.scanDiscard = false;
    this.scanChunks = [];
    this.scanBytes = 0;
    this.state = State.Seek;
    this.body = undefined;
    this.bodySlices = undefined;
    this.carry = undefined;
  }

  private keep(buf: Buffer, from: number): number {
    // Only small remainders reach here (a partial boundary line or header block).
    this.carry = Buffer.from(buf.subarray(from));
    return -1;
  }

  private flushGarbage(): void {
    if (this.garbageRun > 0) {
      this.garbageBytes += this.garbageRun;
      this.on.onGarbage?.(this.garbageRun);
      this.garbageRun = 0;
    }
  }

  /** Find the next boundary line; returns the position after it (or -1 after carrying the tail). */
  private seek(buf: Buffer, pos: number): number {
    if (!this.token) return this.learnBoundary(buf, pos);
    const token = this.token;
    let from = pos;
    for (;;) {
      const i = buf.indexOf(token, from);
      if (i < 0) {
        // Keep enough of the tail to find a boundary split across chunks.
        const keepFrom = Math.max(pos, buf.length - token.length - 4);
        this.garbageRun += keepFrom - pos;
        return this.keep(buf, keepFrom);
      }
      // The boundary must start a line: only dashes between it and the previous line end (or the start).
      let s = i;
      while (s > pos && buf[s - 1] === DASH) s--;
      if (!(s === 0 || buf[s - 1] === LF) && s > pos) {
        from = i + 1;
        continue;
      }
      const eol = buf.indexOf(LF, i + token.length);
      if (eol < 0) {
        if (buf.length - i > token.length + 256) {
          from = i + 1;
          continue;
        }
        this.garbageRun += s - pos;
        return this.keep(buf, s);
      }
      const rest = buf
        .subarray(i + token.length, eol)
        .toString('latin1')
        .trim();
      this.garbageRun += s - pos;
      this.flushGarbage();
      if (rest.startsWith('--')) {
        this.ended = true;
        this.on.onEnd?.();
        return buf.length;
      }
      this.state = State.Headers;
      this.headers = {};
      return eol + 1;
    }
  }

  /** No boundary declared: the first line that starts with "--" names it. */
  private learnBoundary(buf: Buffer, pos: number): number {
    let from = pos;
    for (;;) {
      const eol = buf.indexOf(LF, from);
      if (eol < 0) {
        if (buf.length - from > 512) {
          this.garbageRun += buf.length - pos;
          return buf.length;
        }
        return this.keep(buf, from);
      }
      if (buf[from] === DASH && buf[from + 1] === DASH) {
        const b = buf.subarray(from, eol).toString('latin1').trim().replace(/^-+/, '');
        if (b.length > 0 && b.length <= 200) {
          this.token = Buffer.from(b, 'latin1');
          return this.seek(buf, from);
        }
      }
      from = eol + 1;
    }
  }

  private readHeaders(buf: Buffer, pos: number): number {
    // Headers end at the first empty line (CRLF CRLF or LF LF). A part may have no headers at all.
    let from = pos;
    for (;;) {
      if (buf[from] === 0xff && from + 1 < buf.length && buf[from + 1] === 0xd8) {
        // No (more) headers: the JPEG follows directly, without the blank line.
        return this.startBody(buf, from);
      }
      const eol = buf.indexOf(LF, from);
      if (eol < 0) {
        if (buf.length - pos > this.maxHeaderBytes) return this.resync(buf, pos);
        return this.keep(buf, pos);
      }
      const lineEnd = eol > from && buf[eol - 1] === CR ? eol - 1 : eol;
      if (lineEnd === from) {
        return this.startBody(buf, eol + 1);
      }
      if (eol - pos > this.maxHeaderBytes) return this.resync(buf, pos);
      const line = buf.subarray(from, lineEnd).toString('latin1');
      const colon = line.indexOf(':');
      if (colon > 0) this.headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      else if (from === pos && line.trim() === '') {
        // stray whitespace line before the headers: ignore
      } else if (colon < 0 && this.token && line.includes(this.token.toString('latin1'))) {
        // two boundary lines in a row (empty part)
        this.headers = {};
      } else if (colon < 0 && line.length > 0 && (buf[from] === 0xff || /[^\x20-\x7e\t]/.test(line))) {
        // binary data where headers should be: this was not a real boundary
        return this.resync(buf, pos);
      }
      from = eol + 1;
    }
  }

  private resync(_buf: Buffer, pos: number): number {
    this.state = State.Seek;
    this.headers = {};
    return pos;
  }

  private startBody(buf: Buffer, pos: number): number {
    const len = contentLength(this.headers);
    const max = this.opts.maxFrameBytes;
    if (len !== undefined) {
      if (len > max) {
        this.oversize++;
        this.on.onOversize?.(len, max);
        this.state = State.Skip;
        this.remaining = len;
        return pos;
      }
      if (len === 0) {
        this.state = State.Seek;
        return pos;
      }
      const avail = buf.length - pos;
      if (avail >= len) {
        // Zero copy: the body lies within this chunk (one copy if the chunk is transient).
        this.state = State.Seek;
        const b = buf.subarray(pos, pos + len);
        this.deliver(this.opts.transient ? Buffer.from(b) : b);
        return pos + len;
      }
      if (this.on.onSlices && !this.opts.transient) this.bodySlices = [];
      else this.body = Buffer.allocUnsafe(len);
      this.filled = 0;
      this.remaining = len;
      this.state = State.Body;
      return pos;
    }
    this.state = State.Scan;
    this.scanChunks = [];
    this.scanBytes = 0;
    this.scanDiscard = false;
    this.scanTail = Buffer.alloc(0);
    return pos;
  }

  private readBody(buf: Buffer, pos: number): number {
    const n = Math.min(this.remaining, buf.length - pos);
    if (this.bodySlices) this.bodySlices.push(pos === 0 && n === buf.length ? buf : buf.subarray(pos, pos + n));
    else buf.copy(this.body!, this.filled, pos, pos + n);
    this.filled += n;
    this.remaining -= n;
    if (this.remaining === 0) {
      this.state = State.Seek;
      if (this.bodySlices) {
        const slices = this.bodySlices;
        this.bodySlices = undefined;
        this.parts++;
        this.on.onSlices!(slices, this.filled, this.headers);
      } else {
        const body = this.body!;
        this.body = undefined;
        this.deliver(body);
      }
    }
    return pos + n;
  }

  /**
   * Body without Content-Length: everything up to the next boundary line. A token only counts at the
   * start of a line (after optional dashes): JPEG Huffman tables hold runs like "stuvwxyz", so short
   * boundaries do occur inside pictures.
   */
  private scan(buf: Buffer, pos: number): number {
    const token = this.token!;
    // A boundary may straddle the previous chunk and this one: look at the joint first.
    if (this.scanTail.length > 0 && pos === 0) {
      const tail = this.scanTail;
      const joint = Buffer.concat([tail, buf.subarray(0, Math.min(buf.length, token.length))]);
      let from = 0;
      for (;;) {
        const j = joint.indexOf(token, from);
        if (j < 0 || j >= tail.length) break;
        // Only tokens that really straddle the two chunks (the others were judged already).
        if (j + token.length > tail.length && lineStartAt(joint, j, 0) !== false) {
          // The boundary starts in data already scanned: take those bytes back out of the body, finish
          // the body, and parse again from the boundary.
          this.dropScanned(tail.length - j);
          this.endScanned();
          this.push(Buffer.concat([tail.subarray(j), buf]));
          return -1;
        }
        from = j + 1;
      }
    }
    let from = pos;
    for (;;) {
      const i = buf.indexOf(token, from);
      if (i < 0) {
        this.addScanned(buf.subarray(pos));
        return buf.length;
      }
      let ok = lineStartAt(buf, i, pos);
      if (ok === undefined) {
        // The line start is in the previous chunk (or this is the very start of the body).
        ok = this.scanTail.length === 0 ? true : lineStartAt(this.scanTail, this.scanTail.length, 0) !== false;
      }
      if (!ok) {
        from = i + 1;
        continue;
      }
      this.addScanned(buf.subarray(pos, i));
      this.endScanned();
      // seek() walks back over the dashes in front of the token itself.
      return i;
    }
  }

  private addScanned(piece: Buffer): void {
    if (piece.length === 0) return;
    this.scanBytes += piece.length;
    const keep = this.token!.length + 4;
    this.scanTail =
      piece.length >= keep
        ? Buffer.from(piece.subarray(piece.length - keep))
        : Buffer.concat([this.scanTail, piece]).subarray(-keep);
    if (this.scanDiscard) return;
    // The bytes scanned may end with the line end and dashes in front of the next boundary ("\r\n--") and
    // the start of its token (split across chunks): a picture of exactly maxFrameBytes must still fit.
    // endScanned() judges the picture itself.
    if (this.scanBytes > this.opts.maxFrameBytes + keep) {
      // Too big: stop keeping it, keep counting, report when its end is found.
      this.scanDiscard = true;
      this.scanChunks = [];
      return;
    }
    this.scanChunks.push(this.opts.transient ? Buffer.from(piece) : piece);
  }

  /** Remove the last n scanned bytes (a boundary start that straddled two chunks). */
  private dropScanned(n: number): void {
    this.scanBytes -= n;
    let left = n;
    while (left > 0 && this.scanChunks.length > 0) {
      const last = this.scanChunks[this.scanChunks.length - 1]!;
      if (last.length <= left) {
        this.scanChunks.pop();
        left -= last.length;
      } else {
        this.scanChunks[this.scanChunks.length - 1] = last.subarray(0, last.length - left);
        left = 0;
      }
    }
  }

  private endScanned(): void {
    const size = this.scanBytes;
    this.state = State.Seek;
    if (this.scanDiscard) {
      this.oversize++;
      // Report the picture's size, without the line end and dashes in front of the boundary.
      this.on.onOversize?.(size - (this.scanTail.length - trimTail(this.scanTail).length), this.opts.maxFrameBytes);
    } else if (size > 0 && this.on.onSlices && this.scanChunks.length > 1) {
      // Drop the line end and dashes before the boundary, as trimTail does, across the slices.
      this.dropScanned(tailTrimLength(this.scanChunks));
      if (this.scanBytes > this.opts.maxFrameBytes) {
        this.oversize++;
        this.on.onOversize?.(this.scanBytes, this.opts.maxFrameBytes);
      } else if (this.scanBytes > 0) {
        this.parts++;
        this.on.onSlices(this.scanChunks, this.scanBytes, this.headers);
      }
    } else if (size > 0) {
      const body = this.scanChunks.length === 1 ? this.scanChunks[0]! : Buffer.concat(this.scanChunks, size);
      const trimmed = trimTail(body);
      if (trimmed.length > this.opts.maxFrameBytes) {
        this.oversize++;
        this.on.onOversize?.(trimmed.length, this.opts.maxFrameBytes);
      } else if (trimmed.length > 0) this.deliver(trimmed);
    }
    this.scanChunks = [];
    this.scanBytes = 0;
    this.scanDiscard = false;
    this.scanTail = Buffer.alloc(0);
  }

  /** A contiguous body: one slice for an owner that takes slices. */
  private deliver(body: Buffer): void {
    this.parts++;
    if (this.on.onSlices) this.on.onSlices([body], body.length, this.headers);
    else this.on.onPart(body, this.headers);
  }
}

/**
 * Does a boundary token at `i` start a line? Walks back over dashes: true if a line feed comes before
 * them, false if anything else does, undefined if the walk reached `floor` (the answer is further back).
 */
function lineStartAt(buf: Buffer, i: number, floor: number): boolean | undefined {
  let s = i;
  while (s > floor && buf[s - 1] === DASH) s--;
  if (s === floor) return undefined;
  return buf[s - 1] === LF;
}

/** How many bytes trimTail would drop from the join of `chunks` (without joining them). */
function tailTrimLength(chunks: Buffer[]): number {
  let ci = chunks.length - 1;
  let bi = ci >= 0 ? chunks[ci]!.length : 0;
  const at = (): number | undefined => {
    while (ci >= 0 && bi === 0) {
      ci--;
      bi = ci >= 0 ? chunks[ci]!.length : 0;
    }
    return ci >= 0 ? chunks[ci]![bi - 1] : undefined;
  };
  let n = 0;
  while (at() === DASH) {
    bi--;
    n++;
  }
  if (at() === LF) {
    bi--;
    n++;
  }
  if (at() === CR) n++;
  return n;
}

/** Drop the line end (and dashes) that precede a boundary. */
function trimTail(body: Buffer): Buffer {
  let e = body.length;
  while (e > 0 && body[e - 1] === DASH) e--;
  if (e > 0 && body[e - 1] === LF) e--;
  if (e > 0 && body[e - 1] === CR) e--;
  return e === body.length ? body : body.subarray(0, e);
}
