#!/usr/bin/env bash
# Benchmark of the results store (issue 9 targets: >= 1,000 runs/s into
# SQLite; `rig results stats` over 100,000 runs in <= 2 s). Runs shaped like
# the calibration suite's (62 judged measurements, 55 reported-only) are
# generated with tests/store/gen_runs and stored one transaction each:
#  1. runs/s into SQLite (2,000 runs), and into PostgreSQL (500 runs; a
#     throw-away server from tests/store/pg_cluster.sh, or $RIG_TEST_PG);
#  2. the time of `rig results stats` over RUNS runs (default 100,000),
#     best of three, the store's pages in the page cache.
# Reports figures; never fails on speed.
# Usage: bench_store.sh BUILD_DIR [RUNS]   (from the source tree)
set -eu
B=$(cd "$1" && pwd) RUNS=${2:-100000}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
GEN=$B/tests/gen_runs RIG=$B/bin/rig
W=$(mktemp -d /tmp/rig-bench-store.XXXXXX)
chmod 755 "$W"
trap 'bash "$SRC/tests/store/pg_cluster.sh" destroy "$W/pg" >/dev/null 2>&1 || true; rm -rf "$W"' EXIT
shape="--measurements 62 --reported 55"

echo "== runs stored per second (one transaction per run)"
# shellcheck disable=SC2086
"$GEN" --store "$W/rate.db" --runs 2000 $shape --time
if [ -z "${RIG_TEST_PG:-}" ] && bash "$SRC/tests/store/pg_cluster.sh" check >/dev/null 2>&1; then
  bash "$SRC/tests/store/pg_cluster.sh" start "$W/pg" >/dev/null
  # shellcheck disable=SC1091
  source "$W/pg/env"
fi
if [ -n "${RIG_TEST_PG:-}" ]; then
  # shellcheck disable=SC2086
  "$GEN" --store "$RIG_TEST_PG" --runs 500 --seed 99 $shape --time
else
  echo "(no PostgreSQL server: install postgresql for the line-server figure)"
fi

echo "== rig results stats over $RUNS runs"
# shellcheck disable=SC2086
"$GEN" --store "$W/big.db" --runs "$RUNS" --stations 8 --drift 3 $shape --time
best=
for _ in 1 2 3; do
  t0=$(date +%s.%N)
  "$RIG" results stats --store "$W/big.db" >/dev/null
  t=$(echo "$(date +%s.%N) - $t0" | bc)
  if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" = 1 ]; then best=$t; fi
done
printf "stats over %s runs: %.2f s (best of 3; target <= 2 s)\n" "$RUNS" "$best"
