import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import * as mjpeg2sd from '../../devices/mjpeg2sd.js';
import type { Camera, CameraLink } from '../../hub/camera.js';
import { type Command, CommandError, type CommandResult } from '../../hub/controls.js';
import type { Frame } from '../../hub/frame.js';
import { BOUNDS, CLOSE, logPreview } from '../../hub/hub.js';
import { slugify } from '../../util/slug.js';
import { ThrottledLog } from '../../util/throttle-log.js';
import type { SourceContext } from '../types.js';
import { closeReason, HELLO_MAX_BYTES, WsCameraServer, wsSourceExtension } from '../ws-camera-server.js';
import { classify, encodeCommand, parseBinary, parseText } from './codec.js';

/** Pause between two commands: the camera holds a single pending command and drops any other. */
const COMMAND_GAP_MS = 150;
/** These cameras report status only when asked: poll like the original server so info stays fresh. */
const STATUS_POLL_MS = 60_000;

interface Queued {
  text: string;
  name: string;
  /** Which reply completes this command; undefined = none expected (reset). */
  expect: ((p: ReturnType<typeof classify>) => boolean) | undefined;
  timeoutMs: number;
  resolve: (r: CommandResult) => void;
  reject: (e: Error) => void;
}

/** ESP32-CAM_MJPEG2SD websocket cameras, unmodified, on /ws. */
export class Mjpeg2sdSource extends WsCameraServer {
  constructor(ctx: SourceContext) {
    super('/ws', ctx, 'mjpeg2sd');
  }

  protected accept(ws: WebSocket, _req: IncomingMessage, remote: string, identified: () => void): void {
    new Mjpeg2sdConnection(ws, remote, this.ctx, this.log, identified);
  }
}

