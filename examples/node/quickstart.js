'use strict';

// Quick start: fetch a token, call GET /v1/echo, print what came back.
// Reads STARMILE_BASE_URL, STARMILE_CLIENT_ID and STARMILE_CLIENT_SECRET.

const { Client } = require('../../bindings/node'); // in your project: require('starmile')

async function main() {
  const client = new Client({
    baseUrl: process.env.STARMILE_BASE_URL,
    clientId: process.env.STARMILE_CLIENT_ID,
    clientSecret: process.env.STARMILE_CLIENT_SECRET,
  });
  try {
    const token = await client.getToken();
    console.log(`token: ${token.slice(0, 6)}…`);

    const response = await client.get('/v1/echo');
    const echo = response.json();
    console.log(`status: ${response.status}`);
    console.log(`echo: ${echo.method} ${echo.path}`);
  } finally {
    client.close();
  }
}

main().catch((err) => {
  console.error(`${err.name} (${err.code}): ${err.message}`);
  process.exitCode = 1;
});
