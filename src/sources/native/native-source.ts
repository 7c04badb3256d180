import type { IncomingMessage } from 'node:http';
import type { RawData, WebSocket } from 'ws';
import * as cam2mqtt from '../../devices/cam2mqtt.js';
import type { Camera, CameraLink } from '../../hub/camera.js';
import { type Command, CommandError, type CommandResult } from '../../hub/controls.js';
import type { Frame } from '../../hub/frame.js';
import { BOUNDS, CLOSE, logPreview } from '../../hub/hub.js';
import { slugify } from '../../util/slug.js';
import { ThrottledLog } from '../../util/throttle-log.js';
import type { SourceContext } from '../types.js';
import { closeReason, HELLO_MAX_BYTES, WsCameraServer, wsSourceExtension } from '../ws-camera-server.js';
import {
  type BridgeMessage,
  decodeCameraText,
  decodeFrameHeader,
  encodeText,
  FLAG_SNAPSHOT,
  FLAG_TIME_SYNCED,
  PROTOCOL_VERSION,
  type ProtocolError,
} from './codec.js';

interface Pending {
  resolve: (r: CommandResult) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
  name: string;
}

/** cam2mqtt native protocol v1 on /api/camera (docs/protocol.md). */
export class NativeSource extends WsCameraServer {
  protected override readonly messageLimitBeforeHello = HELLO_MAX_BYTES;

  constructor(ctx: SourceContext) {
    super('/api/camera', ctx, 'native');
  }

  protected accept(ws: WebSocket, _req: IncomingMessage, remote: string, identified: () => void): void {
    new NativeConnection(ws, remote, this.ctx, this.log, identified);
  }

  protected override goodbye(ws: WebSocket): void {
    if (ws.readyState === ws.OPEN) ws.send(encodeText({ type: 'bye', reason: 'bridge shutting down' }));
  }
}

class NativeConnection implements CameraLink {
  readonly protocol = cam2mqtt.PROTOCOL;
  private cam: Camera | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private snapshotWaiter: ((f: Frame) => void) | undefined;
  private readonly badLog: ThrottledLog;

  constructor(
    private readonly ws: WebSocket,
    readonly remote: string,
    private readonly ctx: SourceContext,
    private readonly log: SourceContext['logger'],
    private readonly identified: () => void,
  ) {
    this.badLog = new ThrottledLog(log);
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('ping', () => this.cam && ctx.hub.touch(this.cam));
    ws.on('close', (code, reason) => this.onClose(code, reason.toString()));
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    const buf = data as Buffer; // binaryType is nodebuffer
    const cam = this.cam;
    if (!cam) {
      this.onHello(buf, isBinary);
      return;
    }
    if (isBinary) {
      let h;
      try {
        h = decodeFrameHeader(buf);
      } catch (err) {
        cam.badMessages++;
        this.badLog.warn(`camera ${cam.id}: refused a binary message: ${(err as Error).message}`);
        this.ctx.hub.touch(cam);
        return;
      }
      const now = Date.now();
      const frame: Frame = {
        data: buf.subarray(h.offset),
        seq: h.seq,
        cameraTime: h.flags & FLAG_TIME_SYNCED ? h.time : now,
        receivedAt: now,
      };
      if (h.flags & FLAG_SNAPSHOT) {
        this.ctx.hub.touch(cam);
        const w = this.snapshotWaiter;
        this.snapshotWaiter = undefined;
        if (w) w(frame);
        else this.ctx.hub.pushSnapshot(cam, frame);
        return;
      }
      this.ctx.hub.pushFrame(cam, frame);
      return;
    }
    this.ctx.hub.touch(cam);
    const maxText = this.ctx.config.limits.max_text_bytes;
    if (buf.length > maxText) {
      cam.badMessages++;
      this.badLog.warn(
        `camera ${cam.id}: refused a text message of ${buf.length} bytes, larger than limits.max_text_bytes (${maxText})`,
      );
      return;
    }
    const text = buf.toString('utf8');
    let msg;
    try {
      msg = decodeCameraText(text);
    } catch (err) {
      cam.badMessages++;
      this.badLog.warn(`camera ${cam.id}: refused a text message: ${(err as Error).message}`);
      return;
    }
    const hub = this.ctx.hub;
    switch (msg.type) {
      case 'hello':
        this.badLog.warn(`camera ${cam.id}: ignored a second hello`);
        return;
      case 'motion': {
        const time = msg.time > 1e12 ? msg.time : Date.now();
        const r = msg.region;
        hub.addLog(cam, '<', `motion ${msg.state}`);
        hub.setMotion(
          cam,
          msg.state === 'start',
          time,
          r ? { x: r.x / 1000, y: r.y / 1000, w: r.w / 1000, h: r.h / 1000 } : undefined,
        );
        return;
      }
      case 'info':
        hub.addLog(cam, '<', logPreview(msg.info));
        hub.updateInfo(cam, msg.info);
        return;
      case 'log':
        hub.addLog(cam, '<', `[${msg.level}] ${msg.msg}`);
        return;
      case 'ack': {
        const p = this.pending.get(msg.id);
        hub.addLog(
          cam,
          '<',
          msg.ok
            ? `ack ${msg.id} ok${msg.result !== undefined ? ` ${JSON.stringify(msg.result)}` : ''}`
            : `ack ${msg.id} error: ${msg.error}`,
        );
        if (!p) return;
        this.pending.delete(msg.id);
        clearTimeout(p.timer);
        if (msg.ok) p.resolve({ answer: msg.result ?? null });
        else p.reject(new CommandError('rejected', `camera ${cam.id} refused ${p.name}: ${msg.error}`));
        return;
      }
    }
  }

