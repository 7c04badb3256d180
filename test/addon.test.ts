// The Home Assistant add-on (deploy/home-assistant-addon/, /repository.yaml) and `cam2mqtt addon-config`
// (src/addon/). The add-on image cannot be built here (no container engine on this machine): its files are
// linted against the rules the Supervisor applies (supervisor/addons/validate.py, options.py, const.py:
// required keys, types, the schema element grammar, ports, map, services, watchdog), the options mapping is
// run as the add-on's run.sh runs it (the real CLI, in a child process), and the Supervisor's API, which
// cannot run here, is a fake HTTP endpoint in this test: GET /services/mqtt with the add-on's bearer token,
// answering with the credentials of a real Mosquitto (with a password file) that the bridge then uses.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import YAML from 'yaml';
import { addonOptionsSchema, cameraOptionSchema, OPTION_TARGETS, parseAddonOptions } from '../src/addon/options.js';
import { configSchema } from '../src/config/schema.js';
import { startBridge, waitFor } from './helpers/bridge.js';
import { startMosquitto } from './mqtt-helpers.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ADDON = path.join(ROOT, 'deploy/home-assistant-addon');
const CLI = path.join(ROOT, 'dist/src/cli.js');

// ---- the Supervisor's rules, transcribed from its source (supervisor/addons/*.py) ----------------------
const RE_SLUG = /^[-_.A-Za-z0-9]+$/;
const RE_SERVICE = /^(mqtt|mysql):(provide|want|need)$/;
const RE_SCHEMA_ELEMENT = new RegExp(
  '^(?:' +
    '|bool|email|url|port' +
    '|device(?:\\((?:subsystem=[a-z]+)\\))?' +
    '|str(?:\\((?:\\d+)?,(?:\\d+)?\\))?' +
    '|password(?:\\((?:\\d+)?,(?:\\d+)?\\))?' +
    '|int(?:\\((?:-?\\d+)?,(?:-?\\d+)?\\))?' +
    '|float(?:\\((?:-?\\d*\\.?\\d+)?,(?:-?\\d*\\.?\\d+)?\\))?' +
    '|match\\((?:.*)\\)' +
    '|list\\((?:.+)\\)' +
    ')\\??$',
);
const RE_WATCHDOG = /^(?:https?|\[PROTO:\w+\]|tcp):\/\/\[HOST\]:(\[PORT:\d+\]|\d+).*$/;
const RE_DOCKER_IMAGE_BUILD = /^([a-zA-Z\-.:\d{}]+\/)*?([-\w{}]+)\/([-\w{}]+)(:[.\-\w{}]+)?$/;
const ARCH = new Set(['aarch64', 'amd64', 'armhf', 'armv7', 'i386']);
const MAP_TYPES = new Set([
  'data',
  'config',
  'ssl',
  'addons',
  'backup',
  'share',
  'media',
  'homeassistant_config',
  'all_addon_configs',
  'addon_config',
]);
const STARTUP = new Set(['initialize', 'system', 'services', 'application', 'once']);
const BOOL_KEYS = [
  'init',
  'ingress',
  'ingress_stream',
  'hassio_api',
  'homeassistant_api',
  'host_network',
  'panel_admin',
];
/** The keys of _SCHEMA_ADDON_CONFIG this add-on uses; anything else would be silently dropped by the Supervisor. */
const KNOWN_KEYS = new Set([
  'name',
  'version',
  'slug',
  'description',
  'arch',
  'url',
  'startup',
  'boot',
  'init',
  'ingress',
  'ingress_port',
  'ingress_stream',
  'panel_icon',
  'panel_title',
  'panel_admin',
  'ports',
  'ports_description',
  'services',
  'map',
  'watchdog',
  'backup_exclude',
  'options',
  'schema',
  'image',
  'hassio_api',
  'homeassistant_api',
  'host_network',
]);

const config = YAML.parse(readFileSync(path.join(ADDON, 'config.yaml'), 'utf8')) as Record<string, unknown>;
const schema = config.schema as Record<string, unknown>;
const cameraSchema = (schema.cameras as Record<string, string>[])[0]!;

