import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

// ws unmasks every frame a client sends (every camera frame on the dial-in path). It uses bufferutil,
// the optional native add-on, when it loads, and its own JavaScript otherwise; WS_NO_BUFFER_UTIL=1 (read
// in ws/lib/buffer-util.js) makes it take the JavaScript path, as on a machine where no binary fits.
// Each path runs in its own process: ws chooses once, when it is loaded.
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PROBE = `
import { createRequire } from 'node:module';
import { WebSocketServer, WebSocket } from 'ws';
const require = createRequire(process.cwd() + '/package.json');
const native = Object.keys(require.cache).some((k) => k.includes('/node_modules/bufferutil/'));
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
await new Promise((r) => wss.once('listening', r));
const msg = Buffer.alloc(300_000);
for (let i = 0; i < msg.length; i++) msg[i] = (i * 7919) & 0xff;
const got = new Promise((resolve) => wss.once('connection', (ws) => ws.once('message', (d) => resolve(d))));
const ws = new WebSocket('ws://127.0.0.1:' + wss.address().port, { perMessageDeflate: false });
await new Promise((r) => ws.once('open', r));
ws.send(msg);
const data = await got;
ws.terminate();
wss.close();
console.log(JSON.stringify({ native, intact: Buffer.compare(data, msg) === 0, bytes: data.length }));
`;

function probe(env: Record<string, string>): { native: boolean; intact: boolean; bytes: number } {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', PROBE], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

test('ws unmasks client frames with bufferutil (native) when it is installed', (t) => {
  let installed = true;
  try {
    fileURLToPath(import.meta.resolve('bufferutil'));
  } catch {
    installed = false;
  }
  if (!installed) {
    t.skip('bufferutil is not installed here (npm ci --omit=optional)');
    return;
  }
  const r = probe({});
  assert.equal(r.native, true, 'ws loaded bufferutil');
  assert.equal(r.intact, true, 'a 300 KB masked frame arrives intact');
});

test('ws falls back to JavaScript unmasking (WS_NO_BUFFER_UTIL=1) and the bytes are the same', () => {
  const r = probe({ WS_NO_BUFFER_UTIL: '1' });
  assert.equal(r.native, false, 'bufferutil not loaded');
  assert.equal(r.intact, true, 'a 300 KB masked frame arrives intact');
  assert.equal(r.bytes, 300_000);
});
