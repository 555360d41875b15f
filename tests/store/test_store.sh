#!/usr/bin/env bash
# The results store on a station's SQLite (docs/store.md): after `rig demo`,
# reports/results.db holds every run and `rig results list` shows them; an
# export equals each run's record.json field for field; importing the
# record folders into a new store gives the same export (and importing
# twice changes nothing); `rig results stats` agrees with an independent
# computation in Python over an export of a generated line; the drift
# check of `rig run` warns and the record says so; bad stores and
# addresses are refused with clear errors.
# Usage: test_store.sh RIG GEN_RUNS SOURCE_DIR
set -u
RIG=$1 GEN=$2 SRC=$3
W=$(mktemp -d /tmp/rig-store-test.XXXXXX)
trap 'rm -rf "$W"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }
cd "$W"

# ---- a demo's runs are in reports/results.db ----
"$RIG" demo --lockstep --units 3 --fixture "$SRC/fixtures/sim.yaml" \
  --suite "$SRC/fixtures/suites/calibrate.yaml" >demo.out 2>demo.err || fail "demo: $(tail -3 demo.err)"
[ -f reports/results.db ] || fail "no reports/results.db after the demo"
n=$("$RIG" results list --csv | tail -n +2 | wc -l)
[ "$n" = 3 ] && ok "results list shows the demo's 3 runs" || fail "results list shows $n runs"
"$RIG" results list | grep -q "MN1-001002" && ok "the table names the pens" || fail "list table"
"$RIG" results export >live.jsonl || fail "export"
python3 - "$W" <<'EOF' && ok "each export line equals its record.json" || fail "export != record.json"
import json, sys, os, glob
w = sys.argv[1]
lines = [json.loads(l) for l in open(os.path.join(w, "live.jsonl"))]
assert len(lines) == 3, len(lines)
for e in lines:
    rec = json.load(open(e["record_path"]))
    # the store keeps every field of the record (run_id, steps, table, instruments...)
    assert e["record"] == rec, [k for k in rec if rec[k] != e["record"].get(k)]
    names = {a["name"] for a in e["attachments"]}
    assert {"record.json", "record.sig", "journal.jsonl", "report.html"} <= names, names
EOF

# ---- import: the same rows from the record folders; twice is once ----
"$RIG" results import reports --store imported.db >import.out || fail "import: $(cat import.out)"
grep -q "^3 run(s) stored" import.out && ok "import stores 3 runs" || fail "import: $(cat import.out)"
"$RIG" results import reports --store imported.db >/dev/null
"$RIG" results export --store imported.db >imported.jsonl
cmp -s live.jsonl imported.jsonl && ok "imported twice = stored live, byte for byte" \
  || fail "import differs from the live store: $(diff <(tr ',' '\n' <live.jsonl) <(tr ',' '\n' <imported.jsonl) | head -5)"
run=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["record"]["run_id"])' live.jsonl)
"$RIG" results show "$run" | grep -q "as_left" && ok "show lists the steps" || fail "show $run"
"$RIG" results show "$run" --json | cmp -s - <(head -1 live.jsonl) && ok "show --json = its export line" \
  || fail "show --json"
"$RIG" results list --serial MN1-001001 --json | grep -c '"run_id"' | grep -qx 1 \
  && ok "list --serial filters" || fail "list --serial"