/** Check one value against a Supervisor schema element (the types the add-on uses). */
function fitsElement(el: string, v: unknown): boolean {
  const type = el.replace(/\?$/, '');
  if (type === 'bool') return typeof v === 'boolean';
  if (type.startsWith('str') || type.startsWith('password')) return typeof v === 'string';
  if (type === 'url') return typeof v === 'string' && /^[a-z][a-z0-9+.-]*:\/\/[^/]/.test(v);
  if (type.startsWith('int')) return Number.isInteger(v);
  if (type.startsWith('float')) {
    const m = /^float\((-?[\d.]*),(-?[\d.]*)\)$/.exec(type);
    return typeof v === 'number' && (!m || ((m[1] === '' || v >= Number(m[1])) && (m[2] === '' || v <= Number(m[2]))));
  }
  if (type.startsWith('list(')) return typeof v === 'string' && type.slice(5, -1).split('|').includes(v);
  if (type.startsWith('match(')) return typeof v === 'string' && new RegExp(type.slice(6, -1)).test(v);
  return false;
}

async function runCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; out: string; err: string }> {
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !k.startsWith('CAM2MQTT_') && k !== 'SUPERVISOR_TOKEN') clean[k] = v;
  const p = spawn(process.execPath, [CLI, ...args], { env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  p.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const code = await new Promise<number | null>((r) => p.on('close', r));
  return { code, out, err };
}

describe('the add-on files, linted against the Supervisor rules', () => {
  it('config.yaml: required keys, types, ingress, ports, map, services, watchdog', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const k of ['name', 'version', 'slug', 'description', 'arch']) assert.ok(config[k], `config.yaml needs ${k}`);
    for (const k of Object.keys(config))
      assert.ok(KNOWN_KEYS.has(k), `config.yaml key "${k}" is not one this test knows the Supervisor accepts`);
    assert.equal(typeof config.name, 'string');
    assert.equal(typeof config.description, 'string');
    assert.equal(config.version, pkg.version, 'the add-on version is the package version (a string)');
    assert.match(String(config.slug), RE_SLUG);
    assert.ok(Array.isArray(config.arch) && config.arch.length > 0);
    for (const a of config.arch as string[]) assert.ok(ARCH.has(a), `arch ${a}`);
    assert.ok(STARTUP.has(String(config.startup)));
    for (const k of BOOL_KEYS) if (k in config) assert.equal(typeof config[k], 'boolean', `${k} is a boolean`);
    assert.equal(config.ingress, true);
    assert.equal(config.ingress_port, 9090, 'ingress goes to the HTTP port addon-config writes');
    assert.equal(config.init, false, 'the base image runs its own init (s6-overlay)');
    const ports = config.ports as Record<string, unknown>;
    for (const [k, v] of Object.entries(ports)) {
      assert.match(k, /^\d+(\/(tcp|udp))?$/, `port key ${k}`);
      assert.ok(v === null || (Number.isInteger(v) && (v as number) > 0 && (v as number) < 65536), `port ${k}: ${v}`);
    }
    assert.deepEqual(Object.keys(ports).sort(), ['1883/tcp', '9090/tcp']);
    assert.deepEqual(Object.keys(config.ports_description as object).sort(), Object.keys(ports).sort());
    for (const m of config.map as { type: string; read_only?: boolean }[]) {
      assert.ok(MAP_TYPES.has(m.type), `map type ${m.type}`);
      if ('read_only' in m) assert.equal(typeof m.read_only, 'boolean');
    }
    assert.deepEqual((config.map as { type: string }[]).map((m) => m.type).sort(), ['media', 'share']);
    for (const s of config.services as string[]) assert.match(s, RE_SERVICE);
    assert.ok((config.services as string[]).includes('mqtt:want'));
    assert.match(String(config.watchdog), RE_WATCHDOG);
  });

  it('config.yaml: every schema element is valid and the default options fit the schema', () => {
    const elements = (obj: Record<string, unknown>, where: string): void => {
      for (const [k, v] of Object.entries(obj)) {
        if (typeof v === 'string') assert.match(v, RE_SCHEMA_ELEMENT, `${where}${k}: "${v}"`);
        else if (Array.isArray(v)) {
          assert.equal(v.length, 1, `${where}${k}: a list holds one element`);
          if (typeof v[0] === 'string') assert.match(v[0], RE_SCHEMA_ELEMENT);
          else elements(v[0] as Record<string, unknown>, `${where}${k}[].`);
        } else elements(v as Record<string, unknown>, `${where}${k}.`);
      }
    };
    elements(schema, '');
    const options = config.options as Record<string, unknown>;
    for (const [k, v] of Object.entries(options)) {
      assert.ok(k in schema, `option ${k} has a schema entry`);
      if (typeof schema[k] === 'string')
        assert.ok(fitsElement(schema[k] as string, v), `default ${k} = ${JSON.stringify(v)} fits ${schema[k]}`);
    }
    // Required (no "?") options have a default, or the Supervisor refuses to start the add-on.
    for (const [k, v] of Object.entries(schema))
      if (typeof v === 'string' && !v.endsWith('?')) assert.ok(k in options, `${k} needs a default`);
    // The Supervisor's defaults are exactly what addon-config accepts.
    assert.doesNotThrow(() => parseAddonOptions(options));
  });

  it('build.yaml, Dockerfile, run.sh, repository.yaml, DOCS.md', () => {
    const build = YAML.parse(readFileSync(path.join(ADDON, 'build.yaml'), 'utf8')) as {
      build_from: Record<string, string>;
    };
    assert.deepEqual(
      Object.keys(build.build_from).sort(),
      [...(config.arch as string[])].sort(),
      'a base image per arch',
    );
    for (const img of Object.values(build.build_from)) {
      assert.match(img, RE_DOCKER_IMAGE_BUILD);
      assert.match(img, /^ghcr\.io\/home-assistant\/[a-z0-9]+-base:/, "HA's base image");
    }
    const docker = readFileSync(path.join(ADDON, 'Dockerfile'), 'utf8');
    assert.match(docker, /^ARG BUILD_FROM$/m);
    assert.match(docker, /^FROM \$\{?BUILD_FROM\}?$/m);
    assert.match(docker, /^CMD \["\/run\.sh"\]$/m);
    const run = readFileSync(path.join(ADDON, 'run.sh'), 'utf8');
    assert.ok(statSync(path.join(ADDON, 'run.sh')).mode & 0o111, 'run.sh is executable');
    assert.match(run, /addon-config --options \/data\/options\.json --out \/data\/configuration\.yaml/);
    assert.match(run, /^exec node .*--data-dir \/data$/m);
    const repo = YAML.parse(readFileSync(path.join(ROOT, 'repository.yaml'), 'utf8')) as Record<string, unknown>;
    assert.equal(typeof repo.name, 'string');
    for (const k of Object.keys(repo)) assert.ok(['name', 'url', 'maintainer'].includes(k), `repository.yaml key ${k}`);
    const docs = readFileSync(path.join(ADDON, 'DOCS.md'), 'utf8');
    assert.match(
      docs,
      /cannot be built here|no container engine/i,
      'DOCS.md says the image is not built by the test suite',
    );
    for (const k of Object.keys(schema)) assert.ok(docs.includes(`\`${k}\``), `DOCS.md documents the option ${k}`);
    assert.match(readFileSync(path.join(ROOT, 'docs/deploy.md'), 'utf8'), /home-assistant-addon\/DOCS\.md/);
  });

  it('every schema option is mapped by addon-config, and nothing else is accepted', () => {
    const camKeys = Object.keys(cameraOptionSchema.shape).sort();
    assert.deepEqual(
      Object.keys(addonOptionsSchema.shape).sort(),
      Object.keys(schema).sort(),
      'addon-config vs config.yaml schema',
    );
    assert.deepEqual(
      Object.keys(OPTION_TARGETS).sort(),
      Object.keys(schema).sort(),
      'OPTION_TARGETS vs config.yaml schema',
    );
    assert.deepEqual(camKeys, Object.keys(cameraSchema).sort(), 'camera options vs config.yaml schema');
  });
});

