#!/usr/bin/env bash
# Builds the npm package the way a release does (`npm pack` runs scripts/build-prebuilds.sh
# as prepack) and checks that it carries the prebuilt binaries a Pi needs without a
# compiler: our addon and the LMDB data-format-v1 lmdb-js, for linux-x64 and linux-arm64.
# The install of that tarball on arm64 Node under qemu is scripts/test-arm64-install.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
start=$(date +%s)
(cd "$ROOT" && npm pack --pack-destination "$out" --silent >/dev/null)
tgz="$(ls "$out"/*.tgz)"
listing="$(tar -tzf "$tgz")"
missing=0
for f in prebuilds/linux-x64/lmj-edge.node prebuilds/linux-arm64/lmj-edge.node \
  prebuilds/lmdb-v1/linux-x64/lmdb.node prebuilds/lmdb-v1/linux-arm64/lmdb.node prebuilds/lmdb-v1/manifest.json; do
  if ! grep -qx "package/$f" <<<"$listing"; then echo "check-pack: $f is missing from $(basename "$tgz")" >&2; missing=1; fi
done
file_of() { tar -xzOf "$tgz" "package/$1" > "$out/bin" && file -b "$out/bin"; }
[ "$missing" -eq 0 ] && file_of prebuilds/linux-arm64/lmj-edge.node | grep -q 'ARM aarch64' || { echo "check-pack: the arm64 addon is not an aarch64 binary" >&2; missing=1; }
[ "$missing" -eq 0 ] && file_of prebuilds/linux-x64/lmj-edge.node | grep -q 'x86-64' || { echo "check-pack: the x64 addon is not an x86-64 binary" >&2; missing=1; }
[ "$missing" -eq 0 ] || exit 1
echo "check-pack: $(basename "$tgz") ($(du -h "$tgz" | cut -f1)) carries both prebuilds, checked in $(( $(date +%s) - start )) s"