  private onHello(buf: Buffer, isBinary: boolean): void {
    const refuse = (code: number, reason: string) => {
      this.log.warn(`refused camera connection from ${this.remote}: ${reason}`);
      this.ws.close(code, closeReason(reason));
    };
    if (isBinary) return refuse(CLOSE.PROTOCOL, 'first message must be a hello (text), got binary');
    // Checked before parsing: an unidentified client gets no more than a hello's worth of work.
    if (buf.length > HELLO_MAX_BYTES)
      return refuse(CLOSE.TOO_BIG, `hello of ${buf.length} bytes is larger than ${HELLO_MAX_BYTES} bytes`);
    let msg;
    try {
      msg = decodeCameraText(buf.toString('utf8'));
    } catch (err) {
      return refuse(CLOSE.PROTOCOL, `bad hello: ${(err as ProtocolError).message}`);
    }
    if (msg.type !== 'hello') return refuse(CLOSE.PROTOCOL, `first message must be a hello, got ${msg.type}`);
    if (msg.v !== PROTOCOL_VERSION)
      return refuse(CLOSE.VERSION, `unsupported protocol version ${msg.v} (this bridge speaks ${PROTOCOL_VERSION})`);
    if (msg.id.length > BOUNDS.id)
      return refuse(CLOSE.PROTOCOL, `hello id of ${msg.id.length} characters is longer than ${BOUNDS.id}`);
    const id = slugify(msg.id);
    if (!id) return refuse(CLOSE.PROTOCOL, `hello id ${JSON.stringify(msg.id)} has no usable characters`);
    const verdict = this.ctx.hub.admit(id, msg.token);
    if (!verdict.ok) return refuse(verdict.code!, `camera ${id}: ${verdict.reason}`);
    this.identified();
    const meta = {
      capabilities: msg.caps ?? [],
      ...(msg.name ? { name: msg.name } : {}),
      ...(msg.model ? { model: msg.model } : {}),
      ...(msg.fw ? { firmware: msg.fw } : {}),
    };
    const cam = this.ctx.hub.attach(id, this.protocol, this, meta);
    this.cam = cam;
    this.sendMsg({ type: 'welcome', v: PROTOCOL_VERSION, id, time: Date.now(), watching: cam.watchers > 0 });
    if (msg.info) this.ctx.hub.updateInfo(cam, msg.info);
  }

  private onClose(code: number, reason: string): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new CommandError('offline', `camera ${this.cam?.id} disconnected before answering ${p.name}`));
    }
    this.pending.clear();
    if (this.cam) this.ctx.hub.detach(this.cam, this, `connection closed (${code}${reason ? ` ${reason}` : ''})`);
  }

  private sendMsg(msg: BridgeMessage): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(encodeText(msg));
  }

  setDemand(watching: boolean): void {
    if (this.cam) this.sendMsg({ type: 'demand', watching });
  }

  close(code: number, reason: string): void {
    if (code === CLOSE.GOING_AWAY) this.sendMsg({ type: 'bye', reason });
    this.ws.close(code, closeReason(reason));
  }

  send(cmd: Command, timeoutMs: number): Promise<CommandResult> {
    const cam = this.cam!;
    const refusal = cam2mqtt.refusal(cmd, cam.capabilities);
    if (refusal) return Promise.reject(new CommandError('unsupported', `camera ${cam.id} ${refusal}`));
    const id = this.nextId++;
    const text = encodeText({
      type: 'cmd',
      id,
      name: cmd.name,
      ...(cmd.value !== undefined ? { value: cmd.value } : {}),
    });
    return new Promise<CommandResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new CommandError('timeout', `camera ${cam.id} did not answer ${cmd.name} within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer, name: cmd.name });
      this.ctx.hub.addLog(cam, '>', text);
      this.ws.send(text);
    });
  }

  /** Ask for a full-resolution frame; resolves with it (or rejects on timeout/error). */
  async snapshot(timeoutMs: number): Promise<Frame> {
    const got = new Promise<Frame>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.snapshotWaiter = undefined;
        reject(new CommandError('timeout', `camera ${this.cam?.id} sent no snapshot within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.snapshotWaiter = (f) => {
        clearTimeout(timer);
        resolve(f);
      };
    });
    got.catch(() => {});
    await this.send({ name: 'snapshot' }, timeoutMs);
    return got;
  }
}

/** The native WebSocket endpoint as an extension (src/extensions.ts). */
export const nativeSourceExtension = wsSourceExtension('native', (sctx) => new NativeSource(sctx));
