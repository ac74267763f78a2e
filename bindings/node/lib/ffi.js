'use strict';

// The C boundary: finds libstarmile, declares its ABI for koffi, and runs the
// calls that may block on the network on koffi's worker threads.
//
// Strings the library hands out are declared `void *` (never `char *`), so
// koffi gives back the pointer: we copy the bytes, then free them with
// sm_string_free. A `char *` declaration would be decoded automatically and the
// pointer lost, leaking every token and error message.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const koffi = require('koffi');

const LIBRARY_FILE = {
  darwin: 'libstarmile.dylib',
  win32: 'starmile.dll',
}[process.platform] || 'libstarmile.so';

/** Where the package's own copy of the library lives (`make bundle` puts it there). */
const BUNDLED_PATH = path.join(__dirname, 'native', LIBRARY_FILE);

let loaded = null;

/**
 * Loads the library the first time it is needed: env STARMILE_LIB (a file
 * path, used alone when set), then the copy bundled in the package, then the
 * system loader.
 */
function load() {
  if (loaded) return loaded;
  const tried = [];
  let lib = null;
  const fromEnv = process.env.STARMILE_LIB;
  if (fromEnv) {
    // An explicit path that fails must not silently fall back to another copy.
    try {
      lib = koffi.load(fromEnv);
    } catch (err) {
      throw new Error(`cannot load libstarmile from STARMILE_LIB=${fromEnv}: ${err.message}`);
    }
  } else {
    const candidates = [];
    if (fs.existsSync(BUNDLED_PATH)) candidates.push(BUNDLED_PATH);
    candidates.push(LIBRARY_FILE);
    for (const candidate of candidates) {
      try {
        lib = koffi.load(candidate);
        break;
      } catch (err) {
        tried.push(`${candidate}: ${err.message}`);
      }
    }
    if (!lib) {
      throw new Error(
        'cannot find libstarmile; set STARMILE_LIB to its path, put it in ' +
          `${BUNDLED_PATH}, or install it where the system loader finds it. Tried:${os.EOL}  ` +
          tried.join(`${os.EOL}  `)
      );
    }
  }
  loaded = declare(lib);
  return loaded;
}

function declare(lib) {
  const fn = (signature) => lib.func(signature);
  return {
    // Static strings: koffi's automatic decoding is right for these.
    version: fn('const char *sm_version(void)'),
    statusName: fn('const char *sm_status_name(int32_t status)'),
    stringFree: fn('void sm_string_free(void *s)'),

    clientNew: fn('int32_t sm_client_new(const char *config_json, _Out_ uint64_t *out_client, _Out_ void **out_error)'),
    clientFree: fn('int32_t sm_client_free(uint64_t client)'),
    getToken: fn('int32_t sm_get_token(uint64_t client, _Out_ void **out_token, _Out_ int64_t *out_expires_at_ms, _Out_ void **out_error)'),
    invalidateToken: fn('int32_t sm_client_invalidate_token(uint64_t client)'),
    setCredentials: fn('int32_t sm_client_set_credentials(uint64_t client, const char *client_id, const char *client_secret, _Out_ void **out_error)'),
    request: fn('int32_t sm_request(uint64_t client, const char *method, const char *path, const char *headers, const uint8_t *body, size_t body_len, _Out_ void **out_response, _Out_ void **out_error)'),
    stats: fn('int32_t sm_client_stats(uint64_t client, _Out_ void **out_json, _Out_ void **out_error)'),

    // Response accessors: the response pointer is a BigInt; borrowed data.
    responseStatus: fn('uint16_t sm_response_status(void *r)'),
    responseBody: fn('void *sm_response_body(void *r, _Out_ size_t *out_len)'),
    responseHeaders: fn('const char *sm_response_headers(void *r)'),
    responseFree: fn('void sm_response_free(void *r)'),
  };
}

/** Copies a library-owned string into JS and frees it; null stays null. */
function takeString(ptr) {
  if (ptr === null || ptr === undefined || ptr === 0n) return null;
  const native = load();
  try {
    return koffi.decode(ptr, 'char', -1);
  } finally {
    native.stringFree(ptr);
  }
}

/** Copies `len` bytes at `ptr` into a new Buffer (the source stays owned by C). */
function copyBytes(ptr, len) {
  if (!len) return Buffer.alloc(0);
  return Buffer.from(new Uint8Array(koffi.view(ptr, len)));
}

// koffi refuses new async calls once about 256 are running or queued, and each
// queued call holds its own memory blocks; calls beyond this limit wait here.
// The C calls themselves run on libuv's thread pool (UV_THREADPOOL_SIZE).
const MAX_IN_FLIGHT = Math.min(
  200,
  Math.max(64, Number.parseInt(process.env.UV_THREADPOOL_SIZE, 10) || 0)
);
let inFlight = 0;
const waiting = [];
let waitingHead = 0;

/**
 * Runs `func` (a koffi function) with `args` on a worker thread and resolves
 * with its return value. Out-param arrays in `args` are filled when it resolves.
 */
function callAsync(func, args) {
  return new Promise((resolve, reject) => {
    const start = () => {
      inFlight += 1;
      const done = (err, result) => {
        inFlight -= 1;
        startWaiting();
        if (err) reject(err);
        else resolve(result);
      };
      try {
        func.async(...args, done);
      } catch (err) {
        done(err);
      }
    };
    if (inFlight < MAX_IN_FLIGHT) start();
    else waiting.push(start);
  });
}

function startWaiting() {
  while (inFlight < MAX_IN_FLIGHT && waitingHead < waiting.length) {
    const start = waiting[waitingHead];
    waiting[waitingHead] = undefined;
    waitingHead += 1;
    start();
  }
  if (waitingHead === waiting.length) {
    waiting.length = 0;
    waitingHead = 0;
  }
}

module.exports = { load, takeString, copyBytes, callAsync, MAX_IN_FLIGHT };
