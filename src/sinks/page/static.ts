import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

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

interface Asset {
  body: Buffer;
  gzip: Buffer | undefined;
  type: string;
  etag: string;
}

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
 * Serves a flat directory from memory: read once at start, an ETag per file, gzip when it pays.
 * `Cache-Control: no-cache` makes browsers revalidate (a cheap 304), so an upgraded bridge is never
 * paired with a stale page.
 */
export class StaticFiles {
  private readonly assets = new Map<string, Asset>();

  constructor(readonly dir: string) {
    for (const name of readdirSync(dir)) {
      const type = TYPES[path.extname(name)];
      if (!type) continue;
      const body = readFileSync(path.join(dir, name));
      const compressible = !type.startsWith('image/png') && body.length > 1024;
      const gzip = compressible ? gzipSync(body, { level: 9 }) : undefined;
      const etag = `"${createHash('sha1').update(body).digest('base64url').slice(0, 20)}"`;
      this.assets.set(name, { body, gzip: gzip && gzip.length < body.length ? gzip : undefined, type, etag });
    }
  }

  has(name: string): boolean {
    return this.assets.has(name);
  }

  get names(): string[] {
    return [...this.assets.keys()];
  }

  /** Answer with file `name`; false if there is no such file (nothing written). */
  serve(req: IncomingMessage, res: ServerResponse, name: string): boolean {
    const a = this.assets.get(name);
    if (!a) return false;
    const headers: Record<string, string | number> = {
      'Content-Type': a.type,
      'Cache-Control': 'no-cache',
      ETag: a.etag,
      Vary: 'Accept-Encoding',
      'X-Content-Type-Options': 'nosniff',
    };
    if (a.type.startsWith('text/html')) {
      // The page talks only to its own origin; no framing by other sites (clickjacking of camera controls).
      headers['Content-Security-Policy'] =
        "default-src 'self'; img-src 'self' blob: data:; connect-src 'self'; style-src 'self'; script-src 'self'; frame-ancestors 'none'";
      headers['X-Frame-Options'] = 'DENY';
      headers['Referrer-Policy'] = 'same-origin';
    }
    if (req.headers['if-none-match'] === a.etag) {
      res.writeHead(304, headers);
      res.end();
      return true;
    }
    const gz = a.gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const body = gz ? a.gzip! : a.body;
    if (gz) headers['Content-Encoding'] = 'gzip';
    headers['Content-Length'] = body.length;
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  }
}
