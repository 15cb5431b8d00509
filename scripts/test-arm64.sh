#!/usr/bin/env bash
# Cross-compiles the addon for aarch64 and runs the codec (and core) unit tests
# under qemu-user with an arm64 Node, per /work/shared/arm64.md, and alongside them a
# daemon smoke run (test/e2e/gateway/smoke.test.ts) with the arm64 daemon.
#   bash scripts/test-arm64.sh [extra vitest args]
# Caches the arm64 Node and the arm64 node_modules under
# ${XDG_CACHE_HOME:-$HOME/.cache}/lmj-edge-arm64 so warm runs skip npm.
# Works in a temporary copy of the repo; exits non-zero when a test fails.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/lmj-edge-arm64"
V="$(node -p process.versions.node)"
start=$(date +%s)
mkdir -p "$CACHE"

source "$ROOT/scripts/arm64-setup.sh"

echo "test-arm64: setup done in $(( $(date +%s) - start )) s"

# 6. The tests, on the arm64 Node under qemu, with the native codec required. One
# worker: under emulation on a busy 2-core box, two workers starved vitest's RPC
# ("Timeout calling onTaskUpdate") without finishing sooner. Not isolated: the one worker
# runs every file in one process, so the emulated Node starts once and vitest's runtime,
# the codec and the engine load once instead of once per file (the suites share no state
# but the pointer generator, whose tests only ask for strictly increasing pointers).
# Code runs ~10x slower under emulation, so test timeouts are longer and property tests
# use fewer cases (they run in full on x64).
tests=(test/unit/codec)
[ -d "$WORK/test/unit/core" ] && tests+=(test/unit/core)
echo "test-arm64: running ${tests[*]} on $("$NODE_DIR/bin/node" -p 'process.arch + " node " + process.version')"
set +e
# 7. Meanwhile, on the core the one emulated vitest worker leaves free: the smoke run's
# daemon is the host's compiled dist/ (plain JS) when it is up to date, else compiled here
# (tsc on the host's x64 Node, niced, so the unit run keeps its core), then a daemon smoke
# run on the arm64 Node and addon: JSON and CBOR over MQTT QoS 1, HTTP read-back, SIGKILL,
# restart, read again (test/e2e/gateway/smoke.test.ts). The smoke run is not niced (niced
# on a loaded machine it got almost no CPU and outlasted the unit run by minutes). Its
# output is printed after the unit run's. It runs even when the unit run fails, so its
# result is known either way.
smoke_log="$WORK/smoke.log"
if [ -z "${*:-}" ]; then
  (
    cd "$WORK" || exit 1
    # The host's dist/ when no source, bench or simulator file is newer than it (scripts/test.sh
    # has just built it), else tsc here.
    if [ -f "$ROOT/dist/src/cli/main.js" ] && [ -z "$(find "$ROOT/src" "$ROOT/bench" "$ROOT/firmware-sim" "$ROOT/tsconfig.json" \
      -newer "$ROOT/dist/src/cli/main.js" -print -quit)" ]; then
      cp -a "$ROOT/dist" dist
    else
      nice -n 10 node node_modules/typescript/bin/tsc -p tsconfig.json >tsc.log 2>&1 || { cat tsc.log; exit 1; }
    fi
    LMJ_CODEC=native "$NODE_DIR/bin/node" node_modules/vitest/vitest.mjs run --maxWorkers=1 --minWorkers=1 \
      --testTimeout=600000 test/e2e/gateway/smoke.test.ts
  ) >"$smoke_log" 2>&1 &
  smoke_pid=$!
fi
(cd "$WORK" && LMJ_CODEC=native LMJ_PROP_SCALE="${LMJ_PROP_SCALE:-0.1}" \
  "$NODE_DIR/bin/node" node_modules/vitest/vitest.mjs run --maxWorkers=1 --minWorkers=1 --no-isolate --testTimeout=180000 "${tests[@]}" "$@")
rc=$?
if [ -z "${*:-}" ]; then
  echo "test-arm64: daemon smoke run (started alongside the unit run; $(( $(date +%s) - start )) s into the leg now)"
  wait "$smoke_pid"
  smoke=$?
  cat "$smoke_log"
  echo "test-arm64: daemon smoke run $([ "$smoke" -eq 0 ] && echo passed || echo FAILED)"
  [ "$smoke" -eq 0 ] || rc=1
fi
set -e
echo "test-arm64: $([ "$rc" -eq 0 ] && echo passed || echo FAILED) in $(( $(date +%s) - start )) s"
exit "$rc"
