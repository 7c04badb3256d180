import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LoginLimiter } from '../src/http/auth/index.js';
import { FREE_FAILURES, MAX_DELAY_MS, MqttLoginLimiter, PENDING_PER_ADDRESS } from '../src/sinks/mqtt/login-limiter.js';

// The two login limiters share src/util/failure-limiter.ts: the HTTP one locks a client, the MQTT one
// holds its refusals. Pure, with an explicit clock.

describe('login limiters', () => {
  it('HTTP: five failures, the fifth locks for 30 s, each further one twice as long; a success clears', () => {
    const l = new LoginLimiter();
    const t = 1_000_000;
    for (let i = 1; i <= 4; i++) assert.equal(l.fail('a', t).lockedUntil, 0, `failure ${i} is free`);
    assert.equal(l.fail('a', t).lockedUntil, t + 30_000);
    assert.equal(l.lockedFor('a', t + 10_000), 20_000);
    assert.equal(l.fail('a', t + 30_000).lockedUntil, t + 30_000 + 60_000);
    assert.equal(l.lockedFor('b', t), 0, 'another client is not locked');
    l.succeed('a');
    assert.equal(l.lockedFor('a', t + 30_000), 0);
    // Forgotten 15 min after the last failure.
    for (let i = 0; i < 5; i++) l.fail('c', t);
    assert.equal(l.fail('c', t + 16 * 60_000).count, 1);
  });

  it('MQTT: FREE_FAILURES answered at once, then 1 s, 2 s, 4 s ... up to 30 s; pending refusals bounded', () => {
    const l = new MqttLoginLimiter(1000);
    const t = 1_000_000;
    const delays = Array.from({ length: FREE_FAILURES + 8 }, () => l.fail('a', t).delayMs);
    assert.deepEqual(delays.slice(0, FREE_FAILURES), Array(FREE_FAILURES).fill(0));
    assert.deepEqual(delays.slice(FREE_FAILURES), [
      1000,
      2000,
      4000,
      8000,
      16000,
      MAX_DELAY_MS,
      MAX_DELAY_MS,
      MAX_DELAY_MS,
    ]);
    assert.equal(l.delayed, 8);
    assert.equal(l.saturated('a'), false);
    for (let i = 8; i < PENDING_PER_ADDRESS; i++) l.fail('a', t);
    assert.equal(l.saturated('a'), true);
    l.done('a');
    assert.equal(l.saturated('a'), false);
    // A success starts the count over; the refusals still held keep their place.
    l.succeed('a');
    assert.equal(l.fail('a', t).delayMs, 0);
    assert.equal(l.saturated('a'), false);
  });
});
