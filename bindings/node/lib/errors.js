'use strict';

// The error classes of contract §7 and the two mappings into them: from a
// library status (a call that failed) and from an HTTP status of 400 or more
// (a call that succeeded with an error answer).

/** Base of every error this package raises. */
class StarmileError extends Error {
  /**
   * @param {string} message the library's message (or one built from an HTTP answer)
   * @param {object} [details]
   * @param {string} [details.code] the sm_status name, e.g. 'SM_ERR_TIMEOUT';
   *   'SM_OK' for HTTP errors, where the library call itself succeeded
   * @param {number} [details.status] the HTTP status, when an answer caused the error
   * @param {import('./response').Response} [details.response] that answer
   */
  constructor(message, { code, status, response } = {}) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.response = response;
  }

  /** The answer's X-Request-Id, when an answer caused the error. */
  get requestId() {
    return this.response ? this.response.requestId : undefined;
  }
}

/** SM_ERR_INVALID_ARGUMENT, or an argument this binding cannot pass on. */
class InvalidArgumentError extends StarmileError {}

/** Base of the errors caused by an HTTP answer of 400 or more (401 aside). */
class APIStatusError extends StarmileError {}

/**
 * SM_ERR_AUTH (the token endpoint refused the credentials), or a 401 after
 * re-authentication. Not an APIStatusError, as in the Python and PHP
 * bindings: a refused secret has no API answer. `status` and `response` are
 * set for the 401 case.
 */
class AuthenticationError extends StarmileError {}
/** HTTP 403. */
class PermissionDeniedError extends APIStatusError {}
/** HTTP 404. */
class NotFoundError extends APIStatusError {}
/** HTTP 409. */
class ConflictError extends APIStatusError {}
/** HTTP 422. */
class UnprocessableEntityError extends APIStatusError {}
/** HTTP 429 (after the library's retries). */
class RateLimitError extends APIStatusError {}
/** HTTP 5xx (after the library's retries). */
class InternalServerError extends APIStatusError {}

/** SM_ERR_NETWORK: DNS, connect, TLS, connection reset. */
class APIConnectionError extends StarmileError {}
/** SM_ERR_TIMEOUT. */
class APITimeoutError extends APIConnectionError {}
/** SM_ERR_UNAVAILABLE: the token endpoint kept answering 429/5xx. */
class ServiceUnavailableError extends StarmileError {}
/** SM_ERR_PROTOCOL: an unusable answer (e.g. a token response that is not JSON). */
class ProtocolError extends StarmileError {}

const BY_LIBRARY_STATUS = {
  SM_ERR_INVALID_ARGUMENT: InvalidArgumentError,
  SM_ERR_AUTH: AuthenticationError,
  SM_ERR_UNAVAILABLE: ServiceUnavailableError,
  SM_ERR_NETWORK: APIConnectionError,
  SM_ERR_TIMEOUT: APITimeoutError,
  SM_ERR_PROTOCOL: ProtocolError,
};

const BY_HTTP_STATUS = {
  401: AuthenticationError,
  403: PermissionDeniedError,
  404: NotFoundError,
  409: ConflictError,
  422: UnprocessableEntityError,
  429: RateLimitError,
};

/** The error for a failed library call (`code` is the sm_status name). */
function errorFromStatus(code, message) {
  const ErrorClass = BY_LIBRARY_STATUS[code] || StarmileError;
  return new ErrorClass(message || code, { code });
}

/** The error for an HTTP answer of 400 or more. */
function errorFromResponse(response) {
  const status = response.status;
  const ErrorClass = BY_HTTP_STATUS[status] || (status >= 500 ? InternalServerError : APIStatusError);
  return new ErrorClass(describeAnswer(response), { code: 'SM_OK', status, response });
}

/** "HTTP 404: <the server's message>", the message taken from a JSON error body when there is one. */
function describeAnswer(response) {
  let detail;
  try {
    const body = response.json();
    const error = body && body.error;
    if (error && typeof error === 'object') detail = error.message || error.type;
    else if (typeof error === 'string') detail = body.error_description || error;
    else if (body) detail = body.message;
  } catch {
    // Not JSON: the status alone says enough.
  }
  if (typeof detail !== 'string' || detail === '') return `HTTP ${response.status}`;
  return `HTTP ${response.status}: ${detail.length > 300 ? `${detail.slice(0, 300)}…` : detail}`;
}

module.exports = {
  StarmileError,
  InvalidArgumentError,
  APIStatusError,
  AuthenticationError,
  PermissionDeniedError,
  NotFoundError,
  ConflictError,
  UnprocessableEntityError,
  RateLimitError,
  InternalServerError,
  APIConnectionError,
  APITimeoutError,
  ServiceUnavailableError,
  ProtocolError,
  errorFromStatus,
  errorFromResponse,
};
