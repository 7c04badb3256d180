import { existsSync, readdirSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import send from 'send';
import { sendError } from '../../http/respond.js';

/** The page's file types; a file of another type in the directory is not served. */
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

/**
 * The built control page (dist/page: `npm run build` bundles src/sinks/page/web and copies
 * src/sinks/page/public), found from the repository root, which is where package.json is whether we
 * run from src/ or dist/src/.
 */
export function findPublicDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'dist', 'page');
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(candidate, 'index.html'))) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error('cannot find the built control page (dist/page) next to package.json; run npm run build');
}

/**
 * Serves a flat directory with `send` (what express.static and res.sendFile use): an ETag per file
 * (304 on If-None-Match), `Cache-Control: no-cache` so browsers revalidate (a cheap 304) and an upgraded
 * bridge is never paired with a stale page. Gzip is src/http/gzip.ts on the page's routes (index.ts).
 * The names are listed once at start: only those, of the types above, are served.
 */
export class StaticFiles {
  private readonly files: Set<string>;

  constructor(readonly dir: string) {
    this.files = new Set(readdirSync(dir).filter((name) => TYPES[path.extname(name)] !== undefined));
  }

  has(name: string): boolean {
    return this.files.has(name);
  }

  get names(): string[] {
    return [...this.files];
  }

  /** Answer with file `name`; false if there is no such file (nothing written). */
  /** `sameOrigin`: may be framed by its own origin (Home Assistant's ingress shows the page in an iframe). */
  serve(req: IncomingMessage, res: ServerResponse, name: string, opts: { sameOrigin?: boolean } = {}): boolean {
    if (!this.files.has(name)) return false;
    const type = TYPES[path.extname(name)]!;
    res.setHeader('Content-Type', type);
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    if (type.startsWith('text/html')) {
      // The page talks only to its own origin; no framing by other sites (clickjacking of camera controls).
      res.setHeader(
        'Content-Security-Policy',
        `default-src 'self'; img-src 'self' blob: data:; connect-src 'self'; style-src 'self'; script-src 'self'; frame-ancestors ${opts.sameOrigin ? "'self'" : "'none'"}`,
      );
      res.setHeader('X-Frame-Options', opts.sameOrigin ? 'SAMEORIGIN' : 'DENY');
      res.setHeader('Referrer-Policy', 'same-origin');
    }
    send(req, name, { root: this.dir, cacheControl: false, lastModified: false, dotfiles: 'deny', index: false })
      // A file gone since start is a 404; a client that went away mid-file needs no answer.
      .on('error', () => {
        if (!res.headersSent) sendError(res, 404, `no such file: ${name}`);
        else res.destroy();
      })
      .pipe(res);
    return true;
  }
}
