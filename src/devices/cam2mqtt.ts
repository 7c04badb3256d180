// cam2mqtt's own firmware (firmware/, native protocol v1, docs/protocol.md). It speaks the bridge's
// vocabulary natively, so there is nothing to translate: the device knowledge is which capability a
// command needs and what the sinks show for it.
import { type Command, requiredCapability } from '../hub/controls.js';
import type { DeviceProfile } from './types.js';

export const PROTOCOL = 'native';

export const profile: DeviceProfile = {
  model: 'ESP32 camera (cam2mqtt firmware)',
  diagnostics: true,
  // The native protocol's text messages hold a command of up to 255 bytes.
  commandMaxBytes: 255,
};

/**
 * Why the camera cannot take `cmd`, or undefined when it can. A camera that announced no capabilities
 * at all gets everything (older firmware); otherwise settings need their capability in the hello.
 */
export function refusal(cmd: Command, caps: ReadonlySet<string>): string | undefined {
  const cap = requiredCapability(cmd.name);
  if (!cap || caps.size === 0 || caps.has(cap)) return undefined;
  return `does not support ${cmd.name} (its capabilities: ${[...caps].join(', ')})`;
}
