// `cam2mqtt ha` without a real Home Assistant (the real one is in test/ha/*.ha.ts): versions, URL
// checks, one clear message per failure (closed port, not HA, bad token, banned, too old), the
// reports, GET /api/bridge and the startup link's status in /healthz.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config/load.js';
import type { BridgeInfo } from '../src/ha/bridge-info.js';
import { HaClient } from '../src/ha/client.js';
import { httpCredentialsFor, mqttCredentialsFor } from '../src/ha/credentials.js';
import { HaError, normaliseHaUrl } from '../src/ha/errors.js';
import { cameraOfStreamUrl, expectedDevices, liveEntityId, liveUrls } from '../src/ha/expected.js';
import { HA_VERSIONS, haVersionRow, mqttFlowInput, pickProtocol, type SchemaField } from '../src/ha/ha-versions.js';
import { brokerHostFor, externalBrokerAddress, type LinkReport } from '../src/ha/link.js';
import { brokerProtocols } from '../src/ha/mqtt-probe.js';
import { formatLinkReport, formatStatusReport, wrapList } from '../src/ha/report.js';
import type { StatusReport } from '../src/ha/status.js';
import { compareHaVersions, isSupportedHaVersion, parseHaVersion } from '../src/ha/version.js';
import { freePort, startBridge, waitFor } from './helpers/bridge.js';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));

function runCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    p.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => p.kill('SIGKILL'), 30_000);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const servers: Server[] = [];
async function fakeServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const s = createServer(handler);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

/** A stand-in for HA's REST API: GET /api/ and /api/config, with a token and a version. */
function fakeHa(opts: { token?: string; version?: string; status?: number }): Promise<string> {
  return fakeServer((req, res) => {
    const json = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (opts.status) return json(opts.status, { message: 'nope' });
    if (req.headers.authorization !== `Bearer ${opts.token ?? 'good'}`)
      return json(401, { message: '401: Unauthorized' });
    if (req.url === '/api/') return json(200, { message: 'API running.' });
    if (req.url === '/api/config') return json(200, { version: opts.version ?? '2024.3.3', state: 'RUNNING' });
    json(404, { message: 'not found' });
  });
}

async function connectError(url: string, token = 'good'): Promise<HaError> {
  try {
    const c = await HaClient.connect(url, token, { timeoutMs: 5_000, setupRetry: 0 });
    c.close();
  } catch (err) {
    assert.ok(err instanceof HaError, String(err));
    return err;
  }
  assert.fail('expected an error');
}

