// Small DOM and formatting helpers shared by the page modules.

/** The tag of an h() spec: 'div.tile' -> 'div'. */
type TagOf<S extends string> = S extends `${infer T}.${string}` ? T : S;
/** The element type h() returns for a spec: h('canvas') is an HTMLCanvasElement. */
export type ElementOf<S extends string> =
  TagOf<S> extends keyof HTMLElementTagNameMap ? HTMLElementTagNameMap[TagOf<S>] : HTMLElement;
/** Properties and attributes for h(): on* functions become listeners, the rest properties or attributes. */
export type Props = Record<string, unknown>;
export type Child = Node | string | number | null | undefined | false;

/** h('div.tile', {onclick}, child, ...): an element with classes, properties/attributes and children. */
export function h<S extends string>(spec: S, props: Props = {}, ...children: (Child | Child[])[]): ElementOf<S> {
  const [tag, ...classes] = spec.split('.');
  // The spec's tag is the element's tag, so the element is what ElementOf names.
  const el = document.createElement(tag || 'div') as ElementOf<S>;
  if (classes.length) el.className = classes.join(' ');
  for (const [k, v] of Object.entries(props ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v as EventListener);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'html') el.innerHTML = String(v);
    else if (k in el && typeof v !== 'string') (el as unknown as Record<string, unknown>)[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** The video clock: HH:MM:SS (with the date when it is not today, tenths when the camera has ms). */
export function formatClock(ms: number, withTenths?: boolean): string {
  const d = new Date(ms);
  const now = new Date();
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${withTenths ? `.${Math.floor(d.getMilliseconds() / 100)}` : ''}`;
  const sameDay =
    d.getFullYear() === now.getFullYear() && d.getMonth() === now.getMonth() && d.getDate() === now.getDate();
  return sameDay ? time : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}`;
}

export function formatFullTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function formatAgo(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return 'just now';
  const s = Math.round(ms / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ago`;
  const hr = Math.floor(m / 60);
  if (hr < 48) return `${hr} h ${m % 60} min ago`;
  return `${Math.floor(hr / 24)} days ago`;
}

export function formatBytes(n: unknown): string {
  if (typeof n !== 'number' || !Number.isFinite(n)) return String(n);
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10240 ? 1 : 0)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export function formatBitrate(bps: number): string {
  if (!bps) return '0';
  if (bps < 1e6) return `${Math.round(bps / 1000)} kbit/s`;
  return `${(bps / 1e6).toFixed(1)} Mbit/s`;
}

/** Uptime: seconds from our firmware, "d-hh:mm:ss" strings from MJPEG2SD. */
export function formatUptime(v: unknown): string {
  if (typeof v !== 'number') return String(v);
  const d = Math.floor(v / 86400);
  const rest = `${pad(Math.floor((v % 86400) / 3600))}:${pad(Math.floor((v % 3600) / 60))}:${pad(Math.floor(v % 60))}`;
  return d ? `${d} d ${rest}` : rest;
}

export function formatRssi(v: unknown): string {
  const n = typeof v === 'number' ? v : Number.parseFloat(String(v));
  if (!Number.isFinite(n)) return String(v);
  const q = n >= -55 ? 'excellent' : n >= -67 ? 'good' : n >= -75 ? 'fair' : 'weak';
  return `${n} dBm (${q})`;
}

/** Natural, case-insensitive order: cam-2 before cam-10. */
export const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

/** Session-scoped storage that never throws (private mode, quotas). */
export const session = {
  get<T>(key: string, fallback: T): T {
    try {
      const v = sessionStorage.getItem(key);
      return v === null ? fallback : JSON.parse(v);
    } catch {
      return fallback;
    }
  },
  set(key: string, value: unknown): void {
    try {
      sessionStorage.setItem(key, JSON.stringify(value));
    } catch {
      /* ignore */
    }
  },
};

export const prefs = {
  get<T>(key: string, fallback: T): T {
    try {
      const v = localStorage.getItem(`cam2mqtt.${key}`);
      return v === null ? fallback : JSON.parse(v);
    } catch {
      return fallback;
    }
  },
  set(key: string, value: unknown): void {
    try {
      localStorage.setItem(`cam2mqtt.${key}`, JSON.stringify(value));
    } catch {
      /* ignore */
    }
  },
};

/** Copy text; falls back to selecting it when the Clipboard API is unavailable (plain http). */
export async function copyText(text: string, input?: HTMLInputElement): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    if (input) {
      input.focus();
      input.select();
      try {
        return document.execCommand('copy');
      } catch {
        return false;
      }
    }
    return false;
  }
}

// Icons: inline SVG (no icon font, no requests), stroke follows currentColor.
const svg = (body: string, vb = '0 0 24 24') =>
  `<svg viewBox="${vb}" width="18" height="18" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">${body}</svg>`;
export const ICONS = {
  pause: svg('<rect x="6" y="5" width="4" height="14" rx="1"/><rect x="14" y="5" width="4" height="14" rx="1"/>'),
  play: svg('<path d="M7 5l12 7-12 7z"/>'),
  camera: svg(
    '<path d="M4 8h3l2-3h6l2 3h3a1 1 0 0 1 1 1v9a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1V9a1 1 0 0 1 1-1z"/><circle cx="12" cy="13" r="3.5"/>',
  ),
  lamp: svg('<path d="M9 18h6M10 21h4M12 3a6 6 0 0 0-4 10.5c.8.8 1 1.5 1 2.5h6c0-1 .2-1.7 1-2.5A6 6 0 0 0 12 3z"/>'),
  expand: svg('<path d="M4 9V4h5M20 9V4h-5M4 15v5h5M20 15v5h-5"/>'),
  shrink: svg('<path d="M9 4v5H4M15 4v5h5M9 20v-5H4M15 20v-5h5"/>'),
  link: svg(
    '<path d="M10 14a4 4 0 0 0 5.7 0l3-3a4 4 0 0 0-5.7-5.7l-1 1"/><path d="M14 10a4 4 0 0 0-5.7 0l-3 3a4 4 0 0 0 5.7 5.7l1-1"/>',
  ),
  info: svg('<circle cx="12" cy="12" r="9"/><path d="M12 11v6M12 7.5v.5"/>'),
  up: svg('<path d="M6 15l6-6 6 6"/>'),
  down: svg('<path d="M6 9l6 6 6-6"/>'),
  left: svg('<path d="M15 6l-6 6 6 6"/>'),
  right: svg('<path d="M9 6l6 6-6 6"/>'),
  home: svg('<circle cx="12" cy="12" r="3"/>'),
  edit: svg('<path d="M4 20h4L19 9l-4-4L4 16z"/><path d="M14 6l4 4"/>'),
  send: svg('<path d="M4 12l16-8-6 16-3-7z"/>'),
  bolt: svg('<path d="M13 3L5 13h6l-1 8 8-10h-6z"/>'),
};
