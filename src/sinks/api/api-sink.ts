import type { Extension, ExtensionFactory } from '../../extension.js';
import { jsonBody } from '../../http/body.js';
import { sendCommandError } from '../../http/respond.js';
import { type HttpServer, sendError, sendJson } from '../../http/server.js';
import { CommandError, parseCommandBody } from '../../hub/controls.js';
import type { CameraHub } from '../../hub/hub.js';
import type { Logger } from '../../logging.js';
import { VERSION } from '../../util/version.js';

/** REST: camera list and details, commands, snapshots, health. */
export class ApiSink implements Extension {
  readonly name = 'api';

  constructor(
    hub: CameraHub,
    http: HttpServer,
    logger: Logger,
    private readonly extra: () => Record<string, unknown>,
  ) {
    const log = logger.child({ mod: 'api' });
    http.public.get('/healthz', (req, res) => {
      const cams = hub.list();
      const counts = {
        status: 'ok',
        version: VERSION,
        uptime: Math.round(process.uptime()),
        cameras: cams.length,
        online: cams.filter((c) => c.online).length,
        viewers: this.extra().viewers,
      };
      // Public for monitoring: only status, version and counts. Details (sources, errors,
      // addresses) need a login; even then credentials in URLs are masked.
      if (!http.isAuthenticated(req)) return sendJson(res, 200, counts);
      sendJson(res, 200, { ...counts, ...this.extra() }, { redact: true });
    });
    http.get('/api/cameras', (_req, res) =>
      sendJson(
        res,
        200,
        hub.list().map((c) => c.toJSON()),
        { redact: true },
      ),
    );
    http.get('/api/cameras/:id', ({ params: p }, res) => {
      const cam = hub.get(p.id!);
      if (!cam) return sendError(res, 404, `unknown camera "${p.id}"`);
      sendJson(res, 200, cam.toJSON(), { redact: true });
    });
    http.get('/api/cameras/:id/log', ({ params: p }, res) => {
      const cam = hub.get(p.id!);
      if (!cam) return sendError(res, 404, `unknown camera "${p.id}"`);
      sendJson(res, 200, cam.log.toArray(), { redact: true });
    });
    http.get('/api/cameras/:id/snapshot.jpg', (req, res) => {
      const p = req.params;
      const cam = hub.get(p.id!);
      if (!cam) return sendError(res, 404, `unknown camera "${p.id}"`);
      const f = cam.latest;
      if (!f) return sendError(res, 503, `camera ${cam.id} has not sent a frame yet`);
      res.writeHead(200, {
        'Content-Type': 'image/jpeg',
        'Content-Length': f.data.length,
        'Cache-Control': 'no-cache, no-store, must-revalidate',
        'X-Frame-Seq': String(f.seq),
        'X-Frame-Time': String(f.cameraTime),
        'Last-Modified': new Date(f.receivedAt).toUTCString(),
      });
      res.end(req.method === 'HEAD' ? undefined : f.data);
    });
    http.post('/api/cameras/:id/command', jsonBody(), async (req, res) => {
      const id = req.params.id!;
      try {
        const cmd = parseCommandBody(req.body);
        const result = await hub.command(id, cmd);
        sendJson(res, 200, { ok: true, camera: id, command: cmd, answer: result.answer ?? null });
      } catch (err) {
        if (err instanceof CommandError) {
          log.warn(`command for ${id} refused: ${err.message}`);
          return sendCommandError(res, err);
        }
        throw err;
      }
    });
  }

  start(): void {}

  stop(): void {}
}

export const apiExtension: ExtensionFactory = ({ hub, http, logger, bridge }) =>
  new ApiSink(hub, http, logger, () => bridge.status());
