import { legacyFramesizeTable } from '../../hub/controls.js';

const num = (v: unknown): number | undefined => {
  const n = typeof v === 'number' ? v : Number.parseFloat(String(v));
  return Number.isFinite(n) ? n : undefined;
};

/**
 * MJPEG2SD status keys -> the bridge's info vocabulary (framesize name, rssi dBm, heap bytes, lamp %...),
 * keeping the camera's own keys too so nothing it reports is lost.
 */
export function normalizeLegacyInfo(
  raw: Record<string, unknown>,
  fwVersion: string | undefined,
): Record<string, unknown> {
  // The bridge's own keys first: a camera keeps at most 64 info keys (hub BOUNDS), and a long full
  // status must not push rssi, heap or lamp out. The camera's other keys follow.
  const out: Record<string, unknown> = {};
  const table = legacyFramesizeTable(fwVersion);
  if (raw.framesize !== undefined) {
    const idx = num(raw.framesize);
    if (idx !== undefined && Number.isInteger(idx)) {
      out.framesize_index = idx;
      out.framesize = table[idx] ?? `#${idx}`;
    }
  }
  const map: [string, string][] = [
    ['wifi_rssi', 'rssi'],
    ['free_heap', 'heap'],
    ['free_psram', 'psram'],
    ['atemp', 'temperature'],
    ['quality', 'quality'],
    ['fps', 'fps'],
    ['socketFps', 'stream_fps'],
    ['camPan', 'pan'],
    ['camTilt', 'tilt'],
  ];
  for (const [from, to] of map) {
    if (raw[from] !== undefined) {
      const n = num(raw[from]);
      if (n !== undefined) out[to] = n;
    }
  }
  if (raw.lampLevel !== undefined) {
    const n = num(raw.lampLevel);
    if (n !== undefined) out.lamp = Math.round((n / 15) * 100);
  }
  if (raw.up_time !== undefined) out.uptime = raw.up_time;
  if (raw.hostName !== undefined) out.hostname = raw.hostName;
  for (const k of ['vflip', 'hmirror', 'enableMotion']) {
    if (raw[k] !== undefined)
      out[k === 'enableMotion' ? 'motion_detection' : k] = String(raw[k]) === '1' || raw[k] === true;
  }
  for (const k in raw) if (Object.hasOwn(raw, k) && !Object.hasOwn(out, k)) out[k] = raw[k];
  return out;
}
