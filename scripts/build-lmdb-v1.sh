#!/usr/bin/env bash
# Rebuilds lmdb-js's native module against LMDB data format v1 (liblmdb 0.9.x).
# Why: the prebuilt lmdb-js binaries write LMDB data format v2, which liblmdb's
# mdb_dump/mdb_stat and the reference C LMJCore library cannot open (DESIGN §3).
# Idempotent: does nothing when the v1 build is already the one lmdb-js loads.
set -euo pipefail
cd "$(dirname "$0")/.."
# LMDB_DIR: where lmdb-js is installed when not in ./node_modules (scripts/install-lmdb-v1.mjs).
lmdb_dir="${LMDB_DIR:-node_modules/lmdb}"
if [ ! -d "$lmdb_dir" ]; then echo "build-lmdb-v1: $lmdb_dir missing (run npm ci first)" >&2; exit 1; fi
check='import("lmdb").then(m => process.exit(m.version.patch < 90 ? 0 : 1), () => process.exit(1))'
# Without MDB_OVERLAPPINGSYNC (data v1), lmdb-js 3.5.6 never registers an env in its
# process-wide env table, so close() never reaches mdb_env_close(): every closed env keeps
# its 3 fds and its mmap (measured). The device pool closes instances to stay within the fd
# limit, so register v1 envs too; then the last close really closes. Idempotent (marker).
patched=0
if ! grep -q 'lmj-edge: track v1 envs' "$lmdb_dir/src/env.cpp"; then
  python3 - "$lmdb_dir/src/env.cpp" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
anchor = "\tmdb_env_get_flags(env, (unsigned int*) &flags);\n\tif ((jsFlags & DELETE_ON_CLOSE)"
assert s.count(anchor) == 1, "build-lmdb-v1: env.cpp anchor not found"
track = ("#ifndef MDB_OVERLAPPINGSYNC\n\t{ // lmj-edge: track v1 envs so close() calls mdb_env_close\n"
         "\t\tSharedEnv envRef; envRef.env = env; envRef.dev = 0; envRef.inode = 0; envRef.count = 1; envRef.hasWrites = false;\n"
         "\t\tenvTracking->envs.push_back(envRef);\n\t}\n#endif\n")
open(p, "w").write(s.replace(anchor, track + anchor))
PY
  patched=1
fi
if [ "$patched" = 0 ] && node --input-type=module -e "$check" 2>/dev/null; then exit 0; fi
echo "build-lmdb-v1: building lmdb-js native module with LMDB_DATA_V1=true"
gyp=("$PWD/node_modules/.bin/node-gyp")
if [ ! -x "${gyp[0]}" ]; then gyp=(npx --yes node-gyp); fi
nodedir=()
# Use the installed Node headers when present so no header download is needed.
node_prefix="$(dirname "$(dirname "$(command -v node)")")"
if [ -f "$node_prefix/include/node/node_api.h" ]; then nodedir=(--nodedir="$node_prefix"); fi
(cd "$lmdb_dir" && LMDB_DATA_V1=true "${gyp[@]}" rebuild "${nodedir[@]}" -j 2 >/dev/null)
node --input-type=module -e "$check" || { echo "build-lmdb-v1: lmdb still loads a data format v2 build" >&2; exit 1; }
echo "build-lmdb-v1: ok"
