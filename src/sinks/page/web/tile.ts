// One camera tile: the picture (canvas), overlays drawn by the page (name, video clock, fps, motion box,
// info messages, offline state), the hover info panel, the Remote query with its log, buttons, D-pad.

import type { LogEntry, MotionRegion, PageCamera, PtzMessage, PtzPosition, Reply } from '../protocol.js';
import type { App } from './app.js';
import type { Frame } from './socket.js';
import {
  collator,
  formatAgo,
  formatBitrate,
  formatBytes,
  formatClock,
  formatFullTime,
  formatRssi,
  formatUptime,
  h,
  ICONS,
  session,
} from './ui.js';

/** A camera as a tile knows it: the bridge's camera JSON, merged from hello, cam and stats messages. */
export type TileCamera = Partial<PageCamera> & { id: string };
type Direction = PtzMessage['direction'];

const LOG_SHOWN = 30;
const LOG_KEPT = 100;
const MESSAGE_MS = 4000;
const FPS_WINDOW_MS = 2000;

const isOn = (v: unknown) => v === true || v === 1 || v === '1';

/** Info keys worth a message on the tile when they change, and how to say it. */
const ANNOUNCE: Record<string, (v: unknown) => string> = {
  framesize: (v) => `Frame size ${v}`,
  lamp: (v) => (Number(v) > 0 ? `Lamp ${v} %` : 'Lamp off'),
  fps: (v) => `${v} fps`,
  stream_fps: (v) => `Stream ${v} fps`,
  quality: (v) => `Quality ${v}`,
  vflip: (v) => `Vertical flip ${isOn(v) ? 'on' : 'off'}`,
  hmirror: (v) => `Mirror ${isOn(v) ? 'on' : 'off'}`,
  paused: (v) => (isOn(v) ? 'Paused' : 'Resumed'),
  pause: (v) => (isOn(v) ? 'Paused' : 'Resumed'),
  motion_detection: (v) => `Motion detection ${isOn(v) ? 'on' : 'off'}`,
  brightness: (v) => `Brightness ${v}`,
  contrast: (v) => `Contrast ${v}`,
  pan: (v) => `Pan ${v}°`,
  tilt: (v) => `Tilt ${v}°`,
  night: (v) => `Night: ${v}`,
};

