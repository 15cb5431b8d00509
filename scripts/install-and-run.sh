#!/usr/bin/env bash
# One command for a fresh Debian / Raspberry Pi OS machine: installs what the daemon
# needs (Node ≥ 20, a C++ toolchain for the addon and the LMDB v1 build), builds, and
# runs `lmj-edge start` on embedded defaults (MQTT 127.0.0.1:1883, HTTP 127.0.0.1:8080).
# Extra arguments go to `lmj-edge start` (e.g. --data DIR, --http-port N).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-node.sh
missing=()
for bin in g++ make python3; do command -v "$bin" >/dev/null 2>&1 || missing+=("$bin"); done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "install-and-run: missing ${missing[*]}: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
bash scripts/build-lmdb-v1.sh
npm run build
exec node bin/lmj-edge.js start "$@"
