// The page socket's parts that need no socket: per-client flow control (socket/flow.ts), the Origin
// check (socket/origin.ts) and the message dispatcher's refusals (socket/handlers/). The end-to-end
// behaviour over a real socket and a real browser is in page-socket.test.ts and page-*.test.ts.
//
// FlowControl writes to a FrameOutlet; here that is a recorder with a settable backlog instead of a
// WebSocket, so each state change can be driven and observed on its own. The dispatcher test gives its
// PageClient an object with the two WebSocket members it uses (send, readyState), for the same reason.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { WebSocket } from 'ws';
import { createLogger } from '../src/logging.js';
import { PageClient } from '../src/sinks/page/socket/client.js';
import { ACK_TIMEOUT_MS, CREDITS_PER_TILE, FlowControl, type FrameOutlet } from '../src/sinks/page/socket/flow.js';
import type { HandlerContext } from '../src/sinks/page/socket/handlers/context.js';
import { dispatch } from '../src/sinks/page/socket/handlers/index.js';
import { originAllowed } from '../src/sinks/page/socket/origin.js';
import type { FrameMessage } from '../src/sinks/page/wire.js';

class Recorder implements FrameOutlet {
  open = true;
  buffered = 0;
  readonly sent: FrameMessage[] = [];
  sendFrame(msg: FrameMessage): void {
    this.sent.push(msg);
  }
}

const frame = (n: number): FrameMessage => ({ head: Buffer.from([n]), jpeg: Buffer.from([0xff, 0xd8, n]) });
const rig = (queueBytes = 1000) => {
  const out = new Recorder();
  let now = 1_000_000;
  const flow = new FlowControl(out, queueBytes, () => now);
  return { out, flow, advance: (ms: number) => (now += ms), now: () => now };
};

describe('page flow control', () => {
  it(`sends at most ${CREDITS_PER_TILE} unacknowledged frames per tile; an ack sends the newest waiting one`, () => {
    const { out, flow } = rig();
    flow.watch('a', 1);
    for (let i = 0; i < 5; i++) flow.offer('a', frame(i));
    assert.deepEqual(out.sent, [frame(0), frame(1)], 'two in flight');
    assert.equal(flow.tiles.get('a')!.pending?.head[0], 4, 'only the newest waits');
    assert.deepEqual(flow.totals(), { sent: 2, dropped: 2 });
    flow.ack([1]);
    assert.equal(out.sent.length, 3);
    assert.equal(out.sent[2]!.head[0], 4);
    assert.equal(flow.tiles.get('a')!.pending, undefined);
    flow.ack([1, 1]);
    flow.offer('a', frame(9));
    assert.equal(out.sent.length, 4, 'credits back: the next frame goes at once');
  });

  it('keeps tiles apart: one tile out of credits does not hold back another', () => {
    const { out, flow } = rig();
    flow.watch('a', 1);
    flow.watch('b', 2);
    flow.offer('a', frame(1));
    flow.offer('a', frame(2));
    flow.offer('a', frame(3));
    flow.offer('b', frame(20));
    assert.deepEqual(
      out.sent.map((m) => m.head[0]),
      [1, 2, 20],
    );
  });

  it('holds frames while the socket is full and sends them, oldest waiting first, when it drains', () => {
    const { out, flow } = rig(1000);
    flow.watch('a', 1);
    flow.watch('b', 2);
    out.buffered = 1000;
    flow.offer('b', frame(20));
    flow.offer('a', frame(10));
    flow.offer('a', frame(11));
    assert.equal(out.sent.length, 0, 'nothing while queueBytes are buffered');
    out.buffered = 0;
    flow.pump();
    assert.deepEqual(
      out.sent.map((m) => m.head[0]),
      [20, 11],
      'b waited longest (a re-queued with its newer frame); a sends its newest',
    );
    assert.deepEqual(flow.totals(), { sent: 2, dropped: 1 });
  });

  it('stops mid-pump when the socket fills up', () => {
    const { out, flow } = rig(1000);
    for (const [id, idx] of [
      ['a', 1],
      ['b', 2],
    ] as const)
      flow.watch(id, idx);
    out.buffered = 1000;
    flow.offer('a', frame(1));
    flow.offer('b', frame(2));
    out.sendFrame = function (msg) {
      this.sent.push(msg);
      this.buffered = 1000;
    };
    out.buffered = 0;
    flow.pump();
    assert.deepEqual(
      out.sent.map((m) => m.head[0]),
      [1],
    );
    assert.ok(flow.tiles.get('b')!.pending, 'b still waits');
  });

  it(`gives back credits a page never returned after ${ACK_TIMEOUT_MS / 1000} s`, () => {
    const { out, flow, advance } = rig();
    flow.watch('a', 1);
    flow.offer('a', frame(1));
    flow.offer('a', frame(2));
    flow.offer('a', frame(3));
    advance(ACK_TIMEOUT_MS);
    flow.expireCredits();
    assert.equal(out.sent.length, 2, 'not yet: exactly the timeout');
    advance(1);
    flow.expireCredits();
    assert.equal(out.sent.length, 3, 'after the timeout the waiting frame goes');
    assert.equal(flow.tiles.get('a')!.inflight, 1);
  });

  it('ignores acks for unknown indexes and non-numbers, and never goes below zero in flight', () => {
    const { out, flow } = rig();
    flow.watch('a', 1);
    flow.ack([1, 1, 7, 'x', null, {}]);
    assert.equal(flow.tiles.get('a')!.inflight, 0);
    flow.offer('a', frame(1));
    assert.equal(out.sent.length, 1);
  });

  it('forgets an unwatched tile (its waiting frame and its index) and ignores frames for tiles not watched', () => {
    const { out, flow } = rig();
    flow.watch('a', 1);
    flow.offer('a', frame(1));
    flow.offer('a', frame(2));
    flow.offer('a', frame(3));
    flow.unwatch('a');
    flow.ack([1, 1]);
    flow.offer('a', frame(4));
    flow.offer('zz', frame(5));
    assert.equal(out.sent.length, 2);
    assert.equal(flow.tiles.size, 0);
  });

  it('keeps nothing for a closed socket', () => {
    const { out, flow } = rig();
    flow.watch('a', 1);
    out.open = false;
    flow.offer('a', frame(1));
    assert.equal(flow.tiles.get('a')!.pending, undefined);
    out.open = true;
    flow.pump();
    assert.equal(out.sent.length, 0);
  });
});

