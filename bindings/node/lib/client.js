'use strict';

const util = require('node:util');
const { load, takeString, callAsync } = require('./ffi');
const { Response } = require('./response');
const {
  StarmileError,
  InvalidArgumentError,
  errorFromStatus,
  errorFromResponse,
} = require('./errors');

const SM_OK = 0;

// A client that is garbage-collected without close() still releases its handle.
const forgotten = new FinalizationRegistry((handle) => {
  load().clientFree(handle);
});

/** A Starmile Partner API client: one handle of libstarmile, shareable by any number of concurrent calls. */
class Client {
  #handle = 0;

  /**
   * Creates a client; does no network I/O. Options use camelCase names for the
   * library's configuration keys (baseUrl → base_url, timeoutMs → timeout_ms,
   * ...); options left out (undefined or null) come from the STARMILE_*
   * environment variables or the library's defaults.
   * @param {object} [options]
   */
  constructor(options = {}) {
    const native = load();
    const out = [0];
    const err = [null];
    const status = native.clientNew(configJson(options), out, err);
    const message = takeString(err[0]);
    if (status !== SM_OK) throw libraryError(status, message);
    this.#handle = out[0];
    forgotten.register(this, this.#handle, this);
  }

  /** True once close() has been called. */
  get closed() {
    return this.#handle === 0;
  }

  /**
   * A valid access token: the cached one while fresh, else a fetched one
   * (concurrent callers share one fetch).
   * @returns {Promise<string>}
   */
  async getToken() {
    return (await this.token()).accessToken;
  }

  /**
   * The access token with its expiry.
   * @returns {Promise<Token>}
   */
  async token() {
    const handle = this.#openHandle();
    const native = load();
    const out = [null];
    const expiresAt = [0];
    const err = [null];
    const status = await callAsync(native.getToken, [handle, out, expiresAt, err]);
    const accessToken = takeString(out[0]);
    const message = takeString(err[0]);
    if (status !== SM_OK) throw libraryError(status, message);
    return new Token(accessToken, new Date(Number(expiresAt[0])));
  }

  /**
   * Sends an authenticated request. Resolves with the Response for statuses
   * below 400 (a 3xx is returned as it is); rejects with the matching
   * APIStatusError subclass for 400 and above.
   * @param {string} method e.g. 'GET'
   * @param {string} path '/v1/...' (appended to baseUrl) or an absolute URL on baseUrl's origin
   * @param {{json?: any, body?: Buffer|Uint8Array|ArrayBuffer|string, headers?: object, query?: object|URLSearchParams|string}} [options]
   * @returns {Promise<Response>}
   */
  async request(method, path, options = {}) {
    const handle = this.#openHandle();
    const call = prepareRequest(method, path, options);
    const native = load();
    const out = [null];
    const err = [null];
    const status = await callAsync(native.request, [
      handle,
      call.method,
      call.target,
      call.headers,
      call.body,
      call.body ? call.body.length : 0,
      out,
      err,
    ]);
    const message = takeString(err[0]);
    if (status !== SM_OK) {
      if (out[0]) native.responseFree(out[0]);
      throw libraryError(status, message);
    }
    const response = Response.fromNative(out[0]);
    if (response.status >= 400) throw errorFromResponse(response);
    return response;
  }

  get(path, options) {
    return this.request('GET', path, options);
  }

  post(path, options) {
    return this.request('POST', path, options);
  }

  put(path, options) {
    return this.request('PUT', path, options);
  }

  patch(path, options) {
    return this.request('PATCH', path, options);
  }

  delete(path, options) {
    return this.request('DELETE', path, options);
  }

  /** Drops the cached token; the next call fetches a new one. No I/O. */
  invalidateToken() {
    const status = load().invalidateToken(this.#openHandle());
    if (status !== SM_OK) throw libraryError(status, null);
  }

  /**
   * Replaces the credentials (e.g. a rotated secret) and drops the cached
   * token; also ends the fail-fast period after an AuthenticationError. No I/O.
   */
  setCredentials(clientId, clientSecret) {
    const handle = this.#openHandle();
    checkString('clientId', clientId);
    checkString('clientSecret', clientSecret);
    const err = [null];
    const status = load().setCredentials(handle, clientId, clientSecret, err);
    const message = takeString(err[0]);
    if (status !== SM_OK) throw libraryError(status, message);
  }

  /**
   * The library's counters for this client, keys in camelCase: tokenFetches,
   * tokenFetchFailures, backgroundRefreshes, requests, retries, reauthReplays,
   * tokenExpiresAtMs (null when no token is cached), ... No I/O.
   * @returns {Record<string, number|null>}
   */
  stats() {
    const handle = this.#openHandle();
    const out = [null];
    const err = [null];
    const status = load().stats(handle, out, err);
    const json = takeString(out[0]);
    const message = takeString(err[0]);
    if (status !== SM_OK) throw libraryError(status, message);
    const stats = {};
    for (const [key, value] of Object.entries(JSON.parse(json))) stats[snakeToCamel(key)] = value;
    return stats;
  }

  /** Frees the client's handle. Calls already running finish normally; later calls reject. Idempotent. */
  close() {
    const handle = this.#handle;
    if (handle === 0) return;
    this.#handle = 0;
    forgotten.unregister(this);
    load().clientFree(handle);
  }

  #openHandle() {
    if (this.#handle === 0) {
      throw new StarmileError('the client is closed', { code: 'SM_ERR_INVALID_HANDLE' });
    }
    return this.#handle;
  }
}

if (typeof Symbol.dispose === 'symbol') {
  Client.prototype[Symbol.dispose] = Client.prototype.close;
}

/** An access token and its expiry; util.inspect() shows only the token's first characters. */
class Token {
  constructor(accessToken, expiresAt) {
    this.accessToken = accessToken;
    this.expiresAt = expiresAt;
  }

