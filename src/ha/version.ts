// Home Assistant versions ("2024.3.3", "2025.1.0b2", "2024.12.0.dev0") and the oldest one cam2mqtt supports.

/** The oldest Home Assistant cam2mqtt's MQTT discovery and `cam2mqtt ha` are made and tested for. */
export const MIN_HA_VERSION = '2024.3.0';

/** [year, month, patch] of a Home Assistant version, or undefined if it is not one. */
export function parseHaVersion(v: unknown): [number, number, number] | undefined {
  if (typeof v !== 'string') return undefined;
  const m = /^\s*(\d{4})\.(\d{1,2})(?:\.(\d+))?/.exec(v);
  if (!m) return undefined;
  return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
}

/** <0, 0 or >0 like a sort comparator; unparseable versions sort first. */
export function compareHaVersions(a: string, b: string): number {
  const pa = parseHaVersion(a);
  const pb = parseHaVersion(b);
  if (!pa || !pb) return pa ? 1 : pb ? -1 : 0;
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i]! - pb[i]!;
  return 0;
}

/** True when `version` is at least MIN_HA_VERSION (a beta or dev build of a newer release counts). */
export function isSupportedHaVersion(version: string, min = MIN_HA_VERSION): boolean {
  return parseHaVersion(version) !== undefined && compareHaVersions(version, min) >= 0;
}
