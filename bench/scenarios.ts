// The bench's scenarios. To add one, add one entry to SCENARIOS (or import it from a file of its own
// and add it there): the runner needs nothing else. `cameraConfig`/`config` carry what a scenario
// needs of cam2mqtt's configuration beyond the cameras themselves.
import type { Profile } from './load/jpegs.js';
import { RECORDING_SCENARIOS } from './recording.js';

export interface Scenario {
  id: number;
  name: string;
  cameras: number;
  profile: Profile;
  fps: number;
  /**
   * How frames reach the server: dial-in WebSockets (native, mjpeg2sd), or `pulled`: the server pulls
   * each camera's MJPEG stream over HTTP (bench/load/mjpeg-sources.ts, CameraWebServer's format).
   */
  protocol: 'native' | 'mjpeg2sd' | 'pulled';
  viewersPerCamera: number;
  slow?: { count: number; bytesPerSec: number };
  /** Seconds between MQTT snapshots per camera (cam2mqtt only; the baseline has no MQTT). */
  snapshotInterval?: number;
  /** Control-page clients on /api/ws watching every camera (cam2mqtt only). */
  pageClients?: number;
  /** MQTT subscribers on the snapshot topics (cam2mqtt only). */
  mqttSubs?: { normal: number; slow?: { bytesPerSec: number } };
  /** Extra YAML lines under each camera in cam2mqtt's configuration (indented 4 spaces by the runner). */
  cameraConfig?: string[];
  /** Extra top-level YAML appended to cam2mqtt's configuration. */
  config?: string;
  /** Part of the cost-growth series rather than the scenarios of the issues. */
  scaling?: boolean;
  /** Only run when asked for by id (to split a scenario's cost into its parts). */
  diagnostic?: boolean;
  /** Report the idle cost: CPU seconds per camera-hour (scenarios without viewers). */
  idle?: boolean;
  /** Native cameras report motion for `forMs` of every `everyMs`, staggered (bench/recording.ts). */
  motion?: { everyMs: number; forMs: number };
  /**
   * Steady state only: CPU is counted from this many seconds after the frames start (for a cost paid
   * once, like the recordings' files opening), and CPU per GB over the bytes of that window.
   */
  warmupS?: number;
  /** At least this many seconds per run, whatever --duration says (to span whole motion cycles). */
  minDurationS?: number;
}

const home = {
  cameras: 8,
  profile: 'SVGA',
  fps: 10,
  protocol: 'native',
  viewersPerCamera: 3,
  snapshotInterval: 2,
  pageClients: 1,
  mqttSubs: { normal: 1 },
} as const;

const fanout = (id: number, viewers: number): Scenario => ({
  id,
  name: `scaling: 1 camera VGA 25 fps, ${viewers} viewer${viewers === 1 ? '' : 's'}`,
  cameras: 1,
  profile: 'VGA',
  fps: 25,
  protocol: 'native',
  viewersPerCamera: viewers,
  scaling: true,
});
const many = (id: number, cameras: number): Scenario => ({
  id,
  name: `scaling: ${cameras} camera${cameras === 1 ? '' : 's'} VGA 15 fps, 1 viewer each`,
  cameras,
  profile: 'VGA',
  fps: 15,
  protocol: 'native',
  viewersPerCamera: 1,
  scaling: true,
});

/**
 * The scaling series: CPU against viewers (1 camera, 1 -> 200 viewers; scenario 2 is the 200 point) and
 * against cameras (1 -> 64 cameras, 1 viewer each; scenario 3 is the 64 point). The report fits a
 * log-log line through each series: an exponent of 1 is linear growth.
 */
export const SERIES = {
  viewers: { ids: [11, 12, 13, 14, 2], x: (s: Scenario) => s.viewersPerCamera },
  cameras: { ids: [16, 17, 18, 19, 3], x: (s: Scenario) => s.cameras },
} as const;

