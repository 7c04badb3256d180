// Recorded events on the page (docs/recordings.md): a strip of thumbnails under each tile, the wall's
// recent events across all cameras, and a player that plays a clip in its tile (pause, seek, speed
// 1-4x) and then returns to live. Clips come from the events API: the frame list, then the JPEGs by
// Range requests on clip.avi, a batch of frames per request; nothing is decoded by the bridge.

import type { ClipMessage, PageClip } from '../protocol.js';
import type { App } from './app.js';
import type { Tile } from './tile.js';
import { formatClock, h } from './ui.js';

const STRIP_EVENTS = 12;
const RECENT_EVENTS = 30;
/** Frames fetched per Range request. */
const BATCH = 24;

interface ApiEvent {
  id: string;
  event_id: string;
  camera: string;
  kind: 'motion' | 'continuous';
  start_ms: number;
  end: string | null;
  duration_s: number;
  frames: number;
}

const toClip = (e: ApiEvent): PageClip => ({
  id: e.id,
  event_id: e.event_id,
  camera: e.camera,
  kind: e.kind,
  start: e.start_ms,
  end: e.end === null ? null : Date.parse(e.end),
  duration_s: e.duration_s,
  frames: e.frames,
});

const base = (id: string) => `api/events/${encodeURIComponent(id)}`;

async function listEvents(query: string): Promise<PageClip[]> {
  const r = await fetch(`api/events?${query}`);
  if (!r.ok) return [];
  const body = (await r.json()) as { events: ApiEvent[] };
  return body.events.map(toClip);
}

function eventButton(clip: PageClip, play: () => void, withCamera: boolean): HTMLElement {
  const label = `${withCamera ? `${clip.camera} · ` : ''}${formatClock(clip.start)}${clip.end !== null ? ` · ${clip.duration_s.toFixed(0)} s` : ' · recording'}`;
  return h(
    'button.event',
    {
      type: 'button',
      title: `Play the clip of ${formatClock(clip.start)} (${clip.frames} frames)`,
      dataset: { clip: clip.id, camera: clip.camera },
      onclick: play,
    },
    h('img', { src: `${base(clip.id)}/thumbnail.jpg`, alt: '', loading: 'lazy', width: 80, height: 60 }),
    h('span', {}, label),
  );
}

/** The recordings part of the page: created once the bridge says it records (hello's status). */
export class Events {
  private readonly strips = new Map<string, HTMLElement>();
  private readonly recent: HTMLElement;
  private readonly list: HTMLElement;
  private recentClips: PageClip[] = [];

  constructor(private readonly app: App) {
    this.list = h('div.events-list');
    this.recent = h('details.recent-events', { open: true }, h('summary', {}, 'Recent events'), this.list);
    document.querySelector('#wall')!.before(this.recent);
    void this.loadRecent();
  }

  private async loadRecent(): Promise<void> {
    this.recentClips = await listEvents(`limit=${RECENT_EVENTS}`);
    this.renderRecent();
  }

  private renderRecent(): void {
    this.list.replaceChildren(
      ...(this.recentClips.length
        ? this.recentClips.map((c) => eventButton(c, () => this.play(c), true))
        : [h('span.none', {}, 'No events recorded yet')]),
    );
  }

  /** Give a tile its events strip (under the picture). */
  attach(tile: Tile): void {
    if (this.strips.has(tile.id)) return;
    const strip = h('div.events-strip', { 'aria-label': `Recorded events of ${tile.id}` });
    this.strips.set(tile.id, strip);
    tile.view.after(strip);
    void listEvents(`camera=${encodeURIComponent(tile.id)}&limit=${STRIP_EVENTS}`).then((clips) =>
      this.renderStrip(tile.id, clips),
    );
  }

  private readonly stripClips = new Map<string, PageClip[]>();

  private renderStrip(camera: string, clips: PageClip[]): void {
    this.stripClips.set(camera, clips);
    const strip = this.strips.get(camera);
    if (!strip) return;
    strip.replaceChildren(...clips.map((c) => eventButton(c, () => this.play(c), false)));
  }

  /** A clip opened, closed or was removed. */
  onClip(m: ClipMessage): void {
    if (m.clip.kind !== 'motion') return;
    const upsert = (list: PageClip[], max: number) => {
      const rest = list.filter((c) => c.id !== m.clip.id);
      return m.state === 'removed' ? rest : [m.clip, ...rest].sort((a, b) => b.start - a.start).slice(0, max);
    };
    this.renderStrip(m.clip.camera, upsert(this.stripClips.get(m.clip.camera) ?? [], STRIP_EVENTS));
    this.recentClips = upsert(this.recentClips, RECENT_EVENTS);
    this.renderRecent();
  }

  /** Play a clip in its camera's tile. */
  play(clip: PageClip): void {
    const tile = this.app.tiles.get(clip.camera);
    if (!tile) return;
    tile.playback?.stop();
    void new ClipPlayer(tile, clip).start();
  }
}

/**
 * A clip in a tile: its own clock (position in seconds, times the speed), the frame due at the
 * position drawn into the tile's canvas, the JPEGs fetched a batch ahead. At the end, live again.
 */
class ClipPlayer {
  private frames: [tick: number, pos: number, size: number][] = [];
  private tps = 100;
  private duration = 0;
  private position = 0;
  private playing = true;
  private speed = 1;
  private lastAt = 0;
  private shown = -1;
  private drawing = false;
  private timer: ReturnType<typeof setTimeout> | 0 = 0;
  private readonly blobs = new Map<number, Blob>();
  private readonly batches = new Map<number, Promise<void>>();
  private stopped = false;
  private readonly el: HTMLElement;
  private readonly playBtn: HTMLButtonElement;
  private readonly seek: HTMLInputElement;
  private readonly timeEl: HTMLElement;

