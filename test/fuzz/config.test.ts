// Fuzz: the configuration (src/config/load.ts, schema.ts). Whatever the file, the environment or the
// values hold, loadConfig returns a config or throws ConfigError (never a TypeError or a zod error),
// and a refusal names the key that is wrong.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import fc from 'fast-check';
import YAML from 'yaml';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { fuzz, only, repeated } from './fuzz.js';

const dir = mkdtempSync(path.join(tmpdir(), 'cam2mqtt-fuzz-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const example = path.join(import.meta.dirname, '../../../config/configuration.example.yaml');

// A valid configuration with every key: the example's settings, defaults filled in, and cameras of each kind.
const base = JSON.parse(
  JSON.stringify({
    ...loadConfig({ file: example, env: {}, dataDir: dir }).config,
    cameras: {
      garage: { name: 'Garage', token: 'secret-token', snapshot_interval: 30 },
      door: {
        mjpeg_url: 'http://10.0.0.2:81/stream',
        snapshot_url: 'http://10.0.0.2/capture',
        control_url: 'http://10.0.0.2/control?var={key}&val={value}',
        read_timeout: 3,
      },
    },
  }),
) as Record<string, unknown>;

/** Every key path of a value ("http", "http.port", "cameras.door.mjpeg_url", ...). */
function paths(v: unknown, prefix: string[] = []): string[][] {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return [];
  return Object.entries(v).flatMap(([k, x]) => [[...prefix, k], ...paths(x, [...prefix, k])]);
}
const allPaths = paths(base);

type Mutation = { path: string[]; op: 'set' | 'delete' | 'add'; key: string; value: unknown };
const mutation: fc.Arbitrary<Mutation> = fc.record({
  path: fc.constantFrom(...allPaths),
  op: fc.constantFrom('set' as const, 'set' as const, 'delete' as const, 'add' as const),
  key: fc.oneof(
    fc.constantFrom('port', 'host', 'name', 'token', 'GARAGE', 'bad id', '__proto__', 'constructor'),
    fc.string({ maxLength: 10 }),
  ),
  value: fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.constantFrom(-1, 0, 1.5, 65536, 1e308, '', 'http://', 'ftp://x', 'yes', null, [], {}),
  ),
});

function apply(ms: Mutation[]): { raw: Record<string, unknown>; touched: string[] } {
  const raw = structuredClone(base);
  const touched: string[] = [];
  for (const m of ms) {
    let o: Record<string, unknown> = raw;
    let ok = true;
    for (const k of m.path.slice(0, -1)) {
      const next = o[k];
      if (typeof next !== 'object' || next === null || Array.isArray(next)) {
        ok = false;
        break;
      }
      o = next as Record<string, unknown>;
    }
    if (!ok) continue;
    const last = m.path.at(-1)!;
    if (m.op === 'set') o[last] = m.value;
    else if (m.op === 'delete') delete o[last];
    else {
      const target = o[last];
      if (typeof target !== 'object' || target === null || Array.isArray(target)) continue;
      Object.defineProperty(target, m.key, { value: m.value, enumerable: true, writable: true, configurable: true });
    }
    touched.push(m.path[0]!);
  }
  return { raw, touched };
}

test('fuzz config values: loadConfig throws only ConfigError, and names the section that is wrong', () => {
  // The base itself is valid.
  loadConfig({ raw: base, env: {}, dataDir: dir });
  return fuzz(
    'config values',
    1000,
    fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (ms) => {
      const { raw, touched } = apply(ms);
      const r = only(ConfigError, 'loadConfig', () => loadConfig({ raw, env: {}, dataDir: dir }));
      if (r instanceof ConfigError) {
        assert.match(r.message, /^invalid configuration: /);
        assert.ok(
          touched.some((k) => r.message.includes(k)),
          `"${r.message.slice(0, 300)}" names none of ${touched.join(', ')}`,
        );
      } else {
        // What was accepted is accepted again, unchanged.
        assert.deepEqual(
          loadConfig({ raw: JSON.parse(JSON.stringify(r.config)), env: {}, dataDir: dir }).config,
          r.config,
        );
      }
    }),
  );
});

const yamlText = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  // The example's YAML with a few characters changed, inserted or removed.
  {
    weight: 4,
    arbitrary: fc
      .tuple(
        fc.array(mutation, { maxLength: 2 }),
        fc.array(
          fc.tuple(
            fc.nat(),
            fc.nat(3),
            fc.constantFrom(':', ' ', '\n', '-', '"', "'", '&a', '*a', '!!binary', '{', '[', '#', '\t', 'x'),
          ),
          { maxLength: 4 },
        ),
      )
      .map(([ms, edits]) => {
        let t = YAML.stringify(apply(ms).raw);
        for (const [at, del, ins] of edits) {
          const i = at % (t.length + 1);
          t = t.slice(0, i) + ins + t.slice(i + del);
        }
        return t;
      }),
  },
  // Alias bombs and deep nesting.
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'a: &a [x, x]\nb: &b [*a, *a]\nc: &c [*b, *b]\nd: [*c, *c, *c, *c]\n',
      'http: *nope\n',
      '%YAML 9.9\n---\n',
      '--- !!js/function "x"\n',
    ),
  },
  // Nesting up to 200 levels: the yaml library recurses per level, and ~800 levels overflow the stack (a
  // ConfigError "Maximum call stack size exceeded", after up to seconds; the operator's own file).
  { weight: 1, arbitrary: repeated(['[', '{', '- ', 'a:\n  ', '&a ', '"\\', "'"], 200) },
);

test('fuzz config files: any YAML text gives a config or a ConfigError', () =>
  fuzz(
    'config files',
    500,
    fc.property(yamlText, (text) => {
      const file = path.join(dir, 'configuration.yaml');
      writeFileSync(file, text);
      const r = only(ConfigError, 'loadConfig', () => loadConfig({ file, env: {}, dataDir: dir }));
      if (r instanceof ConfigError) assert.ok(r.message.length > 0 && r.message.length < 64 * 1024);
    }),
  ));

const envName = fc.oneof(
  fc
    .array(
      fc.oneof(
        fc.constantFrom(
          'http',
          'port',
          'mqtt',
          'base',
          'topic',
          'cameras',
          'garage',
          'door',
          'token',
          'auth',
          'limits',
          'max',
          'log',
          'level',
          'x',
          '',
        ),
        fc.string({ maxLength: 5 }),
      ),
      {
        minLength: 1,
        maxLength: 5,
      },
    )
    .map((a) => `CAM2MQTT_${a.join('_').toUpperCase()}`),
  fc.string({ maxLength: 20 }),
);

test('fuzz config environment: any CAM2MQTT_* variables give a config or a ConfigError', () =>
  fuzz(
    'config environment',
    1000,
    fc.property(fc.dictionary(envName, fc.string({ unit: 'binary', maxLength: 30 }), { maxKeys: 4 }), (env) => {
      const r = only(ConfigError, 'loadConfig', () => loadConfig({ raw: base, env, dataDir: dir }));
      if (r instanceof ConfigError) assert.ok(/CAM2MQTT_|invalid configuration/.test(r.message), r.message);
    }),
  ));
