#!/usr/bin/env bash
# Builds the binaries `npm pack` ships, so a Pi needs no compiler (docs/install.md):
#   prebuilds/linux-<arch>/lmj-edge.node   our addon (prebuildify; node-gyp-build prefers it)
#   prebuilds/lmdb-v1/linux-<arch>/lmdb.node  lmdb-js built for LMDB data format v1, patched
#   prebuilds/lmdb-v1/manifest.json        lmdb version + sha256 per binary (checked at install)
# for x64 (the host's build) and arm64 (cross-compiled, reusing scripts/arm64-setup.sh and its
# caches). Runs as `prepack`, so `npm pack` alone produces the full package.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/lmj-edge-arm64"
V="$(node -p process.versions.node)"
start=$(date +%s)
mkdir -p "$CACHE"
[ "$(node -p process.arch)" = x64 ] || { echo "build-prebuilds: runs on an x64 host (cross-compiles arm64)" >&2; exit 1; }
cd "$ROOT"
rm -rf prebuilds
# x64: the host's addon and the host's lmdb-js v1 build (build-lmdb-v1.sh is idempotent).
# The addon is the one in build/, brought up to date by make (it recompiles what changed
# since `npm run build`, or builds it when build/ is not configured), stripped and named
# as `prebuildify --napi --strip` would; prebuildify would compile it all again.
if [ -f build/Makefile ]; then npx --no-install node-gyp build >/dev/null; else npx --no-install node-gyp rebuild >/dev/null; fi
mkdir -p prebuilds/linux-x64
cp build/Release/lmj_edge_native.node prebuilds/linux-x64/lmj-edge.node
strip --strip-all prebuilds/linux-x64/lmj-edge.node
bash scripts/build-lmdb-v1.sh >/dev/null
mkdir -p prebuilds/lmdb-v1/linux-x64
cp node_modules/lmdb/build/Release/lmdb.node prebuilds/lmdb-v1/linux-x64/lmdb.node
# arm64: the cross-compiled addon and lmdb-js from the cached arm64 setup.
source "$ROOT/scripts/arm64-setup.sh"
mkdir -p prebuilds/linux-arm64 prebuilds/lmdb-v1/linux-arm64
cp "$WORK"/prebuilds/linux-arm64/*.node prebuilds/linux-arm64/
cp "$WORK/node_modules/lmdb/build/Release/lmdb.node" prebuilds/lmdb-v1/linux-arm64/lmdb.node
node --input-type=module -e '
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
const sha = (p) => createHash("sha256").update(readFileSync(p)).digest("hex");
const lmdbVersion = JSON.parse(readFileSync("node_modules/lmdb/package.json", "utf8")).version;
const binaries = Object.fromEntries(["linux-x64", "linux-arm64"].map((t) => [t, { sha256: sha(`prebuilds/lmdb-v1/${t}/lmdb.node`) }]));
writeFileSync("prebuilds/lmdb-v1/manifest.json", JSON.stringify({ lmdbVersion, dataFormat: 1, binaries }, null, 2) + "\n");
'
file prebuilds/*/*.node prebuilds/lmdb-v1/*/*.node | sed 's/, BuildID.*//'
echo "build-prebuilds: done in $(( $(date +%s) - start )) s"
