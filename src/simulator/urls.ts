/**
 * The WebSocket URL cameras dial for a bridge at `base` (http(s)://host:port). Its own module, so the
 * bridge can print it without loading the simulator (which only `demo` and `simulate` run).
 */
export function cameraUrl(base: string, protocol: 'native' | 'mjpeg2sd'): string {
  const u = new URL(base);
  u.protocol = u.protocol === 'https:' || u.protocol === 'wss:' ? 'wss:' : 'ws:';
  u.pathname = protocol === 'mjpeg2sd' ? '/ws' : '/api/camera';
  return u.toString();
}
