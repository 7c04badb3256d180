// The Home Assistant link inside the bridge:
// - GET /api/bridge: what `cam2mqtt ha link|status` needs to know about this bridge (BridgeInfo);
// - with homeassistant.url and homeassistant.token set, the same link as `cam2mqtt ha link` runs in
//   the background after startup (retried with backoff while HA is unreachable), and again when a
//   camera comes online that HA does not have a live view of yet;
// - status() (in /healthz and on the page, under "homeassistant"):
//   { configured, state: 'off'|'waiting'|'linking'|'linked'|'error', linked, url?, version?,
//     cameras?, entities?, live?, linked_at?, error?, code?, retry_in? }
import type { Extension, ExtensionContext, ExtensionFactory } from '../extension.js';
import { sendJson } from '../http/server.js';
import type { Camera } from '../hub/camera.js';
import type { Logger } from '../logging.js';
import { localBridgeInfo } from './bridge-info.js';
import type { HaClient } from './client.js';
import { httpCredentialsFor, mqttCredentialsFor } from './credentials.js';
import { HaError, type HaErrorCode, messageOf } from './errors.js';
import type { LinkReport } from './link.js';

/** Problems that retrying will not fix: reported once, no retry until the settings change (restart). */
const PERMANENT: ReadonlySet<HaErrorCode> = new Set([
  'no_url',
  'no_token',
  'bad_url',
  'not_ha',
  'bad_token',
  'banned',
  'not_admin',
  'too_old',
  'mqtt_disabled',
  'discovery_disabled',
  'mqtt_credentials',
  'other_broker',
  'mqtt_flow_unknown',
]);
const FIRST_RETRY_MS = 10_000;
const MAX_RETRY_MS = 10 * 60_000;
/** After a camera comes online, wait this long (more may follow) before linking again. */
const RELINK_DELAY_MS = 3_000;

export type HaLinkState = 'off' | 'waiting' | 'linking' | 'linked' | 'error';

export type HaLinkStatus = {
  configured: boolean;
  state: HaLinkState;
  linked: boolean;
  url?: string;
  version?: string;
  cameras?: number;
  entities?: number;
  live?: number;
  linked_at?: string;
  error?: string;
  code?: string;
  /** Seconds until the next attempt. */
  retry_in?: number;
};

export class HaExtension implements Extension {
  readonly name = 'homeassistant';
  private readonly log: Logger;
  private state: HaLinkState = 'off';
  private last: LinkReport | undefined;
  private lastError: { code: string; message: string } | undefined;
  private linkedAt: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private nextAt: number | undefined;
  private retryMs = FIRST_RETRY_MS;
  private running: Promise<void> | undefined;
  private stopped = true;
  /** Cameras the last successful link covered with a live view (or all, without live). */
  private covered = new Set<string>();
  private readonly onOnline = (cam: Camera) => this.cameraOnline(cam);

  constructor(private readonly ctx: ExtensionContext) {
    this.log = ctx.logger.child({ mod: 'homeassistant' });
    ctx.http.get('/api/bridge', (_req, res) => sendJson(res, 200, localBridgeInfo(ctx.bridge, ctx.hub, ctx.config)));
  }

  private get configured(): boolean {
    const h = this.ctx.config.homeassistant;
    return Boolean(h.url && h.token);
  }

