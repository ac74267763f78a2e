'use strict';

const { copyBytes, load } = require('./ffi');

/** An HTTP answer, copied out of the library's sm_response (which is freed at once). */
class Response {
  /**
   * @param {number} status
   * @param {Array<[string, string]>} rawHeaders header lines in order, names lower-case
   * @param {Buffer} body
   */
  constructor(status, rawHeaders, body) {
    /** The HTTP status code. */
    this.status = status;
    /** Every header line in order as [name, value], names lower-case (repeated names kept). */
    this.rawHeaders = rawHeaders;
    /** Headers by lower-case name; repeated headers joined with ", ". */
    this.headers = {};
    for (const [name, value] of rawHeaders) {
      if (name === '__proto__') continue;
      this.headers[name] = Object.hasOwn(this.headers, name) ? `${this.headers[name]}, ${value}` : value;
    }
    /** The body's bytes. */
    this.body = body;
  }

  /** Copies a response out of the library and frees it. */
  static fromNative(ptr) {
    const native = load();
    try {
      const status = native.responseStatus(ptr);
      const length = [0];
      const bodyPtr = native.responseBody(ptr, length);
      const body = copyBytes(bodyPtr, Number(length[0]));
      return new Response(status, parseHeaderLines(native.responseHeaders(ptr) || ''), body);
    } finally {
      native.responseFree(ptr);
    }
  }

  /** The body decoded as UTF-8. */
  text() {
    return this.body.toString('utf8');
  }

  /** The body parsed as JSON (throws a SyntaxError when it is not JSON). */
  json() {
    return JSON.parse(this.text());
  }

  /** The X-Request-Id header, or undefined. */
  get requestId() {
    return this.headers['x-request-id'];
  }
}

/** "name: value\n" lines into [name, value] pairs. */
function parseHeaderLines(text) {
  const pairs = [];
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    pairs.push([line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()]);
  }
  return pairs;
}

module.exports = { Response };
