import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../src/config/load.js';

const dir = () => mkdtempSync(path.join(tmpdir(), 'cam2mqtt-cfg-'));

describe('configuration', () => {
  it('needs no file: every key has a default', () => {
    const { config, fileFound, file } = loadConfig({ dataDir: dir(), env: {} });
    assert.equal(fileFound, false);
    assert.match(file, /configuration\.yaml$/);
    assert.equal(config.http.port, 9090);
    assert.equal(config.http.host, '0.0.0.0');
    assert.equal(config.mqtt.port, 1883);
    assert.equal(config.mqtt.base_topic, 'cam2mqtt');
    assert.equal(config.allow_unknown_cameras, true);
    assert.deepEqual(config.cameras, {});
  });

  it('reads <data-dir>/configuration.yaml', () => {
    const d = dir();
    writeFileSync(
      path.join(d, 'configuration.yaml'),
      'http:\n  port: 8080\ncameras:\n  garage:\n    name: Garage\n    token: abc\n    snapshot_interval: 30\n',
    );
    const { config, fileFound } = loadConfig({ dataDir: d, env: {} });
    assert.equal(fileFound, true);
    assert.equal(config.http.port, 8080);
    assert.equal(config.cameras.garage?.name, 'Garage');
    assert.equal(config.cameras.garage?.snapshot_interval, 30);
  });

  it('environment variables override the file, one rule for every key', () => {
    const d = dir();
    writeFileSync(path.join(d, 'configuration.yaml'), 'http:\n  port: 8080\n');
    const { config, envApplied } = loadConfig({
      dataDir: d,
      env: {
        CAM2MQTT_HTTP_PORT: '9191',
        CAM2MQTT_MQTT_BASE_TOPIC: 'cams',
        CAM2MQTT_ALLOW_UNKNOWN_CAMERAS: 'false',
        CAM2MQTT_LIMITS_CAMERA_TIMEOUT: '45',
        CAM2MQTT_CAMERAS_FRONT_DOOR_TOKEN: '12345',
        CAM2MQTT_CAMERAS_FRONT_DOOR_SNAPSHOT_INTERVAL: '10',
        PATH: '/usr/bin',
      },
    });
    assert.equal(config.http.port, 9191);
    assert.equal(config.mqtt.base_topic, 'cams');
    assert.equal(config.allow_unknown_cameras, false);
    assert.equal(config.limits.camera_timeout, 45);
    // A numeric-looking token stays a string.
    assert.equal(config.cameras.front_door?.token, '12345');
    assert.equal(config.cameras.front_door?.snapshot_interval, 10);
    assert.equal(envApplied.length, 6);
  });

  it('flags override the environment', () => {
    const { config } = loadConfig({
      dataDir: dir(),
      env: { CAM2MQTT_HTTP_PORT: '9191' },
      overrides: { 'http.port': 7070, 'log.level': 'debug' },
    });
    assert.equal(config.http.port, 7070);
    assert.equal(config.log.level, 'debug');
  });

  it('an invalid value names the key, the value and what is expected', () => {
    assert.throws(
      () => loadConfig({ dataDir: dir(), env: { CAM2MQTT_HTTP_PORT: '70000' } }),
      (err: Error) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /http\.port = 70000/);
        assert.match(err.message, /65535/);
        return true;
      },
    );
    const d = dir();
    writeFileSync(path.join(d, 'configuration.yaml'), 'log:\n  level: loud\n');
    assert.throws(() => loadConfig({ dataDir: d, env: {} }), /log\.level = "loud": .*(error|info)/);
  });

  it('unknown keys and bad camera ids are reported, not ignored', () => {
    assert.throws(() => loadConfig({ raw: { htpp: { port: 1 } }, env: {} }), /unknown key "htpp"/);
    assert.throws(() => loadConfig({ raw: { http: { prot: 1 } }, env: {} }), /unknown key "http\.prot"/);
    assert.throws(
      () => loadConfig({ raw: { cameras: { 'Bad Id!': {} } }, env: {} }),
      /cameras: "Bad Id!" is not a valid id: expected 1-48 chars of a-z/,
    );
  });

  it('an env var that names no setting is an error', () => {
    assert.throws(
      () => loadConfig({ dataDir: dir(), env: { CAM2MQTT_HTTP_PROT: '1' } }),
      /CAM2MQTT_HTTP_PROT does not name a setting/,
    );
  });

  it('broken YAML and a missing explicit file are clear errors', () => {
    const d = dir();
    writeFileSync(path.join(d, 'configuration.yaml'), 'http: [port: 1\n');
    assert.throws(() => loadConfig({ dataDir: d, env: {} }), /not valid YAML/);
    assert.throws(() => loadConfig({ file: path.join(d, 'nope.yaml'), env: {} }), /nope\.yaml does not exist/);
  });
});
