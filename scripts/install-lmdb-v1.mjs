#!/usr/bin/env node
// postinstall: makes lmdb-js load a build that writes LMDB data format v1 (README, Storage).
// 1. Already a v1 build → done.
// 2. A prebuild shipped in this package (prebuilds/lmdb-v1/<platform>-<arch>/lmdb.node,
//    built by scripts/build-prebuilds.sh) whose lmdb version and sha256 match
//    prebuilds/lmdb-v1/manifest.json → copied into lmdb's build/Release/ (which lmdb-js
//    loads before its own v2 prebuilds), then verified in a fresh process: the data
//    format is v1 and close() really releases the environment's descriptors.
// 3. Otherwise, with a compiler on the PATH → built from source (scripts/build-lmdb-v1.sh).
// 4. Otherwise → a clear failure naming what is missing.
// LMJ_EDGE_LMDB_FROM_SOURCE=1 skips step 2.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PKG = dirname(dirname(fileURLToPath(import.meta.url)));
const TAG = `${process.platform}-${process.arch}`;
const say = (m) => process.stderr.write(`lmj-edge install-lmdb-v1: ${m}\n`);

// In a fresh process (a loaded .node cannot be replaced in this one): data format v1,
// and an opened-then-closed environment gives its descriptors back (the close() patch).
const VERIFY = `
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const m = await import('lmdb');
const v = m.version;
if (!(v.major === 0 && v.minor === 9 && v.patch < 90)) { console.error('data format v2 build (liblmdb ' + v.major + '.' + v.minor + '.' + v.patch + ')'); process.exit(3); }
const dir = mkdtempSync(join(tmpdir(), 'lmj-lmdb-check-'));
const fds = () => readdirSync('/proc/self/fd').length;
const before = fds();
const db = m.open({ path: join(dir, 'env'), maxDbs: 2 });
await db.put('k', 'v');
await db.close();
const after = fds();
rmSync(dir, { recursive: true, force: true });
if (after > before) { console.error('close() kept ' + (after - before) + ' descriptors (unpatched build)'); process.exit(4); }
`;

function lmdbDir() {
  // lmdb's "exports" hide package.json: walk Node's own lookup paths instead.
  const paths = createRequire(join(PKG, 'package.json')).resolve.paths('lmdb') ?? [];
  const found = paths.map((p) => join(p, 'lmdb')).find((d) => existsSync(join(d, 'package.json')));
  if (found === undefined) {
    say('lmdb is not installed next to lmj-edge');
    process.exit(1);
  }
  return found;
}

function verify() {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', VERIFY], { cwd: PKG, encoding: 'utf8' });
  return r.status === 0 ? undefined : (r.stderr.trim() || `exit ${r.status}`);
}

function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

/** Installs the shipped prebuild when it matches; returns why not otherwise. */
function installPrebuild(lmdb) {
  const manifestPath = join(PKG, 'prebuilds', 'lmdb-v1', 'manifest.json');
  if (!existsSync(manifestPath)) return 'this package carries no lmdb-v1 prebuilds';
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  const entry = manifest.binaries?.[TAG];
  if (entry === undefined) return `no lmdb-v1 prebuild for ${TAG}`;
  const lmdbVersion = JSON.parse(readFileSync(join(lmdb, 'package.json'), 'utf8')).version;
  if (lmdbVersion !== manifest.lmdbVersion) return `prebuild is for lmdb ${manifest.lmdbVersion}, installed is ${lmdbVersion}`;
  const src = join(PKG, 'prebuilds', 'lmdb-v1', TAG, 'lmdb.node');
  const sha = createHash('sha256').update(readFileSync(src)).digest('hex');
  if (sha !== entry.sha256) return `prebuild ${src} does not match its sha256 in manifest.json`;
  const release = join(lmdb, 'build', 'Release');
  mkdirSync(release, { recursive: true });
  const dest = join(release, 'lmdb.node');
  copyFileSync(src, `${dest}.tmp`);
  renameSync(`${dest}.tmp`, dest);
  const problem = verify();
  if (problem === undefined) return undefined;
  rmSync(dest, { force: true });
  return `prebuild failed verification: ${problem}`;
}

const lmdb = lmdbDir();
if (verify() === undefined) {
  say(`lmdb-js already loads a data format v1 build (${lmdb})`);
  process.exit(0);
}
const why = process.env.LMJ_EDGE_LMDB_FROM_SOURCE === '1' ? 'LMJ_EDGE_LMDB_FROM_SOURCE=1' : installPrebuild(lmdb);
if (why === undefined) {
  say(`installed and verified the ${TAG} prebuild into ${join(lmdb, 'build', 'Release')}`);
  process.exit(0);
}
const missing = ['cc', 'c++', 'make', 'python3'].filter((t) => !onPath(t));
if (missing.length > 0) {
  say(`${why}, and cannot build from source: ${missing.join(', ')} not on PATH`);
  say('install a toolchain (apt-get install g++ make python3) or use a package with prebuilds for this platform');
  process.exit(1);
}
say(`${why}: building from source`);
execFileSync('bash', [join(PKG, 'scripts', 'build-lmdb-v1.sh')], { stdio: 'inherit', env: { ...process.env, LMDB_DIR: lmdb } });
const problem = verify();
if (problem !== undefined) {
  say(`source build failed verification: ${problem}`);
  process.exit(1);
}