class Mjpeg2sdConnection implements CameraLink {
  readonly protocol = mjpeg2sd.PROTOCOL;
  private cam: Camera | undefined;
  /** Frames arrive before the hello (it waits for NTP): keep only the newest until we know the camera. */
  private early: Frame | undefined;
  private seq = 0;
  private fw: string | undefined;
  private readonly queue: Queued[] = [];
  private current: (Queued & { timer?: NodeJS.Timeout }) | undefined;
  // The pause between two commands: while it runs, a new command waits in the queue (sending it at once
  // put two commands in flight, and the camera drops one).
  private gap: NodeJS.Timeout | undefined;
  private readonly badLog: ThrottledLog;
  private statusTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ws: WebSocket,
    readonly remote: string,
    private readonly ctx: SourceContext,
    private readonly log: SourceContext['logger'],
    private readonly identified: () => void,
  ) {
    this.badLog = new ThrottledLog(log);
    ws.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary));
    ws.on('ping', () => this.cam && ctx.hub.touch(this.cam));
    ws.on('close', (code, reason) => this.onClose(code, reason.toString()));
  }

  private onMessage(buf: Buffer, isBinary: boolean): void {
    if (isBinary) return this.onFrame(buf);
    const cam = this.cam;
    // Sizes are checked before parsing: an unidentified client gets no more than a hello's worth of work.
    if (!cam && buf.length > HELLO_MAX_BYTES) {
      const reason = `text message of ${buf.length} bytes before the hello is larger than ${HELLO_MAX_BYTES} bytes`;
      this.log.warn(`refused camera connection from ${this.remote}: ${reason}`);
      this.ws.close(CLOSE.TOO_BIG, closeReason(reason));
      return;
    }
    const maxText = this.ctx.config.limits.max_text_bytes;
    if (cam && buf.length > maxText) {
      cam.badMessages++;
      this.badLog.warn(
        `camera ${cam.id}: refused a text message of ${buf.length} bytes, larger than limits.max_text_bytes (${maxText})`,
      );
      this.ctx.hub.touch(cam);
      return;
    }
    const { epoch, payload } = parseText(buf.toString('utf8'));
    const msg = classify(payload);
    if (!cam) {
      if (msg.kind === 'json' && typeof msg.data.hostName === 'string') this.onHello(msg.data, epoch);
      else
        this.log.debug(
          `camera at ${this.remote} sent ${JSON.stringify(payload.slice(0, 60))} before its hello; ignored`,
        );
      return;
    }
    const hub = this.ctx.hub;
    hub.touch(cam);
    if (msg.kind !== 'paused') hub.addLog(cam, '<', payload);
    switch (msg.kind) {
      case 'motion':
        hub.setMotion(cam, msg.on, epoch !== undefined ? epoch * 1000 : Date.now());
        break;
      case 'paused':
        if (cam.info.paused !== true) hub.updateInfo(cam, { paused: true });
        break;
      case 'json':
        if (typeof msg.data.fw_version === 'string') this.fw = msg.data.fw_version;
        hub.updateInfo(cam, mjpeg2sd.normalizeInfo(msg.data, this.fw));
        break;
      case 'setting':
        hub.updateInfo(cam, mjpeg2sd.normalizeInfo({ [msg.key]: msg.value }, this.fw));
        break;
      case 'other':
        break;
    }
    const cur = this.current;
    if (cur?.expect?.(msg)) this.finish({ answer: msg.kind === 'json' ? msg.data : payload });
  }

  private onFrame(buf: Buffer): void {
    const parsed = parseBinary(buf);
    const cam = this.cam;
    if (!parsed) {
      if (cam) cam.badMessages++;
      this.badLog.warn(
        `camera ${cam?.id ?? `at ${this.remote}`}: refused a binary message of ${buf.length} bytes that is not a JPEG`,
      );
      return;
    }
    const now = Date.now();
    const frame: Frame = {
      data: parsed.jpegLength === buf.length ? buf : buf.subarray(0, parsed.jpegLength),
      seq: ++this.seq,
      cameraTime: parsed.epoch !== undefined ? parsed.epoch * 1000 : now,
      receivedAt: now,
    };
    if (!cam) {
      this.early = frame;
      return;
    }
    if (cam.info.paused === true) this.ctx.hub.updateInfo(cam, { paused: false });
    this.ctx.hub.pushFrame(cam, frame);
  }

  private onHello(data: Record<string, string | number | boolean>, _epoch: number | undefined): void {
    const host = String(data.hostName);
    const id = slugify(host);
    const refuse = (code: number, reason: string) => {
      this.log.warn(`refused camera connection from ${this.remote}: ${reason}`);
      this.ws.close(code, closeReason(reason));
    };
    if (host.length > BOUNDS.id)
      return refuse(CLOSE.PROTOCOL, `hostName of ${host.length} characters is longer than ${BOUNDS.id}`);
    if (!id) return refuse(CLOSE.PROTOCOL, `hostName ${JSON.stringify(host)} has no usable characters`);
    if (this.ctx.hub.requiresToken(id))
      return refuse(
        CLOSE.UNAUTHORIZED,
        `camera ${id} has a token configured, but MJPEG2SD cameras cannot send one (use the native protocol)`,
      );
    const verdict = this.ctx.hub.admit(id, undefined);
    if (!verdict.ok) return refuse(verdict.code!, `camera ${id}: ${verdict.reason}`);
    this.identified();
    this.fw = typeof data.fw_version === 'string' ? data.fw_version : undefined;
    const meta = {
      name: host,
      ...(typeof data.camModel === 'string' ? { model: data.camModel } : {}),
      ...(this.fw ? { firmware: this.fw } : {}),
      capabilities: mjpeg2sd.capabilities(data),
    };
    const cam = this.ctx.hub.attach(id, this.protocol, this, meta);
    this.cam = cam;
    this.ctx.hub.addLog(cam, '<', logPreview(data));
    this.ctx.hub.updateInfo(cam, mjpeg2sd.normalizeInfo(data, this.fw));
    if (this.early) {
      const f = this.early;
      this.early = undefined;
      this.ctx.hub.pushFrame(cam, f);
    }
    this.statusTimer = setInterval(() => {
      // Only when idle: a user's command always goes first.
      if (!this.current && !this.gap && this.queue.length === 0)
        this.send({ name: 'status' }, this.ctx.hub.commandTimeoutMs).catch(() => {});
    }, STATUS_POLL_MS);
    this.statusTimer.unref();
  }

  private onClose(code: number, reason: string): void {
    clearInterval(this.statusTimer);
    clearTimeout(this.gap);
    this.gap = undefined;
    const err = new CommandError('offline', `camera ${this.cam?.id ?? this.remote} disconnected`);
    if (this.current) {
      clearTimeout(this.current.timer);
      this.current.reject(err);
      this.current = undefined;
    }
    for (const q of this.queue.splice(0)) q.reject(err);
    if (this.cam) this.ctx.hub.detach(this.cam, this, `connection closed (${code}${reason ? ` ${reason}` : ''})`);
  }

  close(code: number, reason: string): void {
    this.ws.close(code, closeReason(reason));
  }

  /** A bridge command as the text MJPEG2SD takes on its socket, and which reply completes it. */
  private translate(cmd: Command): { text: string; expect: Queued['expect'] } {
    switch (cmd.name) {
      case 'restart':
        // reset=1 reboots the camera: there is no answer to wait for.
        return { text: 'reset=1', expect: undefined };
      case 'status':
        return { text: 'status?q', expect: (p) => p.kind === 'json' };
      case 'raw':
        return { text: encodeCommand([cmd.value]), expect: () => true };
      case 'snapshot':
        throw new CommandError('unsupported', 'snapshot is served from the latest frame');
    }
    const s = mjpeg2sd.setting(cmd, this.fw, 'websocket');
    if (!s) throw new CommandError('unsupported', `${cmd.name} cannot be sent to an MJPEG2SD camera`);
    // The camera echoes every accepted change as key=value.
    return { text: `${s.key}=${s.value}`, expect: (p) => p.kind === 'setting' && p.key === s.key };
  }

  send(cmd: Command, timeoutMs: number): Promise<CommandResult> {
    let t: { text: string; expect: Queued['expect'] };
    try {
      t = this.translate(cmd);
    } catch (err) {
      return Promise.reject(err instanceof RangeError ? new CommandError('invalid', err.message) : err);
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ ...t, name: cmd.name, timeoutMs, resolve, reject });
      if (!this.current && !this.gap) this.next();
    });
  }

  private next(): void {
    const q = this.queue.shift();
    if (!q || this.ws.readyState !== this.ws.OPEN) return;
    const cam = this.cam!;
    this.current = q;
    this.ctx.hub.addLog(cam, '>', q.text);
    this.ws.send(q.text);
    if (!q.expect) {
      // reset=1 reboots the camera: there is no answer to wait for.
      this.finish({ answer: null });
      return;
    }
    this.current.timer = setTimeout(() => {
      this.current = undefined;
      q.reject(
        new CommandError('timeout', `camera ${cam.id} did not answer "${q.text}" within ${q.timeoutMs / 1000} s`),
      );
      this.pauseThenNext();
    }, q.timeoutMs);
  }

  private finish(result: CommandResult): void {
    const q = this.current;
    if (!q) return;
    clearTimeout(q.timer);
    this.current = undefined;
    q.resolve(result);
    this.pauseThenNext();
  }

  private pauseThenNext(): void {
    this.gap = setTimeout(() => {
      this.gap = undefined;
      this.next();
    }, COMMAND_GAP_MS);
    this.gap.unref();
  }
}

/** The mjpeg2sd WebSocket endpoint as an extension (src/extensions.ts). */
export const mjpeg2sdSourceExtension = wsSourceExtension('mjpeg2sd', (sctx) => new Mjpeg2sdSource(sctx));