  constructor(
    private readonly tile: Tile,
    private readonly clip: PageClip,
  ) {
    this.playBtn = h(
      'button.small',
      { type: 'button', title: 'Pause / play (space)', onclick: () => this.toggle() },
      'Pause',
    );
    this.seek = h('input.seek', {
      type: 'range',
      min: 0,
      max: 1,
      step: 0.01,
      value: 0,
      'aria-label': 'Position in the clip',
      oninput: () => this.seekTo(Number(this.seek.value)),
    });
    const speed = h(
      'select.speed',
      {
        'aria-label': 'Speed',
        title: 'Speed',
        onchange: () => {
          this.speed = Number(speed.value);
        },
      },
      ...[1, 2, 3, 4].map((s) => h('option', { value: String(s) }, `${s}×`)),
    );
    this.timeEl = h('span.ptime', {}, '0.0 s');
    this.el = h(
      'div.player',
      { onclick: (e: Event) => e.stopPropagation(), ondblclick: (e: Event) => e.stopPropagation() },
      h('span.pbadge', {}, `▶ ${formatClock(clip.start)}`),
      this.playBtn,
      this.seek,
      this.timeEl,
      speed,
      h('button.small.live', { type: 'button', title: 'Back to live', onclick: () => this.stop() }, 'Live'),
    );
  }

  async start(): Promise<void> {
    this.tile.playback = this;
    this.tile.view.append(this.el);
    this.tile.el.dataset.playing = this.clip.id;
    try {
      const r = await fetch(`${base(this.clip.id)}/frames`);
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      const j = (await r.json()) as { ticks_per_second: number; frames: [number, number, number][] };
      this.frames = j.frames;
      this.tps = j.ticks_per_second;
    } catch (err) {
      this.tile.app.flash(`The clip cannot be played: ${(err as Error).message}`);
      return this.stop();
    }
    if (this.frames.length === 0) return this.stop();
    const last = this.frames.at(-1)!;
    this.duration = Math.max((last[0] + 1) / this.tps, this.clip.duration_s);
    this.seek.max = String(this.duration);
    this.lastAt = performance.now();
    this.step();
  }

  private toggle(): void {
    this.playing = !this.playing;
    this.playBtn.textContent = this.playing ? 'Pause' : 'Play';
    this.tile.el.dataset.paused = this.playing ? '' : '1';
    this.lastAt = performance.now();
  }

  private seekTo(s: number): void {
    this.position = Math.max(0, Math.min(this.duration, s));
    this.lastAt = performance.now();
    this.render();
  }

  private step(): void {
    if (this.stopped) return;
    const now = performance.now();
    if (this.playing) this.position += ((now - this.lastAt) / 1000) * this.speed;
    this.lastAt = now;
    if (this.position >= this.duration) return this.stop();
    this.render();
    this.timer = setTimeout(() => this.step(), 20);
  }

  /** The frame due at the position (the last one at or before it). */
  private frameAt(s: number): number {
    const tick = s * this.tps;
    let lo = 0;
    let hi = this.frames.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.frames[mid]![0] <= tick) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  private render(): void {
    this.seek.value = String(this.position);
    this.timeEl.textContent = `${this.position.toFixed(1)} / ${this.duration.toFixed(1)} s`;
    const i = this.frameAt(this.position);
    void this.fetchBatch(i + BATCH - (i % BATCH));
    if (i !== this.shown && !this.drawing) void this.show(i);
  }

  private async show(i: number): Promise<void> {
    this.drawing = true;
    try {
      await this.fetchBatch(i - (i % BATCH));
      const blob = this.blobs.get(i);
      if (!blob || this.stopped) return;
      const bmp = await createImageBitmap(blob);
      if (!this.stopped) {
        this.tile.drawPicture(bmp);
        this.shown = i;
        this.tile.el.dataset.playFrame = String(i);
      }
      bmp.close();
    } catch {
      // A frame that cannot be fetched or decoded: the next one is tried on the next step.
    } finally {
      this.drawing = false;
    }
  }

  /** Fetch frames [first, first + BATCH) in one Range request (they lie one after another in the file). */
  private fetchBatch(first: number): Promise<void> {
    if (first >= this.frames.length) return Promise.resolve();
    let p = this.batches.get(first);
    if (p) return p;
    const last = Math.min(this.frames.length, first + BATCH) - 1;
    const from = this.frames[first]![1];
    const to = this.frames[last]![1] + this.frames[last]![2] - 1;
    p = fetch(`${base(this.clip.id)}/clip.avi`, { headers: { Range: `bytes=${from}-${to}` } })
      .then((r) => {
        if (r.status !== 206 && r.status !== 200) throw new Error(`HTTP ${r.status}`);
        return r.arrayBuffer();
      })
      .then((buf) => {
        const offset = buf.byteLength === to - from + 1 ? from : 0;
        for (let i = first; i <= last; i++) {
          const [, pos, size] = this.frames[i]!;
          this.blobs.set(i, new Blob([buf.slice(pos - offset, pos - offset + size)], { type: 'image/jpeg' }));
        }
        // Keep memory to a few batches around the position.
        for (const k of this.batches.keys())
          if (Math.abs(k - first) > BATCH * 3) {
            this.batches.delete(k);
            for (let i = k; i < k + BATCH; i++) this.blobs.delete(i);
          }
      })
      .catch(() => {
        this.batches.delete(first);
      });
    this.batches.set(first, p);
    return p;
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    this.el.remove();
    if (this.tile.playback === this) this.tile.playback = undefined;
    delete this.tile.el.dataset.playing;
    delete this.tile.el.dataset.playFrame;
    delete this.tile.el.dataset.paused;
    this.blobs.clear();
  }
}
