// Fuzz: MQTT command payloads (src/sinks/mqtt/commands.ts, src/hub/controls.ts, topic classification).
// parseCommand/parseCommandBody throw only CommandError; the handler never rejects, answers every
// message with exactly one JSON response, and refuses bad input with CommandError, never a crash.
// The handler runs against a real CameraHub (one configured, offline camera) and a recording MQTT
// transport: a broker per input would limit the runs to a few hundred, and the broker path has its own
// tests (mqtt-embedded, mqtt-mosquitto).
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import fc from 'fast-check';
import { Topics } from '../../src/formats/mqtt-topics.js';
import { CONTROL_NAMES, CommandError, parseCommand, parseCommandBody } from '../../src/hub/controls.js';
import { CameraHub } from '../../src/hub/hub.js';
import { createLogger } from '../../src/logging.js';
import type { Transport } from '../../src/sinks/mqtt/client.js';
import { CommandHandler } from '../../src/sinks/mqtt/commands.js';
import { Publisher } from '../../src/sinks/mqtt/state.js';
import { fuzz, MAX_MS, never, only } from './fuzz.js';

const controlName = fc.oneof(
  fc.constantFrom(...CONTROL_NAMES, 'command', 'LAMP', ' fps ', 'Framesize'),
  fc.string({ unit: 'binary', maxLength: 20 }),
);
const value = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom('ON', 'OFF', 'true', 'no', '1', '0', '100', '-2', '63', 'VGA', 'uxga', ' 12 ', '1e3', 'NaN', ''),
  fc.double(),
  fc.string({ unit: 'binary', maxLength: 40 }),
);

test('fuzz controls: parseCommand and parseCommandBody throw only CommandError and return valid commands', () =>
  fuzz(
    'mqtt parse command',
    2000,
    fc.property(controlName, value, fc.jsonValue({ maxDepth: 2 }), (name, v, body) => {
      const c = only(CommandError, 'parseCommand', () => parseCommand(name, v));
      if (!(c instanceof Error)) {
        assert.ok(CONTROL_NAMES.includes(c.name));
        assert.ok(c.value === undefined || ['number', 'boolean', 'string'].includes(typeof c.value));
        if (typeof c.value === 'number') assert.ok(Number.isFinite(c.value));
        if (typeof c.value === 'string') assert.ok(c.value.length <= String(v).length);
      } else assert.equal(c.code, 'invalid');
      const b = only(CommandError, 'parseCommandBody', () => parseCommandBody(body));
      if (b instanceof Error) assert.equal(b.code, 'invalid');
      only(CommandError, 'parseCommandBody', () => parseCommandBody({ [name]: v }));
    }),
  ));

const topics = new Topics({ base: 'cam2mqtt', discoveryPrefix: 'homeassistant', haStatus: 'homeassistant/status' });

test('fuzz topics: classify never throws; a set id or control never holds a "/"', () =>
  fuzz(
    'mqtt topics',
    2000,
    fc.property(
      fc.oneof(
        fc.string({ unit: 'binary', maxLength: 60 }),
        fc
          .array(
            fc.oneof(
              fc.constantFrom('cam2mqtt', 'set', 'bridge', 'request', '', '+', '#', 'cam1'),
              fc.string({ maxLength: 6 }),
            ),
            { maxLength: 6 },
          )
          .map((a) => a.join('/')),
      ),
      (t) => {
        const c = never('classify', () => topics.classify(t));
        if (c.kind === 'set') {
          assert.ok(!c.id.includes('/') && c.id !== 'bridge');
          assert.ok(c.control === undefined || !c.control.includes('/'));
        }
      },
    ),
  ));

/** Records what the handler publishes, as the MQTT client would send it. */
class RecordingTransport extends EventEmitter {
  readonly mode = 'embedded' as const;
  readonly connected = true;
  sent: { topic: string; payload: string }[] = [];
  start(): void {}
  async publish(topic: string, payload: Buffer | string): Promise<void> {
    this.sent.push({ topic, payload: String(payload) });
  }
  async subscribe(): Promise<void> {}
  async readRetained(): Promise<Map<string, Buffer>> {
    return new Map();
  }
  async stop(): Promise<void> {}
  status(): Record<string, unknown> {
    return {};
  }
}