# ---- a record of schema 1 (before the journal) imports too ----
mkdir -p old/MN1-000777/20251001T080000.000Z-0a0b0c
cat >old/MN1-000777/20251001T080000.000Z-0a0b0c/record.json <<'EOF2'
{"schema": "needle-rig/run-record/1", "run_id": "20251001T080000.000Z-0a0b0c",
 "suite": {"name": "calibrate", "version": "1.0"},
 "station": {"id": "SIM-01", "nest": 1, "simulated": true, "seed": "42"},
 "unit": {"serial": "MN1-000777", "model": "MN1", "hardware": "1.0", "firmware": "1.2.0"},
 "operator": "Ann", "started": "2025-10-01T08:00:00.000Z", "ended": "2025-10-01T08:03:20.500Z",
 "software": {"name": "needle-rig", "version": "0.1.0"},
 "steps": [{"index": 0, "name": "as_left", "type": "as_left", "outcome": "PASS",
   "reason": "all in tolerance", "started": "2025-10-01T08:01:00.000Z", "duration_s": 95.5,
   "measurements": [{"name": "depth@1000", "quantity": "protrusion", "unit": "um",
     "setpoint": 1000, "value": 1003.25, "error": 3.25, "U": 1.6, "k": 2, "n": 87,
     "judged": true, "limit": {"low": 950, "high": 1050, "nominal": 1000, "unit": "um",
     "guard": "guarded", "guard_factor": 1}, "acceptance": {"low": 951.6, "high": 1048.4},
     "outcome": "PASS", "reason": "inside"}]}],
 "table": null, "safe_state": {"confirmed": true, "detail": "motor off"},
 "outcome": "PASS", "reason": "calibrated"}
EOF2
"$RIG" results import old --store old.db >/dev/null || fail "import of a schema 1 record"
"$RIG" results export --store old.db | python3 -c '
import json, sys
e = json.loads(sys.stdin.readline())
assert e["record_schema"] == 1 and e["record"]["run_id"] == "20251001T080000.000Z-0a0b0c", e
assert e["record"]["steps"][0]["measurements"][0]["value"] == 1003.25
' && ok "a schema 1 record is imported (record_schema 1)" || fail "schema 1 import"

# ---- statistics against an independent computation ----
"$GEN" --store gen.db --runs 3000 --stations 4 --seed 7 --drift 2 || fail "gen_runs"
"$RIG" results stats --store gen.db --json >stats.json || fail "stats"
"$RIG" results export --store gen.db >gen.jsonl || fail "export gen"
python3 "$SRC/tests/store/check_stats.py" gen.jsonl stats.json && ok "stats = Python's statistics" \
  || fail "stats disagree with Python"
"$RIG" results stats --store gen.db --station GEN-02 | grep -q "rule" \
  && ok "the drifting station breaks Nelson rules" || fail "no rule on the drifting station"

# ---- drift: rig run warns at start, and the record says so ----
mkdir drift && cd drift
sed 's/^  id: SIM-01/  id: GEN-00/' "$SRC/fixtures/sim.yaml" >station.yaml
mkdir reports
"$GEN" --store reports/results.db --runs 30 --stations 1 --drift 0 --drift-step 5 --seed 3 \
  || fail "gen_runs for drift"
"$RIG" demo --lockstep --units 1 --fixture station.yaml \
  --suite "$SRC/fixtures/suites/calibrate.yaml" >demo.out 2>demo.err || fail "drift demo"
grep -q "warning: station drift: as_left protrusion@" demo.err && ok "the run warned of the station's drift" \
  || fail "no drift warning: $(grep -i drift demo.err | head -2)"
python3 - <<'EOF2' && ok "the record keeps the drift warning" || fail "record has no warnings"
import json, glob
rec = json.load(open(glob.glob("reports/MN1-*/*/record.json")[0]))
assert any(w.startswith("station drift:") for w in rec["warnings"]), rec.get("warnings")
EOF2
"$RIG" records verify reports/MN1-*/* >verify.out || fail "a record with warnings verifies: $(cat verify.out)"
cd ..

# ---- refusals ----
echo "not a database" >junk.db
"$RIG" results list --store junk.db >/dev/null 2>err.txt
rc=$?
{ [ $rc -ne 0 ] && grep -q "junk.db" err.txt; } && ok "a file that is not a store is refused ($rc)" \
  || fail "junk store: rc $rc $(cat err.txt)"
"$RIG" results push --line 'postgresql://rig:secret@127.0.0.1:1/rig' >out.txt 2>&1
{ grep -q "PGPASSFILE" out.txt && ! grep -q secret out.txt; } \
  && ok "a password in the address is refused, and never echoed" || fail "password: $(cat out.txt)"
"$RIG" results bogus >/dev/null 2>&1; [ $? = 2 ] && ok "unknown command: exit 2" || fail "bogus"

echo "$fails failure(s)"
[ $fails = 0 ]
