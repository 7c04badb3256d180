import type { Config } from './config/schema.js';
import type { BridgeView, Extension, ExtensionContext, ExtensionFactory, SinkFigures } from './extension.js';
import { HttpServer } from './http/server.js';
import { loadTls } from './http/tls.js';
import { CameraHub } from './hub/hub.js';
import type { Logger } from './logging.js';
import { lanAddress } from './util/net.js';
import { VERSION } from './util/version.js';

export interface BridgeOptions {
  config: Config;
  dataDir: string;
  logger: Logger;
}

/**
 * The controller: builds the hub (the event bus) and the HTTP port, then runs the extensions
 * (src/extensions.ts: every source and sink) in order. It knows no feature by name.
 */
export class Bridge implements BridgeView {
  readonly hub: CameraHub;
  readonly http: HttpServer;
  readonly config: Config;
  readonly log: Logger;
  readonly version = VERSION;
  private readonly extensions: Extension[] = [];
  private started = false;

  constructor(
    readonly opts: BridgeOptions,
    extensions: ExtensionFactory[],
  ) {
    const { config, logger } = opts;
    this.config = config;
    this.log = logger.child({ mod: 'bridge' });
    const limits = config.limits;
    this.hub = new CameraHub({
      logger,
      configured: config.cameras,
      allowUnknown: config.allow_unknown_cameras,
      maxCameras: limits.max_cameras,
      cameraTimeoutMs: limits.camera_timeout * 1000,
      commandTimeoutMs: limits.command_timeout * 1000,
    });
    this.http = new HttpServer(logger, config.http.tls, { ingressGateway: config.http.ingress_gateway });
    const ctx: ExtensionContext = {
      bridge: this,
      hub: this.hub,
      http: this.http,
      config,
      dataDir: opts.dataDir,
      logger,
    };
    for (const make of extensions) {
      const ext = make(ctx);
      if (ext) this.extensions.push(ext);
    }
  }

  /** The running extension called `name` (tests and tools look inside one). */
  extension<T extends Extension = Extension>(name: string): T | undefined {
    return this.extensions.find((e) => e.name === name) as T | undefined;
  }

  viewers(cameraId?: string): number {
    let n = 0;
    for (const e of this.extensions) n += e.viewers?.(cameraId) ?? 0;
    return n;
  }

  figures(): SinkFigures {
    const out: SinkFigures = {};
    for (const e of this.extensions) if (e.figures) Object.assign(out, e.figures());
    return out;
  }

  status(): Record<string, unknown> {
    const out: Record<string, unknown> = { version: this.version, viewers: this.viewers() };
    for (const e of this.extensions) if (e.status) out[e.name] = e.status();
    return out;
  }

  /** Base URL for people and Home Assistant. */
  get publicUrl(): string {
    if (this.config.http.public_url) return this.config.http.public_url.replace(/\/$/, '');
    return `${this.config.http.tls ? 'https' : 'http'}://${lanAddress(this.config.http.host)}:${this.http.port}`;
  }

  /** SIGHUP: read http.tls's files again; on an error the current certificate stays (and it is logged). */
  reloadTls(): boolean {
    const tls = this.config.http.tls;
    if (!tls) return false;
    try {
      const c = loadTls(this.http.server, tls);
      this.log.info(`TLS certificate reloaded: ${c.subject}, valid to ${c.validTo}, SHA-256 ${c.fingerprint}`);
      return true;
    } catch (err) {
      this.log.error(`TLS certificate not reloaded, the previous one stays in use: ${(err as Error).message}`);
      return false;
    }
  }

  async start(): Promise<void> {
    const { host, port, tls } = this.config.http;
    if (tls) {
      const c = loadTls(this.http.server, tls);
      this.log.info(`TLS: ${c.subject}, valid to ${c.validTo}, SHA-256 ${c.fingerprint}`);
    }
    try {
      await this.http.listen(port, host);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'EADDRINUSE')
        throw new Error(
          `http.port ${port} on ${host} is already in use (set http.port, CAM2MQTT_HTTP_PORT or --http-port)`,
        );
      if (e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND')
        throw new Error(`http.host ${host} is not an address of this machine`);
      throw err;
    }
    this.started = true;
    this.hub.start();
    for (const e of this.extensions) await e.start();
    if (this.config.http.ingress_gateway)
      this.log.info(
        `Home Assistant ingress: requests from ${this.config.http.ingress_gateway} with an X-Ingress-Path header skip http.auth`,
      );
    if (!this.config.http.auth)
      this.log.warn('http.auth is not set: the page, the API and the streams are open to anyone on the network');
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    for (const e of [...this.extensions].reverse()) {
      try {
        await e.stop();
      } catch (err) {
        this.log.warn(`stopping ${e.name} failed: ${(err as Error).message}`);
      }
      this.hub.unlisten(e);
    }
    this.hub.stop();
    await this.http.close();
  }
}
