// Issue 16's bench: what recording costs. The same 8 cameras (VGA, 10 fps, one viewer each) with
// recordings off (30) and with every frame of every camera recorded (31: `record: continuous`, the
// heaviest mode: one clip file per camera always open). Compare cam2mqtt's CPU between the two:
//   npm run bench -- --scenario 30,31
// docs/performance.md ("Recording") has the figure; the target is at most 10 % more.
import type { Scenario } from './scenarios.js';

const eight = {
  cameras: 8,
  profile: 'VGA',
  fps: 10,
  protocol: 'native',
  viewersPerCamera: 1,
  diagnostic: true,
} as const;

export const RECORDING_SCENARIOS: Scenario[] = [
  { id: 30, name: 'recording off: 8 cameras VGA 10 fps, 1 viewer each', ...eight },
  {
    id: 31,
    name: 'recording on: scenario 30, every frame recorded (record: continuous)',
    ...eight,
    cameraConfig: ['record: continuous'],
    config: 'recordings:\n  enabled: true\n  min_free_bytes: 0\n',
  },
];
