import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { jsonBody } from '../src/http/body.js';
import { HttpError, HttpServer, sendJson } from '../src/http/server.js';
import { createLogger } from '../src/logging.js';

// The HTTP plumbing on its own (src/http/server.ts on express): routing, the guard's place in the chain,
// bodies with limits, and the one error handler's answers and log lines. A real server on 127.0.0.1.

describe('HttpServer (express)', () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  const http = new HttpServer(createLogger({ level: 'info', format: 'json', destination: sink }));
  let base = '';
  let guarded = 0;

  before(async () => {
    http.public.get('/open', (_req, res) => sendJson(res, 200, { open: true }));
    http.get('/things/:id', ({ params }, res) => sendJson(res, 200, { id: params.id }));
    http.post('/things/:id', jsonBody(16), (req, res) => sendJson(res, 200, { got: req.body }));
    http.get('/boom', () => {
      throw new Error('a bug');
    });
    http.get('/teapot', async () => {
      throw new HttpError(418, 'short and stout');
    });
    // Lets through only requests with ?let=1, and counts how often it ran.
    http.setGuard((_req, res, url) => {
      guarded++;
      if (url.searchParams.get('let') === '1') return true;
      res?.writeHead(401).end();
      return false;
    });
    await http.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${http.port}`;
  });
  after(() => http.close());

  const get = async (path: string, init?: RequestInit) => {
    const r = await fetch(`${base}${path}`, init);
    return { status: r.status, text: await r.text(), headers: r.headers };
  };

  it('routes with decoded parameters behind the guard; public routes skip it', async () => {
    guarded = 0;
    assert.equal((await get('/open')).status, 200);
    assert.equal(guarded, 0);
    assert.equal((await get('/things/a%20b')).status, 401);
    const ok = await get('/things/a%20b?let=1');
    assert.deepEqual([ok.status, JSON.parse(ok.text)], [200, { id: 'a b' }]);
    assert.equal((await get('/things/x?let=1', { method: 'HEAD' })).status, 200, 'HEAD is answered by GET');
    assert.equal(guarded, 3);
  });

  it('404 for an unknown path (without the guard), 405 for a known path with another method', async () => {
    guarded = 0;
    const nf = await get('/nothing');
    assert.deepEqual([nf.status, JSON.parse(nf.text)], [404, { error: 'no such endpoint: /nothing' }]);
    assert.equal((await get('/Things/x?let=1')).status, 404, 'paths are case-sensitive');
    assert.equal((await get('/things/x/?let=1')).status, 404, 'a trailing slash is another path');
    const na = await get('/open', { method: 'PUT' });
    assert.deepEqual([na.status, JSON.parse(na.text)], [405, { error: 'method PUT not allowed on /open' }]);
    assert.equal(guarded, 0);
  });

  it('a malformed escape in a parameter is a 400 before the guard; a malformed URL a 400', async () => {
    guarded = 0;
    const bad = await get('/things/%E0%A4%A');
    assert.deepEqual([bad.status, JSON.parse(bad.text)], [400, { error: 'malformed percent-escape in the URL path' }]);
    assert.equal(guarded, 0);
    assert.ok(lines.some((l) => /refused GET \/things\/%E0%A4%A from 127\.0\.0\.1: malformed percent-escape/.test(l)));
  });

  it('JSON bodies: parsed whatever the Content-Type; invalid 400, empty 400, too big 413, one line each', async () => {
    const post = (body: string, headers: Record<string, string> = {}) =>
      get('/things/x?let=1', { method: 'POST', body, headers });
    const ok = await post('[1,2]');
    assert.deepEqual([ok.status, JSON.parse(ok.text)], [200, { got: [1, 2] }]);
    assert.deepEqual(JSON.parse((await post('"s"', { 'Content-Type': 'application/json' })).text), { got: 's' });
    const invalid = await post('{"a":');
    assert.deepEqual([invalid.status, JSON.parse(invalid.text)], [400, { error: 'request body is not valid JSON' }]);
    const empty = await post('');
    assert.deepEqual([empty.status, JSON.parse(empty.text)], [400, { error: 'expected a JSON body' }]);
    const gz = await post('{}', { 'Content-Encoding': 'gzip' });
    assert.deepEqual([gz.status, JSON.parse(gz.text)], [415, { error: 'content encoding unsupported' }]);
    const big = await post(`"${'x'.repeat(100)}"`);
    assert.deepEqual([big.status, JSON.parse(big.text)], [413, { error: 'request body larger than 16 bytes' }]);
    assert.ok(
      lines.some((l) => /refused POST \/things\/x from 127\.0\.0\.1: 400 request body is not valid JSON/.test(l)),
    );
  });

  it('errors: an HttpError is its status and message; a bug is a 500 with its stack in the log', async () => {
    const tea = await get('/teapot?let=1');
    assert.deepEqual([tea.status, JSON.parse(tea.text)], [418, { error: 'short and stout' }]);
    const boom = await get('/boom?let=1');
    assert.deepEqual([boom.status, JSON.parse(boom.text)], [500, { error: 'internal error' }]);
    assert.ok(lines.some((l) => /GET \/boom failed: Error: a bug/.test(l)));
  });
});