export const SCENARIOS: Scenario[] = [
  { id: 1, name: 'home: 8 cameras SVGA 10 fps, 3 viewers each, 1 page, MQTT snapshots every 2 s', ...home },
  {
    id: 2,
    name: 'fan-out: 1 camera VGA 25 fps, 200 viewers',
    cameras: 1,
    profile: 'VGA',
    fps: 25,
    protocol: 'native',
    viewersPerCamera: 200,
  },
  {
    id: 3,
    name: 'many cameras: 64 VGA 15 fps, 1 viewer each',
    cameras: 64,
    profile: 'VGA',
    fps: 15,
    protocol: 'native',
    viewersPerCamera: 1,
  },
  {
    id: 4,
    name: 'slow viewers: scenario 1 + 20 viewers at 50 KB/s',
    ...home,
    slow: { count: 20, bytesPerSec: 50_000 },
  },
  {
    id: 5,
    name: 'large frames: 4 UXGA 5 fps, snapshots every 1 s to a slow and a normal subscriber',
    cameras: 4,
    profile: 'UXGA',
    fps: 5,
    protocol: 'native',
    viewersPerCamera: 1,
    snapshotInterval: 1,
    mqttSubs: { normal: 1, slow: { bytesPerSec: 50_000 } },
  },
  { id: 6, name: 'mjpeg2sd: scenario 1 with MJPEG2SD cameras', ...home, protocol: 'mjpeg2sd' },
  // Pulled cameras: cam2mqtt (and the pulled baseline) connect to CameraWebServer-like MJPEG sources.
  {
    id: 7,
    name: 'pulled fan-out: 1 camera VGA 25 fps, 100 viewers',
    cameras: 1,
    profile: 'VGA',
    fps: 25,
    protocol: 'pulled',
    viewersPerCamera: 100,
  },
  {
    id: 8,
    name: 'pulled many: 16 cameras VGA 10 fps, 3 viewers + 1 slow (50 KB/s) each',
    cameras: 16,
    profile: 'VGA',
    fps: 10,
    protocol: 'pulled',
    viewersPerCamera: 3,
    slow: { count: 16, bytesPerSec: 50_000 },
  },
  {
    id: 9,
    name: 'pulled large: 1 camera UXGA 5 fps, 30 viewers',
    cameras: 1,
    profile: 'UXGA',
    fps: 5,
    protocol: 'pulled',
    viewersPerCamera: 30,
  },
  {
    id: 10,
    name: 'pulled idle: 16 cameras VGA 10 fps, no viewers',
    cameras: 16,
    profile: 'VGA',
    fps: 10,
    protocol: 'pulled',
    viewersPerCamera: 0,
    idle: true,
  },
  // Cost growth (SERIES): viewers 1 -> 200 (with scenario 2), cameras 1 -> 64 (with scenario 3).
  fanout(11, 1),
  fanout(12, 10),
  fanout(13, 50),
  fanout(14, 100),
  {
    id: 15,
    name: 'scaling: 16 cameras VGA 15 fps, no viewers',
    cameras: 16,
    profile: 'VGA',
    fps: 15,
    protocol: 'native',
    viewersPerCamera: 0,
    scaling: true,
    idle: true,
  },
  many(16, 1),
  many(17, 4),
  many(18, 16),
  many(19, 32),
  // Scenario 1 taken apart.
  {
    id: 21,
    name: 'diagnostic: scenario 1, MJPEG viewers only',
    ...home,
    pageClients: 0,
    mqttSubs: undefined,
    snapshotInterval: 0,
    diagnostic: true,
  },
  { id: 22, name: 'diagnostic: scenario 1 without the page client', ...home, pageClients: 0, diagnostic: true },
  {
    id: 23,
    name: 'diagnostic: scenario 1 without MQTT snapshots',
    ...home,
    mqttSubs: undefined,
    snapshotInterval: 0,
    diagnostic: true,
  },
  ...RECORDING_SCENARIOS,
];
