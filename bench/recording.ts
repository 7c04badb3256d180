// Issue 16's bench: what recording costs. The same 8 cameras (VGA, 10 fps, one viewer each) with
// recordings off (30), with every frame of every camera recorded (31: `record: continuous`, the
// heaviest mode: one clip file per camera always open), with motion clips only (32: the default
// `record: motion`; each camera reports 3 s of motion every 20 s, so with 5 s of pre- and post-roll a
// clip is open 13 s of every 20 and the ring alone runs between), and both at once (33: continuous
// segments plus the motion clips, every frame written twice during events). Compare cam2mqtt's CPU
// against scenario 30:
//   npm run bench -- --scenario 30,31,32,33
// docs/performance.md ("Recording") has the figures; the target is at most 10 % more. They measure the
// steady state: CPU is counted from 5 s after the frames start (the continuous segments open once an
// hour, not every 10 s), over at least 45 s, so each camera's window holds two whole motion cycles.
import type { Scenario } from './scenarios.js';

const eight = {
  cameras: 8,
  profile: 'VGA',
  fps: 10,
  protocol: 'native',
  viewersPerCamera: 1,
  diagnostic: true,
  warmupS: 5,
  minDurationS: 45,
} as const;

const on = 'recordings:\n  enabled: true\n  min_free_bytes: 0\n';
const motion = { everyMs: 20_000, forMs: 3_000 };

export const RECORDING_SCENARIOS: Scenario[] = [
  { id: 30, name: 'recording off: 8 cameras VGA 10 fps, 1 viewer each', ...eight },
  {
    id: 31,
    name: 'recording on: scenario 30, every frame recorded (record: continuous)',
    ...eight,
    cameraConfig: ['record: continuous'],
    config: on,
  },
  {
    id: 32,
    name: 'motion clips: scenario 30, record: motion, 3 s of motion every 20 s per camera',
    ...eight,
    cameraConfig: ['record: motion'],
    config: on,
    motion,
  },
  {
    id: 33,
    name: 'continuous + motion: scenario 31 with the motion events of 32 (frames written twice during events)',
    ...eight,
    cameraConfig: ['record: continuous'],
    config: on,
    motion,
  },
];
