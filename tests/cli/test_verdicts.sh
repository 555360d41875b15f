#!/usr/bin/env bash
# Verdicts for pens that are unusual but real (docs/calibration.md), through
# `rig run` against the simulated station in lockstep, checked against the
# simulator's ground truth:
#   1. a healthy pen ~19 % slow at 3000 strokes/min (fewer strokes than the
#      suite's capture was sized for) is calibrated: as-found measured with a
#      longer capture, as-left PASS with its true rate within 1 %; the verify
#      suite judges it FAIL on rate, never ERROR;
#   2. a suite whose limits the station's uncertainty cannot decide (test
#      uncertainty ratio below 4:1) is refused before the pen is touched
#      (exit 2, a record, no measurement), unless the suite lowers min_tur;
#   3. Ctrl-C while the table is being written (the pen holding a TABLE_CHUNK)
#      finishes the write and reads it back before the run stops ABORTED: the
#      pen's active table is the one stored in calibrations/, verified;
#   4. a blank pen (its flash's table slots erased: no valid table, NO_TABLE)
#      fails the verify suite naming NO_TABLE, and the calibrate suite
#      calibrates it from service mode (as-found skipped, recorded so): PASS;
#   5. run-in: a pen calibrated by the shipped suite (which runs the drive
#      warm before the rate sweep) still strokes within 1 % of every speed
#      level after 10 minutes of use (cold-calibrated: about +1.6 %);
#   6. a cartridge with a needle missing (it measures like a good one at
#      every speed level) fails both shipped suites at the needle count,
#      named: "missing needle: 11 of 12 punctures seen", never calibrated;
#      the healthy pen of case 5 passed the same step (12 of 12).
# Usage: test_verdicts.sh PATH/TO/rig SOURCE_DIR
set -u
rig=$1
src=$2
py=/usr/bin/python3
work=$(mktemp -d /tmp/rigtest-verdicts-XXXXXX)
bg_pids=
cleanup() {
  for p in $bg_pids; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok $1"; }
fail() { # fail NAME MESSAGE [FILE...]
  local name=$1 msg=$2 f
  shift 2
  failed=$((failed + 1))
  echo "FAIL $name: $msg"
  for f in "$@"; do [ -s "$f" ] && sed 's/^/    /' "$f" | tail -20; done
}
freeport() { $py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
sim=$work/sim
port=$(freeport)
RIG_DEBUG=info "$rig" sim --state-dir "$sim" --port "$port" --nests 1 --seed 3 --lockstep \
  >"$work/sim.log" 2>&1 &
bg_pids="$bg_pids $!"
for _ in $(seq 100); do [ -S "$sim/control.sock" ] && break; sleep 0.05; done
ctl() { "$rig" sim ctl --state-dir "$sim" "$@"; }
run() { # run NAME SUITE: rig run on nest 0 (SUITE: a shipped suite's name, or
  # a path); stdout+stderr in $work/NAME.out
  local name=$1 suite=$2
  case $suite in */*) ;; *) suite=$src/fixtures/suites/$suite.yaml ;; esac
  "$rig" run --fixture "$src/fixtures/sim.yaml" --suite "$suite" \
    --var "SIM_DIR=$sim" --var "SIM_PORT=$port" --time-scale 1000 --reports "$work/reports" \
    --calibrations "$work/cal" >"$work/$name.out" 2>&1
  echo $? >"$work/$name.rc"
}
last_record() { ls -t "$work"/reports/"$1"/2*/record.json 2>/dev/null | head -1; }
newest_record() { ls -t "$work"/reports/*/2*/record.json 2>/dev/null | head -1; }
true_rate_error() { # true_rate_error DEPTH SPM: percent, from the ground truth
  ctl truth 0 user "$1" "$2" | sed -n 's/.*rate_hz=\([0-9.]*\).*/\1/p' |
    awk -v spm="$2" '{ printf "%.3f", ($1 * 60 / spm - 1) * 100 }'
}

# ---- 1. A slow healthy pen. ----
# With --seed 3, SLOW-00161 strokes at 40.6 Hz where its table says 50 (3000
# strokes/min): 19 valid strokes in the suite's 0.5 s capture.
slow=SLOW-00161
ctl load 0 $slow >/dev/null
before=$(true_rate_error 1250 3000)
run slow-verify verify
rec=$(last_record $slow)
if [ "$(cat "$work/slow-verify.rc")" = 1 ] && [ -n "$rec" ] &&
  $py - "$rec" <<'EOF'; then
import json, sys
r = json.load(open(sys.argv[1]))
assert r["outcome"] == "FAIL" and r["error"] is None, (r["outcome"], r["error"])
rates = [m for s in r["steps"] for m in s.get("measurements") or []
         if m["quantity"] == "rate" and m["setpoint"] == 3000 and m["judged"]]
assert rates and all(m["outcome"] == "FAIL" and m["n"] >= 20 for m in rates), rates
found = [s for s in r["steps"] if s["type"] == "as_found"][0]
# As found, the verdicts flag drift in typed fields; health decides the step.
assert (found["outcome"], found["verdict"], found["drifted"]) == ("PASS", "FAIL", True), found
left = [s for s in r["steps"] if s["type"] == "as_left"][0]
assert (left["outcome"], left["verdict"], left["drifted"]) == ("FAIL", "FAIL", None), left
EOF
  pass "1a slow pen ($before % at 3000 spm), verify suite: FAIL on rate, not ERROR; as-found drifted: true"
else
  fail "1a slow pen, verify suite" "want exit 1 and a FAIL on rate with >= 20 strokes" "$work/slow-verify.out"
fi
run slow-cal calibrate
after=$(true_rate_error 1250 3000)
if [ "$(cat "$work/slow-cal.rc")" = 0 ] && grep -q " PASS$" "$work/slow-cal.out" &&
  awk -v e="$after" 'BEGIN { exit !(e < 1 && e > -1) }'; then
  pass "1b slow pen calibrated: PASS, true rate error at 3000 spm $before % -> $after %"
else
  fail "1b slow pen calibrated" "want PASS and a true rate error within 1 % (now $after %)" "$work/slow-cal.out"
fi

# ---- 2. A suite tighter than the station can decide. ----
# fixtures/sim.yaml: displacement u = 0.3 um, so U = 0.6 um; +-1.8 um is 3:1.
tight=$work/verify-tight.yaml
sed -e '/^  as_left:/,/^[a-z]/ s/depth: {[^}]*}/depth: {abs_um: 1.8}/' \
  "$src/fixtures/suites/verify.yaml" >"$tight"
run tight "$tight"
rec=$(newest_record)
if [ "$(cat "$work/tight.rc")" = 2 ] &&
  grep -q "verify-tight.yaml:[0-9]*:[0-9]*: step 'as_left': test uncertainty ratio 3.00:1 below" \
    "$work/tight.out" && [ -n "$rec" ] &&
  $py -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["outcome"]=="ERROR"
assert not any(s.get("measurements") for s in r["steps"]), r["steps"]' "$rec"; then
  pass "2a suite at 3:1 refused before the pen is touched (exit 2, record ERROR)"
else
  fail "2a suite at 3:1 refused" "want exit 2, the TUR named, a record without measurements" "$work/tight.out"
fi
sed -i '1i min_tur: 2.5' "$tight"
run tight-allowed "$tight"
if ! grep -q "test uncertainty ratio" "$work/tight-allowed.out" &&
  grep -q "as_left" "$work/tight-allowed.out"; then
  pass "2b the same suite with min_tur: 2.5 runs (exit $(cat "$work/tight-allowed.rc"))"
else
  fail "2b min_tur: 2.5" "want the run to go on to as_left" "$work/tight-allowed.out"
fi

# ---- 3. Ctrl-C during the table write. ----
ctl load 0 CTRLC-0001 >/dev/null
ctl fault dut-hold 0 TABLE_CHUNK 400 >/dev/null
holds=$(grep -c "holding command" "$work/sim.log")
"$rig" run --fixture "$src/fixtures/sim.yaml" --suite "$src/fixtures/suites/calibrate.yaml" \
  --var "SIM_DIR=$sim" --var "SIM_PORT=$port" --time-scale 1000 --reports "$work/reports" \
  --calibrations "$work/cal" >"$work/ctrlc.out" 2>&1 &
pid=$!
bg_pids="$bg_pids $pid"
for _ in $(seq 400); do
  [ "$(grep -c "holding command" "$work/sim.log")" -gt "$holds" ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.01
done
kill -INT "$pid"
wait "$pid"
rc=$?
ctl fault clear >/dev/null
rec=$(last_record CTRLC-0001)
"$rig" dut read-table "unix://$sim/nest0.sock" --out "$work/ctrlc-active.bin" >/dev/null 2>&1
stored=$(sed -n 's/^table: *//p' "$work/ctrlc.out")
if [ "$rc" = 5 ] && [ -n "$rec" ] && [ -f "$stored" ] && cmp -s "$work/ctrlc-active.bin" "$stored" &&
  $py - "$rec" <<'EOF'; then
import json, sys
r = json.load(open(sys.argv[1]))
steps = {s["type"]: s for s in r["steps"]}
assert r["outcome"] == "ABORTED", r["outcome"]
assert steps["write_table"]["outcome"] == "PASS", steps["write_table"]
assert steps["read_back"]["outcome"] == "PASS", steps["read_back"]
assert steps["as_left"]["outcome"] == "ABORTED", steps["as_left"]
assert r["table"]["commit"] == "confirmed", r["table"]
EOF
  pass "3 Ctrl-C inside TABLE_CHUNK: write finished, read back identical, then ABORTED (exit 5)"
else
  fail "3 Ctrl-C during the write" "want exit 5 (got $rc), write_table and read_back PASS, the active table = the stored one" "$work/ctrlc.out"
fi

# ---- 4. A blank pen. ----
ctl load 0 BLANK-0001 >/dev/null
ctl unload 0 >/dev/null
# Erase the markers and both table slots (docs/sim-pen.md, flash layout).
$py -c '
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[0x40:0x60] = b"\xff" * 0x20
b[0x100:0x800] = b"\xff" * 0x700
open(p, "wb").write(b)' "$sim/BLANK-0001.flash"
ctl load 0 BLANK-0001 >/dev/null
run blank-verify verify
if [ "$(cat "$work/blank-verify.rc")" = 1 ] &&
  grep -q "as_found: the pen reports NO_TABLE: it has no valid calibration table; calibrate it" \
    "$work/blank-verify.out"; then
  pass "4a blank pen, verify suite: FAIL naming NO_TABLE"
else
  fail "4a blank pen, verify suite" "want exit 1 naming NO_TABLE" "$work/blank-verify.out"
fi
run blank-cal calibrate
rec=$(last_record BLANK-0001)
if [ "$(cat "$work/blank-cal.rc")" = 0 ] && [ -n "$rec" ] && $py - "$rec" <<'EOF'; then
import json, sys
r = json.load(open(sys.argv[1]))
assert r["outcome"] == "PASS", r["outcome"]
assert r["unit"]["previous_table"] is None, r["unit"]["previous_table"]
found = [s for s in r["steps"] if s["type"] == "as_found"][0]
assert found["outcome"] == "PASS" and "NO_TABLE" in found["reason"] and not found["measurements"], found
assert found["verdict"] is None and found["drifted"] is None, found
EOF
  pass "4b blank pen calibrated from service mode: PASS, as-found skipped (no table)"
else
  fail "4b blank pen, calibrate suite" "want PASS with the as-found step skipped" "$work/blank-cal.out"
fi

# ---- 5. Run-in: the rates still hold after 10 minutes of use. ----
ctl load 0 RUNIN-0001 >/dev/null
run runin calibrate
"$rig" dut run "unix://$sim/nest0.sock" 1250 5400 --seconds 60 >/dev/null 2>&1 &
use=$!
bg_pids="$bg_pids $use"
sleep 0.3
# In lockstep, station time passes in captures: ten of 60 s are 10 minutes.
for _ in 1 2 3 4 5 6 7 8 9 10; do
  "$rig" daq capture --uri "modbus-tcp://127.0.0.1:$port?unit=1" --rate 1000 --seconds 60 \
    --out "$work/use.csv" >/dev/null 2>>"$work/use.err"
done
kill -INT "$use" 2>/dev/null
wait "$use" 2>/dev/null
worst=0
for level in 3000 4200 5400 6600 7800 9000; do
  e=$(true_rate_error 1250 "$level")
  worst=$(awk -v a="$worst" -v b="$e" 'BEGIN { x = b < 0 ? -b : b; y = a < 0 ? -a : a; print (x > y ? b : a) }')
done
rec=$(last_record RUNIN-0001)
if [ "$(cat "$work/runin.rc")" = 0 ] && [ -n "$rec" ] &&
  grep -q '"type": *"run_in"' "$rec" && awk -v e="$worst" 'BEGIN { exit !(e < 1 && e > -1) }'; then
  pass "5 run-in: worst true rate error after 10 minutes of use $worst %"
else
  fail "5 run-in" "want PASS and every speed level within 1 % after 10 minutes of use (worst $worst %)" \
    "$work/runin.out" "$work/use.err"
fi

# ---- 6. A missing needle. ----
ctl load 0 NEEDLE-0001 missing-needle >/dev/null
for suite in verify calibrate; do
  run "needle-$suite" $suite
  rec=$(last_record NEEDLE-0001)
  if [ "$(cat "$work/needle-$suite.rc")" = 1 ] && [ -n "$rec" ] &&
    grep -q "needle_count: missing needle: 11 of 12 punctures seen" "$work/needle-$suite.out" &&
    $py - "$rec" <<'EOF'; then
import json, sys
r = json.load(open(sys.argv[1]))
assert r["outcome"] == "FAIL" and r["error"] is None, (r["outcome"], r["error"])
nc = [s for s in r["steps"] if s["type"] == "needle_count"][0]
m = [m for m in nc["measurements"] if m["name"] == "needle_count"][0]
assert (nc["outcome"], m["value"], m["outcome"], m["judged"]) == ("FAIL", 11, "FAIL", True), m
assert m["n"] >= 3, m
assert not any(s["type"] in ("write_table", "as_left") for s in r["steps"]), r["steps"]
EOF
    pass "6 missing needle, $suite suite: FAIL at the needle count, 11 of 12 named, not calibrated"
  else
    fail "6 missing needle, $suite suite" "want exit 1 and FAIL 'missing needle: 11 of 12'" \
      "$work/needle-$suite.out"
  fi
done
healthy=$(last_record RUNIN-0001)
if [ -n "$healthy" ] && $py - "$healthy" <<'EOF'; then
import json, sys
r = json.load(open(sys.argv[1]))
nc = [s for s in r["steps"] if s["type"] == "needle_count"][0]
m = [m for m in nc["measurements"] if m["name"] == "needle_count"][0]
assert (nc["outcome"], m["value"]) == ("PASS", 12), (nc["outcome"], m)
EOF
  pass "6 the healthy pen of case 5: 12 of 12 needles"
else
  fail "6 healthy pen's needle count" "want PASS with 12 needles in $healthy"
fi

echo "test_verdicts: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