describe('cam2mqtt ha: versions and URLs', () => {
  it('compares Home Assistant versions and knows the oldest supported one', () => {
    assert.deepEqual(parseHaVersion('2024.3.3'), [2024, 3, 3]);
    assert.deepEqual(parseHaVersion('2025.1.0b2'), [2025, 1, 0]);
    assert.deepEqual(parseHaVersion('2024.12'), [2024, 12, 0]);
    assert.equal(parseHaVersion('0.118.5'), undefined);
    assert.equal(parseHaVersion(undefined), undefined);
    assert.ok(compareHaVersions('2024.10.0', '2024.9.9') > 0);
    assert.ok(compareHaVersions('2024.3.0', '2024.3.3') < 0);
    assert.equal(compareHaVersions('2024.3.3', '2024.3.3'), 0);
    assert.equal(isSupportedHaVersion('2024.3.0'), true);
    assert.equal(isSupportedHaVersion('2026.4.1'), true);
    assert.equal(isSupportedHaVersion('2024.2.5'), false);
    assert.equal(isSupportedHaVersion('2023.12.4'), false);
    assert.equal(isSupportedHaVersion('garbage'), false);
  });

  it('normalises the HA URL and refuses what is not one', () => {
    assert.equal(normaliseHaUrl('http://ha.local:8123/'), 'http://ha.local:8123');
    assert.equal(normaliseHaUrl(' https://ha.example.org '), 'https://ha.example.org');
    for (const [bad, code, re] of [
      [undefined, 'no_url', /no Home Assistant URL/],
      ['', 'no_url', /no Home Assistant URL/],
      ['ha.local:8123', 'bad_url', /expected http:\/\/ or https:\/\//],
      ['not a url', 'bad_url', /is not a URL/],
      ['ftp://ha.local', 'bad_url', /expected http:\/\/ or https:\/\//],
      ['http://user:pw@ha.local:8123', 'bad_url', /takes a token/],
      ['http://ha.local:8123/?x=1', 'bad_url', /without \?query/],
    ] as const) {
      assert.throws(
        () => normaliseHaUrl(bad),
        (e: unknown) => e instanceof HaError && e.code === code && re.test(e.message),
        String(bad),
      );
    }
  });

  it('derives the broker address, live URLs and entity ids', () => {
    const info = {
      mqtt: { enabled: true, mode: 'embedded', host: '0.0.0.0', port: 1883 },
      public_url: 'http://192.168.1.20:9090',
    } as BridgeInfo;
    assert.equal(brokerHostFor(info), '192.168.1.20');
    assert.equal(brokerHostFor(info, 'cams.lan'), 'cams.lan');
    assert.equal(brokerHostFor({ ...info, mqtt: { ...info.mqtt, host: '10.0.0.5' } }), '10.0.0.5');
    assert.equal(brokerHostFor({ ...info, public_url: 'http://[fd00::5]:9090' }), 'fd00::5');
    assert.deepEqual(externalBrokerAddress('mqtt://user:pw@broker.lan:1884'), { host: 'broker.lan', port: 1884 });
    assert.deepEqual(externalBrokerAddress('mqtt://broker.lan'), { host: 'broker.lan', port: 1883 });
    assert.equal(externalBrokerAddress('mqtts://broker.lan'), undefined);
    assert.deepEqual(liveUrls('http://h:9090/', 'garage-cam'), {
      mjpeg_url: 'http://h:9090/api/cameras/garage-cam/stream.mjpeg',
      still_image_url: 'http://h:9090/api/cameras/garage-cam/snapshot.jpg',
    });
    assert.equal(cameraOfStreamUrl('http://h:9090/api/cameras/garage-cam/stream.mjpeg'), 'garage-cam');
    assert.equal(cameraOfStreamUrl('http://h:9090/api/cameras/x/stream.mjpeg?token=abc'), 'x');
    assert.equal(cameraOfStreamUrl('http://other/video.mjpg'), undefined);
    assert.equal(liveEntityId('garage-cam'), 'camera.garage_cam_live');
  });

  it('expects exactly the entities the MQTT sink announces', () => {
    const info: BridgeInfo = {
      version: '1.0.0',
      public_url: 'http://h:9090',
      base_topic: 'cam2mqtt',
      discovery: true,
      discovery_prefix: 'homeassistant',
      mqtt: { enabled: true, mode: 'embedded', port: 1883 },
      http_auth: 'none',
      cameras: [
        {
          id: 'garage-cam',
          name: 'Garage',
          protocol: 'native',
          online: true,
          model: null,
          firmware: null,
          capabilities: ['lamp', 'servo'],
          has_frame: true,
        },
        {
          id: 'bridge',
          name: 'reserved',
          protocol: 'native',
          online: true,
          model: null,
          firmware: null,
          capabilities: [],
          has_frame: true,
        },
      ],
    };
    const devs = expectedDevices(info);
    assert.deepEqual(
      devs.map((d) => d.node),
      ['cam2mqtt_bridge', 'cam2mqtt_garage-cam'],
    );
    const garage = devs[1]!.entities;
    const ids = garage.map((e) => e.entity_id);
    assert.ok(ids.includes('camera.garage_cam'));
    assert.ok(ids.includes('binary_sensor.garage_cam_motion'));
    assert.ok(ids.includes('switch.garage_cam_lamp'));
    assert.ok(ids.includes('number.garage_cam_pan'));
    assert.ok(!ids.includes('select.garage_cam_framesize'), 'no framesize capability, no select');
    assert.equal(garage.find((e) => e.object === 'motion')?.device_class, 'motion');
    assert.ok(garage.every((e) => e.unique_id.startsWith('cam2mqtt_garage-cam_')));
  });

  it('picks the MQTT login HA gets and the credentials for the live views', () => {
    const cfg = (raw: Record<string, unknown>) => loadConfig({ raw, env: {} }).config;
    assert.deepEqual(mqttCredentialsFor(cfg({})), {});
    assert.deepEqual(
      mqttCredentialsFor(
        cfg({
          mqtt: {
            users: [
              { username: 'ro', password: 'x' },
              { username: 'hass', password: 'y', admin: true },
            ],
          },
        }),
      ).credentials,
      { username: 'hass', password: 'y' },
    );
    assert.match(
      mqttCredentialsFor(cfg({ mqtt: { users: [{ username: 'ro', password: 'x' }] } })).problem ?? '',
      /none with admin: true/,
    );
    assert.deepEqual(
      mqttCredentialsFor(cfg({ mqtt: { users: [{ username: 'ro', password: 'x' }] } }), 'ro').credentials,
      { username: 'ro', password: 'x' },
    );
    assert.match(
      mqttCredentialsFor(cfg({ mqtt: { users: [{ username: 'ro', password: 'x' }] } }), 'nobody').problem ?? '',
      /no MQTT user "nobody"/,
    );
    assert.deepEqual(
      mqttCredentialsFor(cfg({ mqtt: { server: 'mqtt://b:1883', username: 'u', password: 'p' } })).credentials,
      { username: 'u', password: 'p' },
    );
    assert.deepEqual(httpCredentialsFor(cfg({ http: { auth: { username: 'a', password: 'b' } } })), {
      username: 'a',
      password: 'b',
    });
    assert.deepEqual(httpCredentialsFor(cfg({ http: { auth: { token: 'tok-123456' } } })), {
      username: 'cam2mqtt',
      password: 'tok-123456',
    });
    assert.equal(httpCredentialsFor(cfg({})), undefined);
  });
});

after(() => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
});

describe('cam2mqtt ha: one clear message per failure, before anything is changed', () => {
  it('a closed port: unreachable, connection refused', async () => {
    const e = await connectError(`http://127.0.0.1:${await freePort()}`);
    assert.equal(e.code, 'unreachable');
    assert.match(e.message, /^cannot reach Home Assistant at http:\/\/127\.0\.0\.1:\d+: connection refused/);
  });

  it('a server that is not Home Assistant', async () => {
    const url = await fakeServer((_req, res) => {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end('<h1>nginx</h1>');
    });
    const e = await connectError(url);
    assert.equal(e.code, 'not_ha');
    assert.match(e.message, /answered, but it is not Home Assistant's API \(GET \/api\/ -> HTTP 404, text\/html\)/);
  });

  it('a wrong token, a banned address, an HA that is too old', async () => {
    const bad = await connectError(await fakeHa({ token: 'right' }), 'wrong');
    assert.equal(bad.code, 'bad_token');
    assert.match(bad.message, /refused the token \(HTTP 401\)/);
    const banned = await connectError(await fakeHa({ status: 403 }));
    assert.equal(banned.code, 'banned');
    assert.match(banned.message, /ip_bans\.yaml/);
    const old = await connectError(await fakeHa({ version: '2023.12.4' }));
    assert.equal(old.code, 'too_old');
    assert.match(
      old.message,
      /^Home Assistant 2023\.12\.4 at http:\/\/127\.0\.0\.1:\d+ is too old: cam2mqtt needs 2024\.3 or newer/,
    );
  });

  it('a URL that redirects (http -> https)', async () => {
    const url = await fakeServer((_req, res) => {
      res.writeHead(301, { location: 'https://ha.example.org/api/' });
      res.end();
    });
    const e = await connectError(url);
    assert.equal(e.code, 'bad_url');
    assert.match(e.message, /redirects to https:\/\/ha\.example\.org: pass that as the Home Assistant URL/);
  });

  it('no token', async () => {
    const e = await connectError(await fakeHa({}), '');
    assert.equal(e.code, 'no_token');
  });

  it('the CLI prints one message and exits 1 (text and --json), 2 for a bad settings file', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cam2mqtt-hacli-'));
    const port = await freePort();
    const r = await runCli(['ha', 'link', '--url', `http://127.0.0.1:${port}`, '--token', 'x', '--data-dir', dir]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(
      r.stderr,
      `cam2mqtt ha: cannot reach Home Assistant at http://127.0.0.1:${port}: connection refused (is it running, and is the port right?)\nNothing was changed in Home Assistant.\n`,
    );

    const s = await runCli(['ha', 'status', '--data-dir', dir]);
    assert.equal(s.code, 1);
    assert.match(s.stderr, /^cam2mqtt ha: no Home Assistant URL: pass --url/);

    const j = await runCli(['ha', 'link', '--url', `http://127.0.0.1:${port}`, '--data-dir', dir, '--json']);
    assert.equal(j.code, 1);
    assert.deepEqual(JSON.parse(j.stdout), {
      ok: false,
      error: { code: 'no_token', message: JSON.parse(j.stdout).error.message },
    });

    // Token and URL also come from the environment (like every setting).
    const tooOld = await fakeHa({ token: 'env-token', version: '2024.2.0' });
    const e = await runCli(['ha', 'link', '--data-dir', dir], {
      CAM2MQTT_HOMEASSISTANT_URL: tooOld,
      CAM2MQTT_HOMEASSISTANT_TOKEN: 'env-token',
    });
    assert.equal(e.code, 1);
    assert.match(e.stderr, /Home Assistant 2024\.2\.0 at .* is too old/);

    const c = await runCli(['ha', 'status', '--data-dir', dir], { CAM2MQTT_HTTP_PORT: 'eighty' });
    assert.equal(c.code, 2);
    assert.match(c.stderr, /^cam2mqtt ha: invalid configuration/);
  });
});

describe('cam2mqtt ha: reports', () => {
  it('wraps entity lists', () => {
    assert.deepEqual(wrapList(['aaaa', 'bbbb', 'cccc'], '  ', 14), ['  aaaa  bbbb', '  cccc']);
  });

  it('formats a successful link and a failed one', () => {
    const ok: LinkReport = {
      ok: true,
      ha: { url: 'http://ha:8123', version: '2024.3.3' },
      bridge: { version: '0.1.0', public_url: 'http://cams:9090' },
      mqtt: { action: 'created', entry_id: 'e1', broker: 'cams:1883', state: 'loaded' },
      devices: [
        {
          name: 'cam2mqtt bridge',
          entities: [
            {
              entity_id: 'sensor.cam2mqtt_bridge_version',
              unique_id: 'u',
              expected_entity_id: 'sensor.cam2mqtt_bridge_version',
              component: 'sensor',
            },
          ],
          missing: [],
        },
        {
          camera: 'garage',
          name: 'Garage',
          online: true,
          entities: [
            {
              entity_id: 'camera.garage',
              unique_id: 'cam2mqtt_garage_camera',
              expected_entity_id: 'camera.garage',
              component: 'camera',
              state: 'idle',
            },
          ],
          missing: [],
          live: { status: 'added', entity_id: 'camera.garage_live' },
        },
        {
          camera: 'porch',
          name: 'Porch',
          online: false,
          entities: [],
          missing: [],
          live: { status: 'skipped', reason: 'camera offline' },
        },
      ],
      warnings: ['porch is offline'],
      rolled_back: [],
      duration_ms: 2345,
    };
    const text = formatLinkReport(ok);
    assert.match(text, /^Home Assistant 2024\.3\.3 at http:\/\/ha:8123; cam2mqtt 0\.1\.0 at http:\/\/cams:9090$/m);
    assert.match(text, /^MQTT: +added Home Assistant's MQTT integration -> cams:1883$/m);
    assert.match(text, /^camera: +Garage \(garage, online\): 1 entity$/m);
    assert.match(text, /live view: camera\.garage_live \(added\)/);
    assert.match(text, /live view: not added: camera offline/);
    assert.match(text, /^warning: porch is offline$/m);
    assert.match(text, /^Linked: 2 cameras, 2 entities, 1 live view in Home Assistant \(2\.3 s\)\.$/m);

    const failed: LinkReport = {
      ...ok,
      ok: false,
      devices: [],
      warnings: [],
      error: { code: 'live_failed', message: 'HA cannot open x' },
      rolled_back: ['removed the MQTT integration added by this run'],
    };
    const f = formatLinkReport(failed);
    assert.match(f, /^FAILED: HA cannot open x$/m);
    assert.match(f, /^rolled back: removed the MQTT integration added by this run$/m);
    const nothing = formatLinkReport({ ...failed, rolled_back: [] });
    assert.match(nothing, /Nothing was changed in Home Assistant\.$/);
  });

  it('formats a status', () => {
    const st: StatusReport = {
      linked: false,
      ha: { url: 'http://ha:8123', version: '2024.3.3' },
      bridge: { version: '0.1.0', public_url: 'http://cams:9090', cameras: 1 },
      mqtt: [{ entry_id: 'e', title: 'other', state: 'loaded', broker: 'other:1883', carries_cam2mqtt: false }],
      devices: [
        {
          id: 'd',
          name: 'Garage',
          camera: 'garage',
          model: null,
          entities: [{ entity_id: 'camera.garage', unique_id: 'x', state: 'unavailable' }],
        },
      ],
      unavailable: ['camera.garage'],
      missing: ['switch.garage_lamp'],
      live: [],
    };
    const text = formatStatusReport(st);
    assert.match(text, /MQTT integration: loaded, broker other:1883, does NOT carry cam2mqtt's topics/);
    assert.match(text, /Garage \(garage\): 1 entity, 1 unavailable/);
    assert.match(text, /Announced by cam2mqtt but not in Home Assistant \(1\):\n {2}switch\.garage_lamp/);
    assert.match(text, /Live views: none/);
    assert.match(text, /Linked: no \(entities missing\)/);
  });
});

describe('cam2mqtt ha: inside the bridge', () => {
  it('GET /api/bridge tells `cam2mqtt ha` the public URL, the broker and the cameras', async () => {
    const mqttPort = await freePort();
    const b = await startBridge({
      mqtt: { enabled: true, port: mqttPort, users: [{ username: 'u', password: 'p', admin: true }] },
    });
    try {
      const info = (await (await fetch(`${b.url}/api/bridge`)).json()) as BridgeInfo;
      assert.equal(info.public_url, b.bridge.publicUrl);
      assert.deepEqual(info.mqtt, {
        enabled: true,
        mode: 'embedded',
        port: mqttPort,
        host: '127.0.0.1',
        auth: true,
        connected: info.mqtt.connected,
      });
      assert.equal(info.base_topic, 'cam2mqtt');
      assert.equal(info.discovery_prefix, 'homeassistant');
      assert.deepEqual(info.cameras, []);
      const h = (await (await fetch(`${b.url}/healthz`)).json()) as { homeassistant: unknown };
      assert.deepEqual(h.homeassistant, { configured: false, state: 'off', linked: false });
    } finally {
      await b.stop();
    }
  });

  it('the startup link reports a bad token in /healthz and does not retry it; an unreachable HA is retried', async () => {
    const ha = await fakeHa({ token: 'right' });
    const b = await startBridge({ homeassistant: { url: ha, token: 'wrong' } });
    const closed = `http://127.0.0.1:${await freePort()}`;
    const c = await startBridge({ homeassistant: { url: closed, token: 'whatever' } });
    try {
      const st = await waitFor(
        async () => {
          const h = (await (await fetch(`${b.url}/healthz`)).json()) as {
            homeassistant: { state: string; code?: string; error?: string; retry_in?: number };
          };
          return h.homeassistant.state === 'error' ? h.homeassistant : undefined;
        },
        10_000,
        'startup link error',
      );
      assert.equal(st.code, 'bad_token');
      assert.match(st.error ?? '', /refused the token/);
      assert.equal(st.retry_in, undefined, 'a bad token is not retried');
      assert.ok(b.logs.some((l) => /Home Assistant link failed: .*refused the token.*not retried/.test(l.msg)));

      const un = await waitFor(
        async () => {
          const h = (await (await fetch(`${c.url}/healthz`)).json()) as {
            homeassistant: { state: string; code?: string; retry_in?: number; url?: string };
          };
          return h.homeassistant.state === 'error' ? h.homeassistant : undefined;
        },
        10_000,
        'startup link error (unreachable)',
      );
      assert.equal(un.code, 'unreachable');
      assert.equal(un.url, closed);
      assert.ok(typeof un.retry_in === 'number' && un.retry_in > 0, 'retried later');
    } finally {
      await b.stop();
      await c.stop();
    }
  });
});

// The MQTT broker forms exactly as the real HAs return them (POST /api/config/config_entries/flow
// {"handler":"mqtt"}), recorded from 2024.3.3 and 2026.11.0 (the real ones run in test/ha/*.ha.ts).
const FORM_2024_3: SchemaField[] = JSON.parse(
  '[{"selector": {"text": {"type": "text", "multiple": false, "multiline": false}}, "name": "broker", "required": true, "default": null}, {"selector": {"number": {"mode": "box", "min": 1, "max": 65535, "step": 1}}, "type": "integer", "name": "port", "required": true, "default": 1883}, {"selector": {"text": {"type": "text", "multiple": false, "multiline": false}}, "name": "username", "description": {"suggested_value": null}, "optional": true}, {"selector": {"text": {"type": "password", "multiple": false, "multiline": false}}, "name": "password", "description": {"suggested_value": null}, "optional": true}]',
);
const FORM_2026_11: SchemaField[] = JSON.parse(
  '[{"selector": {"text": {"type": "text", "multiline": false, "multiple": false}}, "name": "broker", "required": true}, {"selector": {"number": {"mode": "box", "min": 1, "max": 65535, "step": 1}}, "type": "integer", "name": "port", "required": true, "default": 1883}, {"selector": {"select": {"options": ["5", "3.1.1", "3.1"], "mode": "dropdown", "multiple": false, "custom_value": false, "sort": false}}, "name": "protocol", "required": true, "default": "5"}, {"selector": {"text": {"type": "text", "multiline": false, "multiple": false}}, "name": "username", "required": false, "optional": true}, {"selector": {"text": {"type": "password", "multiline": false, "multiple": false}}, "name": "password", "required": false, "optional": true, "secret": true}, {"type": "expandable", "schema": [{"selector": {"text": {"type": "text", "multiline": false, "multiple": false}}, "name": "client_id", "required": false, "optional": true}, {"selector": {"number": {"mode": "box", "min": 15, "step": "any", "unit_of_measurement": "sec"}}, "type": "integer", "name": "keepalive", "required": false, "optional": true}, {"selector": {"boolean": {}}, "name": "set_client_cert", "required": true}, {"selector": {"file": {"accept": ".pem,.crt,.cer,.der,application/x-x509-user-cert"}}, "name": "client_cert", "required": false, "optional": true}, {"selector": {"file": {"accept": ".pem,.key,.der,.pk8,application/pkcs8"}}, "name": "client_key", "required": false, "optional": true, "secret": true}, {"selector": {"text": {"type": "password", "multiline": false, "multiple": false}}, "name": "client_key_password", "required": false, "optional": true, "secret": true}, {"selector": {"select": {"options": ["off", "auto", "custom"], "mode": "dropdown", "translation_key": "set_ca_cert", "multiple": false, "custom_value": false, "sort": false}}, "name": "set_ca_cert", "required": true}, {"selector": {"file": {"accept": ".pem,.crt,.cer,.der,application/x-x509-ca-cert"}}, "name": "certificate", "required": false, "optional": true}, {"selector": {"boolean": {}}, "name": "tls_insecure", "required": false, "optional": true}, {"selector": {"select": {"options": [{"value": "tcp", "label": "TCP"}, {"value": "websockets", "label": "WebSocket"}], "mode": "dropdown", "multiple": false, "custom_value": false, "sort": false}}, "name": "transport", "required": true, "default": "tcp"}, {"selector": {"text": {"type": "text", "multiline": false, "multiple": false}}, "name": "ws_path", "required": false, "optional": true}, {"selector": {"text": {"type": "text", "multiline": true, "multiple": false}}, "name": "ws_headers", "required": false, "optional": true}], "expanded": false, "name": "other_settings", "required": true}]',
);

describe('cam2mqtt ha: what differs by Home Assistant version (src/ha/ha-versions.ts)', () => {
  it('one row per version, oldest first; a version gets the newest row not newer than it', () => {
    for (let i = 1; i < HA_VERSIONS.length; i++)
      assert.ok(compareHaVersions(HA_VERSIONS[i - 1]!.since, HA_VERSIONS[i]!.since) < 0);
    assert.equal(haVersionRow('2024.3.3').defaultProtocol, '3.1.1');
    assert.equal(haVersionRow('2025.6.1').defaultProtocol, '3.1.1');
    assert.equal(haVersionRow('2026.11.0').defaultProtocol, '5');
    assert.equal(haVersionRow('2027.1.0b1').defaultProtocol, '5');
    assert.equal(haVersionRow('2024.3.3').mqttEntry, 'options_flow');
    assert.equal(haVersionRow('2026.11.0').mqttEntry, 'reconfigure_flow');
  });

  it('builds the 2024.3 broker form input: broker, port, login; no protocol (HA uses 3.1.1)', () => {
    const login = { broker: '127.0.0.1', port: 1884, username: 'hass', password: 'pw' };
    assert.deepEqual(mqttFlowInput(FORM_2024_3, { ...login, protocols: ['5', '3.1.1'] }, '2024.3.3'), login);
    assert.deepEqual(mqttFlowInput(FORM_2024_3, { broker: 'h', port: 1883, protocols: ['3.1.1'] }, '2024.3.3'), {
      broker: 'h',
      port: 1883,
    });
  });

  it('builds the 2026.11 broker form input: protocol 5 when the broker speaks it, the required section filled', () => {
    const v = { broker: '127.0.0.1', port: 1884, username: 'hass', password: 'pw' };
    const other = { set_client_cert: false, set_ca_cert: 'off', transport: 'tcp' };
    assert.deepEqual(mqttFlowInput(FORM_2026_11, { ...v, protocols: ['5', '3.1.1'] }, '2026.11.0'), {
      ...v,
      protocol: '5',
      other_settings: other,
    });
    // A broker on 3.1.1 only (Aedes 1.x, an old Mosquitto): 3.1.1, which HA offers too.
    assert.equal(mqttFlowInput(FORM_2026_11, { ...v, protocols: ['3.1.1'] }, '2026.11.0').protocol, '3.1.1');
    // No login: no username / password keys at all.
    const anon = mqttFlowInput(FORM_2026_11, { broker: 'h', port: 1883, protocols: ['5'] }, '2026.11.0');
    assert.deepEqual(Object.keys(anon).sort(), ['broker', 'other_settings', 'port', 'protocol']);
    // What HA offers decides: a form without 5 gets 3.1.1.
    const protocol = FORM_2026_11.find((f) => f.name === 'protocol');
    assert.equal(pickProtocol(protocol, ['5', '3.1.1']), '5');
    assert.equal(
      pickProtocol({ name: 'protocol', selector: { select: { options: ['3.1.1', '3.1'] } } }, ['5', '3.1.1']),
      '3.1.1',
    );
    assert.equal(pickProtocol(undefined, ['5']), '3.1.1');
  });

  it("an unknown required field fails with one line naming the field and HA's version", () => {
    const v = { broker: 'h', port: 1883, protocols: ['5'] as const };
    const cases: [SchemaField[], string][] = [
      [[...FORM_2026_11, { name: 'broker_fingerprint', required: true, selector: { text: {} } }], 'broker_fingerprint'],
      [[...FORM_2026_11, { name: 'tls_settings', type: 'expandable', required: true, schema: [] }], 'tls_settings'],
      [
        FORM_2026_11.map((f) =>
          f.name === 'other_settings'
            ? { ...f, schema: [...(f.schema ?? []), { name: 'client_pin', required: true, selector: { text: {} } }] }
            : f,
        ),
        'other_settings.client_pin',
      ],
    ];
    for (const [form, field] of cases) {
      assert.throws(
        () => mqttFlowInput(form, v, '2027.1.0'),
        (err: unknown) =>
          err instanceof HaError &&
          err.code === 'mqtt_flow_unknown' &&
          err.message.includes(`"${field}"`) &&
          err.message.includes('Home Assistant 2027.1.0') &&
          !err.message.includes('\n'),
      );
    }
    // An unknown field with a default keeps HA's default (what a user who leaves it alone sends).
    const withDefault = mqttFlowInput([...FORM_2026_11, { name: 'qos', required: true, default: 0 }], v, '2027.1.0');
    assert.equal(withDefault.qos, 0);
  });

  it('asks a broker which protocols it speaks: 5 and 3.1.1 from Mosquitto, nothing from a closed port', async () => {
    const { spawn: sp } = await import('node:child_process');
    const port = await freePort();
    const dir = mkdtempSync(path.join(tmpdir(), 'cam2mqtt-probe-'));
    const { writeFileSync, rmSync } = await import('node:fs');
    writeFileSync(
      path.join(dir, 'm.conf'),
      `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n${process.getuid?.() === 0 ? 'user root\n' : ''}`,
    );
    const m = sp('mosquitto', ['-c', path.join(dir, 'm.conf')], { stdio: 'ignore' });
    try {
      const got = await waitFor(
        async () => brokerProtocols('127.0.0.1', port, undefined, 2_000),
        10_000,
        'mosquitto probe',
      );
      assert.deepEqual(got, ['5', '3.1.1']);
      assert.equal(await brokerProtocols('127.0.0.1', await freePort(), undefined, 2_000), undefined);
    } finally {
      m.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