describe('page socket Origin check', () => {
  it("accepts the bridge's own host and http.public_url's, refuses other sites and garbage", () => {
    assert.equal(originAllowed('http://cams.local:9090', 'cams.local:9090', undefined), true);
    assert.equal(originAllowed('http://CAMS.local:9090', 'cams.LOCAL:9090', undefined), true);
    assert.equal(originAllowed('https://evil.example', 'cams.local:9090', undefined), false);
    assert.equal(originAllowed('http://cams.local:8080', 'cams.local:9090', undefined), false, 'another port');
    assert.equal(originAllowed('https://cams.example.org', '127.0.0.1:9090', 'https://cams.example.org/'), true);
    assert.equal(originAllowed('https://other.example.org', '127.0.0.1:9090', 'https://cams.example.org'), false);
    assert.equal(originAllowed('null', 'cams.local:9090', undefined), false);
    assert.equal(originAllowed('https://cams.example.org', undefined, 'not a url'), false);
  });
});

describe('page socket dispatcher', () => {
  it('refuses binary, non-objects and every unknown type (also Object.prototype names) to that page; runs known ones', () => {
    const out: Record<string, unknown>[] = [];
    const ws = {
      OPEN: 1,
      readyState: 1,
      bufferedAmount: 0,
      send: (text: string) => out.push(JSON.parse(text)),
    } as unknown as WebSocket;
    const log = createLogger({ level: 'silent', format: 'json' });
    const client = new PageClient(ws, '127.0.0.1:1', 1000, log);
    const ctx = { log } as unknown as HandlerContext;
    const send = (v: unknown) =>
      dispatch(ctx, client, Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)), false);
    dispatch(ctx, client, Buffer.from([1, 2, 3]), true);
    send('[1, 2]');
    send('nope');
    for (const t of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 7, null]) send({ t, rid: 'r' });
    send({ t: 'ack', c: 'x' });
    assert.deepEqual(
      out.map((m) => String(m.error)),
      [
        'binary messages are not accepted',
        'expected a JSON object',
        'expected a JSON object',
        'unknown message type "constructor"',
        'unknown message type "toString"',
        'unknown message type "__proto__"',
        'unknown message type "hasOwnProperty"',
        'unknown message type 7',
        'unknown message type null',
        'ack: expected c: [camera index, ...]',
      ],
    );
    assert.ok(
      out.slice(3, 9).every((m) => m.t === 'error' && m.rid === 'r'),
      'the rid comes back',
    );
    out.length = 0;
    send({ t: 'ping', rid: 5 });
    assert.equal(out[0]?.t, 'pong');
    assert.equal(out[0]?.rid, 5);
  });
});