/** Camera log lines that are messages for people (not JSON, settings echoes, acks or motion). */
function isMessage(text: string): boolean {
  return (
    !/^[{[]/.test(text) &&
    !/^ack \d+/.test(text) &&
    !/^motion (start|end)$/.test(text) &&
    !/^\w+=/.test(text) &&
    !/^Motion(Start|End)$/.test(text)
  );
}

export class Tile {
  readonly id: string;
  cam: TileCamera;
  info: Record<string, unknown>;
  log: LogEntry[];
  notes: LogEntry[];
  visible = false;
  motion = false;
  private decoding = false;
  private next: Frame | null = null;
  private drawn: number[] = [];
  private firstDrawnAt = 0;
  private frames = 0;
  private lastFrame: Frame | null = null;
  lastMotionAt: number;
  private width = 0;
  private height = 0;
  private hovering = false;
  private historyPos: number | undefined;
  private repeat: ReturnType<typeof setInterval> | 0 = 0;
  private sizeKey: string | undefined;
  private presetKey: string | undefined;
  /** A clip playing in this tile (web/events.ts): live frames are acknowledged but not drawn. */
  playback: { stop(): void } | undefined;

  // The DOM, built once in build().
  el!: HTMLElement;
  view!: HTMLElement;
  soloBtn!: HTMLButtonElement;
  private canvas!: HTMLCanvasElement;
  private ctx!: CanvasRenderingContext2D;
  private nameEl!: HTMLElement;
  private hostEl!: HTMLElement;
  private clockEl!: HTMLElement;
  private fpsEl!: HTMLElement;
  private regionEl!: HTMLElement;
  private messagesEl!: HTMLElement;
  private offlineEl!: HTMLElement;
  private waitingEl!: HTMLElement;
  private infoEl!: HTMLElement;
  private pausedEl!: HTMLElement;
  private motionEl!: HTMLElement;
  private dpad!: HTMLElement;
  private logEl!: HTMLOListElement;
  private queryInput!: HTMLInputElement;
  private pauseBtn!: HTMLButtonElement;
  private lampBtn!: HTMLButtonElement;
  private snapLink!: HTMLAnchorElement;
  private sizeSel!: HTMLSelectElement;
  private presetMenu!: HTMLElement;
  private presetBtn!: HTMLButtonElement;
  private infoBtn!: HTMLButtonElement;
  private urlInput!: HTMLInputElement;
  private urlPop!: HTMLElement;
  private urlBtn!: HTMLButtonElement;

  constructor(
    readonly app: App,
    cam: PageCamera,
  ) {
    this.id = cam.id;
    this.cam = cam;
    this.info = { ...(cam.info ?? {}) };
    this.log = (cam.log ?? []).slice(-LOG_KEPT);
    this.notes = session.get<LogEntry[]>(`notes.${cam.id}`, []);
    this.lastMotionAt = cam.motion ? Date.now() : 0;
    this.build();
    this.update(cam, true);
    this.setMotion(cam.motion, cam.motion_region);
    this.renderLog();
  }

  // ---------------------------------------------------------------- DOM

  private build(): void {
    const id = this.id;
    this.canvas = h('canvas', { width: 640, height: 480 });
    this.ctx = this.canvas.getContext('2d', { alpha: false })!;
    this.ctx.fillStyle = '#11161c';
    this.ctx.fillRect(0, 0, 640, 480);
    this.nameEl = h('span.name');
    this.hostEl = h('span.host');
    this.clockEl = h('span.clock', { title: "Video clock: the camera's own time of the frame shown" }, '--:--:--');
    this.fpsEl = h('span.fps', {}, '');
    this.regionEl = h('div.region', { hidden: true });
    this.messagesEl = h('div.messages', { 'aria-live': 'polite' });
    this.offlineEl = h('div.offline-note');
    this.waitingEl = h('div.waiting', {}, 'waiting for the first frame…');
    this.infoEl = h('div.infopanel');
    this.pausedEl = h('div.badge.paused-badge', {}, 'PAUSED');
    this.motionEl = h('div.badge.motion-badge', {}, 'MOTION');
    this.dpad = this.buildDpad();
    this.view = h(
      'div.view',
      {
        ondblclick: () => this.app.setSolo(this.app.solo === id ? null : id),
        onmouseenter: () => {
          this.hovering = true;
          this.renderInfo();
        },
        onmouseleave: () => {
          this.hovering = false;
        },
      },
      this.canvas,
      this.regionEl,
      this.waitingEl,
      h('div.ov.top', {}, h('div.ident', {}, this.nameEl, this.hostEl), h('div.timing', {}, this.clockEl, this.fpsEl)),
      this.motionEl,
      this.pausedEl,
      this.offlineEl,
      this.messagesEl,
      this.infoEl,
      this.dpad,
    );

    // Remote query with its log (shown on hover/focus, as the original page did).
    this.logEl = h('ol.log');
    this.queryInput = h('input.query-input', {
      type: 'text',
      placeholder: 'Remote query: status?q, /lamp on…',
      spellcheck: false,
      autocomplete: 'off',
      list: 'preset-list',
      'aria-label': `Remote query to ${id}`,
      onkeydown: (e: KeyboardEvent) => this.onQueryKey(e),
    });
    const query = h(
      'div.query',
      {},
      this.queryInput,
      h('div.logpop', {}, h('div.logtitle', {}, 'Messages: > sent, < received, ! problems'), this.logEl),
    );

    this.pauseBtn = h('button.icon', {
      type: 'button',
      title: 'Pause / resume the stream',
      onclick: () => this.togglePause(),
    });
    this.lampBtn = h('button.icon', {
      type: 'button',
      title: 'Lamp on / off',
      html: ICONS.lamp,
      onclick: () => this.toggleLamp(),
    });
    this.snapLink = h('a.icon.button', {
      title: 'Snapshot (download the current picture)',
      html: ICONS.camera,
      href: `api/cameras/${encodeURIComponent(id)}/snapshot.jpg`,
      download: `${id}.jpg`,
      onclick: () => {
        this.snapLink.download = `${id}-${new Date().toISOString().replace(/[:.]/g, '-')}.jpg`;
      },
    });
    this.sizeSel = h('select.framesize', {
      title: 'Frame size',
      'aria-label': 'Frame size',
      onchange: () => this.send(`/framesize ${this.sizeSel.value}`),
    });
    this.presetMenu = h('div.menu', {
      hidden: true,
      role: 'menu',
      onkeydown: (e: KeyboardEvent) => {
        if (e.key === 'Escape') {
          this.presetMenu.hidden = true;
          this.presetBtn.focus();
        }
      },
    });
    this.presetBtn = h('button.icon', {
      type: 'button',
      title: 'Presets for this camera',
      'aria-haspopup': 'menu',
      html: ICONS.bolt,
      onclick: () => {
        this.presetMenu.hidden = !this.presetMenu.hidden;
        if (!this.presetMenu.hidden) this.presetMenu.querySelector('button')?.focus();
      },
    });
    this.soloBtn = h('button.icon', {
      type: 'button',
      title: 'Full view (f)',
      html: ICONS.expand,
      onclick: () => this.app.setSolo(this.app.solo === id ? null : id),
    });
    this.infoBtn = h('button.icon', {
      type: 'button',
      title: 'Camera info',
      html: ICONS.info,
      onclick: () => {
        this.el.classList.toggle('pin-info');
        this.renderInfo();
      },
    });
    this.urlInput = h('input.url', { readOnly: true, onfocus: () => this.urlInput.select() });
    this.urlPop = h(
      'div.urlpop',
      { hidden: true },
      h('div.urltitle', {}, 'MJPEG stream for VLC, Home Assistant, browsers'),
      h(
        'div.urlrow',
        {},
        this.urlInput,
        h(
          'button.small',
          {
            type: 'button',
            onclick: async () => {
              const ok = await this.app.copy(this.streamUrl(), this.urlInput);
              this.app.flash(ok ? 'Stream URL copied' : 'Select the URL and copy it');
            },
          },
          'Copy',
        ),
      ),
    );
    this.urlBtn = h('button.icon', {
      type: 'button',
      title: 'Stream URL (MJPEG)',
      html: ICONS.link,
      onclick: () => {
        this.urlPop.hidden = !this.urlPop.hidden;
        this.urlInput.value = this.streamUrl();
        if (!this.urlPop.hidden) this.urlInput.focus();
      },
    });

    this.el = h(
      'article.tile',
      {
        tabIndex: 0,
        dataset: { id },
        'aria-label': `Camera ${id}`,
        onkeydown: (e: KeyboardEvent) => this.onTileKey(e),
      },
      this.view,
      h(
        'div.controls',
        {},
        query,
        h(
          'div.buttons',
          {},
          this.pauseBtn,
          this.snapLink,
          this.lampBtn,
          this.sizeSel,
          this.presetBtn,
          h('span.spacer'),
          this.urlBtn,
          this.infoBtn,
          this.soloBtn,
        ),
        this.presetMenu,
        this.urlPop,
      ),
    );
  }

  private buildDpad(): HTMLElement {
    const btn = (dir: Direction, label: string) =>
      h(`button.d-${dir}`, {
        type: 'button',
        title: `${label} (arrow keys when the tile is focused; Shift = small step)`,
        'aria-label': label,
        html: ICONS[dir],
        onpointerdown: (e: PointerEvent) => {
          e.preventDefault();
          this.startRepeat(dir);
        },
        onpointerup: () => this.stopRepeat(),
        onpointerleave: () => this.stopRepeat(),
        onpointercancel: () => this.stopRepeat(),
        onclick: (e: MouseEvent) => {
          if (e.detail === 0) this.ptz(dir);
        }, // keyboard activation
      });
    return h(
      'div.dpad',
      { hidden: true },
      btn('up', 'Tilt up'),
      btn('left', 'Pan left'),
      btn('home', 'Centre'),
      btn('right', 'Pan right'),
      btn('down', 'Tilt down'),
    );
  }

  streamUrl(): string {
    const base = `${location.origin}/api/cameras/${encodeURIComponent(this.id)}/stream.mjpeg`;
    return this.app.streamToken ? `${base}?token=${encodeURIComponent(this.app.streamToken)}` : base;
  }

  // ---------------------------------------------------------------- state from the bridge

  update(cam: Partial<PageCamera>, initial = false): void {
    const wasOnline = this.cam.online;
    this.cam = { ...this.cam, ...cam };
    if (cam.info && !initial) this.applyInfo(cam.info, true);
    if (cam.log) this.log = cam.log.slice(-LOG_KEPT);
    const c = this.cam;
    this.nameEl.textContent = c.name || c.id;
    const host = this.info.hostname ?? (c.name !== c.id ? c.id : '');
    this.hostEl.textContent = host && host !== c.name ? String(host) : '';
    this.el.classList.toggle('offline', !c.online);
    this.el.dataset.online = String(c.online);
    this.el.dataset.protocol = c.protocol ?? '';
    if (!initial && wasOnline !== c.online) this.message(c.online ? 'Back online' : 'Went offline');
    const caps = new Set(c.capabilities ?? []);
    const any = caps.size === 0;
    this.dpad.hidden = !caps.has('servo');
    this.el.classList.toggle('has-servo', caps.has('servo'));
    this.lampBtn.hidden = !(any || caps.has('lamp'));
    this.sizeSel.hidden = !(any || caps.has('framesize'));
    this.renderControls();
    this.tick();
    if (cam.log) this.renderLog();
  }

  /** Merge an info patch; announce the changes people care about at the bottom of the tile. */
  applyInfo(patch: Record<string, unknown>, quiet = false): void {
    for (const [k, v] of Object.entries(patch)) {
      const before = this.info[k];
      this.info[k] = v;
      const announce = ANNOUNCE[k];
      if (!quiet && before !== v && announce && before !== undefined) this.message(announce(v));
    }
    if (patch.hostname) this.update({});
    this.renderControls();
    if (this.hovering || this.el.classList.contains('pin-info')) this.renderInfo();
  }

  addLog(entry: LogEntry): void {
    this.log.push(entry);
    if (this.log.length > LOG_KEPT) this.log.shift();
    if (entry.dir === '<' && isMessage(entry.text)) this.message(entry.text.replace(/^\[info\] /, ''));
    this.renderLog();
  }

  /** A local problem (bad command, bridge unreachable): kept for the tab's session, across reloads. */
  note(text: string): void {
    this.notes.push({ t: Date.now(), dir: '!', text });
    if (this.notes.length > LOG_SHOWN) this.notes.shift();
    session.set(`notes.${this.id}`, this.notes);
    this.renderLog();
  }

  setMotion(on: boolean | undefined, region: MotionRegion | null | undefined): void {
    this.motion = Boolean(on);
    if (on) this.lastMotionAt = Date.now();
    this.el.classList.toggle('motion', this.motion);
    this.el.dataset.motion = String(this.motion);
    const r = on ? region : null;
    this.regionEl.hidden = !r;
    if (r) {
      Object.assign(this.regionEl.style, {
        left: `${r.x * 100}%`,
        top: `${r.y * 100}%`,
        width: `${r.w * 100}%`,
        height: `${r.h * 100}%`,
      });
    }
  }

  message(text: string): void {
    const m = h('div.msg', {}, text);
    this.messagesEl.append(m);
    while (this.messagesEl.childElementCount > 3) this.messagesEl.firstElementChild!.remove();
    setTimeout(() => {
      m.classList.add('fade');
      setTimeout(() => m.remove(), 400);
    }, MESSAGE_MS);
  }

  // ---------------------------------------------------------------- frames

  /** A frame from the socket. Latest frame wins: while one decodes, only the newest waits. */
  receive(f: Frame): void {
    if (this.playback) return this.app.socket.ack(f.idx);
    if (this.decoding) {
      if (this.next) this.app.socket.ack(this.next.idx);
      this.next = f;
      return;
    }
    this.decode(f);
  }

  private async decode(f: Frame): Promise<void> {
    this.decoding = true;
    try {
      const bmp = await createImageBitmap(new Blob([f.jpeg as Uint8Array<ArrayBuffer>], { type: 'image/jpeg' }));
      if (!this.playback) this.draw(bmp, f);
      bmp.close();
    } catch {
      // A broken JPEG: keep the previous picture.
    }
    this.app.socket.ack(f.idx);
    this.decoding = false;
    const n = this.next;
    if (n) {
      this.next = null;
      this.decode(n);
    }
  }

  /** Draw a picture into the tile (a live frame, or a clip's frame while one plays). */
  drawPicture(bmp: ImageBitmap): void {
    if (bmp.width !== this.width || bmp.height !== this.height) {
      this.width = this.canvas.width = bmp.width;
      this.height = this.canvas.height = bmp.height;
      this.el.style.setProperty('--ar', String(bmp.width / bmp.height));
    }
    this.ctx.drawImage(bmp, 0, 0);
  }

  private draw(bmp: ImageBitmap, f: Frame): void {
    this.drawPicture(bmp);
    const now = performance.now();
    if (!this.drawn.length) this.firstDrawnAt = now;
    this.drawn.push(now);
    while (this.drawn.length && now - this.drawn[0]! > FPS_WINDOW_MS) this.drawn.shift();
    this.frames++;
    this.lastFrame = f;
    this.waitingEl.hidden = true;
    this.clockEl.textContent = formatClock(f.cameraTime);
    this.clockEl.title = `Video clock (camera time): ${formatFullTime(f.cameraTime)}`;
    const ds = this.el.dataset;
    ds.seq = String(f.seq);
    ds.cameraTime = String(f.cameraTime);
    ds.frames = String(this.frames);
  }

  /** Frames drawn per second over the last two seconds (a stalled camera decays to 0). */
  get fps(): number {
    const d = this.drawn;
    const now = performance.now();
    while (d.length && now - d[0]! > FPS_WINDOW_MS) d.shift();
    if (d.length < 2) return 0;
    // Until the window has filled, measure between the first and last frame drawn.
    if (now - this.firstDrawnAt < FPS_WINDOW_MS) return ((d.length - 1) * 1000) / Math.max(1, d[d.length - 1]! - d[0]!);
    return (d.length * 1000) / FPS_WINDOW_MS;
  }

  /** Once a second: fps text, offline age. */
  tick(): void {
    const fps = this.fps;
    this.fpsEl.textContent = this.lastFrame && this.cam.online ? `${fps.toFixed(fps < 10 ? 1 : 0)} fps` : '';
    this.el.dataset.fps = fps.toFixed(2);
    if (!this.cam.online) {
      const seen = this.cam.last_seen_ms;
      this.offlineEl.textContent = seen
        ? `Offline · last seen ${formatAgo(this.app.serverNow() - seen)}`
        : 'Offline · never seen';
    }
    if (this.hovering || this.el.classList.contains('pin-info')) this.renderInfo();
  }

  // ---------------------------------------------------------------- rendering

  /** MJPEG2SD reports `paused` (and echoes pause=1/0); our firmware reports `pause`. */
  get paused(): boolean {
    return isOn(this.info.paused ?? this.info.pause);
  }

  private renderControls(): void {
    const paused = this.paused;
    this.el.classList.toggle('paused', paused);
    this.pauseBtn.innerHTML = paused ? ICONS.play : ICONS.pause;
    this.pauseBtn.title = paused ? 'Resume the stream' : 'Pause the stream';
    this.pauseBtn.setAttribute('aria-pressed', String(paused));
    const lamp = Number(this.info.lamp) > 0;
    this.lampBtn.classList.toggle('on', lamp);
    this.lampBtn.setAttribute('aria-pressed', String(lamp));
    const sizes = [...this.app.framesizes];
    const cur = typeof this.info.framesize === 'string' ? this.info.framesize : '';
    if (cur && !sizes.includes(cur)) sizes.unshift(cur);
    const key = `${sizes.join()}|${cur}`;
    if (this.sizeKey !== key) {
      this.sizeKey = key;
      this.sizeSel.replaceChildren(
        ...(cur ? [] : [h('option', { value: '', disabled: true, selected: true }, 'Size')]),
        ...sizes.map((s) => h('option', { value: s, selected: s === cur }, s)),
      );
    }
    this.renderPresets();
  }

  renderPresets(): void {
    const key = JSON.stringify(this.app.presets);
    if (this.presetKey === key) return;
    this.presetKey = key;
    const items = this.app.presets.map((p) =>
      h(
        'button',
        {
          type: 'button',
          role: 'menuitem',
          title: p.command,
          onclick: () => {
            this.presetMenu.hidden = true;
            this.send(p.command);
          },
        },
        h('span', {}, p.label),
        h('code', {}, p.command),
      ),
    );
    this.presetMenu.replaceChildren(
      ...(items.length ? items : [h('div.none', {}, 'No presets yet: use Edit next to the presets above.')]),
    );
  }

  private renderLog(): void {
    const entries = [...this.log, ...this.notes].sort((a, b) => a.t - b.t).slice(-LOG_SHOWN);
    const time = (t: number) => new Date(t).toTimeString().slice(0, 8);
    this.logEl.replaceChildren(
      ...entries.map((e) =>
        h(
          `li.dir-${e.dir === '>' ? 'out' : e.dir === '<' ? 'in' : 'note'}`,
          {},
          h('time', {}, time(e.t)),
          h('b', {}, e.dir),
          h('span', {}, e.text),
        ),
      ),
    );
    if (!entries.length) this.logEl.append(h('li.empty', {}, 'Nothing sent or received yet.'));
    this.logEl.scrollTop = this.logEl.scrollHeight;
  }

  private renderInfo(): void {
    const c = this.cam;
    const i = this.info;
    const rows: [string, string][] = [];
    const add = (k: string, ...parts: unknown[]) => {
      const v = parts.filter((p) => p !== undefined && p !== null && p !== '').join(' · ');
      if (v) rows.push([k, v]);
    };
    const protocols: Record<string, string> = {
      // 'legacy' is the old name of mjpeg2sd (issue 14 renames it).
      legacy: 'ESP32-CAM_MJPEG2SD (/ws)',
      mjpeg2sd: 'ESP32-CAM_MJPEG2SD (/ws)',
      native: 'cam2mqtt native (/api/camera)',
      mjpeg: 'MJPEG over HTTP (pulled)',
      snapshot: 'JPEG stills over HTTP (pulled)',
    };
    add('Protocol', protocols[c.protocol ?? ''] ?? c.protocol);
    add('Device', c.model ?? i.camModel, c.firmware ?? i.fw_version);
    add('Address', c.remote);
    add(
      'Picture',
      i.framesize,
      this.width ? `${this.width}×${this.height}` : '',
      i.quality !== undefined ? `quality ${i.quality}` : '',
    );
    add(
      'fps',
      this.lastFrame ? `${this.fps.toFixed(1)} shown` : '',
      c.fps !== undefined ? `${c.fps} received` : '',
      i.fps !== undefined ? `${i.fps} set` : '',
    );
    if (c.bitrate) add('Bitrate', formatBitrate(c.bitrate));
    if (i.rssi !== undefined) add('Wi-Fi', formatRssi(i.rssi));
    if (i.uptime !== undefined) add('Uptime', formatUptime(i.uptime));
    add(
      'Memory',
      i.heap !== undefined ? `heap ${formatBytes(i.heap)}` : '',
      i.psram !== undefined ? `PSRAM ${formatBytes(i.psram)}` : '',
    );
    add('Lamp', i.lamp !== undefined ? `${i.lamp} %` : '');
    if (i.pan !== undefined || i.tilt !== undefined) add('Pan / tilt', `${i.pan ?? '?'}° / ${i.tilt ?? '?'}°`);
    if (i.temperature !== undefined) add('Temperature', `${i.temperature} °C`);
    if (this.lastFrame) {
      const skew = (this.lastFrame.cameraTime - this.lastFrame.receivedAt) / 1000;
      add(
        'Video clock',
        formatFullTime(this.lastFrame.cameraTime),
        `${skew >= 0 ? '+' : ''}${skew.toFixed(1)} s vs bridge`,
      );
      add('Frame', `#${this.lastFrame.seq}`, `${this.frames} shown here`);
    }
    add('Capabilities', (c.capabilities ?? []).join(', '));
    this.infoEl.replaceChildren(
      h(
        'dl',
        {},
        rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
      ),
    );
  }

  // ---------------------------------------------------------------- actions

  async send(text: string): Promise<Reply> {
    this.el.classList.add('busy');
    const r = await this.app.command(this.id, text);
    this.el.classList.remove('busy');
    if (!r.ok) {
      // Camera errors are in the bridge's log already; the rest only this page knows about.
      if (['invalid', 'refused', 'offline', 'timeout'].includes(r.code) || !this.cam.online)
        this.note(`${text}: ${r.error}`);
      this.message(`✕ ${r.error}`);
    }
    return r;
  }

  private togglePause(): void {
    const paused = this.paused;
    this.send(`/pause ${paused ? 'off' : 'on'}`).then((r) => {
      // MJPEG2SD says "paused" but not "resumed": record what we asked for.
      if (r.ok) this.applyInfo(this.info.paused !== undefined ? { paused: !paused } : { pause: !paused });
    });
  }

  private toggleLamp(): void {
    this.send(`/lamp ${Number(this.info.lamp) > 0 ? 'off' : 'on'}`);
  }

  private onQueryKey(e: KeyboardEvent): void {
    const input = this.queryInput;
    if (e.key === 'Enter') {
      const text = input.value.trim();
      if (!text) return;
      this.app.remember(text);
      input.value = '';
      this.historyPos = undefined;
      this.send(text);
    } else if (e.key === 'ArrowUp' || e.key === 'ArrowDown') {
      const hist = this.app.history();
      if (!hist.length) return;
      e.preventDefault();
      let pos = this.historyPos ?? hist.length;
      pos = Math.max(0, Math.min(hist.length, pos + (e.key === 'ArrowUp' ? -1 : 1)));
      this.historyPos = pos;
      input.value = hist[pos] ?? '';
    } else if (e.key === 'Escape') {
      input.blur();
    }
    e.stopPropagation();
  }

  private onTileKey(e: KeyboardEvent): void {
    if (e.target !== this.el) return;
    const dirs: Record<string, Direction> = {
      ArrowUp: 'up',
      ArrowDown: 'down',
      ArrowLeft: 'left',
      ArrowRight: 'right',
      Home: 'home',
    };
    const dir = dirs[e.key];
    if (dir && this.cam.capabilities?.includes('servo')) {
      e.preventDefault();
      this.ptz(dir, e.shiftKey ? 2 : undefined);
    } else if (e.key === 'f') {
      this.app.setSolo(this.app.solo === this.id ? null : this.id);
    } else if (e.key === 'Enter') {
      e.preventDefault();
      this.queryInput.focus();
    }
  }

  /** One servo step; without `step` the bridge uses the camera's own step (10° for dial-in cameras). */
  async ptz(direction: Direction, step?: number): Promise<Reply<PtzPosition>> {
    const r = await this.app.socket.request({ t: 'ptz', id: this.id, direction, ...(step ? { step } : {}) });
    if (r.ok && r.answer) {
      this.dpad.title = `Pan ${r.answer.pan}° · tilt ${r.answer.tilt}°`;
    } else if (!r.ok) {
      this.message(`✕ ${r.error}`);
    }
    return r;
  }

  private startRepeat(dir: Direction): void {
    this.stopRepeat();
    this.ptz(dir);
    // Holding a D-pad button keeps stepping.
    this.repeat = setInterval(() => this.ptz(dir), 350);
  }

  private stopRepeat(): void {
    if (this.repeat) clearInterval(this.repeat);
    this.repeat = 0;
  }

  /** For sorting: name order, online first, recent motion. */
  compare(other: Tile, by: string): number {
    if (by === 'online' && this.cam.online !== other.cam.online) return this.cam.online ? -1 : 1;
    if (by === 'motion' && this.lastMotionAt !== other.lastMotionAt) return other.lastMotionAt - this.lastMotionAt;
    return (
      collator.compare(this.cam.name || this.id, other.cam.name || other.id) || collator.compare(this.id, other.id)
    );
  }

  matches(filter: string): boolean {
    if (!filter) return true;
    const c = this.cam;
    const hay = [
      c.id,
      c.name,
      c.protocol,
      c.model,
      this.info.hostname,
      c.online ? 'online' : 'offline',
      this.motion ? 'motion' : '',
    ]
      .join(' ')
      .toLowerCase();
    return filter
      .toLowerCase()
      .split(/\s+/)
      .every((w) => hay.includes(w));
  }

  destroy(): void {
    this.stopRepeat();
    this.el.remove();
  }
}
