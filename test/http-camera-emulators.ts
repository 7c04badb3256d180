// Real HTTP camera emulators for the pulled-camera tests: each is an http.Server on 127.0.0.1 that
// speaks like a firmware in the field (see ../shared/reference/legacy-camera-protocols.md, sections 2 and 3).
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { type FrameSpec, jpegCycle } from '../src/simulator/frames.js';
import { verifyDigest } from '../src/sources/http/http-auth.js';

export const ESP_BOUNDARY = '123456789000000000000987654321';

export interface Request {
  path: string;
  query: Record<string, string>;
  at: number;
  authorization: string | undefined;
}

/** Common plumbing: listen on 127.0.0.1 (a given port to "restart" on the same address), track sockets. */
export class Emulator {
  readonly server: Server;
  readonly requests: Request[] = [];
  /** TCP connections accepted, and the most that were open at once. */
  connections = 0;
  maxOpen = 0;
  port = 0;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(handler: (req: IncomingMessage, res: ServerResponse, url: URL) => void) {
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      this.requests.push({
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        at: Date.now(),
        authorization: req.headers.authorization,
      });
      handler(req, res, url);
    });
    this.server.on('connection', (s) => {
      this.connections++;
      this.sockets.add(s);
      this.maxOpen = Math.max(this.maxOpen, this.sockets.size);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  get open(): number {
    return this.sockets.size;
  }

  async listen(port = 0): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  every(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setInterval(fn, ms);
    this.timers.add(t);
    return t;
  }

  clear(t: NodeJS.Timeout): void {
    clearInterval(t);
    this.timers.delete(t);
  }

  /** Stop listening and cut every connection (a camera that reboots or loses power). */
  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers.clear();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  requestsTo(path: string): Request[] {
    return this.requests.filter((r) => r.path === path);
  }
}

export interface StreamOptions {
  fps?: number;
  spec?: FrameSpec;
  /** Basic auth for the stream. */
  basic?: { username: string; password: string };
}

const DEFAULT_SPEC: FrameSpec = { width: 320, height: 240, hue: 120, cycle: 32, quality: 70 };

/**
 * securityCam: MJPEG at /mjpeg (one client at a time, boundary first as the ESP32 CameraWebServer
 * writes it), servos on a second port at /control_servo?tr=<int>&el=<int> (both required, relative).
 */
export class SecurityCamEmulator extends Emulator {
  framesSent = 0;
  streaming = 0;
  maxStreaming = 0;
  busyRefusals = 0;
  readonly frames: Buffer[];
  readonly servo: Emulator;
  pan = 90;
  tilt = 90;
  private readonly fps: number;

  constructor(opts: StreamOptions = {}) {
    super((req, res, url) => this.handle(req, res, url));
    this.fps = opts.fps ?? 15;
    this.frames = jpegCycle(opts.spec ?? DEFAULT_SPEC);
    this.servo = new Emulator((_req, res, url) => this.handleServo(res, url));
  }

  override async listen(port = 0, servoPort = 0): Promise<this> {
    await super.listen(port);
    await this.servo.listen(servoPort);
    return this;
  }

  override async close(): Promise<void> {
    await Promise.all([super.close(), this.servo.close()]);
  }

  get mjpegUrl(): string {
    return `${this.url}/mjpeg`;
  }

  get servoUrl(): string {
    return `${this.servo.url}/control_servo`;
  }

  private handle(_req: IncomingMessage, res: ServerResponse, url: URL): void {
    if (url.pathname !== '/mjpeg') {
      res.writeHead(404).end('not found');
      return;
    }
    if (this.streaming > 0) {
      // The ESP32 serves one stream at a time.
      this.busyRefusals++;
      res.writeHead(503, { 'Content-Type': 'text/plain' }).end('busy');
      return;
    }
    this.streaming++;
    this.maxStreaming = Math.max(this.maxStreaming, this.streaming);
    res.writeHead(200, {
      'Content-Type': `multipart/x-mixed-replace;boundary=${ESP_BOUNDARY}`,
      'Access-Control-Allow-Origin': '*',
    });
    const t = this.every(1000 / this.fps, () => {
      const jpeg = this.frames[this.framesSent % this.frames.length]!;
      this.framesSent++;
      res.write(`\r\n--${ESP_BOUNDARY}\r\n`);
      res.write(`Content-Type: image/jpeg\r\nContent-Length: ${jpeg.length}\r\n\r\n`);
      res.write(jpeg);
    });
    res.on('close', () => {
      this.streaming--;
      this.clear(t);
    });
  }

  private handleServo(res: ServerResponse, url: URL): void {
    if (url.pathname !== '/control_servo') {
      res.writeHead(404).end();
      return;
    }
    const tr = url.searchParams.get('tr');
    const el = url.searchParams.get('el');
    if (tr === null || el === null || tr.length > 4 || el.length > 4 || !/^-?\d+$/.test(tr) || !/^-?\d+$/.test(el)) {
      res.writeHead(500, { 'Content-Type': 'text/plain' }).end('Missing or bad parameter');
      return;
    }
    this.pan = Math.max(0, Math.min(180, this.pan + Number(tr)));
    this.tilt = Math.max(0, Math.min(180, this.tilt + Number(el)));
    res.writeHead(200, { 'Content-Type': 'text/plain' }).end(`OK pan=${this.pan} tilt=${this.tilt}`);
  }
}

/**
 * Unmodified MJPEG2SD v10: /sustain?stream=0 (Basic auth if set, part headers with `Content-Length: %10u`,
 * the boundary after each frame), /control?<key>=<value>, /control?still=1, /status?q.
 */
export class Mjpeg2sdEmulator extends Emulator {
  framesSent = 0;
  readonly frames: Buffer[];
  readonly settings: Record<string, string> = { framesize: '10', quality: '12', lampLevel: '0', fw_version: '10.5' };
  private readonly fps: number;

  constructor(private readonly opts: StreamOptions = {}) {
    super((req, res, url) => this.handle(req, res, url));
    this.fps = opts.fps ?? 15;
    this.frames = jpegCycle(opts.spec ?? { ...DEFAULT_SPEC, hue: 30 });
  }

  private authorized(req: IncomingMessage): boolean {
    const b = this.opts.basic;
    if (!b) return true;
    return req.headers.authorization === `Basic ${Buffer.from(`${b.username}:${b.password}`).toString('base64')}`;
  }

  private handle(req: IncomingMessage, res: ServerResponse, url: URL): void {
    if (url.pathname === '/sustain') {
      if (!this.authorized(req)) {
        res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="MJPEG2SD"' }).end('Unauthorized');
        return;
      }
      res.writeHead(200, { 'Content-Type': `multipart/x-mixed-replace; boundary=${ESP_BOUNDARY}` });
      res.write(`--${ESP_BOUNDARY}\r\n`);
      const t = this.every(1000 / this.fps, () => {
        const jpeg = this.frames[this.framesSent % this.frames.length]!;
        this.framesSent++;
        res.write(`Content-Type: image/jpeg\r\nContent-Length: ${String(jpeg.length).padStart(10, ' ')}\r\n\r\n`);
        res.write(jpeg);
        res.write(`\r\n--${ESP_BOUNDARY}\r\n`);
      });
      res.on('close', () => this.clear(t));
      return;
    }
    if (url.pathname === '/control') {
      if (url.searchParams.get('still') === '1') {
        const jpeg = this.frames[0]!;
        res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': jpeg.length }).end(jpeg);
        return;
      }
      const entries = [...url.searchParams.entries()];
      if (entries.length !== 1) {
        res.writeHead(400).end('one key=value per request');
        return;
      }
      const [k, v] = entries[0]!;
      if (
        ![
          'framesize',
          'quality',
          'lampLevel',
          'fps',
          'vflip',
          'hmirror',
          'enableMotion',
          'brightness',
          'contrast',
          'reset',
          'camPan',
          'camTilt',
          'record',
        ].includes(k)
      ) {
        res.writeHead(400, { 'Content-Type': 'text/plain' }).end(`unknown key ${k}`);
        return;
      }
      this.settings[k] = v;
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('Done');
      return;
    }
    if (url.pathname === '/status') {
      const body = JSON.stringify({ ...this.settings, hostName: 'ESP-CAM_MJPEG_EMU', llevel: '0' });
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(body);
      return;
    }
    res.writeHead(404).end();
  }
}

/** Stills only: /capture returns one JPEG per request; optional Digest auth (as some IP cameras). */
export class StillsEmulator extends Emulator {
  readonly frames: Buffer[];
  served = 0;
  readonly nonce = randomBytes(8).toString('hex');

  constructor(private readonly digest?: { username: string; password: string; realm: string }) {
    super((req, res, url) => this.handle(req, res, url));
    this.frames = jpegCycle({ ...DEFAULT_SPEC, hue: 260 });
  }

  private handle(req: IncomingMessage, res: ServerResponse, url: URL): void {
    if (url.pathname !== '/capture') {
      res.writeHead(404).end();
      return;
    }
    if (this.digest && !verifyDigest(req.headers.authorization, 'GET', { ...this.digest, nonce: this.nonce })) {
      res
        .writeHead(401, {
          'WWW-Authenticate': `Digest realm="${this.digest.realm}", qop="auth", nonce="${this.nonce}", opaque="0123", algorithm=MD5`,
        })
        .end('Unauthorized');
      return;
    }
    const jpeg = this.frames[this.served % this.frames.length]!;
    this.served++;
    res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': jpeg.length }).end(jpeg);
  }
}

/**
 * Everything an MJPEG parser meets in the field, in one scripted stream (repeated):
 * a quoted boundary declared with leading dashes, garbage between parts, a frame with Content-Length,
 * a huge frame with Content-Length, a frame without Content-Length, a huge one without, LF-only headers.
 */
export class HugeFramesEmulator extends Emulator {
  readonly small: Buffer[];
  readonly huge: Buffer;
  rounds = 0;
  /** The small frames sent, in order (what the bridge must deliver). */
  readonly sent: Buffer[] = [];

  constructor(hugeBytes: number) {
    super((_req, res, url) => this.handle(res, url));
    this.small = jpegCycle({ ...DEFAULT_SPEC, hue: 0, cycle: 8 });
    // A "JPEG" of hugeBytes: SOI, filler, EOI.
    this.huge = Buffer.alloc(hugeBytes, 0x55);
    this.huge[0] = 0xff;
    this.huge[1] = 0xd8;
    this.huge[hugeBytes - 2] = 0xff;
    this.huge[hugeBytes - 1] = 0xd9;
  }

  private handle(res: ServerResponse, url: URL): void {
    if (url.pathname !== '/stream') {
      res.writeHead(404).end();
      return;
    }
    const B = 'my--frame--boundary';
    res.writeHead(200, { 'Content-Type': `multipart/x-mixed-replace; boundary="--${B}"` });
    res.write('preamble that is not part of any frame\r\n');
    const t = this.every(60, () => {
      const a = this.small[(this.rounds * 2) % this.small.length]!;
      const b = this.small[(this.rounds * 2 + 1) % this.small.length]!;
      this.rounds++;
      res.write(`--${B}\r\nContent-Type: image/jpeg\r\nContent-Length: ${a.length}\r\n\r\n`);
      res.write(a);
      this.sent.push(a);
      res.write('\r\n\r\nGARBAGE GARBAGE\r\n');
      res.write(`--${B}\r\nContent-Type: image/jpeg\r\nContent-Length: ${this.huge.length}\r\n\r\n`);
      res.write(this.huge);
      res.write(`\r\n--${B}\nContent-Type: image/jpeg\n\n`);
      res.write(b);
      this.sent.push(b);
      res.write(`\r\n--${B}\r\nContent-Type: image/jpeg\r\n\r\n`);
      res.write(this.huge);
      res.write('\r\n');
    });
    res.on('close', () => this.clear(t));
  }
}

/** Sends `goodFrames` frames, then half of the next one, then drops the connection; every time. */
export class DropMidFrameEmulator extends Emulator {
  readonly frames: Buffer[];
  framesSent = 0;
  drops = 0;

  constructor(private readonly goodFrames = 3) {
    super((_req, res, url) => this.handle(res, url));
    this.frames = jpegCycle({ ...DEFAULT_SPEC, hue: 200, cycle: 8 });
  }

  private handle(res: ServerResponse, url: URL): void {
    if (url.pathname !== '/stream') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'multipart/x-mixed-replace; boundary=frame' });
    let n = 0;
    const t = this.every(40, () => {
      const jpeg = this.frames[n % this.frames.length]!;
      if (n < this.goodFrames) {
        res.write(`--frame\r\nContent-Type: image/jpeg\r\nContent-Length: ${jpeg.length}\r\n\r\n`);
        res.write(jpeg);
        res.write('\r\n');
        this.framesSent++;
        n++;
        return;
      }
      this.clear(t);
      res.write(`--frame\r\nContent-Type: image/jpeg\r\nContent-Length: ${jpeg.length}\r\n\r\n`);
      res.write(jpeg.subarray(0, jpeg.length >> 1), () => {
        this.drops++;
        res.socket?.destroy();
      });
    });
    res.on('close', () => this.clear(t));
  }
}

/** An MJPEG server that streams pre-rendered frames (motion tests: a moving or a static noisy scene). */
export class SceneEmulator extends Emulator {
  /** Replace to change the scene while it streams. */
  frames: Buffer[];
  framesSent = 0;

  constructor(
    scene: FrameSpec | Buffer[],
    private readonly fps = 10,
  ) {
    super((_req, res, url) => this.handle(res, url));
    this.frames = Array.isArray(scene) ? scene : jpegCycle(scene);
  }

  private handle(res: ServerResponse, url: URL): void {
    if (url.pathname !== '/stream') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'multipart/x-mixed-replace; boundary=scene' });
    const t = this.every(1000 / this.fps, () => {
      const jpeg = this.frames[this.framesSent % this.frames.length]!;
      this.framesSent++;
      res.write(`--scene\r\nContent-Type: image/jpeg\r\nContent-Length: ${jpeg.length}\r\n\r\n`);
      res.write(jpeg);
      res.write('\r\n');
    });
    res.on('close', () => this.clear(t));
  }
}
