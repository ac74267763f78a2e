'use strict';

// Every Client method and the Response type, against a real sandbox.

const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const util = require('node:util');
const { sandboxSuite, CLIENT_SECRET } = require('./sandbox');
const starmile = require('..');

describe('Client', () => {
  const suite = sandboxSuite();

  it('reports the library version', () => {
    assert.match(starmile.libraryVersion(), /^\d+\.\d+\.\d+$/);
  });

  it('does no network I/O when created', async () => {
    assert.equal((await suite.sandbox.stats()).token_requests, 0);
  });

  it('getToken fetches a token once and then serves it from the cache', async () => {
    const first = await suite.client.getToken();
    const second = await suite.client.getToken();
    assert.equal(typeof first, 'string');
    assert.ok(first.length > 10);
    assert.equal(second, first);
    assert.equal((await suite.sandbox.stats()).token_requests, 1);
  });

  it('token() gives the expiry as a Date and hides the token from util.inspect', async () => {
    const token = await suite.client.token();
    const lifetime = token.expiresAt.getTime() - Date.now();
    assert.ok(lifetime > 3500e3 && lifetime <= 3600e3, `lifetime ${lifetime} ms`);
    assert.ok(!util.inspect(token).includes(token.accessToken));
    assert.ok(util.inspect(token).includes(token.accessToken.slice(0, 6)));
  });

  it('get sends query parameters and headers and returns a Response', async () => {
    const response = await suite.client.get('/v1/echo', {
      query: { q: 'a b&c', tag: ['x', 'y'], skipped: undefined },
      headers: { 'X-Trace': 'abc', 'X-Multi': ['1', '2'] },
    });
    assert.ok(response instanceof starmile.Response);
    assert.equal(response.status, 200);
    assert.ok(Buffer.isBuffer(response.body));
    const echo = response.json();
    assert.equal(echo.method, 'GET');
    assert.equal(echo.path, '/v1/echo');
    assert.deepEqual(Object.fromEntries(new URLSearchParams(echo.query)), { q: 'a b&c', tag: 'y' });
    assert.deepEqual(new URLSearchParams(echo.query).getAll('tag'), ['x', 'y']);
    assert.equal(echo.headers['x-trace'], 'abc');
    assert.equal(echo.headers.authorization, undefined);
    assert.deepEqual(JSON.parse(response.text()), echo);
    assert.match(response.requestId, /\S/);
    assert.equal(response.requestId, response.headers['x-request-id']);
    assert.equal(response.headers['content-type'], 'application/json');
    for (const name of Object.keys(response.headers)) assert.equal(name, name.toLowerCase());
  });

  it('a query on a path that already has one is appended', async () => {
    const echo = (await suite.client.get('/v1/echo?a=1', { query: new URLSearchParams({ b: '2' }) })).json();
    assert.equal(echo.query, 'a=1&b=2');
  });

  it('post sends json with Content-Type application/json', async () => {
    const echo = (await suite.client.post('/v1/echo', { json: { name: 'Zoë', n: [1, 2] } })).json();
    assert.equal(echo.method, 'POST');
    assert.deepEqual(echo.json, { name: 'Zoë', n: [1, 2] });
    assert.equal(echo.headers['content-type'], 'application/json');
  });

  it('put sends a Buffer body byte for byte', async () => {
    const bytes = Buffer.alloc(300 * 1024, 0x61);
    const echo = (await suite.client.put('/v1/echo', { body: bytes, headers: { 'Content-Type': 'text/plain' } })).json();
    assert.equal(echo.method, 'PUT');
    assert.equal(echo.body_len, bytes.length);
    assert.equal(echo.body, bytes.toString());
    assert.equal(echo.headers['content-type'], 'text/plain');
  });

  it('patch sends a string body as UTF-8', async () => {
    const echo = (await suite.client.patch('/v1/echo', { body: 'héllo', headers: { 'content-type': 'text/plain' } })).json();
    assert.equal(echo.method, 'PATCH');
    assert.equal(echo.body, 'héllo');
    assert.equal(echo.body_len, Buffer.byteLength('héllo'));
  });

  it('delete sends no body', async () => {
    const echo = (await suite.client.delete('/v1/echo')).json();
    assert.equal(echo.method, 'DELETE');
    assert.equal(echo.body_len, 0);
  });

  it('request takes any method name and normalises its case', async () => {
    const echo = (await suite.client.request('post', '/v1/echo', { json: [1] })).json();
    assert.equal(echo.method, 'POST');
  });

  it('binary bodies arrive intact', async () => {
    const response = await suite.client.get('/v1/bytes/100000');
    assert.equal(response.status, 200);
    assert.equal(response.body.length, 100000);
  });

  it('a redirect is returned as it is, not followed', async () => {
    const response = await suite.client.get('/v1/redirect');
    assert.equal(response.status, 302);
    assert.equal(response.headers.location, '/v1/echo');
  });

  it('invalidateToken makes the next call fetch a new token', async () => {
    const first = await suite.client.getToken();
    suite.client.invalidateToken();
    const second = await suite.client.getToken();
    assert.notEqual(second, first);
    assert.equal((await suite.sandbox.stats()).token_requests, 2);
  });

  it('setCredentials replaces a wrong secret and ends the fail-fast period', async () => {
    const wrong = new starmile.Client(suite.sandbox.options({ clientSecret: 'not-the-secret' }));
    try {
      await assert.rejects(wrong.getToken(), starmile.AuthenticationError);
      wrong.setCredentials('sandbox-client', CLIENT_SECRET);
      assert.equal(typeof (await wrong.getToken()), 'string');
      assert.equal((await wrong.get('/v1/echo')).status, 200);
    } finally {
      wrong.close();
    }
  });

  it('a revoked token is replaced and the request replayed once', async () => {
    await suite.client.get('/v1/echo');
    await suite.sandbox.revoke();
    assert.equal((await suite.client.get('/v1/echo')).status, 200);
    assert.equal(suite.client.stats().reauthReplays, 1);
  });

  it('stats reports the counters in camelCase', async () => {
    assert.equal(suite.client.stats().tokenExpiresAtMs, null);
    await suite.client.get('/v1/echo');
    await suite.client.get('/v1/echo');
    const stats = suite.client.stats();
    assert.equal(stats.tokenFetches, 1);
    assert.equal(stats.requests, 2);
    assert.equal(stats.retries, 0);
    assert.equal(typeof stats.tokenExpiresAtMs, 'number');
    for (const key of ['tokenFetchFailures', 'backgroundRefreshes', 'reauthReplays']) {
      assert.equal(typeof stats[key], 'number', key);
    }
  });

  it('close is idempotent and later calls fail with SM_ERR_INVALID_HANDLE', async () => {
    assert.equal(suite.client.closed, false);
    suite.client.close();
    suite.client.close();
    assert.equal(suite.client.closed, true);
    await assert.rejects(suite.client.get('/v1/echo'), { name: 'StarmileError', code: 'SM_ERR_INVALID_HANDLE' });
    await assert.rejects(suite.client.getToken(), { code: 'SM_ERR_INVALID_HANDLE' });
    assert.throws(() => suite.client.stats(), { code: 'SM_ERR_INVALID_HANDLE' });
    assert.throws(() => suite.client.invalidateToken(), { code: 'SM_ERR_INVALID_HANDLE' });
  });

  it('close lets calls already running finish', async () => {
    const pending = suite.client.get('/v1/slow/300');
    await new Promise((resolve) => setTimeout(resolve, 100));
    suite.client.close();
    assert.equal((await pending).status, 200);
  });
});
