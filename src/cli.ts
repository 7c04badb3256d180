#!/usr/bin/env -S node --max-semi-space-size=1
import { Command, InvalidArgumentError, Option } from 'commander';
import { registerAddonCommand } from './addon/cli-command.js';
import { Bridge } from './bridge.js';
import { ConfigError, loadConfig } from './config/load.js';
import { defaultExtensions } from './extensions.js';
import { registerHaCommand } from './ha/cli-command.js';
import { createLogger, type Logger } from './logging.js';
import type { SimulatedCamera } from './simulator/camera.js';
import { cameraUrl } from './simulator/urls.js';
import { VERSION } from './util/version.js';

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a whole number`);
  return n;
};
const num = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number`);
  return n;
};

interface RunFlags {
  config?: string;
  dataDir?: string;
  httpPort?: number;
  mqttPort?: number;
  logLevel?: string;
}

/** Load settings, start the bridge, print where to go, and stop cleanly on Ctrl-C / SIGTERM. */
async function runBridge(flags: RunFlags, onStop?: () => Promise<void>): Promise<{ bridge: Bridge; log: Logger }> {
  let loaded;
  // A .env in the working directory (the DIY Security Camera Server seed's keys): see config/dotenv.ts.
  const dot = (await import('./config/dotenv.js')).readDotenv(process.cwd());
  try {
    loaded = loadConfig({
      ...(flags.config ? { file: flags.config } : {}),
      ...(flags.dataDir ? { dataDir: flags.dataDir } : {}),
      env: { ...dot.env, ...process.env },
      overrides: {
        ...dot.overrides,
        'http.port': flags.httpPort,
        'log.level': flags.logLevel,
        'mqtt.port': flags.mqttPort,
      },
    });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`cam2mqtt: ${err.message}${dot.file ? ` (settings from ${dot.file} included)` : ''}\n`);
      process.exit(2);
    }
    throw err;
  }
  const { config } = loaded;
  const logger = createLogger({ level: config.log.level, format: config.log.format });
  const log = logger.child({ mod: 'main' });
  log.info(
    `cam2mqtt ${VERSION} starting (settings: ${loaded.fileFound ? loaded.file : `defaults, no ${loaded.file}`}; data: ${loaded.dataDir})`,
  );
  if (loaded.envApplied.length) log.info(`settings from the environment: ${loaded.envApplied.join(', ')}`);
  for (const line of dot.log) log.info(line);
  for (const line of dot.warnings) log.warn(line);
  const bridge = new Bridge({ config, dataDir: loaded.dataDir, logger }, defaultExtensions);
  try {
    await bridge.start();
  } catch (err) {
    log.error(`cannot start: ${(err as Error).message}`);
    await bridge.stop().catch(() => {});
    process.exit(1);
  }
  const base = bridge.publicUrl;
  log.info(`control page:        ${base}/`);
  log.info(`cameras (native):    ${cameraUrl(base, 'native')}`);
  log.info(`cameras (MJPEG2SD):  ${cameraUrl(base, 'mjpeg2sd')}`);
  log.info(`REST API:            ${base}/api/cameras  (MJPEG: ${base}/api/cameras/<id>/stream.mjpeg)`);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) {
      log.warn(`${signal} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    log.info(`${signal}: shutting down`);
    const force = setTimeout(() => {
      log.error('shutdown took longer than 10 s; exiting anyway');
      process.exit(1);
    }, 10_000);
    force.unref();
    await onStop?.();
    await bridge.stop();
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  // SIGHUP re-reads the TLS certificate (renewals); without http.tls it keeps its default (exit).
  if (config.http.tls)
    process.on('SIGHUP', () => {
      log.info('SIGHUP: reloading the TLS certificate');
      bridge.reloadTls();
    });
  return { bridge, log };
}

const program = new Command()
  .name('cam2mqtt')
  .description(
    'Bring ESP32 cameras into Home Assistant: cameras in over WebSocket or MJPEG, MQTT discovery, MJPEG streams and one control page out.',
  )
  .version(VERSION)
  .enablePositionalOptions();

const addRunOptions = (cmd: Command) =>
  cmd
    .option('-c, --config <file>', 'settings file (default <data-dir>/configuration.yaml)')
    .option('-d, --data-dir <dir>', 'data directory (default ./data)')
    .option('-p, --http-port <n>', 'HTTP and camera WebSocket port (http.port)', int('--http-port'))
    .option('--mqtt-port <n>', 'embedded MQTT broker port (mqtt.port)', int('--mqtt-port'))
    .addOption(
      new Option('-l, --log-level <level>', 'log.level').choices(['error', 'warn', 'info', 'debug', 'trace', 'silent']),
    );

addRunOptions(program).action(async (flags: RunFlags) => {
  await runBridge(flags);
});

addRunOptions(
  program.command('demo').description('run the bridge with three simulated cameras (two native, one MJPEG2SD)'),
).action(async (flags: RunFlags) => {
  let cams: SimulatedCamera[] = [];
  // Loaded only here and in `simulate`: a bridge that serves real cameras never needs it.
  const { startSimulatedCameras } = await import('./simulator/simulate.js');
  const { bridge, log } = await runBridge(flags, async () => {
    await Promise.all(cams.map((c) => c.stop()));
  });
  const local = `${bridge.config.http.tls ? 'https' : 'http'}://127.0.0.1:${bridge.http.port}`;
  cams = [
    ...startSimulatedCameras({
      url: cameraUrl(local, 'native'),
      cameras: 2,
      fps: 10,
      size: '640x480',
      protocol: 'native',
      motionEvery: 20,
      idPrefix: 'demo',
      insecure: true, // its own bridge, on 127.0.0.1
    }),
    ...startSimulatedCameras({
      url: cameraUrl(local, 'mjpeg2sd'),
      cameras: 1,
      fps: 8,
      size: '640x480',
      protocol: 'mjpeg2sd',
      motionEvery: 30,
      idPrefix: 'ESP-CAM-DEMO',
      insecure: true,
    }),
  ];
  log.info(`demo: 3 simulated cameras connecting; open ${bridge.publicUrl}/`);
});

