#!/usr/bin/env bash
# Power-cut soak: N cuts per safe case of test/e2e/gateway/power-cut.test.ts (embedded
# broker; with an upstream router), drop and torn cut models alternating, seeds from SEED.
# Prints one line per cut and a summary; exit 0 only when no cut found anything.
#   bash scripts/power-cut-soak.sh [N=20] [SEED=random]
# Needs the build (npm run build) and a C compiler (scripts/setup-test-deps.sh).
set -uo pipefail
cd "$(dirname "$0")/.."
runs="${1:-20}"
seed="${2:-$(( (RANDOM << 15 | RANDOM) ))}"
log="$(mktemp -t lmj-power-cut-soak.XXXXXX)"
echo "power-cut soak: ${runs} cuts per case, seed ${seed}, output in ${log}"
POWERCUT_RUNS="$runs" POWERCUT_SEED="$seed" LMJ_CODEC="${LMJ_CODEC:-native}" \
  npx vitest run test/e2e/gateway/power-cut.test.ts -t 'safe' >"$log" 2>&1
status=$?
grep -E '^power-cut seed=' "$log"
cuts=$(grep -cE '^power-cut seed=' "$log")
found=$(grep -E '^power-cut seed=' "$log" | grep -c 'FOUND' || true)
echo "power-cut soak: ${cuts} cuts, $((cuts - found)) clean, ${found} found something (seed ${seed})"
if [ "$status" -ne 0 ] && [ "$found" -eq 0 ]; then
  echo "power-cut soak: the test run failed outside the cuts; see ${log}" >&2
  tail -30 "$log" >&2
fi
[ "$status" -eq 0 ] && [ "$found" -eq 0 ]
