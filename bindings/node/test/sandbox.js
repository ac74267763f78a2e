'use strict';

// Test support (not a test file): starts starmile-sandbox on a free loopback
// port and talks to its control API. Also points STARMILE_LIB at the
// repository's build when the caller did not set it.

const { spawn } = require('node:child_process');
const { before, after, beforeEach } = require('node:test');
const net = require('node:net');
const path = require('node:path');
const readline = require('node:readline');

const REPO = path.resolve(__dirname, '..', '..', '..');
const SANDBOX_BIN = process.env.STARMILE_SANDBOX_BIN || path.join(REPO, 'target', 'release', 'starmile-sandbox');
if (!process.env.STARMILE_LIB) {
  process.env.STARMILE_LIB = path.join(REPO, 'target', 'release', 'libstarmile.so');
}

const CLIENT_ID = 'sandbox-client';
const CLIENT_SECRET = 'sandbox-secret';

/** Starts a sandbox (`--port 0`); resolves once its first stdout line, the URL, is read. */
function startSandbox(args = []) {
  return new Promise((resolve, reject) => {
    const child = spawn(SANDBOX_BIN, ['--port', '0', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`starmile-sandbox exited early (code ${code})`)));
    const lines = readline.createInterface({ input: child.stdout });
    lines.once('line', (url) => {
      child.removeAllListeners('exit');
      resolve(new Sandbox(child, url.trim()));
    });
  });
}

class Sandbox {
  constructor(child, url) {
    this.child = child;
    this.url = url;
  }

  /** Options for a Client of this sandbox, with `overrides` on top. */
  options(overrides = {}) {
    return { baseUrl: this.url, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, ...overrides };
  }

  async control(method, name, body) {
    const answer = await fetch(`${this.url}/_sandbox/${name}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await answer.json();
    if (!answer.ok) throw new Error(`sandbox ${name}: ${answer.status} ${JSON.stringify(json)}`);
    return json;
  }

  stats() {
    return this.control('GET', 'stats');
  }

  reset() {
    return this.control('POST', 'reset', {});
  }

  settings(values) {
    return this.control('POST', 'settings', values);
  }

  faults(target, faults) {
    return this.control('POST', 'faults', { target, faults });
  }

  revoke() {
    return this.control('POST', 'revoke', {});
  }

  stop() {
    return new Promise((resolve) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) return resolve();
      this.child.once('exit', () => resolve());
      this.child.kill('SIGTERM');
    });
  }
}

/**
 * Hooks for a suite: one sandbox for the suite, reset before each test, and a
 * fresh Client of it per test. Returns the object holding both.
 */
function sandboxSuite() {
  const { Client } = require('..');
  const suite = { sandbox: null, client: null };
  before(async () => {
    suite.sandbox = await startSandbox();
  });
  after(async () => {
    if (suite.client) suite.client.close();
    await suite.sandbox.stop();
  });
  beforeEach(async () => {
    if (suite.client) suite.client.close();
    await suite.sandbox.reset();
    suite.client = new Client(suite.sandbox.options());
  });
  return suite;
}

/** A loopback URL on which nothing listens (a port just released). */
function closedPortUrl() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(`http://127.0.0.1:${port}`));
    });
  });
}

module.exports = { startSandbox, sandboxSuite, closedPortUrl, CLIENT_ID, CLIENT_SECRET, REPO };