function handler() {
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', format: 'json', destination: { write: (s: string) => lines.push(s) } });
  const hub = new CameraHub({
    logger: log,
    configured: { cam1: {} },
    allowUnknown: true,
    maxCameras: 16,
    cameraTimeoutMs: 60_000,
    commandTimeoutMs: 1000,
  });
  const transport = new RecordingTransport();
  const h = new CommandHandler(hub, new Publisher(transport as unknown as Transport), topics, log, {
    health: () => ({ ok: true }),
  });
  return { h, transport, lines };
}

const payload = fc.oneof(
  fc.uint8Array({ maxLength: 200 }).map((u) => Buffer.from(u)),
  fc.jsonValue({ maxDepth: 3 }).map((j) => Buffer.from(JSON.stringify(j))),
  fc
    .record(
      {
        id: fc.oneof(fc.constantFrom('cam1', 'nope', ''), fc.jsonValue()),
        name: fc.jsonValue(),
        control: fc.jsonValue(),
        value,
        transaction: fc.jsonValue(),
      },
      { requiredKeys: [] },
    )
    .chain((o) => fc.dictionary(controlName, value, { maxKeys: 2 }).map((extra) => ({ ...extra, ...o })))
    .map((o) => Buffer.from(JSON.stringify(o))),
  value.map((v) => Buffer.from(typeof v === 'string' ? v : (JSON.stringify(v) ?? ''))),
);

const requestPath = fc.oneof(
  fc.constantFrom(
    'camera/list',
    'cameras',
    'camera/remove',
    'camera/rename',
    'camera/snapshot',
    'camera/command',
    'health_check',
    'health',
  ),
  fc.string({ maxLength: 20 }),
);

test('fuzz MQTT commands: every set and request is answered once with JSON; refusals are CommandErrors', () =>
  fuzz(
    'mqtt command handler',
    1000,
    fc.asyncProperty(
      fc.constantFrom('cam1', 'nope', 'bridge', 'x'),
      fc.option(controlName, { nil: undefined }),
      requestPath,
      payload,
      async (id, control, path, body) => {
        const { h, transport, lines } = handler();
        const t0 = performance.now();
        await h.handleSet(id, control, body);
        await h.handleRequest(path, body);
        const ms = performance.now() - t0;
        assert.ok(ms <= MAX_MS, `took ${ms.toFixed(0)} ms`);
        const responses = transport.sent.filter((m) => m.topic.startsWith('cam2mqtt/bridge/response/'));
        assert.deepEqual(
          responses.map((r) => r.topic),
          ['cam2mqtt/bridge/response/camera/set', `cam2mqtt/bridge/response/${path}`],
        );
        for (const r of responses) {
          const j = JSON.parse(r.payload) as { status: string; error?: string };
          assert.ok(j.status === 'ok' || (j.status === 'error' && typeof j.error === 'string'));
          // Answers echo at most the input (plus a fixed text): nothing grows.
          assert.ok(r.payload.length <= 2 * body.length + 2 * (control?.length ?? 0) + 2 * path.length + 1500);
        }
        // The camera is offline: a set never succeeds.
        assert.equal(JSON.parse(responses[0]!.payload).status, 'error');
        // Only CommandErrors: the handler logs the stack of anything else.
        for (const l of lines) assert.ok(!/\n\s+at /.test(JSON.parse(l).msg), `unexpected error: ${l.slice(0, 400)}`);
      },
    ),
  ));

test('a refused huge value gives a short error that still names the control and the expectation', () => {
  for (const [name, value] of [
    ['quality', 'x'.repeat(1_000_000)],
    ['lamp', 'y'.repeat(1_000_000)],
    ['framesize', 'z'.repeat(1_000_000)],
  ] as const) {
    assert.throws(
      () => parseCommand(name, value),
      (err: unknown) =>
        err instanceof CommandError &&
        err.message.startsWith(`${name}: expected`) &&
        err.message.includes('(1000002 characters)') &&
        err.message.length < 300,
    );
  }
});
