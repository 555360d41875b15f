#!/usr/bin/env bash
# A line of stations reporting into a real PostgreSQL server
# (docs/store.md "Line server"): 8 simulated stations run `rig demo` at once
# with --store pointing at the server; the server goes down mid-way
# (immediate shutdown) and comes back. Every run must still end as the
# station measured it (the outage never fails a run), and afterwards, once
# each station has pushed its outbox, every run must be in PostgreSQL
# exactly once and identical to each station's own SQLite. The server is
# its own throw-away cluster (tests/store/pg_cluster.sh), never one the
# caller shares: this test stops it.
# Usage: test_store_pg.sh RIG GEN_RUNS SOURCE_DIR
set -u
RIG=$1 GEN=$2 SRC=$3
CLUSTER="$SRC/tests/store/pg_cluster.sh"
STATIONS=8 UNITS=4
bash "$CLUSTER" check || exit 77
W=$(mktemp -d /tmp/rig-store-pg.XXXXXX)
chmod 755 "$W"   # the server runs as another user, under it
cleanup() { bash "$CLUSTER" destroy "$W/pg" >/dev/null 2>&1; rm -rf "$W"; }
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

bash "$CLUSTER" start "$W/pg" >/dev/null || { echo "cannot start PostgreSQL"; exit 1; }
# shellcheck disable=SC1091
source "$W/pg/env"
URL=$RIG_TEST_PG
psql -XAtq "$URL" -c 'select 1' >/dev/null || { echo "cannot reach $URL"; exit 1; }

# ---- 8 stations at once, with an outage in the middle ----
for s in $(seq 1 $STATIONS); do
  d="$W/st$s"
  mkdir -p "$d"
  sed "s/^  id: SIM-01/  id: ST-0$s/" "$SRC/fixtures/sim.yaml" >"$d/station.yaml"
  ( cd "$d" && "$RIG" demo --lockstep --units $UNITS --seed $s --fixture station.yaml \
      --suite "$SRC/fixtures/suites/calibrate.yaml" --store "$URL" >demo.out 2>demo.err
    echo $? >demo.rc ) &
done
# Down before any run ends, back once every station has stored a run (so
# every station's first push meets the outage), while the rest still run.
sleep 0.5
bash "$CLUSTER" pause "$W/pg" >/dev/null && ok "server down while the stations run"
stored_everywhere() {
  local s n
  for s in $(seq 1 $STATIONS); do
    n=$(sqlite3 "$W/st$s/reports/results.db" 'select count(*) from runs' 2>/dev/null || echo 0)
    [ "${n:-0}" -ge 1 ] || return 1
  done
}
for _ in $(seq 1 600); do stored_everywhere && break; sleep 0.2; done
stored_everywhere || fail "not every station stored a run within 120 s"
sleep 0.5
bash "$CLUSTER" resume "$W/pg" >/dev/null && ok "server back"
wait

for s in $(seq 1 $STATIONS); do
  d="$W/st$s"
  rc=$(cat "$d/demo.rc")
  n=$(grep -c "PASS$" "$d/demo.out")
  [ "$rc" = 0 ] && [ "$n" = $UNITS ] || fail "station $s: rc $rc, $n PASS: $(tail -3 "$d/demo.err")"
done
ok "every station finished its $UNITS units PASS, outage or not"
# The outage must have been felt: some station's background push failed.
if cat "$W"/st*/reports/results.db.push.log 2>/dev/null | grep -q "waiting in the outbox"; then
  ok "the outage was felt: a background push failed and its runs waited"
else
  fail "no background push met the outage (the test did not test it)"
fi

# Each station's background push may still be going; then push what waits.
sleep 1
for s in $(seq 1 $STATIONS); do
  ( cd "$W/st$s" && "$RIG" results push --line "$URL" >push.out 2>&1 ) || \
    fail "station $s push: $(cat "$W/st$s/push.out")"
done

total=$(psql -XAtq "$URL" -c 'select count(*) from runs')
distinct=$(psql -XAtq "$URL" -c 'select count(distinct run_id) from runs')
want=$((STATIONS * UNITS))
[ "$total" = $want ] && [ "$distinct" = $want ] && ok "PostgreSQL holds all $want runs, each once" \
  || fail "PostgreSQL holds $total runs ($distinct distinct), want $want"
for s in $(seq 1 $STATIONS); do
  d="$W/st$s"
  "$RIG" results export --store "$d/reports/results.db" >"$d/local.jsonl"
  "$RIG" results export --store "$URL" --station "ST-0$s" >"$d/line.jsonl"
  waiting=$(cd "$d" && "$RIG" results push --line "$URL" | sed -n 's/.*, \([0-9]*\) waiting.*/\1/p')
  [ "$(wc -l <"$d/local.jsonl")" = $UNITS ] || fail "station $s: local store has $(wc -l <"$d/local.jsonl") runs"
  cmp -s "$d/local.jsonl" "$d/line.jsonl" || fail "station $s: SQLite and PostgreSQL differ"
  [ "$waiting" = 0 ] || fail "station $s: $waiting run(s) still in the outbox"
done
[ $fails = 0 ] && ok "each station's SQLite = its runs in PostgreSQL, byte for byte; outboxes empty"

# ---- pushing again duplicates nothing; a push to a dead server keeps the runs ----
( cd "$W/st1" && sqlite3 reports/results.db "insert into outbox select run_id, 0, 0, '' from runs" )
( cd "$W/st1" && "$RIG" results push --line "$URL" >/dev/null ) || fail "re-push"
[ "$(psql -XAtq "$URL" -c 'select count(*) from runs')" = $want ] && ok "a run pushed twice is there once" \
  || fail "re-push duplicated runs"
bash "$CLUSTER" stop "$W/pg" >/dev/null
( cd "$W/st1" && sqlite3 reports/results.db "insert into outbox select run_id, 0, 0, '' from runs" )
( cd "$W/st1" && "$RIG" results push --line "$URL" >push.out 2>&1 ); rc=$?
{ [ $rc = 1 ] && grep -q "waiting in the outbox" "$W/st1/push.out"; } \
  && ok "server down: push exits 1, the runs wait in the outbox" || fail "push to a dead server: rc $rc $(cat "$W/st1/push.out")"

# ---- stats read from PostgreSQL agree with the same runs' SQLite ----
bash "$CLUSTER" resume "$W/pg" >/dev/null
"$RIG" results stats --store "$URL" --station ST-01 --json >"$W/pg.json"
"$RIG" results stats --store "$W/st1/reports/results.db" --json >"$W/sqlite.json"
cmp -s "$W/pg.json" "$W/sqlite.json" && ok "stats from PostgreSQL = stats from SQLite" || fail "stats differ"

echo "$fails failure(s)"
[ $fails = 0 ]