  start(): void {
    this.stopped = false;
    if (!this.configured) return;
    this.ctx.hub.listen(this, 'online', this.onOnline);
    this.state = 'waiting';
    // Give cameras a moment to connect, so the first link covers them.
    this.schedule(1_000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.ctx.hub.unlisten(this);
    if (this.running) {
      await Promise.race([this.running, new Promise((r) => setTimeout(r, 5_000).unref())]);
    }
  }

  status(): HaLinkStatus {
    const h = this.ctx.config.homeassistant;
    const out: HaLinkStatus = {
      configured: this.configured,
      state: this.state,
      linked: this.linkedAt !== undefined && this.state !== 'error',
    };
    if (!this.configured) return out;
    out.url = h.url!.replace(/\/+$/, '');
    const r = this.last;
    if (r?.ha.version) out.version = r.ha.version;
    if (r?.ok) {
      const cams = r.devices.filter((d) => d.camera !== undefined);
      out.cameras = cams.length;
      out.entities = r.devices.reduce((n, d) => n + d.entities.length, 0);
      out.live = cams.filter((d) => d.live?.status === 'added' || d.live?.status === 'existing').length;
    }
    if (this.linkedAt !== undefined) out.linked_at = new Date(this.linkedAt).toISOString();
    if (this.lastError) {
      out.error = this.lastError.message;
      out.code = this.lastError.code;
    }
    if (this.nextAt !== undefined) out.retry_in = Math.max(0, Math.round((this.nextAt - Date.now()) / 1000));
    return out;
  }

  /** Runs a link now (tests; the page could offer it). Resolves with its report. */
  async linkNow(): Promise<LinkReport | undefined> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.nextAt = undefined;
    while (this.running) await this.running;
    await this.run();
    return this.last;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.nextAt = Date.now() + ms;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.nextAt = undefined;
      if (this.running) {
        void this.running.then(() => this.schedule(0));
        return;
      }
      void this.run();
    }, ms);
    this.timer.unref();
  }

  private cameraOnline(cam: Camera): void {
    if (this.stopped || this.covered.has(cam.id)) return;
    // A new camera, or one whose live view could not be added while it was offline.
    if (this.state === 'linked' || this.state === 'waiting') this.schedule(RELINK_DELAY_MS);
  }

  private run(): Promise<void> {
    const p = this.attempt().finally(() => {
      if (this.running === p) this.running = undefined;
    });
    this.running = p;
    return p;
  }

  private async attempt(): Promise<void> {
    const { config } = this.ctx;
    const h = config.homeassistant;
    this.state = 'linking';
    let report: LinkReport | undefined;
    let client: HaClient | undefined;
    // The HA client and the linker load only when Home Assistant is configured (most runs never link).
    const [{ HaClient }, { linkHomeAssistant }, { formatLinkReport }] = await Promise.all([
      import('./client.js'),
      import('./link.js'),
      import('./report.js'),
    ]);
    try {
      client = await HaClient.connect(h.url, h.token, { setupRetry: 0 });
      const mqtt = mqttCredentialsFor(config);
      report = await linkHomeAssistant({
        client,
        bridge: async () => {
          if (this.stopped) throw new HaError('ha_error', 'cam2mqtt is stopping');
          return localBridgeInfo(this.ctx.bridge, this.ctx.hub, config);
        },
        mqttCredentials: mqtt.credentials,
        mqttCredentialsProblem: mqtt.problem,
        httpCredentials: httpCredentialsFor(config),
        brokerHost: h.broker_host,
        live: h.live,
        say: (line) => this.log.debug(line),
      });
    } catch (err) {
      const e = err instanceof HaError ? err : new HaError('ha_error', messageOf(err));
      this.fail(e.code, e.message);
      return;
    } finally {
      client?.close();
    }
    this.last = report;
    if (!report.ok) {
      this.fail(report.error?.code ?? 'ha_error', report.error?.message ?? 'link failed', report);
      return;
    }
    this.state = 'linked';
    this.lastError = undefined;
    this.linkedAt = Date.now();
    this.retryMs = FIRST_RETRY_MS;
    this.covered = new Set(
      report.devices
        .filter((d) => d.camera !== undefined && (d.live === undefined || d.live.status !== 'skipped'))
        .map((d) => d.camera!),
    );
    // The summary lines at info, the per-camera entity lists at debug.
    for (const line of formatLinkReport(report).split('\n')) {
      if (/^ {10}/.test(line)) this.log.debug(`Home Assistant: ${line.trim()}`);
      else this.log.info(`Home Assistant: ${line}`);
    }
    // A camera that came online while linking: link again for it.
    if (this.ctx.hub.list().some((c) => c.online && !this.covered.has(c.id))) this.schedule(RELINK_DELAY_MS);
  }

  private fail(code: string, message: string, report?: LinkReport): void {
    this.state = 'error';
    this.lastError = { code, message };
    if (this.stopped) return;
    if (PERMANENT.has(code as HaErrorCode)) {
      this.log.error(
        `Home Assistant link failed: ${message} (not retried; fix the setting and restart cam2mqtt, or run \`cam2mqtt ha link\`)`,
      );
    } else {
      this.log.warn(`Home Assistant link failed: ${message}; trying again in ${Math.round(this.retryMs / 1000)} s`);
      this.schedule(this.retryMs);
      this.retryMs = Math.min(MAX_RETRY_MS, this.retryMs * 2);
    }
    for (const x of report?.rolled_back ?? []) this.log.warn(`Home Assistant: ${x}`);
  }
}

export const haExtension: ExtensionFactory = (ctx) => new HaExtension(ctx);
