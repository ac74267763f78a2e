'use strict';

// Requests per second for N concurrent client.get('/v1/echo') calls against
// the sandbox. Starts its own sandbox unless STARMILE_BASE_URL is set.
//
//   node bench/concurrent.js [concurrent calls, default 1000] [rounds, default 5]
//
// Reports numbers; never fails on a timing.

const os = require('node:os');
const { startSandbox, CLIENT_ID, CLIENT_SECRET } = require('../test/sandbox');
const { Client, libraryVersion } = require('..');
const { MAX_IN_FLIGHT } = require('../lib/ffi');

async function main() {
  const concurrent = Number(process.argv[2]) || 1000;
  const rounds = Number(process.argv[3]) || 5;
  const sandbox = process.env.STARMILE_BASE_URL ? null : await startSandbox();
  const client = new Client({
    baseUrl: sandbox ? sandbox.url : process.env.STARMILE_BASE_URL,
    clientId: sandbox ? CLIENT_ID : process.env.STARMILE_CLIENT_ID,
    clientSecret: sandbox ? CLIENT_SECRET : process.env.STARMILE_CLIENT_SECRET,
  });
  try {
    console.log(
      `libstarmile ${libraryVersion()}, node ${process.version}, ${os.availableParallelism()} cores, ` +
        `UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE || '4 (default)'}, binding in-flight limit ${MAX_IN_FLIGHT}`
    );
    await client.getToken();
    await round(client, Math.min(concurrent, 100)); // warm the connection pool

    const rates = [];
    for (let i = 0; i < rounds; i += 1) {
      const seconds = await round(client, concurrent);
      const rate = concurrent / seconds;
      rates.push(rate);
      console.log(`round ${i + 1}: ${concurrent} concurrent GET /v1/echo in ${(seconds * 1000).toFixed(0)} ms = ${rate.toFixed(0)} req/s`);
    }
    rates.sort((a, b) => a - b);
    console.log(`median ${rates[Math.floor(rates.length / 2)].toFixed(0)} req/s, best ${rates[rates.length - 1].toFixed(0)} req/s`);
    const stats = client.stats();
    console.log(`token fetches: ${stats.tokenFetches}, retries: ${stats.retries}`);
  } finally {
    client.close();
    if (sandbox) await sandbox.stop();
  }
}

async function round(client, count) {
  const started = process.hrtime.bigint();
  const responses = await Promise.all(Array.from({ length: count }, () => client.get('/v1/echo')));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (responses.some((r) => r.status !== 200)) throw new Error('a request did not answer 200');
  return seconds;
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
