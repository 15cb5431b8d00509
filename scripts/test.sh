#!/usr/bin/env bash
# The README's test command: installs what the tests need, builds, and runs the
# whole suite once per codec so a broken addon cannot hide behind the fallback.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-test-deps.sh
source scripts/ensure-node.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
bash scripts/build-lmdb-v1.sh
# The addon: incremental when node-gyp has configured build/ already (npm ci's install
# script builds it, so a fresh checkout does not compile it twice; make's dependency
# files recompile whatever source, header or binding.gyp changed), else from scratch.
if [ -f build/Makefile ]; then npx --no-install node-gyp build; else npm run build:native; fi
npm run build:ts
total_pass=0; total_fail=0
# The portable leg runs every suite whose outcome goes through the codec (flatten,
# pointers, stored values): the codec suite itself, the engine, device stores, ingest and
# the journal, dead letters, queries, sync, the router's apply and fan-out, and the
# daemon end to end. What does not depend on the codec runs once, in the native leg:
# cluster membership and moves, brokers, TLS and tokens, retention, the dashboards'
# browser tests, CLI plumbing, power cuts, system-call traces, and the uplink's SIGKILL
# test (what it checks is the cursor against the commits). The instance verifier and
# salvage (test/integration/core/verify) walk LMDB pages and keys, not values, so they too
# run once.
PORTABLE_SUITES=(test/unit/codec test/unit/core test/unit/devices test/unit/gateway test/unit/query
  test/unit/router test/unit/sync test/unit/cli/query-command.test.ts
  test/integration/core test/integration/devices test/integration/query test/integration/sync
  test/integration/gateway/ingest test/integration/gateway/journal test/integration/gateway/dead-letters.test.ts
  test/integration/router/sync-endpoint.test.ts test/integration/router/query-fanout.test.ts
  test/e2e/gateway/daemon.test.ts test/e2e/gateway/durability.test.ts test/e2e/gateway/smoke.test.ts
  test/e2e/sync/gateway-router.test.ts test/e2e/sync/dotted-ids.test.ts)
# Within those directories, unit suites whose imports (followed through src/) never reach
# src/codec run once too: device ids and the data-dir layout, the fd budget and in-use log,
# topics, ACLs, the users file, in-flight accounting, the SSE hub, the move throttle, the
# router's tokens, routing table, route claims and gateway tally.
PORTABLE_ONCE=(test/unit/devices/device-id.test.ts test/unit/devices/layout.test.ts
  test/unit/devices/pool/fd-budget.test.ts test/unit/devices/pool/in-use-log.test.ts
  test/unit/gateway/topics.test.ts test/unit/gateway/broker/acl.test.ts test/unit/gateway/broker/users.test.ts
  test/unit/gateway/broker/in-flight.test.ts test/unit/gateway/dashboard/sse-hub.test.ts
  test/unit/router/cluster/move-throttle.test.ts test/unit/router/tokens.test.ts test/unit/router/routing-table.test.ts
  test/unit/router/route-claims.test.ts test/unit/router/dashboard/gateway-tally.test.ts)
# Unit suites that measure process-wide state (glibc's allocator counters) run in a
# process of their own, not beside other files.
OWN_PROCESS=(test/unit/codec/malloc.test.ts)
# Runs one vitest invocation and adds its counts to the totals; exits on a failure.
run_vitest() {
  local out rc p f
  out="$(mktemp)"
  set +e
  LMJ_CODEC=$codec npx vitest run --reporter=default --reporter=json --outputFile="$out" "$@"
  rc=$?
  set -e
  if [ -s "$out" ]; then
    read -r p f < <(node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));console.log(r.numPassedTests, r.numFailedTests)' "$out")
    total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
  fi
  rm -f "$out"
  if [ "$rc" -ne 0 ]; then
    echo "tests: $total_pass passed, $((total_fail > 0 ? total_fail : 1)) failed"
    exit "$rc"
  fi
}
for codec in native portable; do
  echo "=== test suite with LMJ_CODEC=$codec"
  if [ "$#" -gt 0 ]; then run_vitest "$@"; continue; fi
  # The unit suites first, not isolated: each fork runs its files in one process, so vitest's
  # runtime and the modules under test load once per fork, not once per file (test/unit mocks
  # nothing, changes no environment and keeps no state across files). Then everything else,
  # each file in a process of its own as before.
  unit=(test/unit); rest=(--exclude 'test/unit/**')
  if [ "$codec" = portable ]; then
    unit=(); rest=()
    for s in "${PORTABLE_SUITES[@]}"; do case "$s" in test/unit/*) unit+=("$s") ;; *) rest+=("$s") ;; esac; done
    rest+=(--exclude 'test/integration/core/verify/**')
    for f in "${PORTABLE_ONCE[@]}"; do unit+=(--exclude "$f"); done
  fi
  for f in "${OWN_PROCESS[@]}"; do unit+=(--exclude "$f"); done
  run_vitest --no-isolate "${unit[@]}"
  run_vitest "${OWN_PROCESS[@]}"
  run_vitest "${rest[@]}"
done
echo "tests: $total_pass passed, $total_fail failed"
