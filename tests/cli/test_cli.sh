#!/usr/bin/env bash
# CLI smoke test: every command answers --help with exit 0, bad input gets
# exit 2 with an error that says where, `rig fit` reproduces NIST Pontius,
# and `rig demo` calibrates a unit on its own simulator and exits 0 (PASS)
# with a record and a table written. Usage: test_cli.sh PATH/TO/rig SOURCE_DIR
set -u
rig=$1
src=$2
work=$(mktemp -d /tmp/rigtest-cli-XXXXXX)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0

check() { # check NAME EXPECTED_EXIT PATTERN -- command...
  local name=$1 want=$2 pattern=$3
  shift 4
  local out rc
  out=$("$@" 2>&1)
  rc=$?
  if [ "$rc" -eq "$want" ] && grep -qE -- "$pattern" <<<"$out"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL $name: exit $rc (want $want), output:"
    echo "$out" | head -20
  fi
}

for c in sim dut sensors daq analyze fit run demo devices records report; do
  check "help $c" 0 "usage: rig $c" -- "$rig" "$c" --help
done
check "help" 0 "commands:" -- "$rig" --help
check "unknown command" 2 "unknown command 'frobnicate'" -- "$rig" frobnicate
check "bad uri" 2 "expected SCHEME://" -- "$rig" dut info nowhere
check "absent pen" 3 "start the simulator" -- "$rig" dut info "unix://$work/none.sock"
check "bad fixture" 2 "bad_fixture_unknown_key.yaml:[0-9]+:[0-9]+: " -- \
  "$rig" run --fixture "$src/tests/data/bad_fixture_unknown_key.yaml" \
  --suite "$src/fixtures/suites/calibrate.yaml"
check "bad suite" 2 "bad_suite_no_as_left.yaml:26:5: expected an 'as_left' step" -- \
  "$rig" run --fixture "$src/fixtures/sim.yaml" --var SIM_DIR=/x --var SIM_PORT=1 \
  --suite "$src/tests/data/bad_suite_no_as_left.yaml"

# NIST StRD Pontius through `rig fit` (quadratic; certified B0 0.673565789473684E-03)
strd="$src/../shared/data/strd/Pontius.dat"
if [ -f "$strd" ]; then
  { echo "x,y"; awk 'f && NF == 2 {print $2 "," $1} /^Data: +y +x/ {f = 1}' "$strd"; } >"$work/pontius.csv"
  check "fit pontius" 0 "b0 +0\.00067356578947" -- "$rig" fit "$work/pontius.csv" --degree 2
fi
printf 'x,y\n1,2\n2,abc\n' >"$work/bad.csv"
check "fit bad csv" 2 "bad.csv:3: " -- "$rig" fit "$work/bad.csv"
printf 'time_s,ch0_um\n0,1\n0.1,zz\n' >"$work/bad_capture.csv"
check "analyze bad csv" 2 "bad_capture.csv:3" -- "$rig" analyze "$work/bad_capture.csv"

# The main job, end to end, in its own directory.
(cd "$work" && cp -r "$src/fixtures" . &&
  "$rig" demo --units 1 --lockstep --reports "$work/reports" \
    --calibrations "$work/calibrations" >"$work/demo.out" 2>&1)
rc=$?
if [ $rc -eq 0 ] && grep -q " PASS$" "$work/demo.out" &&
  ls "$work"/reports/MN1-*/*/record.json >/dev/null 2>&1 &&
  ls "$work"/calibrations/MN1-*/*.bin "$work"/calibrations/MN1-*/*.json >/dev/null 2>&1; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
  echo "FAIL demo: exit $rc"; cat "$work/demo.out"
fi

# Every unit of the demo has its reports next to its record, and rig report
# makes them again elsewhere; a format it does not know is a usage error.
run_dir=$(ls -d "$work"/reports/MN1-*/2* 2>/dev/null | head -1)
for f in record.json record.sig journal.jsonl report.html certificate.pdf junit.xml strokes.csv; do
  if [ -n "$run_dir" ] && [ -s "$run_dir/$f" ]; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL demo left no $f in ${run_dir:-reports/}"; fi
done
check "report again" 0 "junit +$work/again/junit.xml" -- \
  "$rig" report "$run_dir" --format junit,csv,html,pdf --out "$work/again"
for f in junit.xml strokes.csv report.html certificate.pdf; do
  if cmp -s "$run_dir/$f" "$work/again/$f"; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL rig report made a different $f"; fi
done
check "report unknown format" 2 "unknown report format 'docx'" -- \
  "$rig" report "$run_dir" --format docx
check "verify demo record" 0 "OK" -- "$rig" records verify "$run_dir"
kept=$(ls "$run_dir"/captures/*.csv.gz 2>/dev/null | head -1)
check "analyze a kept capture" 0 "strokes +[0-9]+ found" -- "$rig" analyze "${kept:-none.csv.gz}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
