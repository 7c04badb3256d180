// `cam2mqtt addon-config`: the Home Assistant add-on's run script (deploy/home-assistant-addon/run.sh)
// turns /data/options.json into /data/configuration.yaml with it, then starts cam2mqtt on /data.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import YAML from 'yaml';
import { writeFileAtomic } from '../util/atomic-write.js';
import { AddonOptionsError, addonConfig, parseAddonOptions } from './options.js';
import { lookupMqttService } from './supervisor.js';

interface Flags {
  options: string;
  out: string;
  supervisor: string;
}

function fail(text: string): never {
  process.stderr.write(`cam2mqtt addon-config: ${text}\n`);
  process.exit(1);
}

export function registerAddonCommand(program: Command): void {
  program
    .command('addon-config')
    .description(
      "Home Assistant add-on: write cam2mqtt's settings from the add-on options (and the Supervisor's MQTT service)",
    )
    .option('--options <file>', "the add-on's options, as the Supervisor writes them", '/data/options.json')
    .option('--out <file>', 'the settings file to write', '/data/configuration.yaml')
    .option('--supervisor <url>', "the Supervisor's API (the token comes from SUPERVISOR_TOKEN)", 'http://supervisor')
    .action(async (flags: Flags) => {
      let raw: unknown;
      try {
        raw = JSON.parse(readFileSync(flags.options, 'utf8'));
      } catch (err) {
        fail(`cannot read the add-on options ${flags.options}: ${(err as Error).message}`);
      }
      try {
        const opts = parseAddonOptions(raw);
        const mqtt =
          opts.mqtt === 'auto'
            ? await lookupMqttService({ url: flags.supervisor, token: process.env.SUPERVISOR_TOKEN })
            : { service: undefined, why: `option mqtt: ${opts.mqtt}` };
        const { config, mqttSummary } = addonConfig(opts, mqtt);
        const header =
          '# Written by `cam2mqtt addon-config` from the add-on options at every start: change the options in\n' +
          '# Home Assistant (Settings > Add-ons > cam2mqtt > Configuration), not this file.\n';
        // Credentials inside: readable by the add-on only.
        await writeFileAtomic(flags.out, header + YAML.stringify(config), { mode: 0o600 });
        const n = opts.cameras.length;
        process.stdout.write(
          `cam2mqtt addon-config: wrote ${flags.out}: ${mqttSummary}; ${n} camera${n === 1 ? '' : 's'} configured\n`,
        );
      } catch (err) {
        if (err instanceof AddonOptionsError) fail(`invalid add-on options: ${err.message}`);
        throw err;
      }
    });
}
