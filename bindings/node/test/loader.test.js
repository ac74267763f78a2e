'use strict';

// Library lookup order: STARMILE_LIB, then the copy bundled in the package,
// then the system loader. Each case runs in a child process with a copy of
// the package, so the environment and the bundled copy can differ.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
require('./sandbox'); // sets STARMILE_LIB to the repository's build when unset

const PACKAGE = path.resolve(__dirname, '..');
const REAL_LIBRARY = path.resolve(process.env.STARMILE_LIB);

describe('library lookup', () => {
  let dir;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'starmile-node-'));
    fs.copyFileSync(path.join(PACKAGE, 'index.js'), path.join(dir, 'index.js'));
    fs.mkdirSync(path.join(dir, 'lib'));
    for (const file of fs.readdirSync(path.join(PACKAGE, 'lib'))) {
      if (file.endsWith('.js')) fs.copyFileSync(path.join(PACKAGE, 'lib', file), path.join(dir, 'lib', file));
    }
    fs.symlinkSync(path.join(PACKAGE, 'node_modules'), path.join(dir, 'node_modules'));
  });

  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Runs `require(copy).libraryVersion()` in a child; returns its output or the error's message. */
  function loadIn(env) {
    const childEnv = { ...process.env, ...env };
    for (const [key, value] of Object.entries(childEnv)) if (value === undefined) delete childEnv[key];
    try {
      return execFileSync(process.execPath, ['-e', `process.stdout.write(require(${JSON.stringify(dir)}).libraryVersion())`], {
        env: childEnv,
        stdio: ['ignore', 'pipe', 'pipe'],
      }).toString();
    } catch (err) {
      return `failed: ${err.stderr}`;
    }
  }

  function bundle(present) {
    const native = path.join(dir, 'lib', 'native');
    fs.rmSync(native, { recursive: true, force: true });
    if (present) {
      fs.mkdirSync(native);
      fs.symlinkSync(REAL_LIBRARY, path.join(native, path.basename(REAL_LIBRARY)));
    }
  }

  it('STARMILE_LIB comes first, and a wrong one is an error rather than a fallback', () => {
    bundle(true);
    assert.match(loadIn({ STARMILE_LIB: REAL_LIBRARY }), /^\d+\.\d+\.\d+$/);
    const out = loadIn({ STARMILE_LIB: path.join(dir, 'missing.so') });
    assert.match(out, /failed: .*cannot load libstarmile from STARMILE_LIB=/s);
  });

  it('without STARMILE_LIB the copy bundled in the package is used', () => {
    bundle(true);
    assert.match(loadIn({ STARMILE_LIB: undefined, LD_LIBRARY_PATH: undefined }), /^\d+\.\d+\.\d+$/);
  });

  it('without either, the system loader finds the library', () => {
    bundle(false);
    const out = loadIn({ STARMILE_LIB: undefined, LD_LIBRARY_PATH: path.dirname(REAL_LIBRARY) });
    assert.match(out, /^\d+\.\d+\.\d+$/);
  });

  it('when nothing is found, the error says where to put the library', { skip: process.platform !== 'linux' }, () => {
    bundle(false);
    const out = loadIn({ STARMILE_LIB: undefined, LD_LIBRARY_PATH: undefined });
    assert.match(out, /failed: .*cannot find libstarmile; set STARMILE_LIB/s);
  });
});
