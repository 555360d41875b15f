#!/usr/bin/env bash
# Verdicts for pens that are unusual but real (docs/calibration.md), through
# `rig run` against the simulated station in lockstep, checked against the
# simulator's ground truth:
#   1. a healthy pen ~19 % slow at 3000 strokes/min (fewer strokes than the
#      suite's capture was sized for) is calibrated: as-found measured with a
#      longer capture, as-left PASS with its true rate within 1 %; the verify
#      suite judges it FAIL on rate, never ERROR.
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
"$rig" sim --state-dir "$sim" --port "$port" --nests 1 --seed 3 --lockstep >"$work/sim.log" 2>&1 &
bg_pids="$bg_pids $!"
for _ in $(seq 100); do [ -S "$sim/control.sock" ] && break; sleep 0.05; done
ctl() { "$rig" sim ctl --state-dir "$sim" "$@"; }
run() { # run NAME SUITE: rig run on nest 0; stdout+stderr in $work/NAME.out
  local name=$1 suite=$2
  "$rig" run --fixture "$src/fixtures/sim.yaml" --suite "$src/fixtures/suites/$suite.yaml" \
    --var "SIM_DIR=$sim" --var "SIM_PORT=$port" --reports "$work/reports" \
    --calibrations "$work/cal" >"$work/$name.out" 2>&1
  echo $? >"$work/$name.rc"
}
last_record() { ls -t "$work"/reports/"$1"/2*/record.json 2>/dev/null | head -1; }
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
EOF
  pass "1a slow pen ($before % at 3000 spm), verify suite: FAIL on rate, not ERROR"
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

echo "test_verdicts: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
