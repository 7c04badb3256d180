// `cam2mqtt ha link` and `cam2mqtt ha status` (docs/home-assistant.md).
import { type Command, InvalidArgumentError } from 'commander';
import { ConfigError, type LoadedConfig, loadConfig } from '../config/load.js';
import { defaultBridgeUrl, fetchBridgeInfo } from './bridge-info.js';
import type { HaClient } from './client.js';
import { bridgeCredentialsFor, httpCredentialsFor, mqttCredentialsFor } from './credentials.js';
import { HaError, messageOf } from './errors.js';
import { linkHomeAssistant } from './link.js';
import { formatLinkReport, formatStatusReport } from './report.js';
import { haStatus } from './status.js';

interface CommonFlags {
  url?: string;
  token?: string;
  config?: string;
  dataDir?: string;
  bridge?: string;
  json?: boolean;
}

interface LinkFlags extends CommonFlags {
  brokerHost?: string;
  mqttUser?: string;
  live: boolean;
  timeout: number;
}

const seconds = (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('--timeout must be a positive number of seconds');
  return n;
};

/** Writes and exits (stdout/stderr writes to pipes and files are synchronous on Linux and macOS). */
function finish(code: number, text: string, stream: NodeJS.WriteStream = process.stdout): never {
  stream.write(text.endsWith('\n') ? text : `${text}\n`);
  process.exit(code);
}

function load(flags: CommonFlags): LoadedConfig {
  try {
    return loadConfig({
      ...(flags.config ? { file: flags.config } : {}),
      ...(flags.dataDir ? { dataDir: flags.dataDir } : {}),
    });
  } catch (err) {
    if (err instanceof ConfigError) finish(2, `cam2mqtt ha: ${err.message}`, process.stderr);
    throw err;
  }
}

function failure(flags: CommonFlags, err: unknown): never {
  const e = err instanceof HaError ? err : new HaError('ha_error', messageOf(err));
  if (flags.json) return finish(1, JSON.stringify({ ok: false, error: { code: e.code, message: e.message } }, null, 2));
  return finish(1, `cam2mqtt ha: ${e.message}\nNothing was changed in Home Assistant.`, process.stderr);
}

/** What both subcommands start from: the settings, a connection to HA, and where the bridge answers. */
async function open(flags: CommonFlags) {
  const { config } = load(flags);
  const h = config.homeassistant;
  let client: HaClient;
  try {
    // home-assistant-js-websocket loads only for this command, not in every bridge.
    const { HaClient } = await import('./client.js');
    client = await HaClient.connect(flags.url ?? h.url, flags.token ?? h.token);
  } catch (err) {
    return failure(flags, err);
  }
  return { config, h, client, bridgeUrl: flags.bridge ?? defaultBridgeUrl(config), auth: bridgeCredentialsFor(config) };
}

const addCommon = (cmd: Command): Command =>
  cmd
    .option('--url <url>', 'Home Assistant URL, e.g. http://homeassistant.local:8123 (default homeassistant.url)')
    .option(
      '--token <token>',
      'long-lived access token of an HA administrator (default homeassistant.token or CAM2MQTT_HOMEASSISTANT_TOKEN)',
    )
    .option('-c, --config <file>', "cam2mqtt's settings file, as given to the bridge")
    .option('-d, --data-dir <dir>', "cam2mqtt's data directory, as given to the bridge")
    .option('--bridge <url>', 'where the running cam2mqtt answers (default http://127.0.0.1:<http.port>)')
    .option('--json', 'print the report as JSON');

export function registerHaCommand(program: Command): void {
  const ha = program
    .command('ha')
    .description('link Home Assistant to cam2mqtt in one command (docs/home-assistant.md)');

  addCommon(
    ha
      .command('link')
      .description(
        "add HA's MQTT integration for cam2mqtt's broker, wait until HA has every camera's entities, add live views",
      ),
  )
    .option(
      '--broker-host <host>',
      "address HA should use for cam2mqtt's embedded broker (default mqtt.host, else the public URL's host)",
    )
    .option('--mqtt-user <name>', 'which mqtt.users entry HA logs in with (default the first with admin: true)')
    .option('--no-live', "do not add HA's mjpeg live views")
    .option('--timeout <seconds>', 'how long to wait for HA to discover everything', seconds, 60)
    .action(async (flags: LinkFlags) => {
      const { config, h, client, bridgeUrl, auth } = await open(flags);
      const say = (line: string) => (flags.json ? process.stderr : process.stdout).write(`${line}\n`);
      const mqtt = mqttCredentialsFor(config, flags.mqttUser);
      let report;
      try {
        report = await linkHomeAssistant({
          client,
          bridge: () => fetchBridgeInfo(bridgeUrl, auth),
          mqttCredentials: mqtt.credentials,
          mqttCredentialsProblem: mqtt.problem,
          httpCredentials: httpCredentialsFor(config),
          brokerHost: flags.brokerHost ?? h.broker_host,
          live: flags.live === false ? false : h.live,
          timeoutMs: flags.timeout * 1000,
          say,
        });
      } finally {
        client.close();
      }
      if (flags.json) return finish(report.ok ? 0 : 1, JSON.stringify(report, null, 2));
      return finish(report.ok ? 0 : 1, formatLinkReport(report));
    });

  addCommon(ha.command('status').description('show what Home Assistant sees of cam2mqtt (changes nothing)')).action(
    async (flags: CommonFlags) => {
      const { client, bridgeUrl, auth } = await open(flags);
      try {
        const st = await haStatus(client, () => fetchBridgeInfo(bridgeUrl, auth, 5_000));
        client.close();
        return finish(0, flags.json ? JSON.stringify(st, null, 2) : formatStatusReport(st));
      } catch (err) {
        client.close();
        return failure(flags, err);
      }
    },
  );
}
