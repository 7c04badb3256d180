// cam2mqtt control page: every camera on one wall over one WebSocket.
// Tiles on screen (IntersectionObserver) in a visible tab (visibilitychange) are the only ones the
// bridge sends frames for; frames are drawn into canvases by the page, never re-encoded by the server.

import {
  type AllReply,
  type Failure,
  FRAME_KIND,
  type HelloMessage,
  type MotionMessage,
  type PageCamera,
  type Preset,
  type Reply,
  type ServerMessage,
  type StatsMessage,
} from '../protocol.js';
import { Events } from './events.js';
import { decodeFrame, PageSocket, type SocketState } from './socket.js';
import { Tile } from './tile.js';
import { copyText, h, ICONS, prefs, session } from './ui.js';

/** An element of index.html, which the page's code is written against. */
const $ = <E extends Element = HTMLElement>(sel: string) => document.querySelector(sel) as E;

/** What the status strip reads from the bridge status (GET /api/bridge's status; every part optional). */
interface StatusView {
  mqtt?: { connected?: boolean; state?: string; mode?: string; clients?: number; port?: number; server?: string };
  homeassistant?: {
    state?: string;
    linked?: boolean;
    configured?: boolean;
    url?: string;
    version?: string;
    cameras?: number;
    error?: string;
  };
  page?: { clients?: number };
  viewers?: number;
}

export class App {
  readonly tiles = new Map<string, Tile>();
  private readonly byIdx = new Map<number, Tile>();
  presets: Preset[] = [];
  /** The frame sizes every camera family knows: from hello, which comes before any tile. */
  framesizes: string[] = [];
  streamToken: string | null = null;
  private serverOffset = 0;
  solo: string | null = null;
  private status: Record<string, unknown> = {};
  private watchSent: string | null = null;
  private watchTimer: ReturnType<typeof setTimeout> | 0 = 0;
  private flashTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly wall = $('#wall');
  private sortBy = prefs.get('sort', 'name');
  private filter = '';
  private density = 'm';
  readonly socket: PageSocket;
  private readonly observer: IntersectionObserver;
  /** Recorded events (strips, recent events, the player): once the bridge says it records. */
  private events: Events | undefined;

  constructor() {
    // Relative to the page: under a path prefix (Home Assistant ingress) too.
    const ws = new URL('api/ws', location.href);
    ws.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    this.socket = new PageSocket(ws.href);
    this.socket.on('message', (e) => this.onMessage(e.detail));
    this.socket.on('frame', (e) => this.onFrame(e.detail));
    this.socket.on('state', (e) => this.onSocketState(e.detail));
    this.observer = new IntersectionObserver(
      (entries) => {
        for (const en of entries) {
          const tile = this.tiles.get(en.target.closest<HTMLElement>('.tile')?.dataset.id ?? '');
          if (tile) tile.visible = en.isIntersecting;
        }
        this.scheduleWatch();
      },
      { rootMargin: '120px' },
    );
    document.addEventListener('visibilitychange', () => this.scheduleWatch());
    for (const el of document.querySelectorAll('.here')) el.textContent = location.host;
    this.bindToolbar();
    this.setDensity(prefs.get('density', 'm'));
    setInterval(() => {
      for (const t of this.tiles.values()) t.tick();
    }, 1000);
    this.socket.connect();
  }

  serverNow(): number {
    return Date.now() + this.serverOffset;
  }

  // ---------------------------------------------------------------- messages

  private onMessage(m: ServerMessage): void {
    switch (m.t) {
      case 'hello':
        return this.onHello(m);
      case 'cam':
        return this.upsert(m.cam);
      case 'removed':
        return this.remove(m.id);
      case 'info':
        return this.tiles.get(m.id)?.applyInfo(m.patch);
      case 'log':
        return this.tiles.get(m.id)?.addLog(m.entry);
      case 'motion':
        return this.onMotion(m);
      case 'clip':
        return this.events?.onClip(m);
      case 'stats':
        return this.onStats(m);
      case 'presets':
        return this.setPresets(m.presets);
      case 'error':
        return console.warn('cam2mqtt refused a message:', m.error);
      default:
        return undefined;
    }
  }

