'use strict';

// Part 3 of `make bench`, Node: the same authenticated GET loop through the
// starmile binding (koffi; each call runs on libuv's thread pool) and through
// Node's built-in fetch.
//
//   node request_loop.js REQUESTS ROUNDS WARMUP CONCURRENCY
//
// Each side gets one long-lived client: its token is fetched once, a short
// warm-up opens the keep-alive connections, then every round sends REQUESTS
// GET /v1/echo, first one at a time (sequential awaits), then from CONCURRENCY
// workers at once, and checks each answer is a 200 with a body. The loops take
// turns (ours, fetch, ours, fetch ...) so that noise on the shared machine
// hits them alike. The server comes from STARMILE_BASE_URL, STARMILE_CLIENT_ID
// and STARMILE_CLIENT_SECRET; the library from STARMILE_LIB.
//
// Prints "KEY value" lines on stdout, per loop: <loop>.req_per_s (the best
// round) and <loop>.cpu_us_per_req (this process's CPU, all threads, per
// request in that round). A failed request is an error (exit 1); a slow one
// never is.

const path = require('node:path');
const { Client, libraryVersion } = require(path.join(process.env.STARMILE_ROOT, 'bindings', 'node'));

const baseUrl = process.env.STARMILE_BASE_URL.replace(/\/+$/, '');
const clientId = process.env.STARMILE_CLIENT_ID;
const clientSecret = process.env.STARMILE_CLIENT_SECRET;
const echoUrl = `${baseUrl}/v1/echo`;

/** Runs `one` `n` times from `concurrency` workers, each awaiting its call before the next. */
async function drive(one, n, concurrency) {
  let left = n;
  const worker = async () => {
    while (left > 0) {
      left -= 1;
      await one();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
}

async function ours() {
  const client = new Client({ baseUrl, clientId, clientSecret });
  await client.getToken();
  return async () => {
    const response = await client.get('/v1/echo');
    if (response.status !== 200 || response.body.length === 0) {
      throw new Error(`starmile: GET /v1/echo answered ${response.status}`);
    }
  };
}

async function builtinFetch() {
  const answer = await fetch(`${baseUrl}/oauth/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }),
  });
  if (answer.status !== 200) throw new Error(`fetch: the token endpoint answered ${answer.status}`);
  const { access_token: accessToken } = await answer.json();
  const headers = { authorization: `Bearer ${accessToken}`, accept: 'application/json' };
  return async () => {
    const response = await fetch(echoUrl, { headers });
    const body = await response.arrayBuffer();
    if (response.status !== 200 || body.byteLength === 0) {
      throw new Error(`fetch: GET /v1/echo answered ${response.status}`);
    }
  };
}

function cpuMicros() {
  const { user, system } = process.cpuUsage();
  return user + system;
}

async function main() {
  const [requests, rounds, warmup, concurrency] = process.argv.slice(2, 6).map(Number);
  if (!(requests > 0 && rounds > 0 && concurrency > 0)) {
    throw new Error('usage: node request_loop.js REQUESTS ROUNDS WARMUP CONCURRENCY');
  }
  const sides = { ours: await ours(), fetch: await builtinFetch() };
  const loops = [];
  for (const [name, one] of Object.entries(sides)) loops.push({ name, one, concurrency: 1 });
  for (const [name, one] of Object.entries(sides)) loops.push({ name: `${name}_c${concurrency}`, one, concurrency });
  for (const loop of loops) await drive(loop.one, warmup, loop.concurrency);

  const results = Object.fromEntries(loops.map((loop) => [loop.name, []]));
  for (let round = 1; round <= rounds; round += 1) {
    for (const loop of loops) {
      const cpu0 = cpuMicros();
      const t0 = process.hrtime.bigint();
      await drive(loop.one, requests, loop.concurrency);
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const result = { rate: requests / seconds, cpu: (cpuMicros() - cpu0) / requests };
      results[loop.name].push(result);
      console.error(`node round ${round} ${loop.name}: ${result.rate.toFixed(0)} req/s, ${result.cpu.toFixed(1)} CPU us/req`);
    }
  }

  console.log(`node ${process.version.replace(/^v/, '')}`);
  console.log(`starmile.version ${libraryVersion()}`);
  console.log(`undici.version ${process.versions.undici || 'unknown'}`);
  console.log(`uv_threadpool_size ${process.env.UV_THREADPOOL_SIZE || 4}`);
  console.log(`concurrency ${concurrency}`);
  for (const [name, runs] of Object.entries(results)) {
    const best = runs.reduce((a, b) => (b.rate > a.rate ? b : a));
    console.log(`${name}.req_per_s ${best.rate.toFixed(0)}`);
    console.log(`${name}.cpu_us_per_req ${best.cpu.toFixed(1)}`);
  }
}

main().catch((err) => {
  console.error(`request_loop.js: ${err.stack || err}`);
  process.exit(1);
});
