#!/usr/bin/env bash
# Sourced by the install and test scripts: makes sure `node` ≥ 20 and `npm` are on PATH.
# Debian 12 / Raspberry Pi OS bookworm ship Node 18; Node 20 then comes from the npm
# registry's node-linux-<arch> package (the official binary inside an npm package),
# unpacked into .node/ in this checkout — no other download source is needed.
set -euo pipefail
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_want=20
_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ -x "$_root/.node/bin/node" ]; then export PATH="$_root/.node/bin:$PATH"; fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "ensure-node: installing nodejs and npm from apt"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  else
    echo "ensure-node: node and npm are required: sudo apt-get install nodejs npm" >&2
    exit 1
  fi
fi
if [ "$(_major)" -lt "$_want" ]; then
  case "$(uname -m)" in
    x86_64) _arch=x64 ;;
    aarch64|arm64) _arch=arm64 ;;
    armv7l) _arch=armv7l ;;
    *) echo "ensure-node: unsupported machine $(uname -m)" >&2; exit 1 ;;
  esac
  echo "ensure-node: node $(node --version) is older than v$_want; installing node-linux-$_arch@$_want into .node/"
  _tmp="$(mktemp -d)"
  (cd "$_tmp" && npm pack --silent "node-linux-$_arch@$_want" >/dev/null)
  mkdir -p "$_root/.node"
  tar xzf "$_tmp"/node-linux-*.tgz -C "$_root/.node" --strip-components=1
  rm -rf "$_tmp"
  export PATH="$_root/.node/bin:$PATH"
  # The package holds only the node binary; Debian's npm keeps working with it.
  echo "ensure-node: using $(node --version)"
fi
