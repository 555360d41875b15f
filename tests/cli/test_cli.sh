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
# --version names the version and the build commit; -V is the same.
check "version" 0 '^rig [0-9]+\.[0-9]+\.[0-9]+ \(build commit [^)]+\)$' -- "$rig" --version
check "version -V" 0 '^rig [0-9]+\.[0-9]+\.[0-9]+ \(build commit' -- "$rig" -V
# rig --help lists every subcommand, each on its own line or in a|b|c form.
for form in "dut run" "dut safe" "dut info\|status\|read-table" "daq info" "daq capture" \
  "sim ctl" "records recover" "records verify" "results list\|show\|export\|stats"; do
  check "help lists $form" 0 "^  $form( |$)" -- "$rig" --help
done
check "sim ctl help" 0 "^usage: rig sim ctl \[--state-dir DIR\] COMMAND" -- "$rig" sim ctl --help
if "$rig" sim ctl --help | grep -q -- "--nests"; then
  failed=$((failed + 1)); echo "FAIL rig sim ctl --help prints rig sim's options"
else passed=$((passed + 1)); fi
# A fixture or suite that is not there, or a directory, is bad input (2),
# never a station fault (3); the directory is called one.
check "missing fixture" 2 "nowhere.yaml: No such file or directory; check the path" -- \
  "$rig" run --fixture "$work/nowhere.yaml" --suite "$src/fixtures/suites/calibrate.yaml"
check "missing suite" 2 "nowhere.yaml: No such file or directory; check the path" -- \
  "$rig" run --fixture "$src/fixtures/sim.yaml" --var SIM_DIR=/x --var SIM_PORT=1 \
  --suite "$work/nowhere.yaml"
check "fixture is a directory" 2 "$work: is a directory, not a file" -- \
  "$rig" run --fixture "$work" --suite "$src/fixtures/suites/calibrate.yaml"
if "$rig" run --fixture "$work" --suite "$src/fixtures/suites/calibrate.yaml" 2>&1 | grep -q UTF-8; then
  failed=$((failed + 1)); echo "FAIL a directory as fixture is called a text encoding problem"
else passed=$((passed + 1)); fi
check "demo missing fixture" 2 "nowhere.yaml: No such file" -- \
  "$rig" demo --units 1 --fixture "$work/nowhere.yaml"
# rig demo outside a checkout (no fixtures/ here; a build-tree rig has no
# installed examples either): exit 2 and no simulator state left in /tmp.
before=$(ls -d /tmp/rig-demo-* 2>/dev/null | sort)
mkdir -p "$work/outside"
(cd "$work/outside" && "$rig" demo --units 1 --lockstep >"$work/outside.out" 2>&1)
rc=$?
after=$(ls -d /tmp/rig-demo-* 2>/dev/null | sort)
left=$(comm -13 <(echo "$before") <(echo "$after"))
if { [ $rc -eq 0 ] || [ $rc -eq 2 ]; } && [ -z "$left" ]; then passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL demo outside the tree: exit $rc, left: $left"; cat "$work/outside.out"; fi

# rig daq capture: the CSV on stdout with --out -, what it did on stderr.
sim_dir="$work/sim"
"$rig" sim --state-dir "$sim_dir" --port 0 --lockstep --parent $$ >"$work/sim.log" 2>&1 &
sim_pid=$!
port=""
for _ in $(seq 100); do
  port=$("$rig" sim ctl --state-dir "$sim_dir" status 2>/dev/null | grep -oE 'port=[0-9]+' | cut -d= -f2)
  [ -n "$port" ] && break
  sleep 0.05
done
daq="modbus-tcp://127.0.0.1:${port:-1}?unit=1"
"$rig" daq capture --uri "$daq" --seconds 0.01 --out - >"$work/cap.out" 2>"$work/cap.err"
rc=$?
if [ $rc -eq 0 ] && [ "$(head -1 "$work/cap.out")" = "time_s,ch0_um,ch1_mN" ] &&
  [ "$(wc -l <"$work/cap.out")" -eq 201 ] && ! grep -qv '^[-0-9.,a-z_NmA-Z]*$' "$work/cap.out" &&
  grep -q "^capture: 200 samples" "$work/cap.err"; then passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL daq capture --out -: exit $rc"; head -3 "$work/cap.out" "$work/cap.err"; fi
"$rig" daq capture --uri "$daq" --seconds 0.01 --out "$work/cap.csv" >"$work/cap2.out" 2>"$work/cap2.err"
rc=$?
if [ $rc -eq 0 ] && [ ! -s "$work/cap2.out" ] && grep -q "^wrote $work/cap.csv" "$work/cap2.err" &&
  [ "$(head -1 "$work/cap.csv")" = "time_s,ch0_um,ch1_mN" ]; then passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL daq capture --out FILE: exit $rc, stdout:"; head -3 "$work/cap2.out"; fi
"$rig" sim ctl --state-dir "$sim_dir" stop >/dev/null 2>&1 || kill "$sim_pid" 2>/dev/null
wait "$sim_pid" 2>/dev/null

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
