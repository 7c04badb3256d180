import { type SimOptions, SimulatedCamera } from './camera.js';

export interface Mjpeg2sdSimOptions extends SimOptions {
  /** Firmware version in the hello: < 10 uses the old framesize table. */
  fwVersion?: string;
  /** Split binary messages larger than this into WebSocket fragments, as esp_websocket_client does. */
  fragmentBytes?: number;
  /** Frames to send before the hello (the real camera waits for NTP before saying hello). */
  framesBeforeHello?: number;
}

const PROCESSING_MS = 60;

/**
 * An unmodified ESP32-CAM_MJPEG2SD websocket camera: `#epoch|payload` text, JPEG + ASCII epoch frames,
 * `;`-joined commands, and a single pending-command slot: a command that arrives while one is being
 * handled is dropped (counted in `droppedCommands`), exactly the firmware behaviour the bridge must pace for.
 */
export class SimulatedMjpeg2sdCamera extends SimulatedCamera {
  droppedCommands = 0;
  private busy = false;
  private pauseTimer: NodeJS.Timeout | undefined;

  constructor(readonly lopts: Mjpeg2sdSimOptions) {
    super(lopts);
    Object.assign(this.state, {
      framesize: '8',
      quality: '12',
      lampLevel: '0',
      vflip: '0',
      hmirror: '0',
      enableMotion: '1',
      socketFps: String(lopts.fps),
    });
  }

  private epoch(): number {
    return Math.floor(Date.now() / 1000);
  }

  sendText(payload: string): void {
    if (this.connected) this.ws!.send(`#${this.epoch()}|${payload}`);
  }

  protected onOpen(): void {
    for (let i = 0; i < (this.lopts.framesBeforeHello ?? 1); i++) this.sendFrame();
    this.sendText(JSON.stringify(this.quickStatus()));
    this.startFrames(1000 / Number(this.state.socketFps));
  }

  quickStatus(): Record<string, string> {
    return {
      hostName: this.opts.id,
      camModel: 'OV2640',
      fw_version: this.lopts.fwVersion ?? '8.8',
      framesize: String(this.state.framesize),
      quality: String(this.state.quality),
      lampLevel: String(this.state.lampLevel),
      llevel: '0',
      night: 'No',
      atemp: '45.1',
      wifi_rssi: '-61 dBm',
      free_heap: '123456',
      free_psram: '3000000',
      up_time: '0-00:12:34',
      clockUTC: new Date().toISOString(),
      fps: String(this.state.socketFps),
      vflip: String(this.state.vflip),
      hmirror: String(this.state.hmirror),
    };
  }

  sendFrame(): void {
    const jpeg = this.nextJpeg();
    this.seq++;
    const msg = Buffer.concat([jpeg, Buffer.from(String(this.epoch()), 'ascii')]);
    const frag = this.lopts.fragmentBytes ?? 10 * 1024;
    if (msg.length <= frag) {
      this.ws!.send(msg, { binary: true });
    } else {
      for (let o = 0; o < msg.length; o += frag)
        this.ws!.send(msg.subarray(o, o + frag), { binary: true, fin: o + frag >= msg.length });
    }
    this.framesSent++;
  }

  setMotion(on: boolean): void {
    this.motionOn = on;
    this.sendText(on ? 'MotionStart' : 'MotionEnd');
  }

  protected onText(text: string): void {
    this.received.push(text);
    this.emit('command', text);
    if (this.busy) {
      this.droppedCommands++;
      return;
    }
    this.busy = true;
    setTimeout(() => {
      this.busy = false;
      for (const item of text.split(';')) this.handle(item.trim());
    }, PROCESSING_MS).unref();
  }

  private handle(item: string): void {
    if (item === 'status?q') return this.sendText(JSON.stringify(this.quickStatus()));
    if (item === 'status')
      return this.sendText(JSON.stringify({ ...this.quickStatus(), card_size: '30436', used_bytes: '1024' }));
    const kv = /^(\w+)=(.*)$/.exec(item);
    if (!kv) return;
    const [, key, value] = kv as unknown as [string, string, string];
    if (key === 'reset') {
      this.ws?.close(1001, 'rebooting');
      return;
    }
    if (key === 'pause') {
      this.state.pause = value === '1';
      clearInterval(this.pauseTimer);
      if (this.state.pause) {
        this.pauseTimer = setInterval(() => this.sendText('paused'), 2000);
        this.pauseTimer.unref();
      }
    } else {
      this.state[key] = value;
    }
    if (key === 'socketFps') this.startFrames(1000 / Math.max(0.1, Number(value)));
    this.sendText(`${key}=${value}`);
  }

  override async stop(): Promise<void> {
    clearInterval(this.pauseTimer);
    await super.stop();
  }
}
