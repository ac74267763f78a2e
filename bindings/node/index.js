'use strict';

// starmile: the Starmile Partner API client for Node.js, over libstarmile's C ABI.

const { Client, Token } = require('./lib/client');
const { Response } = require('./lib/response');
const errors = require('./lib/errors');
const ffi = require('./lib/ffi');

/** The version of the libstarmile library in use, "MAJOR.MINOR.PATCH" (loads the library). */
function libraryVersion() {
  return ffi.load().version();
}

module.exports = {
  Client,
  Token,
  Response,
  libraryVersion,
  StarmileError: errors.StarmileError,
  InvalidArgumentError: errors.InvalidArgumentError,
  APIStatusError: errors.APIStatusError,
  AuthenticationError: errors.AuthenticationError,
  PermissionDeniedError: errors.PermissionDeniedError,
  NotFoundError: errors.NotFoundError,
  ConflictError: errors.ConflictError,
  UnprocessableEntityError: errors.UnprocessableEntityError,
  RateLimitError: errors.RateLimitError,
  InternalServerError: errors.InternalServerError,
  APIConnectionError: errors.APIConnectionError,
  APITimeoutError: errors.APITimeoutError,
  ServiceUnavailableError: errors.ServiceUnavailableError,
  ProtocolError: errors.ProtocolError,
};