describe('cam2mqtt addon-config', () => {
  let dir: string;
  let supervisor: Server;
  let supervisorUrl = '';
  let service: Record<string, unknown> | undefined;
  const seenAuth: string[] = [];
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'cam2mqtt-addon-'));
    // The fake Supervisor: GET /services/mqtt, bearer token required, as the real one answers it.
    supervisor = createServer((req, res) => {
      seenAuth.push(String(req.headers.authorization));
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.headers.authorization !== 'Bearer sup-token-1')
        return json(401, { result: 'error', message: 'Unauthorized' });
      if (req.url !== '/services/mqtt') return json(404, { result: 'error', message: 'not found' });
      if (!service) return json(400, { result: 'error', message: 'No MQTT service available' });
      json(200, { result: 'ok', data: service });
    });
    await new Promise<void>((r) => supervisor.listen(0, '127.0.0.1', r));
    supervisorUrl = `http://127.0.0.1:${(supervisor.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise((r) => supervisor.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  const write = (name: string, options: unknown) => {
    const f = path.join(dir, name);
    writeFileSync(f, JSON.stringify(options));
    return f;
  };

  it('maps every option to its setting', async () => {
    const options = {
      log_level: 'debug',
      mqtt: 'external',
      mqtt_server: 'mqtt://192.168.1.10:1883',
      mqtt_username: 'cams',
      mqtt_password: 'mqtt-pass',
      base_topic: 'cams',
      discovery: false,
      image_interval: 5,
      public_url: 'http://homeassistant.local:9090',
      username: 'admin',
      password: 'page-pass',
      token: 'page-token-1234',
      metrics_token: 'scrape-token-1234',
      ingress_gateway: '172.30.32.9',
      allow_unknown_cameras: false,
      recordings: true,
      recordings_retain_days: 14,
      cameras: [
        {
          id: 'porch',
          name: 'Porch',
          mjpeg_url: 'http://192.168.1.20:81/stream',
          snapshot_url: 'http://192.168.1.20/capture',
          control_url: 'http://192.168.1.20/control?var={key}&val={value}',
          snapshot_interval: 60,
          motion_detection: true,
          record: 'continuous',
        },
        { id: 'garage', name: 'Garage', token: 'cam-secret' },
      ],
    };
    // Every schema option is set here: the test covers the whole schema.
    assert.deepEqual(Object.keys(options).sort(), Object.keys(schema).sort());
    const out = path.join(dir, 'all.yaml');
    const r = await runCli([
      'addon-config',
      '--options',
      write('all.json', options),
      '--out',
      out,
      '--supervisor',
      supervisorUrl,
    ]);
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.out,
      /wrote .*all\.yaml: MQTT: the broker at mqtt:\/\/192\.168\.1\.10:1883 \(option mqtt: external\); 2 cameras configured/,
    );
    assert.equal(statSync(out).mode & 0o777, 0o600, 'credentials: readable by the add-on only');
    const c = YAML.parse(readFileSync(out, 'utf8'));
    assert.doesNotThrow(() => configSchema.parse(c), 'cam2mqtt accepts what addon-config wrote');
    assert.deepEqual(c.http, {
      host: '0.0.0.0',
      port: 9090,
      ingress_gateway: '172.30.32.9',
      public_url: 'http://homeassistant.local:9090',
      auth: { username: 'admin', password: 'page-pass', token: 'page-token-1234' },
    });
    assert.equal(c.log.level, 'debug');
    assert.deepEqual(c.mqtt, {
      base_topic: 'cams',
      host: '0.0.0.0',
      port: 1883,
      server: 'mqtt://192.168.1.10:1883',
      username: 'cams',
      password: 'mqtt-pass',
    });
    assert.deepEqual(c.homeassistant, { discovery: false, image_interval: 5 });
    assert.deepEqual(c.metrics, { enabled: true, token: 'scrape-token-1234' });
    assert.equal(c.allow_unknown_cameras, false);
    assert.deepEqual(c.cameras, {
      porch: {
        name: 'Porch',
        mjpeg_url: 'http://192.168.1.20:81/stream',
        snapshot_url: 'http://192.168.1.20/capture',
        control_url: 'http://192.168.1.20/control?var={key}&val={value}',
        snapshot_interval: 60,
        motion_detection: true,
        record: 'continuous',
      },
      garage: { name: 'Garage', token: 'cam-secret' },
    });
    assert.deepEqual(c.recordings, { enabled: true, dir: '/media/cam2mqtt', retain_days: 14 });
    assert.equal(seenAuth.length, 0, 'mqtt: external does not ask the Supervisor');
  });

  it('the defaults: the ingress gateway 172.30.32.2 and, without a Supervisor service, the embedded broker', async () => {
    service = undefined;
    const out = path.join(dir, 'defaults.yaml');
    const r = await runCli(
      [
        'addon-config',
        '--options',
        write('defaults.json', config.options),
        '--out',
        out,
        '--supervisor',
        supervisorUrl,
      ],
      { SUPERVISOR_TOKEN: 'sup-token-1' },
    );
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.out,
      /MQTT: the embedded broker on port 1883: the Supervisor offers no MQTT service \(No MQTT service available\)/,
    );
    const c = YAML.parse(readFileSync(out, 'utf8'));
    assert.equal(c.http.ingress_gateway, '172.30.32.2');
    assert.equal(c.mqtt.server, undefined, 'embedded broker');
    assert.equal(c.http.auth, undefined);
    assert.equal(seenAuth.at(-1), 'Bearer sup-token-1', 'the add-on token goes to the Supervisor');
    // Not running as an add-on at all: no token, the embedded broker, said so.
    const r2 = await runCli([
      'addon-config',
      '--options',
      write('d2.json', config.options),
      '--out',
      out,
      '--supervisor',
      supervisorUrl,
    ]);
    assert.equal(r2.code, 0, r2.err);
    assert.match(r2.out, /embedded broker on port 1883: no SUPERVISOR_TOKEN/);
  });

  it('refuses bad values with one clear line naming the option, and writes nothing', async () => {
    const base = config.options as Record<string, unknown>;
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...base, image_interval: -1 }, /image_interval = -1: Too small: expected number to be >=0/],
      [{ ...base, mqtt: 'external' }, /mqtt_server = \(not set\): required when mqtt is "external"/],
      [
        { ...base, mqtt: 'carrier-pigeon' },
        /mqtt = "carrier-pigeon": Invalid option: expected one of "auto"\|"embedded"\|"external"/,
      ],
      [{ ...base, cameras: [{ id: 'Bad Id!' }] }, /cameras\[0\]\.id = "Bad Id!": expected 1-48 chars/],
      [
        { ...base, cameras: [{ id: 'a', mjpeg_url: 'ftp://x/y' }] },
        /cameras\[0\]\.mjpeg_url = "ftp:\/\/x\/y": expected an http:\/\/ or https:\/\/ URL/,
      ],
      [{ ...base, cameras: [{ id: 'a' }, { id: 'a' }] }, /cameras\[1\]\.id = "a": "a" is listed twice/],
      [{ ...base, token: 'short' }, /token = \(hidden\): expected a token of at least 8 characters/],
      [{ ...base, username: 'admin' }, /password = \(hidden\): username and password go together/],
      [{ ...base, colour: 'blue' }, /unknown option "colour"/],
      [{ ...base, ingress_gateway: 'supervisor' }, /http\.ingress_gateway: expected an IP address/],
    ];
    for (const [i, [options, want]] of cases.entries()) {
      const out = path.join(dir, `bad-${i}.yaml`);
      const r = await runCli(['addon-config', '--options', write(`bad-${i}.json`, options), '--out', out]);
      assert.equal(r.code, 1, `case ${i}: exit code`);
      assert.equal(r.err.trim().split('\n').length, 1, `case ${i}: one line: ${r.err}`);
      assert.match(r.err, /^cam2mqtt addon-config: /);
      assert.match(r.err, want, `case ${i}`);
      assert.doesNotMatch(r.err, /short/, 'secrets are not echoed');
      assert.ok(!existsSync(out), `case ${i}: nothing written`);
    }
    const missing = await runCli([
      'addon-config',
      '--options',
      path.join(dir, 'nope.json'),
      '--out',
      path.join(dir, 'x.yaml'),
    ]);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /cannot read the add-on options .*nope\.json/);
  });

  it("uses the Supervisor's MQTT service: the bridge connects to that broker with those credentials", async () => {
    const mosq = await startMosquitto({ users: { addons: 'from-the-supervisor' } });
    try {
      service = {
        host: '127.0.0.1',
        port: mosq.port,
        ssl: false,
        protocol: '3.1.1',
        username: 'addons',
        password: 'from-the-supervisor',
        addon: 'core_mosquitto',
      };
      const out = path.join(dir, 'supervisor.yaml');
      const r = await runCli(
        ['addon-config', '--options', write('sup.json', config.options), '--out', out, '--supervisor', supervisorUrl],
        { SUPERVISOR_TOKEN: 'sup-token-1' },
      );
      assert.equal(r.code, 0, r.err);
      assert.match(
        r.out,
        new RegExp(
          `MQTT: Home Assistant's broker 127\\.0\\.0\\.1:${mosq.port} \\(core_mosquitto\\), credentials from the Supervisor`,
        ),
      );
      const c = YAML.parse(readFileSync(out, 'utf8'));
      assert.equal(c.mqtt.server, `mqtt://127.0.0.1:${mosq.port}`);
      assert.equal(c.mqtt.username, 'addons');
      // The bridge as the add-on starts it (on free ports here), against that Mosquitto, which refuses anonymous clients.
      const sub = await mqtt.connectAsync(mosq.url, {
        username: 'addons',
        password: 'from-the-supervisor',
        reconnectPeriod: 0,
      });
      const states: string[] = [];
      sub.on('message', (topic, payload) => {
        if (topic === 'cam2mqtt/bridge/state') states.push(payload.toString());
      });
      await sub.subscribeAsync('cam2mqtt/bridge/state');
      // (test/helpers/bridge.ts turns MQTT off unless asked: the add-on leaves mqtt.enabled at its default, true.)
      const t = await startBridge({
        ...c,
        http: { ...c.http, host: '127.0.0.1', port: 0 },
        mqtt: { ...c.mqtt, enabled: true },
        log: { level: 'debug', format: 'json' },
      });
      try {
        await waitFor(
          () => states.some((s) => s.includes('online')),
          10_000,
          'cam2mqtt online on the Supervisor broker',
        );
      } finally {
        await t.stop();
        await sub.endAsync(true);
      }
    } finally {
      await mosq.stop();
    }
  });
});
