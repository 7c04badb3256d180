// Builds the control page into dist/page/: the TypeScript bundled into app.js by esbuild, and the
// static files of ../public (index.html, style.css, favicon.svg) copied beside it. Offline, ~50 ms.
// The type check is tsc -p src/sinks/page/web (esbuild only strips types).
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../../..');
const out = path.join(root, 'dist', 'page');

// Start empty: the bridge serves every file in the folder, so nothing stale may linger.
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
cpSync(path.join(here, '..', 'public'), out, { recursive: true });
await build({
  entryPoints: [path.join(here, 'app.ts')],
  outfile: path.join(out, 'app.js'),
  bundle: true,
  format: 'esm',
  target: ['es2022'],
  platform: 'browser',
  // Readable in the browser's devtools without a source map (the bridge serves no .map files).
  minify: false,
  legalComments: 'none',
  logLevel: 'warning',
});
