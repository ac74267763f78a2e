'use strict';

// Calls run off the event loop's thread, and many of them at once share one
// client and one token fetch.

const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const { sandboxSuite } = require('./sandbox');
const starmile = require('..');

describe('concurrency', () => {
  const suite = sandboxSuite();

  it('the event loop keeps running while a slow request is in flight', async () => {
    const tickMs = 10;
    let last = performance.now();
    let maxGap = 0;
    let ticks = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
      ticks += 1;
    }, tickMs);
    const started = performance.now();
    try {
      const response = await suite.client.get('/v1/slow/1500');
      assert.equal(response.status, 200);
    } finally {
      clearInterval(timer);
    }
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 1400, `the request took ${elapsed} ms, not the sandbox's 1500`);
    // Generous for a loaded machine: a blocked loop would show one gap of ~1500 ms.
    assert.ok(maxGap < 500, `longest gap between ${tickMs} ms ticks: ${maxGap.toFixed(0)} ms`);
    assert.ok(ticks > 20, `only ${ticks} ticks in ${elapsed.toFixed(0)} ms`);
  });

  it('300 concurrent requests (more than koffi runs at once) share one token fetch', async () => {
    // A slow token endpoint makes every request wait for the same fetch.
    await suite.sandbox.settings({ token_latency_ms: 300 });
    const count = 300;
    const responses = await Promise.all(
      Array.from({ length: count }, (_, i) => suite.client.get('/v1/echo', { query: { i } }))
    );
    assert.equal(responses.length, count);
    responses.forEach((response, i) => {
      assert.equal(response.status, 200);
      assert.equal(response.json().query, `i=${i}`);
    });
    const stats = await suite.sandbox.stats();
    assert.equal(stats.token_requests, 1);
    assert.equal(stats.requests['GET /v1/echo'], count);
    assert.equal(suite.client.stats().tokenFetches, 1);
  });

  it('concurrent failures and successes each settle with their own outcome', async () => {
    const outcomes = await Promise.allSettled(
      Array.from({ length: 100 }, (_, i) => suite.client.get(i % 2 ? '/v1/status/404' : '/v1/echo'))
    );
    outcomes.forEach((outcome, i) => {
      if (i % 2) {
        assert.equal(outcome.status, 'rejected');
        assert.ok(outcome.reason instanceof starmile.NotFoundError);
      } else {
        assert.equal(outcome.status, 'fulfilled');
        assert.equal(outcome.value.status, 200);
      }
    });
  });
});
