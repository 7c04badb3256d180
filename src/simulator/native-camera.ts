import {
  type CameraMessage,
  encodeFrame,
  encodeText,
  FLAG_SNAPSHOT,
  FLAG_TIME_SYNCED,
} from '../sources/native/codec.js';
import { type SimOptions, SimulatedCamera } from './camera.js';

export interface NativeSimOptions extends SimOptions {
  caps?: string[];
  /** Interval between frames while nobody watches (ms). */
  idleIntervalMs?: number;
}

const SIZES = ['QVGA', 'CIF', 'HVGA', 'VGA', 'SVGA', 'XGA', 'HD', 'SXGA', 'UXGA'];

/** A camera speaking cam2mqtt native protocol v1 (docs/protocol.md), as our firmware does. */
export class SimulatedNativeCamera extends SimulatedCamera {
  watching = false;
  private readonly caps: string[];

  constructor(readonly nopts: NativeSimOptions) {
    super(nopts);
    this.caps = nopts.caps ?? ['lamp', 'framesize', 'quality', 'fps', 'flip', 'motion', 'snapshot', 'restart', 'servo'];
    Object.assign(this.state, {
      lamp: 0,
      framesize: 'VGA',
      quality: 12,
      vflip: false,
      hmirror: false,
      pan: 90,
      tilt: 90,
    });
  }

  send(msg: CameraMessage): void {
    if (this.connected) this.ws!.send(encodeText(msg));
  }

  protected onOpen(): void {
    const o = this.nopts;
    this.send({
      type: 'hello',
      v: 1,
      id: o.id,
      ...(o.token ? { token: o.token } : {}),
      ...(o.name ? { name: o.name } : {}),
      model: 'cam2mqtt-sim',
      fw: 'sim-1.0',
      caps: this.caps,
      info: this.info(),
    });
  }

  private info(): Record<string, unknown> {
    return { ...this.state, rssi: -55, uptime: Math.round(process.uptime()), heap: 180000 };
  }

  private applyRate(): void {
    if (this.watching || this.motionOn) this.startFrames();
    else this.startFrames(this.nopts.idleIntervalMs ?? 1000);
  }

  sendFrame(flags = FLAG_TIME_SYNCED): void {
    const jpeg = this.nextJpeg();
    this.ws!.send(encodeFrame(this.seq++, Date.now(), jpeg, flags));
    this.framesSent++;
  }

  setMotion(on: boolean, region?: { x: number; y: number; w: number; h: number }): void {
    this.motionOn = on;
    this.send({ type: 'motion', state: on ? 'start' : 'end', time: Date.now(), ...(on && region ? { region } : {}) });
    if (this.connected) this.applyRate();
  }

  protected onText(text: string): void {
    const msg = JSON.parse(text) as { type: string; [k: string]: unknown };
    if (msg.type === 'welcome' || msg.type === 'demand') {
      this.watching = msg.watching === true;
      this.emit(msg.type, msg);
      this.applyRate();
      return;
    }
    if (msg.type !== 'cmd') return;
    this.received.push(text);
    const id = msg.id as number;
    const name = msg.name as string;
    const value = msg.value;
    this.emit('command', { name, value, id });
    const ack = (result?: unknown) =>
      this.send({ type: 'ack', id, ok: true, ...(result !== undefined ? { result } : {}) });
    const fail = (error: string) => this.send({ type: 'ack', id, ok: false, error });
    switch (name) {
      case 'snapshot':
        this.sendFrame(FLAG_TIME_SYNCED | FLAG_SNAPSHOT);
        return ack({ seq: this.seq - 1 });
      case 'restart':
        ack();
        this.ws!.close(1012, 'restarting');
        return;
      case 'status':
        return ack(this.info());
      case 'raw':
        return ack({ echo: value });
      case 'framesize':
        if (!SIZES.includes(String(value))) return fail(`unsupported framesize ${String(value)}`);
        break;
    }
    this.state[name] = value;
    if (name === 'fps') this.applyRate();
    ack({ [name]: value });
    this.send({ type: 'info', info: { [name]: value } });
  }
}