program
  .command('simulate')
  .description('run simulated cameras that dial out to a bridge')
  .requiredOption(
    '--url <url>',
    'camera endpoint, e.g. ws://127.0.0.1:9090/api/camera (native) or ws://127.0.0.1:9090/ws (mjpeg2sd)',
  )
  .option('--cameras <n>', 'how many cameras', int('--cameras'), 1)
  .option('--fps <f>', 'frames per second', num('--fps'), 10)
  .option('--size <WxH>', 'frame size', '640x480')
  .addOption(
    new Option('--protocol <p>', 'wire protocol (legacy is the old name of mjpeg2sd)')
      .choices(['native', 'mjpeg2sd', 'legacy'])
      .default('native'),
  )
  .option('--motion-every <s>', 'report motion every S seconds (lasting S/2)', num('--motion-every'))
  .option('--id-prefix <prefix>', 'camera id prefix')
  .option('--token <token>', 'native hello token')
  .action(
    async (o: {
      url: string;
      cameras: number;
      fps: number;
      size: string;
      protocol: 'native' | 'mjpeg2sd' | 'legacy';
      motionEvery?: number;
      idPrefix?: string;
      token?: string;
    }) => {
      let cams;
      const { startSimulatedCameras } = await import('./simulator/simulate.js');
      try {
        cams = startSimulatedCameras({ ...o, protocol: o.protocol === 'legacy' ? 'mjpeg2sd' : o.protocol });
      } catch (err) {
        process.stderr.write(`cam2mqtt simulate: ${(err as Error).message}\n`);
        process.exit(2);
      }
      for (const c of cams) {
        c.on('open', () => process.stdout.write(`${c.opts.id}: connected to ${o.url}\n`));
        c.on('close', (code: number, reason: string) =>
          process.stdout.write(`${c.opts.id}: closed ${code} ${reason}\n`),
        );
      }
      process.stdout.write(
        `simulating ${o.cameras} ${o.protocol} camera(s) at ${o.fps} fps, ${o.size}; Ctrl-C to stop\n`,
      );
      const stop = async () => {
        await Promise.all(cams.map((c) => c.stop()));
        process.exit(0);
      };
      process.on('SIGINT', () => void stop());
      process.on('SIGTERM', () => void stop());
    },
  );

registerHaCommand(program);
registerAddonCommand(program);

await program.parseAsync(process.argv);
