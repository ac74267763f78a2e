// Type declarations for starmile, the Starmile Partner API client over libstarmile.

/// <reference types="node" />

/**
 * Client options: camelCase names for the library's configuration keys
 * (baseUrl → base_url, timeoutMs → timeout_ms, ...). Options left out
 * (undefined or null) come from the STARMILE_* environment variables or the
 * library's defaults.
 */
export interface ClientOptions {
  /** `https://…`; `http://` only for loopback hosts unless allowInsecureHttp. Env STARMILE_BASE_URL. */
  baseUrl?: string;
  /** Env STARMILE_CLIENT_ID. */
  clientId?: string;
  /** Env STARMILE_CLIENT_SECRET. */
  clientSecret?: string;
  /** A file holding the secret, re-read when the token endpoint answers invalid_client. Env STARMILE_CLIENT_SECRET_FILE. */
  clientSecretFile?: string;
  /** A Postman environment export whose base_url, client_id, client_secret fill options not given. */
  postmanEnvironment?: string;
  /** Absolute URL, or a path relative to baseUrl. Default `<baseUrl>/oauth/token`. */
  tokenUrl?: string;
  /** How credentials are sent to the token endpoint. Default "form". */
  tokenAuth?: 'form' | 'json' | 'basic';
  scope?: string;
  /** Per attempt. Default 30000. */
  timeoutMs?: number;
  /** Default 10000. */
  connectTimeoutMs?: number;
  /** 0..10 retries after the first attempt. Default 2. */
  maxRetries?: number;
  /** Refresh this long before expiry. Default 60. */
  refreshBeforeS?: number;
  /** Used when a token response has no expires_in. Default 3600. */
  defaultTokenLifetimeS?: number;
  /** PEM file of extra trusted roots. */
  caFile?: string;
  /** HTTP(S) proxy URL. */
  proxy?: string;
  /** Appended to `starmile/<version>`. */
  userAgent?: string;
  /** Allow `http://` to non-loopback hosts. */
  allowInsecureHttp?: boolean;
  /** Larger bodies give a ProtocolError. Default 67108864. */
  maxResponseBytes?: number;
  /** Configuration keys added to the library later, in camelCase. */
  [key: string]: string | number | boolean | null | undefined;
}

export type HeaderInit =
  | Record<string, string | number | boolean | ReadonlyArray<string | number | boolean> | undefined | null>
  | Map<string, string | number | boolean>
  | Iterable<readonly [string, string | number | boolean]>;

export type QueryInit =
  | Record<string, string | number | boolean | ReadonlyArray<string | number | boolean> | undefined | null>
  | URLSearchParams
  | string;

export interface RequestOptions {
  /** Sent as a JSON body (Content-Type: application/json unless headers give one). */
  json?: unknown;
  /** Sent as it is; a string is sent as UTF-8. Exclusive with json. */
  body?: Buffer | Uint8Array | ArrayBuffer | string;
  headers?: HeaderInit;
  /** Appended to the path as a query string. */
  query?: QueryInit;
}

/** The library's counters for a client. */
export interface ClientStats {
  tokenFetches: number;
  tokenFetchFailures: number;
  backgroundRefreshes: number;
  requests: number;
  retries: number;
  reauthReplays: number;
  /** Unix milliseconds; null when no token is cached. */
  tokenExpiresAtMs: number | null;
  [key: string]: number | null;
}

export class Token {
  readonly accessToken: string;
  readonly expiresAt: Date;
}

export class Response {
  /** The HTTP status code. */
  readonly status: number;
  /** Headers by lower-case name; repeated headers joined with ", ". */
  readonly headers: Record<string, string>;
  /** Every header line in order as [name, value], names lower-case. */
  readonly rawHeaders: Array<[string, string]>;
  readonly body: Buffer;
  /** The X-Request-Id header, or undefined. */
  readonly requestId: string | undefined;
  /** The body decoded as UTF-8. */
  text(): string;
  /** The body parsed as JSON; throws a SyntaxError when it is not JSON. */
  json<T = any>(): T;
}

export class Client {
  /** Creates a client; does no network I/O. Throws InvalidArgumentError for a bad configuration. */
  constructor(options?: ClientOptions);
  /** True once close() has been called. */
  readonly closed: boolean;
  /** A valid access token (cached while fresh; concurrent callers share one fetch). */
  getToken(): Promise<string>;
  /** The access token with its expiry. */
  token(): Promise<Token>;
  /**
   * Sends an authenticated request. Resolves for statuses below 400 (3xx
   * answers are returned, not followed); rejects with an APIStatusError
   * subclass for 400 and above.
   */
  request(method: string, path: string, options?: RequestOptions): Promise<Response>;
  get(path: string, options?: RequestOptions): Promise<Response>;
  post(path: string, options?: RequestOptions): Promise<Response>;
  put(path: string, options?: RequestOptions): Promise<Response>;
  patch(path: string, options?: RequestOptions): Promise<Response>;
  delete(path: string, options?: RequestOptions): Promise<Response>;
  /** Drops the cached token; the next call fetches a new one. */
  invalidateToken(): void;
  /** Replaces the credentials and drops the cached token. */
  setCredentials(clientId: string, clientSecret: string): void;
  stats(): ClientStats;
  /** Frees the handle; idempotent. Later calls reject with a StarmileError (code SM_ERR_INVALID_HANDLE). */
  close(): void;
  [Symbol.dispose](): void;
}

/** The version of the libstarmile library in use (loads the library). */
export function libraryVersion(): string;

export interface ErrorDetails {
  code?: string;
  status?: number;
  response?: Response;
}

export class StarmileError extends Error {
  constructor(message: string, details?: ErrorDetails);
  /** The sm_status name, e.g. "SM_ERR_TIMEOUT"; "SM_OK" for errors caused by an HTTP answer. */
  readonly code: string;
  /** The HTTP status, when an answer caused the error. */
  readonly status: number | undefined;
  /** The answer that caused the error. */
  readonly response: Response | undefined;
  /** The answer's X-Request-Id. */
  readonly requestId: string | undefined;
}
export class InvalidArgumentError extends StarmileError {}
export class APIStatusError extends StarmileError {}
export class AuthenticationError extends StarmileError {}
export class PermissionDeniedError extends APIStatusError {}
export class NotFoundError extends APIStatusError {}
export class ConflictError extends APIStatusError {}
export class UnprocessableEntityError extends APIStatusError {}
export class RateLimitError extends APIStatusError {}
export class InternalServerError extends APIStatusError {}
export class APIConnectionError extends StarmileError {}
export class APITimeoutError extends APIConnectionError {}
export class ServiceUnavailableError extends StarmileError {}
export class ProtocolError extends StarmileError {}
