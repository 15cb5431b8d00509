#!/usr/bin/env bash
# Rebuilds lmdb-js's native module against LMDB data format v1 (liblmdb 0.9.x).
# Why: the prebuilt lmdb-js binaries write LMDB data format v2, which liblmdb's
# mdb_dump/mdb_stat and the reference C LMJCore library cannot open (DESIGN §3).
# Idempotent: does nothing when the v1 build is already the one lmdb-js loads.
set -euo pipefail
cd "$(dirname "$0")/.."
lmdb_dir="node_modules/lmdb"
if [ ! -d "$lmdb_dir" ]; then echo "build-lmdb-v1: $lmdb_dir missing (run npm ci first)" >&2; exit 1; fi
check='import("lmdb").then(m => process.exit(m.version.patch < 90 ? 0 : 1), () => process.exit(1))'
if node --input-type=module -e "$check" 2>/dev/null; then exit 0; fi
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
