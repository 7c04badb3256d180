import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import { jpegCycle } from './frames.js';

export interface SimOptions {
  /** ws://host:port/api/camera (native) or ws://host:port/ws (mjpeg2sd). */
  url: string;
  /** Native camera id, or the MJPEG2SD camera's hostName. */
  id: string;
  name?: string;
  token?: string;
  fps: number;
  width: number;
  height: number;
  hue: number;
  /** Seconds between motion starts (motion lasts half of it); 0 = never. */
  motionEvery?: number;
  reconnect?: boolean;
  reconnectDelayMs?: number;
  /** Pictures to send instead of the synthetic cycle. */
  frames?: Buffer[];
  /**
   * Ping the bridge this often and drop the connection when nothing (no pong, no message) came back
   * for three intervals, as the firmware gives up on a silent bridge (an instance cut off the network).
   */
  keepaliveMs?: number;
  /** wss://: the CA to trust (a self-signed bridge's certificate), or rejectUnauthorized: false. */
  tls?: { ca?: string | Buffer; rejectUnauthorized?: boolean };
}

/**
 * A camera that dials out to the bridge, as real firmware does. Subclasses speak a protocol; this
 * base owns the socket, the frame clock, motion scheduling and reconnects.
 */
export abstract class SimulatedCamera extends EventEmitter {
  ws: WebSocket | undefined;
  /** Commands received from the bridge, as text. */
  readonly received: string[] = [];
  readonly state: Record<string, unknown> = {};
  framesSent = 0;
  connects = 0;
  motionOn = false;
  protected seq = 0;
  protected readonly frames: Buffer[];
  private frameTimer: NodeJS.Timeout | undefined;
  private motionTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(readonly opts: SimOptions) {
    super();
    this.frames = opts.frames ?? jpegCycle({ width: opts.width, height: opts.height, hue: opts.hue });
    this.state.fps = opts.fps;
  }

  get connected(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  start(): this {
    this.stopped = false;
    this.connect();
    if (this.opts.motionEvery) {
      const every = this.opts.motionEvery * 1000;
      this.motionTimer = setInterval(() => {
        this.setMotion(true);
        setTimeout(() => this.setMotion(false), every / 2).unref();
      }, every);
      this.motionTimer.unref();
    }
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.motionTimer);
    this.stopFrames();
    const ws = this.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      ws.once('close', () => resolve());
      ws.close(1000, 'camera stopping');
      setTimeout(() => {
        ws.terminate();
        resolve();
      }, 1000).unref();
    });
  }

  /** Drop the connection abruptly (no close frame), like a camera losing power. */
  kill(): void {
    this.ws?.terminate();
  }

  protected connect(): void {
    const ws = new WebSocket(this.opts.url, {
      perMessageDeflate: false,
      // With a keepalive, a bridge that accepts the TCP connection and says nothing is given up too.
      ...(this.opts.keepaliveMs ? { handshakeTimeout: 3 * this.opts.keepaliveMs } : {}),
      ...this.opts.tls,
    });
    this.ws = ws;
    ws.on('open', () => {
      if (this.opts.keepaliveMs) this.keepalive(ws, this.opts.keepaliveMs);
      this.connects++;
      this.onOpen();
      this.emit('open');
    });
    ws.on('message', (data, isBinary) => {
      if (!isBinary) this.onText(data.toString());
    });
    ws.on('close', (code, reason) => {
      this.stopFrames();
      this.emit('close', code, reason.toString());
      if (!this.stopped && this.opts.reconnect !== false) {
        setTimeout(() => {
          if (!this.stopped) this.connect();
        }, this.opts.reconnectDelayMs ?? 1000).unref();
      }
    });
    ws.on('error', (err) => this.emit('socket-error', err));
  }

  private keepalive(ws: WebSocket, every: number): void {
    let heard = Date.now();
    const hear = () => {
      heard = Date.now();
    };
    ws.on('pong', hear);
    ws.on('message', hear);
    const t = setInterval(() => {
      if (ws.readyState !== WebSocket.OPEN) return clearInterval(t);
      if (Date.now() - heard > 3 * every) {
        clearInterval(t);
        this.emit('silent');
        ws.terminate();
        return;
      }
      ws.ping();
    }, every);
    t.unref();
    ws.once('close', () => clearInterval(t));
  }

  protected startFrames(intervalMs = 1000 / Math.max(0.1, Number(this.state.fps) || this.opts.fps)): void {
    this.stopFrames();
    this.frameTimer = setInterval(() => {
      if (this.connected && this.state.pause !== true) this.sendFrame();
    }, intervalMs);
    this.frameTimer.unref();
  }

  protected stopFrames(): void {
    if (this.frameTimer) clearInterval(this.frameTimer);
    this.frameTimer = undefined;
  }

  /** The JPEG for the next frame. */
  protected nextJpeg(): Buffer {
    return this.frames[this.seq % this.frames.length]!;
  }

  /** Send a raw WebSocket message, for hand-built tests. */
  sendRaw(data: string | Buffer, opts: { binary?: boolean; fin?: boolean } = {}): void {
    this.ws?.send(data, { binary: opts.binary ?? Buffer.isBuffer(data), fin: opts.fin ?? true });
  }

  abstract sendFrame(): void;
  abstract setMotion(on: boolean): void;
  protected abstract onOpen(): void;
  protected abstract onText(text: string): void;
}