  private onHello(m: HelloMessage): void {
    this.serverOffset = m.server_time - Date.now();
    this.streamToken = m.stream_token ?? null;
    this.framesizes = m.framesizes ?? this.framesizes;
    $('#logout').hidden = !m.auth;
    $('#version').textContent = `v${m.version}`;
    const ids = new Set(m.cameras.map((c) => c.id));
    for (const id of [...this.tiles.keys()]) if (!ids.has(id)) this.remove(id);
    // A restarted bridge numbers cameras afresh.
    this.byIdx.clear();
    for (const c of m.cameras) {
      // A reconnect starts fresh: the tile keeps its picture, but takes the bridge's log and state.
      const t = this.tiles.get(c.id);
      if (t) {
        t.info = { ...c.info };
        t.update(c);
        t.setMotion(c.motion, c.motion_region);
        this.byIdx.set(c.idx, t);
      } else {
        this.upsert(c);
      }
    }
    this.setPresets(m.presets ?? []);
    this.status = m.status ?? {};
    if (this.status.recordings && !this.events) {
      this.events = new Events(this);
      for (const t of this.tiles.values()) this.events.attach(t);
    }
    this.renderStatus();
    this.watchSent = null;
    this.scheduleWatch();
    const hash = new URLSearchParams(location.hash.slice(1)).get('cam');
    if (hash && this.tiles.has(hash)) this.setSolo(hash);
  }

  private upsert(cam: PageCamera): void {
    let t = this.tiles.get(cam.id);
    if (t) {
      t.update(cam);
    } else {
      t = new Tile(this, cam);
      this.tiles.set(cam.id, t);
      this.events?.attach(t);
      this.observer.observe(t.view);
      this.layout();
    }
    if (cam.idx !== undefined) this.byIdx.set(cam.idx, t);
    this.renderStatus();
  }

  private remove(id: string): void {
    const t = this.tiles.get(id);
    if (!t) return;
    this.observer.unobserve(t.view);
    if (t.cam.idx !== undefined) this.byIdx.delete(t.cam.idx);
    this.tiles.delete(id);
    t.destroy();
    if (this.solo === id) this.setSolo(null);
    this.layout();
    this.renderStatus();
  }

  private onMotion(m: MotionMessage): void {
    const t = this.tiles.get(m.id);
    if (!t) return;
    t.setMotion(m.state === 'start', m.region);
    if (this.sortBy === 'motion') this.layout();
  }

  private onStats(m: StatsMessage): void {
    this.serverOffset = m.server_time - Date.now();
    this.status = m.status ?? this.status;
    for (const c of m.cams) this.tiles.get(c.id)?.update(c);
    this.renderStatus();
  }

  private onFrame(buf: ArrayBuffer): void {
    const f = decodeFrame(buf);
    const t = this.byIdx.get(f.idx);
    // Not ours (any more): still return the credit.
    if (!t || f.kind !== FRAME_KIND) return this.socket.ack(f.idx);
    t.receive(f);
  }

  private onSocketState({ state }: { state: SocketState }): void {
    const el = $('#link');
    el.className = `chip link ${state}`;
    el.textContent = state === 'open' ? 'live' : state === 'connecting' ? 'connecting…' : 'reconnecting…';
    el.title = state === 'open' ? 'Connected to cam2mqtt' : 'Connection to cam2mqtt lost; retrying';
    document.body.classList.toggle('disconnected', state !== 'open');
  }

  // ---------------------------------------------------------------- which tiles get frames

  private scheduleWatch(): void {
    if (this.watchTimer) return;
    this.watchTimer = setTimeout(() => {
      this.watchTimer = 0;
      const ids = document.hidden
        ? []
        : [...this.tiles.values()]
            .filter((t) => t.visible && !t.el.hidden)
            .map((t) => t.id)
            .sort();
      const key = ids.join('\n');
      if (key === this.watchSent || !this.socket.open) return;
      this.watchSent = key;
      this.socket.send({ t: 'watch', ids });
    }, 30);
  }

  // ---------------------------------------------------------------- commands

  command(id: string, text: string): Promise<Reply> {
    return this.socket.request({ t: 'cmd', id, text });
  }

  history(): string[] {
    return session.get<string[]>('history', []);
  }

  remember(text: string): void {
    const hist = this.history().filter((x) => x !== text);
    hist.push(text);
    session.set('history', hist.slice(-50));
  }

  private async queryAll(text: string): Promise<AllReply | Failure> {
    const out = $('#all-result');
    out.className = 'all-result busy';
    out.textContent = `sending “${text}”…`;
    const r = await this.socket.request({ t: 'cmd', all: true, text });
    if (!('results' in r)) {
      out.className = 'all-result bad';
      out.textContent = r.error;
      return r;
    }
    const ok = r.results.filter((x) => x.ok).length;
    out.className = `all-result ${ok === r.results.length ? 'good' : 'bad'}`;
    out.textContent = r.results.length
      ? `“${text}”: ${ok}/${r.results.length} cameras answered`
      : 'no camera is online';
    out.title = r.results.map((x) => `${x.id}: ${x.ok ? 'ok' : x.error}`).join('\n');
    return r;
  }

