import type { Extension, ExtensionContext, ExtensionFactory, SinkFigures } from '../../extension.js';
import { jsonBody } from '../../http/body.js';
import { gzip } from '../../http/gzip.js';
import { sendCommandError } from '../../http/respond.js';
import { HttpError, sendError, sendJson } from '../../http/server.js';
import { CommandError } from '../../hub/controls.js';
import type { Logger } from '../../logging.js';
import { PtzController } from './commands.js';
import { PresetError, PresetSaveError, PresetStore, parsePresets } from './presets.js';
import { PageSocketServer } from './socket/server.js';
import { findPublicDir, StaticFiles } from './static.js';

/** A page socket carries every visible tile, so it may buffer more than one MJPEG viewer. */
const MIN_PAGE_QUEUE_BYTES = 256 * 1024;

/**
 * The control page: static files at /, the page socket at /api/ws, command presets at /api/presets and
 * relative pan/tilt at /api/cameras/:id/ptz.
 */
class PageExtension implements Extension {
  readonly name = 'page';
  readonly socket: PageSocketServer;
  readonly presets: PresetStore;
  readonly ptz: PtzController;
  private readonly log: Logger;

  constructor(ctx: ExtensionContext) {
    const { hub, http, config, logger } = ctx;
    this.log = logger.child({ mod: 'page' });
    this.presets = new PresetStore(ctx.dataDir, this.log);
    this.ptz = new PtzController(hub);
    // Missing page files (a broken install) must not take cameras, streams and MQTT down with them.
    let files: StaticFiles | undefined;
    try {
      files = new StaticFiles(findPublicDir());
    } catch (err) {
      this.log.error(`the control page is unavailable: ${(err as Error).message}`);
    }
    const limits = config.limits;
    this.socket = new PageSocketServer(hub, this.ptz, logger, {
      queueBytes: Math.max(limits.viewer_queue_bytes, MIN_PAGE_QUEUE_BYTES),
      stallTimeoutMs: limits.viewer_stall_timeout * 1000,
      maxMessageBytes: 64 * 1024,
      maxClients: 200,
      publicUrl: config.http.public_url,
      version: ctx.bridge.version,
      presets: () => this.presets.list(),
      status: () => ctx.bridge.status(),
      helloExtra: () => ({
        auth: config.http.auth !== undefined,
        // Lets the page offer a stream URL that VLC or HA can open without a session cookie.
        stream_token: config.http.auth?.token ?? null,
        public_url: ctx.bridge.publicUrl,
      }),
    });
    http.upgrade('/api/ws', (req, socket, head) => this.socket.handleUpgrade(req, socket, head));

    http.get('/', gzip(), (req, res) => {
      // Through Home Assistant's ingress the page is shown in HA's own iframe (same origin).
      if (!files?.serve(req, res, 'index.html', { sameOrigin: http.ingressPrefix(req) !== undefined }))
        sendError(res, 503, 'the control page is missing from this installation (dist/page): run npm run build');
    });
    http.get('/assets/:file', gzip(), (req, res) => {
      const p = req.params;
      if (!files?.serve(req, res, p.file!)) sendError(res, 404, `no such file: ${p.file}`);
    });

    http.get('/api/presets', (_req, res) => sendJson(res, 200, this.presets.list()));
    http.put('/api/presets', jsonBody(), async (req, res) => {
      const body: unknown = req.body;
      let list;
      try {
        list = parsePresets(body);
      } catch (err) {
        if (err instanceof PresetError) throw new HttpError(400, err.message);
        throw err;
      }
      try {
        this.presets.save(list);
      } catch (err) {
        // Logged once by the store; 507 Insufficient Storage tells a full disk apart from other failures.
        if (err instanceof PresetSaveError) throw new HttpError(err.code === 'ENOSPC' ? 507 : 500, err.message);
        throw err;
      }
      this.socket.broadcast({ t: 'presets', presets: list });
      sendJson(res, 200, list);
    });

    // Relative pan/tilt for the D-pad and for automations: {"direction": "left", "step": 10}.
    http.post('/api/cameras/:id/ptz', jsonBody(), async (req, res) => {
      const id = req.params.id!;
      const body = req.body as Record<string, unknown> | null;
      if (typeof body !== 'object' || body === null || Array.isArray(body))
        throw new HttpError(
          400,
          'expected {"direction": "up|down|left|right|home", "step": 10} or {"pan": 0-180, "tilt": 0-180}',
        );
      try {
        const absolute = body.direction === undefined && (body.pan !== undefined || body.tilt !== undefined);
        const pos = absolute
          ? await this.ptz.goTo(id, body.pan, body.tilt)
          : await this.ptz.move(id, body.direction, body.step);
        sendJson(res, 200, { ok: true, camera: id, ...pos });
      } catch (err) {
        if (!(err instanceof CommandError)) throw err;
        this.log.warn(`ptz for ${id} refused: ${err.message}`);
        sendCommandError(res, err);
      }
    });

    http.get('/api/page/clients', (_req, res) => sendJson(res, 200, this.socket.clientsJSON()));
  }

  start(): void {
    this.socket.start();
  }

  async stop(): Promise<void> {
    await this.socket.close();
    this.ptz.stop();
  }

  status(): Record<string, unknown> {
    return { clients: this.socket.clientCount, tiles: this.socket.tileCount };
  }

  /** Page tabs showing this camera (a tile receiving frames); without an id, none: /healthz counts MJPEG viewers. */
  viewers(cameraId?: string): number {
    return cameraId === undefined ? 0 : this.socket.watching(cameraId);
  }

  figures(): SinkFigures {
    return { page_clients: this.socket.clientCount };
  }
}

export const pageExtension: ExtensionFactory = (ctx) => new PageExtension(ctx);