  [util.inspect.custom]() {
    return `Token { accessToken: '${this.accessToken.slice(0, 6)}…', expiresAt: ${this.expiresAt.toISOString()} }`;
  }
}

function libraryError(status, message) {
  return errorFromStatus(load().statusName(status), message);
}

function invalid(message) {
  return new InvalidArgumentError(message, { code: 'SM_ERR_INVALID_ARGUMENT' });
}

/** camelCase option names to the library's snake_case keys; undefined and null are left out. */
function configJson(options) {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw invalid('options must be an object');
  }
  const config = {};
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined || value === null) continue;
    config[key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = value;
  }
  try {
    return JSON.stringify(config);
  } catch (err) {
    throw invalid(`options cannot be expressed as JSON: ${err.message}`);
  }
}

function snakeToCamel(key) {
  return key.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());
}

function checkString(name, value) {
  if (typeof value !== 'string') throw invalid(`${name} must be a string`);
  if (value.includes('\0')) throw invalid(`${name} must not contain NUL characters`);
}

// RFC 9110 token: what a method or a header name may be made of.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const REQUEST_OPTIONS = new Set(['json', 'body', 'headers', 'query']);

/** Checks and converts request() arguments into what sm_request takes. */
function prepareRequest(method, path, options) {
  if (typeof method !== 'string' || !TOKEN.test(method)) {
    throw invalid('method must be an HTTP method name such as "GET"');
  }
  checkString('path', path);
  if (options === undefined || options === null) options = {};
  if (typeof options !== 'object' || Array.isArray(options)) throw invalid('options must be an object');
  for (const key of Object.keys(options)) {
    if (!REQUEST_OPTIONS.has(key)) throw invalid(`unknown request option "${key}" (expected json, body, headers, query)`);
  }
  return {
    method: method.toUpperCase(),
    target: withQuery(path, options.query),
    headers: headerLines(options.headers),
    body: requestBody(options),
  };
}

function requestBody({ json, body }) {
  if (json !== undefined && body !== undefined) throw invalid('give either json or body, not both');
  let bytes;
  if (json !== undefined) {
    let text;
    try {
      text = JSON.stringify(json);
    } catch (err) {
      throw invalid(`json cannot be serialised: ${err.message}`);
    }
    if (text === undefined) throw invalid('json cannot be serialised');
    bytes = Buffer.from(text, 'utf8');
  } else if (body === undefined || body === null) {
    return null;
  } else if (typeof body === 'string') {
    bytes = Buffer.from(body, 'utf8');
  } else if (Buffer.isBuffer(body) || body instanceof Uint8Array) {
    bytes = body;
  } else if (body instanceof ArrayBuffer) {
    bytes = new Uint8Array(body);
  } else {
    throw invalid('body must be a Buffer, Uint8Array, ArrayBuffer or string');
  }
  return bytes.length > 0 ? bytes : null;
}

function withQuery(path, query) {
  if (query === undefined || query === null) return path;
  let search;
  if (query instanceof URLSearchParams) {
    search = query.toString();
  } else if (typeof query === 'string') {
    search = query.replace(/^\?/, '');
  } else if (typeof query === 'object' && !Array.isArray(query)) {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) {
      for (const item of Array.isArray(value) ? value : [value]) {
        if (item !== undefined && item !== null) params.append(name, String(item));
      }
    }
    search = params.toString();
  } else {
    throw invalid('query must be an object, a URLSearchParams or a string');
  }
  if (search === '') return path;
  const hash = path.indexOf('#');
  const base = hash === -1 ? path : path.slice(0, hash);
  return base + (base.includes('?') ? '&' : '?') + search;
}

/** Headers (object, Map, Headers or [name, value] pairs) to "Name: value" lines; null for none. */
function headerLines(headers) {
  if (headers === undefined || headers === null) return null;
  let entries;
  if (typeof headers !== 'object') throw invalid('headers must be an object');
  if (typeof headers[Symbol.iterator] === 'function') entries = Array.from(headers);
  else entries = Object.entries(headers);
  const lines = [];
  for (const entry of entries) {
    if (!Array.isArray(entry) || entry.length !== 2) throw invalid('headers must be name/value pairs');
    const [name, value] = entry;
    if (typeof name !== 'string' || !TOKEN.test(name)) {
      throw invalid(`invalid header name ${JSON.stringify(String(name))}`);
    }
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item === undefined || item === null) continue;
      const text = String(item);
      // A CR or LF would start a header line of its own; the value itself is
      // never quoted in the message, since it may be a credential.
      if (/[\r\n\0]/.test(text)) throw invalid(`header "${name}" has a CR, LF or NUL character in its value`);
      lines.push(`${name}: ${text}`);
    }
  }
  return lines.length > 0 ? lines.join('\n') : null;
}

module.exports = { Client, Token };