  private setPresets(list: Preset[]): void {
    this.presets = list;
    const bar = $('#presets');
    bar.replaceChildren(
      ...list.map((p) =>
        h(
          'button.preset',
          {
            type: 'button',
            title: `Send “${p.command}” to every online camera`,
            onclick: () => this.queryAll(p.command),
          },
          p.label,
        ),
      ),
    );
    // Suggestions for every Remote query input.
    $('#preset-list').replaceChildren(...list.map((p) => h('option', { value: p.command, label: p.label })));
    for (const t of this.tiles.values()) t.renderPresets();
  }

  private async savePresets(text: string): Promise<void> {
    const list: Preset[] = [];
    for (const [n, raw] of text.split('\n').entries()) {
      const line = raw.trim();
      if (!line || line.startsWith('#')) continue;
      const i = line.indexOf('|');
      if (i < 1) throw new Error(`line ${n + 1}: expected Label|command`);
      list.push({ label: line.slice(0, i).trim(), command: line.slice(i + 1).trim() });
    }
    const r = await fetch('api/presets', {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(list),
    });
    const body = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(body.error ?? `HTTP ${r.status}`);
    this.setPresets(body);
  }

  copy(text: string, input?: HTMLInputElement): Promise<boolean> {
    return copyText(text, input);
  }

  flash(text: string): void {
    const el = $('#flash');
    el.textContent = text;
    el.classList.add('show');
    clearTimeout(this.flashTimer);
    this.flashTimer = setTimeout(() => el.classList.remove('show'), 2200);
  }

  // ---------------------------------------------------------------- layout

  private layout(): void {
    const tiles = [...this.tiles.values()].sort((a, b) => a.compare(b, this.sortBy));
    let shown = 0;
    for (const t of tiles) {
      t.el.hidden = !t.matches(this.filter);
      if (!t.el.hidden) shown++;
    }
    // Only move what is out of place: re-appending every tile would restart their CSS and focus.
    tiles.forEach((t, i) => {
      if (this.wall.children[i] !== t.el) this.wall.insertBefore(t.el, this.wall.children[i] ?? null);
    });
    $('#empty').hidden = this.tiles.size > 0;
    $('#nomatch').hidden = !(this.tiles.size > 0 && shown === 0);
    this.scheduleWatch();
  }

  setSolo(id: string | null): void {
    const prev = this.solo;
    this.solo = id && this.tiles.has(id) ? id : null;
    if (prev) this.tiles.get(prev)?.el.classList.remove('solo');
    document.body.classList.toggle('solo-mode', Boolean(this.solo));
    const t = this.solo ? this.tiles.get(this.solo) : null;
    if (t) {
      t.el.classList.add('solo');
      t.soloBtn.innerHTML = ICONS.shrink;
      t.el.focus({ preventScroll: true });
      history.replaceState(null, '', `#cam=${encodeURIComponent(t.id)}`);
    } else {
      if (prev) {
        const p = this.tiles.get(prev);
        if (p) {
          p.soloBtn.innerHTML = ICONS.expand;
          p.el.scrollIntoView({ block: 'nearest' });
        }
      }
      if (location.hash) history.replaceState(null, '', location.pathname + location.search);
    }
    this.scheduleWatch();
  }

  private setDensity(d: string): void {
    this.density = ['s', 'm', 'l'].includes(d) ? d : 'm';
    document.documentElement.dataset.density = this.density;
    for (const b of document.querySelectorAll<HTMLElement>('#density button'))
      b.setAttribute('aria-pressed', String(b.dataset.d === this.density));
    prefs.set('density', this.density);
  }

