// The camera families cam2mqtt knows (one module each) and the one place that maps the protocol value a
// camera carries in the hub (Camera.protocol, cameras.json) to its family. Sinks ask this module what a
// camera offers; they never compare protocol names themselves.
import * as cam2mqtt from './cam2mqtt.js';
import * as mjpeg2sd from './mjpeg2sd.js';
import type { DeviceProfile } from './types.js';

export type { DeviceProfile, DeviceSetting } from './types.js';

/** Cameras pulled over HTTP: whatever serves the stream; diagnostics and raw commands are not theirs. */
const pulled: DeviceProfile = { model: 'camera', diagnostics: false, commandMaxBytes: undefined };
/** A camera that never connected yet (configured, or stored without a protocol): a dial-in camera. */
const unknown: DeviceProfile = {
  model: 'camera',
  diagnostics: true,
  commandMaxBytes: cam2mqtt.profile.commandMaxBytes,
};

const profiles: Readonly<Record<string, DeviceProfile>> = {
  [cam2mqtt.PROTOCOL]: cam2mqtt.profile,
  [mjpeg2sd.PROTOCOL]: mjpeg2sd.profile,
  // The family's own name, accepted wherever a protocol value is read.
  mjpeg2sd: mjpeg2sd.profile,
  mjpeg: pulled,
  snapshot: pulled,
};

/** What the sinks show for a camera of this protocol (undefined: not connected yet). */
export function deviceProfile(protocol: string | undefined): DeviceProfile {
  if (protocol === undefined) return unknown;
  return Object.hasOwn(profiles, protocol) ? profiles[protocol]! : pulled;
}
