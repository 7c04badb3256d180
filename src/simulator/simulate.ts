import type { SimulatedCamera } from './camera.js';
import { parseSize } from './frames.js';
import { SimulatedMjpeg2sdCamera } from './mjpeg2sd-camera.js';
import { SimulatedNativeCamera } from './native-camera.js';

export { cameraUrl } from './urls.js';

export interface SimulateOptions {
  url: string;
  cameras: number;
  fps: number;
  size: string;
  protocol: 'native' | 'mjpeg2sd';
  motionEvery?: number;
  idPrefix?: string;
  token?: string;
  /** wss:// without checking the certificate (the demo's own bridge with a self-signed one). */
  insecure?: boolean;
}

/** Start N simulated cameras; ids are <prefix>-1..N (mjpeg2sd: hostNames ESP-CAM-SIM-1..N). */
export function startSimulatedCameras(o: SimulateOptions): SimulatedCamera[] {
  const { width, height } = parseSize(o.size);
  const cams: SimulatedCamera[] = [];
  for (let i = 1; i <= o.cameras; i++) {
    const hue = (i * 67) % 360;
    const base = {
      url: o.url,
      fps: o.fps,
      width,
      height,
      hue,
      ...(o.motionEvery ? { motionEvery: o.motionEvery } : {}),
      ...(o.token ? { token: o.token } : {}),
      ...(o.insecure ? { tls: { rejectUnauthorized: false } } : {}),
    };
    cams.push(
      o.protocol === 'mjpeg2sd'
        ? new SimulatedMjpeg2sdCamera({ ...base, id: `${(o.idPrefix ?? 'ESP-CAM-SIM').toUpperCase()}-${i}` })
        : new SimulatedNativeCamera({ ...base, id: `${o.idPrefix ?? 'sim'}-${i}`, name: `Simulated ${i}` }),
    );
  }
  for (const c of cams) c.start();
  return cams;
}