  private renderStatus(): void {
    const s = (this.status ?? {}) as StatusView;
    const chips: HTMLElement[] = [];
    const chip = (label: string, value: string, tone: string, title?: string) =>
      chips.push(h(`span.chip.${tone}`, { title: title ?? `${label}: ${value}` }, h('b', {}, label), ` ${value}`));
    const mqtt = s.mqtt;
    if (mqtt && typeof mqtt === 'object') {
      const connected = mqtt.connected === true || /^(connected|online)$/i.test(String(mqtt.state ?? ''));
      const mode = mqtt.mode ?? '';
      const extra =
        mode === 'embedded' && typeof mqtt.clients === 'number'
          ? ` · ${mqtt.clients} client${mqtt.clients === 1 ? '' : 's'}`
          : '';
      const where = mode === 'embedded' ? `embedded broker on port ${mqtt.port ?? '?'}` : `broker ${mqtt.server ?? ''}`;
      chip(
        'MQTT',
        `${mode ? `${mode} · ` : ''}${connected ? 'connected' : 'disconnected'}${extra}`,
        connected ? 'good' : 'bad',
        `MQTT: ${where}`,
      );
    } else {
      chip('MQTT', 'off', 'dim', 'MQTT is disabled (mqtt.enabled: false)');
    }
    const ha = s.homeassistant;
    if (ha && typeof ha === 'object') {
      const state = String(ha.state ?? (ha.linked ? 'linked' : 'off'));
      if (ha.configured === false || state === 'off') {
        chip(
          'HA',
          'not linked',
          'dim',
          'Home Assistant link is off (set homeassistant.url and homeassistant.token); MQTT discovery still works',
        );
      } else {
        const tone = state === 'linked' ? 'good' : state === 'error' ? 'bad' : 'warn';
        const detail = [
          ha.url,
          ha.version && `HA ${ha.version}`,
          ha.cameras !== undefined && `${ha.cameras} cameras`,
          ha.error,
        ]
          .filter(Boolean)
          .join(' · ');
        chip('HA', state, tone, `Home Assistant: ${state}${detail ? ` (${detail})` : ''}`);
      }
    }
    const cams = [...this.tiles.values()];
    const online = cams.filter((t) => t.cam.online).length;
    chip('Cameras', `${online}/${cams.length} online`, online === cams.length ? 'good' : 'warn');
    const pages = s.page?.clients ?? 0;
    const mjpeg = s.viewers ?? 0;
    chip(
      'Viewers',
      `${pages} page${pages === 1 ? '' : 's'} · ${mjpeg} MJPEG`,
      'dim',
      'Control pages open and MJPEG stream viewers (VLC, Home Assistant, …)',
    );
    $('#status').replaceChildren(...chips);
  }

  // ---------------------------------------------------------------- toolbar, keyboard

  private bindToolbar(): void {
    const filter = $<HTMLInputElement>('#filter');
    filter.addEventListener('input', () => {
      this.filter = filter.value.trim();
      this.layout();
    });
    const sort = $<HTMLSelectElement>('#sort');
    sort.value = this.sortBy;
    sort.addEventListener('change', () => {
      this.sortBy = sort.value;
      prefs.set('sort', this.sortBy);
      this.layout();
    });
    for (const b of document.querySelectorAll<HTMLElement>('#density button'))
      b.addEventListener('click', () => this.setDensity(b.dataset.d ?? 'm'));
    const all = $<HTMLInputElement>('#query-all');
    all.addEventListener('keydown', (e) => {
      if (e.key !== 'Enter') return;
      const text = all.value.trim();
      if (!text) return;
      this.remember(text);
      all.value = '';
      this.queryAll(text);
    });
    const dialog = $<HTMLDialogElement>('#presets-dialog');
    const area = $<HTMLTextAreaElement>('#presets-text');
    $('#edit-presets').addEventListener('click', () => {
      area.value = this.presets.map((p) => `${p.label}|${p.command}`).join('\n');
      $('#presets-error').textContent = '';
      dialog.showModal();
      area.focus();
    });
    $('#presets-cancel').addEventListener('click', () => dialog.close());
    $('#presets-form').addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        await this.savePresets(area.value);
        dialog.close();
        this.flash('Presets saved');
      } catch (err) {
        $('#presets-error').textContent = (err as Error).message;
      }
    });
    // Clicking elsewhere closes a tile's preset menu or stream URL box.
    document.addEventListener('pointerdown', (e) => {
      for (const m of document.querySelectorAll<HTMLElement>(
        '.tile .menu:not([hidden]), .tile .urlpop:not([hidden])',
      )) {
        if (!m.parentElement!.contains(e.target as Node)) m.hidden = true;
      }
    });
    document.addEventListener('keydown', (e) => {
      const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement?.tagName ?? '');
      if (e.key === 'Escape' && this.solo && !dialog.open) {
        this.setSolo(null);
        return;
      }
      if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key === '/') {
        e.preventDefault();
        filter.focus();
      }
    });
    window.addEventListener('hashchange', () => {
      const id = new URLSearchParams(location.hash.slice(1)).get('cam');
      if (id !== this.solo) this.setSolo(id);
    });
  }
}

declare global {
  interface Window {
    /** For tests and the curious. */
    cam2mqtt: App;
  }
}

window.cam2mqtt = new App();
