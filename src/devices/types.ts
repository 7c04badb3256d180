// What a device module (one camera family) gives the sources that carry it and the sinks that show it.

/** One setting in the camera's own words: `key=value` over WebSocket, `/control?key=value` over HTTP. */
export interface DeviceSetting {
  key: string;
  value: string;
  /**
   * What to merge into the camera's info once the camera said yes, for transports where the camera
   * does not echo its settings (HTTP). Empty: nothing to merge.
   */
  info: Record<string, unknown>;
}

/** What the sinks need to know about a camera family, beyond its capabilities. */
export interface DeviceProfile {
  /** The device model shown in Home Assistant when the camera does not name one. */
  readonly model: string;
  /** The camera reports Wi-Fi signal, uptime, heap and frame size (HA diagnostic sensors). */
  readonly diagnostics: boolean;
  /** Longest raw command the camera takes (HA command text entity); undefined: no raw commands. */
  readonly commandMaxBytes: number | undefined;
}

export const num = (v: unknown): number | undefined => {
  const n = typeof v === 'number' ? v : Number.parseFloat(String(v));
  return Number.isFinite(n) ? n : undefined;
};

/** "1"/1/true -> true, anything else false (the firmwares send their switches as 0/1 strings). */
export const flag = (v: unknown): boolean => String(v) === '1' || v === true;
