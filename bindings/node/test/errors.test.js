'use strict';

// Every error class of contract §7, each caused by a real answer (or a real
// failure) of a sandbox, never by a mock.

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const { startSandbox, closedPortUrl } = require('./sandbox');
const starmile = require('..');

describe('errors', () => {
  let sandbox;
  const clients = [];

  /** A client of the sandbox, closed after the suite. */
  function clientWith(overrides = {}) {
    const client = new starmile.Client(sandbox.options(overrides));
    clients.push(client);
    return client;
  }

  before(async () => {
    sandbox = await startSandbox();
  });

  after(async () => {
    for (const client of clients) client.close();
    await sandbox.stop();
  });

  beforeEach(() => sandbox.reset());

  const httpCases = [
    [400, starmile.APIStatusError],
    [401, starmile.AuthenticationError],
    [403, starmile.PermissionDeniedError],
    [404, starmile.NotFoundError],
    [409, starmile.ConflictError],
    [418, starmile.APIStatusError],
    [422, starmile.UnprocessableEntityError],
    [429, starmile.RateLimitError],
    [500, starmile.InternalServerError],
    [502, starmile.InternalServerError],
    [503, starmile.InternalServerError],
  ];

  for (const [status, ErrorClass] of httpCases) {
    it(`HTTP ${status} rejects with ${ErrorClass.name}`, async () => {
      const client = clientWith({ maxRetries: 0 });
      const err = await client.get(`/v1/status/${status}`).then(
        () => assert.fail('resolved'),
        (e) => e
      );
      assert.equal(err.constructor, ErrorClass);
      // 401 is an AuthenticationError, outside APIStatusError as in Python and PHP.
      assert.equal(err instanceof starmile.APIStatusError, status !== 401);
      assert.ok(err instanceof starmile.StarmileError);
      assert.ok(err instanceof Error);
      assert.equal(err.name, ErrorClass.name);
      assert.equal(err.status, status);
      assert.equal(err.code, 'SM_OK');
      assert.ok(err.response instanceof starmile.Response);
      assert.equal(err.response.status, status);
      assert.equal(err.requestId, err.response.requestId);
      assert.match(err.requestId, /\S/);
      assert.match(err.message, new RegExp(`^HTTP ${status}`));
    });
  }

  it('a 401 that survives re-authentication is an AuthenticationError after one replay', async () => {
    const client = clientWith();
    await assert.rejects(client.get('/v1/status/401'), { name: 'AuthenticationError', status: 401 });
    assert.equal(client.stats().reauthReplays, 1);
    assert.equal((await sandbox.stats()).token_requests, 2);
  });

  it('a refused secret is an AuthenticationError with SM_ERR_AUTH and no HTTP status', async () => {
    const secret = 'wrong-secret-value';
    const client = clientWith({ clientSecret: secret });
    const err = await client.get('/v1/echo').then(
      () => assert.fail('resolved'),
      (e) => e
    );
    assert.ok(err instanceof starmile.AuthenticationError);
    assert.equal(err.code, 'SM_ERR_AUTH');
    assert.equal(err.status, undefined);
    assert.equal(err.response, undefined);
    assert.match(err.message, /invalid_client/);
    assert.ok(!err.message.includes(secret));
    assert.equal((await sandbox.stats()).api_requests, 0);
  });

  it('nothing listening is an APIConnectionError with SM_ERR_NETWORK', async () => {
    const client = clientWith({ baseUrl: await closedPortUrl(), maxRetries: 0 });
    const err = await client.getToken().then(
      () => assert.fail('resolved'),
      (e) => e
    );
    assert.equal(err.constructor, starmile.APIConnectionError);
    assert.equal(err.code, 'SM_ERR_NETWORK');
  });

  it('a slow answer past timeoutMs is an APITimeoutError, also an APIConnectionError', async () => {
    const client = clientWith({ timeoutMs: 200, maxRetries: 0 });
    await client.getToken();
    const err = await client.get('/v1/slow/3000').then(
      () => assert.fail('resolved'),
      (e) => e
    );
    assert.equal(err.constructor, starmile.APITimeoutError);
    assert.ok(err instanceof starmile.APIConnectionError);
    assert.equal(err.code, 'SM_ERR_TIMEOUT');
  });

  it('a token endpoint answering 503 is a ServiceUnavailableError with SM_ERR_UNAVAILABLE', async () => {
    await sandbox.faults('token', [{ status: 503, count: 5 }]);
    const client = clientWith({ maxRetries: 0 });
    const err = await client.get('/v1/echo').then(
      () => assert.fail('resolved'),
      (e) => e
    );
    assert.equal(err.constructor, starmile.ServiceUnavailableError);
    assert.equal(err.code, 'SM_ERR_UNAVAILABLE');
  });

  it('a token answer that is not JSON is a ProtocolError with SM_ERR_PROTOCOL', async () => {
    await sandbox.faults('token', [{ status: 200, body: '<html>login portal</html>', count: 1 }]);
    const client = clientWith();
    const err = await client.getToken().then(
      () => assert.fail('resolved'),
      (e) => e
    );
    assert.equal(err.constructor, starmile.ProtocolError);
    assert.equal(err.code, 'SM_ERR_PROTOCOL');
  });

  it('a bad configuration is an InvalidArgumentError with SM_ERR_INVALID_ARGUMENT', () => {
    assert.throws(() => new starmile.Client(sandbox.options({ tokenAuth: 'carrier-pigeon' })), {
      name: 'InvalidArgumentError',
      code: 'SM_ERR_INVALID_ARGUMENT',
    });
  });

  it('the error classes form the hierarchy of contract §7', () => {
    const httpClasses = ['PermissionDeniedError', 'NotFoundError', 'ConflictError',
      'UnprocessableEntityError', 'RateLimitError', 'InternalServerError'];
    for (const name of httpClasses) assert.ok(starmile[name].prototype instanceof starmile.APIStatusError, name);
    for (const name of ['InvalidArgumentError', 'AuthenticationError', 'APIStatusError', 'APIConnectionError', 'ServiceUnavailableError', 'ProtocolError']) {
      assert.equal(Object.getPrototypeOf(starmile[name]), starmile.StarmileError, name);
    }
    assert.equal(Object.getPrototypeOf(starmile.APITimeoutError), starmile.APIConnectionError);
  });
});
