'use strict';

// Bad input is refused with InvalidArgumentError before anything is sent, and
// the client stays usable afterwards.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startSandbox } = require('./sandbox');
const starmile = require('..');

const invalid = { name: 'InvalidArgumentError', code: 'SM_ERR_INVALID_ARGUMENT' };

describe('bad input', () => {
  let sandbox;
  let client;

  before(async () => {
    sandbox = await startSandbox();
    client = new starmile.Client(sandbox.options());
    await client.getToken();
  });

  after(async () => {
    client.close();
    await sandbox.stop();
  });

  describe('configuration', () => {
    it('an unknown option is refused, named in the message', () => {
      assert.throws(() => new starmile.Client(sandbox.options({ retries: 3 })), { ...invalid, message: /retries/ });
    });

    it('an option of the wrong type is refused, named by its library key', () => {
      assert.throws(() => new starmile.Client(sandbox.options({ timeoutMs: 'soon' })), { ...invalid, message: /timeout_ms/ });
    });

    it('a wrongly typed secret is refused without appearing in the message', () => {
      assert.throws(
        () => new starmile.Client(sandbox.options({ clientSecret: 12345678901 })),
        (err) => err instanceof starmile.InvalidArgumentError && !err.message.includes('12345678901')
      );
    });

    it('options that are not an object are refused', () => {
      assert.throws(() => new starmile.Client('https://example.com'), invalid);
      assert.throws(() => new starmile.Client([]), invalid);
    });

    it('a base URL that is not http(s) is refused', () => {
      assert.throws(() => new starmile.Client(sandbox.options({ baseUrl: 'ftp://127.0.0.1/' })), invalid);
    });

    it('plain http to a non-loopback host is refused unless allowed', () => {
      assert.throws(() => new starmile.Client(sandbox.options({ baseUrl: 'http://api.example.com' })), invalid);
      new starmile.Client(sandbox.options({ baseUrl: 'http://api.example.com', allowInsecureHttp: true })).close();
    });

    it('undefined and null options are left to the defaults', () => {
      new starmile.Client(sandbox.options({ timeoutMs: undefined, scope: null })).close();
    });
  });

  describe('requests', () => {
    const cases = {
      'a method that is not a token': () => client.request('GE T', '/v1/echo'),
      'a method that is not a string': () => client.request(undefined, '/v1/echo'),
      'a path that is not a string': () => client.get(42),
      'a path with a NUL character': () => client.get('/v1/echo\0/x'),
      'a path not starting with /': () => client.get('v1/echo'),
      'a URL on another origin': () => client.get('http://example.com/v1/echo'),
      'a URL with userinfo': () => client.get(`${sandbox.url.replace('//', '//user:pw@')}/v1/echo`),
      'an Authorization header': () => client.get('/v1/echo', { headers: { Authorization: 'Bearer mine' } }),
      'a header value with CR/LF': () => client.get('/v1/echo', { headers: { 'X-A': 'b\r\nX-Injected: 1' } }),
      'a header name with a space': () => client.get('/v1/echo', { headers: { 'X A': 'b' } }),
      'headers that are not an object': () => client.get('/v1/echo', { headers: 'X-A: b' }),
      'json and body together': () => client.post('/v1/echo', { json: {}, body: 'x' }),
      'a body of the wrong type': () => client.post('/v1/echo', { body: 12 }),
      'json that cannot be serialised': () => client.post('/v1/echo', { json: { n: 1n } }),
      'a query of the wrong type': () => client.get('/v1/echo', { query: 5 }),
      'an unknown request option': () => client.get('/v1/echo', { params: { a: 1 } }),
    };

    for (const [what, call] of Object.entries(cases)) {
      it(`${what} is refused`, async () => {
        await assert.rejects(call(), invalid);
      });
    }

    it('a refused header value is not quoted in the message', async () => {
      const err = await client.get('/v1/echo', { headers: { 'X-Key': 'secret-value\n' } }).catch((e) => e);
      assert.ok(err instanceof starmile.InvalidArgumentError);
      assert.ok(!err.message.includes('secret-value'));
    });

    it('nothing refused reached the server, and the client still works', async () => {
      assert.equal((await sandbox.stats()).api_requests, 0);
      assert.equal((await client.get('/v1/echo')).status, 200);
    });
  });

  describe('credentials', () => {
    it('setCredentials refuses values that are not strings or are empty', () => {
      assert.throws(() => client.setCredentials(1, 'secret'), invalid);
      assert.throws(() => client.setCredentials('id', undefined), invalid);
      assert.throws(() => client.setCredentials('', 'secret'), invalid);
      assert.throws(() => client.setCredentials('id', ''), invalid);
    });
  });
});
