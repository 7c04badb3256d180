import { after, before, describe, it } from 'node:test';
import { assertHeld, measureDuring, type Rig, startBridgeWithGoodCamera } from './harness.js';

// Hostile HTTP input against a real bridge (issue 13): each case sends the input and checks the bridge
// stayed up, the good viewer kept its frame rate, memory and event loop lag stayed bounded, and the one
// log line was written.

describe('hostile HTTP, default settings', () => {
  let rig: Rig;
  before(async () => {
    rig = await startBridgeWithGoodCamera();
  });
  after(async () => {
    await rig.stop();
  });

  it('baseline: ordinary requests hold every bound (the harness itself)', async () => {
    const m = await measureDuring(rig, async () => {
      for (let i = 0; i < 20; i++) await (await fetch(`${rig.url}/api/cameras`)).arrayBuffer();
    });
    assertHeld(m);
  });
});
