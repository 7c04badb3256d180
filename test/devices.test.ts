// The device layer (src/devices/) and the control table (src/hub/controls.ts): pure functions, so the
// translations of every camera family are pinned here without a camera.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as cam2mqtt from '../src/devices/cam2mqtt.js';
import * as cameraWebServer from '../src/devices/camera-web-server.js';
import { deviceProfile } from '../src/devices/index.js';
import * as mjpeg2sd from '../src/devices/mjpeg2sd.js';
import {
  CAPABILITIES,
  CONTROL_NAMES,
  CONTROLS,
  type Command,
  CommandError,
  controlEntities,
  parseCommand,
  parseCommandBody,
  requiredCapability,
  STATEFUL_CONTROLS,
} from '../src/hub/controls.js';
import { isJpeg } from '../src/hub/frame.js';
import { CAMERA_ID_RE } from '../src/util/slug.js';

const cmd = (name: string, value?: unknown): Command => parseCommand(name, value);
const ws = (c: Command, fw = '10.2') => {
  const s = mjpeg2sd.setting(c, fw, 'websocket');
  return s && `${s.key}=${s.value}`;
};

describe('the control table', () => {
  // Rules rather than lists, so that a new row needs no edit here.
  it('lists every control once, in table order, and derives the stateful ones and the capabilities', () => {
    assert.deepEqual(CONTROL_NAMES, Object.keys(CONTROLS));
    for (const n of CONTROL_NAMES) {
      const kind = CONTROLS[n].kind;
      // Settings and modes the camera keeps; actions and raw commands leave nothing to show.
      assert.equal(STATEFUL_CONTROLS.has(n), kind !== 'action' && kind !== 'raw', n);
    }
    for (const n of ['lamp', 'framesize', 'quality', 'fps', 'vflip', 'pan', 'pause', 'motion_detection'] as const)
      assert.ok(STATEFUL_CONTROLS.has(n), n);
    // The names docs/protocol.md lists for hello `caps`, plus pause (MJPEG2SD), each once.
    for (const c of ['lamp', 'framesize', 'quality', 'fps', 'flip', 'brightness', 'contrast', 'servo', 'motion'])
      assert.ok((CAPABILITIES as readonly string[]).includes(c), c);
    for (const c of ['snapshot', 'restart', 'pause']) assert.ok((CAPABILITIES as readonly string[]).includes(c), c);
    assert.equal(new Set(CAPABILITIES).size, CAPABILITIES.length);
  });

  it('names the capability a setting needs; actions and modes need none', () => {
    assert.equal(requiredCapability('vflip'), 'flip');
    assert.equal(requiredCapability('tilt'), 'servo');
    assert.equal(requiredCapability('fps'), 'fps');
    for (const n of ['snapshot', 'restart', 'status', 'pause', 'motion_detection', 'raw'] as const)
      assert.equal(requiredCapability(n), undefined, n);
  });

  it('validates by kind: toggles, ranges (integer or not), lamp percent, frame sizes, actions, raw', () => {
    assert.deepEqual(cmd('VFLIP', 'on'), { name: 'vflip', value: true });
    assert.deepEqual(cmd('pause', 0), { name: 'pause', value: false });
    assert.deepEqual(cmd('quality', '12'), { name: 'quality', value: 12 });
    assert.deepEqual(cmd('fps', 2.5), { name: 'fps', value: 2.5 });
    assert.deepEqual(cmd('lamp', 'ON'), { name: 'lamp', value: 100 });
    assert.deepEqual(cmd('lamp', '40'), { name: 'lamp', value: 40 });
    assert.deepEqual(cmd('framesize', ' vga '), { name: 'framesize', value: 'VGA' });
    assert.deepEqual(cmd('restart', 'PRESS'), { name: 'restart' });
    assert.deepEqual(cmd('raw', ' status?q '), { name: 'raw', value: 'status?q' });
    assert.deepEqual(parseCommandBody({ command: 'reset=1' }), { name: 'raw', value: 'reset=1' });
    const invalid = (f: () => unknown, re: RegExp) =>
      assert.throws(f, (e: unknown) => e instanceof CommandError && e.code === 'invalid' && re.test(e.message));
    invalid(() => cmd('quality', 2.5), /quality: expected an integer from 4 to 63/);
    invalid(() => cmd('brightness', 3), /from -2 to 2/);
    invalid(() => cmd('fps', 0), /fps: expected a number from 1 to 60/);
    invalid(() => cmd('framesize', 'HUGE'), /framesize: expected one of 96X96/);
    invalid(() => cmd('vflip', 'maybe'), /vflip: expected ON\/OFF/);
    invalid(() => cmd('zoom', 1), /unknown control "zoom" \(expected one of lamp, framesize, quality, fps/);
    invalid(() => parseCommandBody({ lamp: 1, vflip: 1 }), /exactly one key/);
  });

  it('gives every control entity the capability it is announced for, and stateful entities a state', () => {
    const byName = new Map(controlEntities().map((e) => [e.name, e]));
    for (const n of ['lamp', 'framesize', 'quality', 'pan', 'tilt', 'snapshot', 'restart'] as const)
      assert.ok(byName.has(n), n);
    assert.equal(byName.get('snapshot')!.entity.when, undefined, 'every camera has a snapshot button');
    assert.equal(byName.get('pan')!.entity.when, 'servo');
    for (const e of byName.values()) {
      assert.equal(e.stateful, STATEFUL_CONTROLS.has(e.name));
      // A stateful entity shows the camera's value: its template reads the control's own info key.
      if (e.stateful)
        assert.match(String(e.entity.fields.value_template), new RegExp(`value_json\\.${e.name}\\b`), e.name);
      if (e.entity.component === 'number') {
        const row: { kind: string; min?: number; max?: number } = CONTROLS[e.name];
        assert.equal(e.entity.fields.min, row.min, `${e.name}: HA min is the validation's`);
        assert.equal(e.entity.fields.max, row.max, `${e.name}: HA max is the validation's`);
      }
    }
  });
});

describe('mjpeg2sd', () => {
  it('speaks its own keys and scales over the WebSocket', () => {
    assert.equal(ws(cmd('lamp', 100)), 'lampLevel=15');
    assert.equal(ws(cmd('lamp', 50)), 'lampLevel=8');
    assert.equal(ws(cmd('quality', 10)), 'quality=10');
    assert.equal(ws(cmd('vflip', true)), 'vflip=1');
    assert.equal(ws(cmd('hmirror', false)), 'hmirror=0');
    assert.equal(ws(cmd('pause', true)), 'pause=1');
    assert.equal(ws(cmd('motion_detection', true)), 'enableMotion=1');
    assert.equal(ws(cmd('pan', 45)), 'camPan=45');
    assert.equal(ws(cmd('tilt', 90)), 'camTilt=90');
    assert.equal(ws(cmd('restart')), 'reset=1');
    for (const n of ['snapshot', 'status']) assert.equal(ws(cmd(n)), undefined, `${n} is the transport's`);
  });

  it('sets the frame rate the bridge receives: socketFps over the WebSocket, fps over HTTP', () => {
    assert.equal(ws(cmd('fps', 4)), 'socketFps=4');
    assert.deepEqual(mjpeg2sd.setting(cmd('fps', 4), '10', 'http'), {
      key: 'fps',
      value: '4',
      info: { fps_setting: 4 },
    });
    // The socket's pause exists only on the socket.
    assert.equal(mjpeg2sd.setting(cmd('pause', true), '10', 'http'), undefined);
  });

  it('picks the framesize table by firmware version and refuses sizes the version lacks', () => {
    assert.equal(ws(cmd('framesize', 'VGA'), '8.8'), 'framesize=8');
    assert.equal(ws(cmd('framesize', 'VGA'), '10.1'), 'framesize=10');
    assert.equal(
      mjpeg2sd.setting(cmd('framesize', 'UXGA'), undefined, 'websocket')?.value,
      '13',
      'unknown version: the v8 table',
    );
    assert.equal(mjpeg2sd.framesizeTable('v10.0')[7], '320X320');
    assert.throws(
      () => ws(cmd('framesize', 'QHD'), '8.8'),
      (e: unknown) =>
        e instanceof CommandError && e.code === 'unsupported' && /does not exist on MJPEG2SD 8\.8/.test(e.message),
    );
  });

  it('normalises status: framesize name, numbers from "-60 dBm" strings, lamp %, switches, uptime seconds', () => {
    const info = mjpeg2sd.normalizeInfo(
      {
        hostName: 'ESP-CAM',
        framesize: '9',
        wifi_rssi: '-61 dBm',
        free_heap: '123456',
        lampLevel: '15',
        vflip: '1',
        enableMotion: '0',
        up_time: '1-00:00:10',
        socketFps: '5',
        camModel: 'OV2640',
      },
      '8.8',
    );
    assert.equal(info.framesize, 'SVGA');
    assert.equal(info.framesize_index, 9);
    assert.equal(info.rssi, -61);
    assert.equal(info.heap, 123456);
    assert.equal(info.lamp, 100);
    assert.equal(info.vflip, true);
    assert.equal(info.motion_detection, false);
    assert.equal(info.uptime, '1-00:00:10', 'as the camera words it');
    assert.equal(info.uptime_seconds, 86410);
    assert.equal(info.stream_fps, 5);
    assert.equal(info.camModel, 'OV2640', "the camera's own keys stay");
    assert.equal(info.hostname, 'ESP-CAM');
    assert.equal(mjpeg2sd.normalizeInfo({ framesize: '99' }, '10').framesize, '#99');
    assert.equal(mjpeg2sd.normalizeInfo({ up_time: 'soon' }, '10').uptime_seconds, undefined);
    // The bridge's keys come first, so the hub's info-key bound never drops them.
    assert.equal(Object.keys(mjpeg2sd.normalizeInfo({ a: 1, wifi_rssi: '-50' }, '10'))[0], 'rssi');
  });

  it('announces servos only when its status has camPan', () => {
    assert.ok(!mjpeg2sd.capabilities({ hostName: 'x' }).includes('servo'));
    assert.ok(mjpeg2sd.capabilities({ hostName: 'x', camPan: '90' }).includes('servo'));
    for (const c of [...mjpeg2sd.capabilities({ camPan: 1 }), ...mjpeg2sd.HTTP_CAPABILITIES])
      assert.ok((CAPABILITIES as readonly string[]).includes(c), `${c} is a table capability`);
  });
});

describe('camera-web-server', () => {
  it('takes led_intensity 0-255 and the current framesize enum; has no fps, motion, restart or servos', () => {
    const t = (c: Command) => {
      const s = cameraWebServer.setting(c);
      return s && `${s.key}=${s.value}`;
    };
    assert.equal(t(cmd('lamp', 100)), 'led_intensity=255');
    assert.equal(t(cmd('lamp', 'OFF')), 'led_intensity=0');
    assert.equal(t(cmd('framesize', 'VGA')), 'framesize=10');
    assert.equal(t(cmd('contrast', -1)), 'contrast=-1');
    for (const [n, v] of [['fps', 5], ['motion_detection', true], ['restart'], ['pan', 10], ['pause', true]] as const)
      assert.equal(t(cmd(n, v)), undefined, n);
  });

  it('normalises /status', () => {
    const info = cameraWebServer.normalizeStatus({ framesize: 8, led_intensity: 255, vflip: 1, hmirror: 0 });
    assert.equal(info.framesize, 'CIF');
    assert.equal(info.framesize_index, 8);
    assert.equal(info.lamp, 100);
    assert.equal(info.vflip, true);
    assert.equal(info.hmirror, false);
  });
});

describe('cam2mqtt firmware', () => {
  it('refuses a setting the hello did not announce; takes everything when it announced nothing', () => {
    const caps = new Set(['lamp', 'snapshot']);
    assert.equal(cam2mqtt.refusal(cmd('lamp', 1), caps), undefined);
    assert.match(
      cam2mqtt.refusal(cmd('vflip', true), caps)!,
      /does not support vflip \(its capabilities: lamp, snapshot\)/,
    );
    assert.equal(cam2mqtt.refusal(cmd('restart'), caps), undefined, 'actions need no capability');
    assert.equal(cam2mqtt.refusal(cmd('vflip', true), new Set()), undefined);
  });
});

describe('device profiles', () => {
  it('tell the sinks what a camera family shows, by the protocol value it carries', () => {
    assert.equal(deviceProfile('legacy').commandMaxBytes, 127);
    assert.equal(deviceProfile('mjpeg2sd'), deviceProfile('legacy'), 'the family name is accepted too');
    assert.equal(deviceProfile('native').commandMaxBytes, 255);
    assert.equal(deviceProfile('mjpeg').diagnostics, false);
    assert.equal(deviceProfile('mjpeg').commandMaxBytes, undefined);
    assert.equal(deviceProfile(undefined).diagnostics, true, 'not connected yet: a dial-in camera');
    assert.equal(deviceProfile('something-new').model, 'camera');
  });
});

describe('shared helpers', () => {
  it('isJpeg checks the start marker at an offset', () => {
    assert.ok(isJpeg(Buffer.from([0xff, 0xd8, 0xff, 0xd9])));
    assert.ok(!isJpeg(Buffer.from([0xff, 0xd8, 0xff])));
    assert.ok(isJpeg(Buffer.from([0, 0, 0xff, 0xd8, 0xff, 0xd9]), 2));
    assert.ok(!isJpeg(Buffer.from([0, 0, 0xff, 0xd8, 0xff]), 2));
  });

  it('one camera-id pattern', () => {
    assert.ok(CAMERA_ID_RE.test('esp-cam_1'));
    assert.ok(!CAMERA_ID_RE.test('-cam'));
    assert.ok(!CAMERA_ID_RE.test('a'.repeat(49)));
  });
});
