import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { createLogger } from '../src/logging.js';
import { jpegCycle } from '../src/simulator/frames.js';
import { HttpAuth } from '../src/sources/http/http-auth.js';
import { MjpegStream } from '../src/sources/http/mjpeg-pull.js';

// Pulled MJPEG over plain HTTP goes through the raw-socket reader (openRawStream: its own response
// head parser and chunked decoding, bodies copied once out of a shared read buffer). These cameras
// are raw TCP servers, so every byte on the wire is chosen here.
const B = '123456789000000000000987654321';
const frames = jpegCycle({ width: 320, height: 240, hue: 200, cycle: 4, quality: 80, noise: 6 });

/** CameraWebServer: chunked, three HTTP chunks per frame, written in `segment`-byte pieces. */
function cameraWebServerBytes(list: Buffer[], chunked: boolean): Buffer {
  const head = `HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace;boundary=${B}\r\n${chunked ? 'Transfer-Encoding: chunked\r\n' : ''}Access-Control-Allow-Origin: *\r\nX-Framerate: 60\r\n\r\n`;
  const out: Buffer[] = [Buffer.from(head)];
  const chunk = (b: Buffer) =>
    chunked ? out.push(Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from('\r\n')) : out.push(b);
  for (const f of list) {
    chunk(Buffer.from(`\r\n--${B}\r\n`));
    chunk(Buffer.from(`Content-Type: image/jpeg\r\nContent-Length: ${f.length}\r\nX-Timestamp: 1.000000\r\n\r\n`));
    chunk(f);
  }
  return Buffer.concat(out);
}

async function serve(
  answer: (s: Socket, request: string) => void,
): Promise<{ port: number; requests: string[]; close(): void }> {
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  const srv = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    let req = '';
    s.on('data', (d) => {
      req += d.toString('latin1');
      if (!req.includes('\r\n\r\n')) return;
      requests.push(req);
      answer(s, req);
      req = '';
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    port: (srv.address() as { port: number }).port,
    requests,
    close: () => {
      for (const s of sockets) s.destroy();
      srv.close();
    },
  };
}

function pull(port: number, want: number, auth?: HttpAuth): Promise<{ got: Buffer[]; stream: MjpegStream }> {
  return new Promise((resolve, reject) => {
    const got: Buffer[] = [];
    const stream = new MjpegStream({
      url: new URL(`http://127.0.0.1:${port}/stream`),
      auth,
      maxFrameBytes: 1 << 20,
      readTimeoutMs: 5000,
      backoff: { minMs: 50, maxMs: 100 },
      log: createLogger({ level: 'silent', format: 'json' }),
      onDown: () => {},
      onFrame: (j) => {
        got.push(Buffer.isBuffer(j) ? Buffer.from(j) : Buffer.concat(j));
        if (got.length === want) resolve({ got, stream });
      },
    });
    stream.start();
    setTimeout(() => reject(new Error(`only ${got.length} of ${want} frames`)), 15_000).unref();
  });
}

for (const [name, chunked, segment] of [
  ['chunked, 1460-byte writes (CameraWebServer)', true, 1460],
  ['chunked, 1-byte writes', true, 1],
  ['chunked, 7-byte writes', true, 7],
  ['not chunked, 1460-byte writes', false, 1460],
] as const) {
  test(`raw reader: ${name}: every frame intact, in order`, async () => {
    const bytes = cameraWebServerBytes([...frames, ...frames], chunked);
    const cam = await serve((s) => {
      s.setNoDelay(true);
      let at = 0;
      const next = () => {
        // A pause now and then, so pieces really arrive as separate reads.
        for (let k = 0; k < 8 && at < bytes.length; k++, at += segment) s.write(bytes.subarray(at, at + segment));
        if (at < bytes.length) setImmediate(next);
      };
      next();
    });
    try {
      const { got, stream } = await pull(cam.port, frames.length * 2);
      stream.stop();
      got.forEach((g, i) => assert.ok(g.equals(frames[i % frames.length]!), `frame ${i} intact`));
      assert.match(cam.requests[0]!, /^GET \/stream HTTP\/1\.1\r\n/);
      assert.match(cam.requests[0]!, /\r\nHost: 127\.0\.0\.1:\d+\r\n/);
    } finally {
      cam.close();
    }
  });
}

test('raw reader: a 401 goes to the full HTTP client, which answers the challenge; the next connection sends the credentials at once', async () => {
  const bytes = cameraWebServerBytes(frames, true);
  let streams = 0;
  const cam = await serve((s, req) => {
    if (!/\r\nAuthorization: Basic /i.test(req)) {
      s.end(
        'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm="cam"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n',
      );
      return;
    }
    streams++;
    // The first stream ends after its frames, so the bridge reconnects.
    s.end(bytes);
  });
  try {
    const auth = new HttpAuth({ username: 'u', password: 'p', type: 'auto' });
    const { got, stream } = await pull(cam.port, frames.length * 2, auth);
    stream.stop();
    assert.equal(got.length, frames.length * 2);
    assert.ok(streams >= 2);
    // raw (401), full client (401, then with credentials), then raw again with credentials from the start.
    assert.doesNotMatch(cam.requests[0]!, /Authorization/i);
    assert.match(cam.requests[2]!, /Authorization: Basic /i);
    assert.match(cam.requests[3]!, /Authorization: Basic /i);
  } finally {
    cam.close();
  }
});

test('raw reader: a camera that breaks chunked encoding is dropped with a clear reason, and retried', async () => {
  const reasons: string[] = [];
  const cam = await serve((s) => {
    s.end(
      `HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace;boundary=${B}\r\nTransfer-Encoding: chunked\r\n\r\nzz-not-hex\r\n`,
    );
  });
  try {
    const stream = new MjpegStream({
      url: new URL(`http://127.0.0.1:${cam.port}/stream`),
      auth: undefined,
      maxFrameBytes: 1 << 20,
      readTimeoutMs: 5000,
      backoff: { minMs: 50, maxMs: 100 },
      log: createLogger({ level: 'silent', format: 'json' }),
      onDown: (r) => reasons.push(r),
      onFrame: () => {},
    });
    stream.start();
    for (let i = 0; i < 100 && reasons.length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    stream.stop();
    assert.ok(reasons.length >= 2, 'retried');
    assert.equal(reasons[0], 'bad chunked encoding from the camera');
  } finally {
    cam.close();
  }
});
