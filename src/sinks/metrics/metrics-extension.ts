import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Extension, ExtensionContext, ExtensionFactory } from '../../extension.js';
import { safeEqual } from '../../http/auth/index.js';
import { sendError, urlOf } from '../../http/server.js';
import type { Logger } from '../../logging.js';
import type { Scraper } from './registry.js';

/**
 * GET /metrics: the Prometheus text format. prom-client and the metrics' definitions (./registry.js)
 * load on the first scrape: a bridge nobody scrapes does not carry their 1.5 MB of heap.
 */
class MetricsExtension implements Extension {
  readonly name = 'metrics';
  private scraper: Promise<Scraper> | undefined;
  private readonly log: Logger;
  private scrapes = 0;

  constructor(private readonly ctx: ExtensionContext) {
    this.log = ctx.logger.child({ mod: 'metrics' });
    ctx.http.public.get('/metrics', (req, res) => this.serve(req, res));
  }

  private load(): Promise<Scraper> {
    const ctx = this.ctx;
    this.scraper ??= import('./registry.js').then(({ bridgeScraper }) =>
      bridgeScraper(
        () => ({ cams: ctx.hub.list(), figures: ctx.bridge.figures(), now: Date.now() }),
        ctx.bridge.version,
      ),
    );
    return this.scraper;
  }

  /**
   * The scraper token (metrics.token: Bearer or ?token=) or the API's own login (http.auth). With neither
   * set, /metrics is as open as the API.
   */
  private allowed(req: IncomingMessage, res: ServerResponse): boolean {
    const token = this.ctx.config.metrics.token;
    if (token !== undefined) {
      const [scheme, value = ''] = (req.headers.authorization ?? '').split(/\s+/, 2);
      const given = /^bearer$/i.test(scheme ?? '') ? value : urlOf(req).searchParams.get('token');
      if (given !== null && safeEqual(given, token)) return true;
      if (!this.ctx.config.http.auth) {
        res.writeHead(401, {
          'Content-Type': 'text/plain; charset=utf-8',
          'WWW-Authenticate': 'Bearer realm="cam2mqtt"',
        });
        res.end('metrics.token required: Authorization: Bearer TOKEN\n');
        return false;
      }
    }
    return this.ctx.http.authorize(req, res);
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.allowed(req, res)) return;
    this.scrapes++;
    try {
      const { contentType, text } = await (await this.load()).scrape();
      res.writeHead(200, { 'Content-Type': contentType, 'Cache-Control': 'no-store' });
      res.end(text);
    } catch (err) {
      this.log.error(`metrics not collected: ${(err as Error).message}`);
      sendError(res, 500, 'metrics not collected');
    }
  }

  start(): void {}
  stop(): void {}

  status(): Record<string, unknown> {
    return { scrapes: this.scrapes, token: this.ctx.config.metrics.token !== undefined };
  }
}

export const metricsExtension: ExtensionFactory = (ctx) =>
  ctx.config.metrics.enabled ? new MetricsExtension(ctx) : undefined;
