import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { NODE_FLAGS } from '../src/node-flags.js';

const read = (p: string) => readFileSync(new URL(`../../${p}`, import.meta.url), 'utf8');

/** Every line of `file` that starts cam2mqtt (names its cli.js) must pass every NODE_FLAGS entry. */
function launchLines(file: string): string[] {
  return read(file)
    .split('\n')
    .filter((l) => /dist[/\\]src[/\\]cli\.js/.test(l));
}

describe('cam2mqtt is started with its Node flags everywhere', () => {
  it('the bin shebang', () => {
    const first = read('src/cli.ts').split('\n')[0]!;
    assert.equal(first, `#!/usr/bin/env -S node ${NODE_FLAGS.join(' ')}`);
  });

  it('npm start and npm run demo', () => {
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    for (const name of ['start', 'demo']) {
      for (const f of NODE_FLAGS)
        assert.ok(scripts[name]!.includes(f), `package.json scripts.${name} lacks ${f}: ${scripts[name]}`);
    }
  });

  for (const file of ['Dockerfile', 'deploy/cam2mqtt.service', 'docs/deploy.md', 'README.md', 'docs/performance.md']) {
    it(file, () => {
      const lines = launchLines(file);
      if (file !== 'README.md') assert.ok(lines.length > 0, `${file} no longer shows how cam2mqtt is started`);
      for (const l of lines) for (const f of NODE_FLAGS) assert.ok(l.includes(f), `${file}: "${l.trim()}" lacks ${f}`);
    });
  }
});
