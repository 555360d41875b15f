#!/usr/bin/env bash
# A station's nests in parallel (rig/station.h, docs/calibration.md "Sharing
# the DAQ"): `rig run --nests all` on a 4-nest simulated station in lockstep.
#   1. four healthy pens: 4 PASS, 4 records, and the DAQ served the nests'
#      requests with fewer captures than requests (shared captures);
#   2. nest 1's pen unplugged and nest 2's displacement sensor killed
#      mid-run: nests 1 and 2 ERROR (each naming its cause), 0 and 3 PASS;
#   3. Ctrl-C mid-run: exit 5, every nest ABORTED with its safe state
#      confirmed, and the simulator's ground truth says every motor is off;
#   4. a second `rig run` on a busy nest is refused naming the holder, and
#      one on a free nest of the busy station is refused naming the
#      process that drives the DAQ; both leave a record (ERROR, exit 3);
#   5. `daq.captures: turns` (one nest's capture at a time, as a DAQ that
#      serves one nest at a time): 4 PASS, as many captures as requests;
#      and a DAQ of register map 1 (read out only after each capture):
#      shared captures, 4 PASS;
#   6. --nests naming a nest the fixture lacks: exit 2, a clear message.
# Usage: test_nests.sh PATH/TO/rig SOURCE_DIR
set -u
rig=$1
src=$2
py=/usr/bin/python3
work=$(mktemp -d /tmp/rigtest-nests-XXXXXX)
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
  for f in "$@"; do [ -s "$f" ] && sed 's/^/    /' "$f" | tail -25; done
}
freeport() { $py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The shipped simulated station cut to its first four nests. Several nests'
# requests queue at one simulated DAQ on a loaded CI machine: its response
# timeout is raised from 200 ms to 1 s (a fixture's choice, docs/files.md).
fixture=$work/sim4.yaml
awk '/^  - index: 4/{skip=1} /^phantom:/{skip=0} !skip' "$src/fixtures/sim.yaml" |
  sed 's|?unit=1$|?unit=1\&timeout_ms=1000|' >"$fixture"
[ "$(grep -c '^  - index:' "$fixture")" = 4 ] || { echo "FAIL cannot derive a 4-nest fixture"; exit 1; }

sim=$work/sim
port=$(freeport)
RIG_DEBUG=info "$rig" sim --state-dir "$sim" --port "$port" --nests 4 --seed 7 --lockstep \
  >"$work/sim.log" 2>&1 &
bg_pids="$bg_pids $!"
for _ in $(seq 100); do [ -S "$sim/control.sock" ] && break; sleep 0.05; done
ctl() { "$rig" sim ctl --state-dir "$sim" "$@"; }
load4() { # load4 TAG: four new pens
  for n in 0 1 2 3; do ctl load $n "MN1-$1$n" >/dev/null; done
  ctl fault clear >/dev/null
}
start() { # start NAME FIXTURE NESTS: rig run in the background; $! is its pid
  RIG_DEBUG=info "$rig" run --fixture "$2" --suite "$src/fixtures/suites/calibrate.yaml" \
    --nests "$3" --var "SIM_DIR=$sim" --var "SIM_PORT=$port" --time-scale 1000 \
    --reports "$work/reports" --calibrations "$work/cal" --report-formats none \
    >"$work/$1.out" 2>"$work/$1.err" &
}
finish() { # finish NAME PID: wait, record the exit code
  wait "$2"
  echo $? >"$work/$1.rc"
}
run() { start "$@"; local pid=$!; finish "$1" $pid; }
outcome() { awk -v n="$2" '$1 == "nest" && $2 == n {print $NF}' "$work/$1.out"; }
wait_for() { # wait_for NAME PATTERN: until PATTERN is in NAME's stderr (30 s)
  for _ in $(seq 600); do grep -q "$2" "$work/$1.err" && return 0; sleep 0.05; done
  return 1
}

# 1. Four pens at once.
load4 A
run all "$fixture" all
caps=$(sed -n 's/.*the DAQ took \([0-9]*\) captures for \([0-9]*\) requests.*/\1 \2/p' "$work/all.err")
if [ "$(cat "$work/all.rc")" = 0 ] && [ "$(grep -c '  PASS$' "$work/all.out")" = 4 ] &&
  [ "$(grep -c '^ *record: ' "$work/all.out")" = 4 ] && [ -n "$caps" ] &&
  [ "${caps% *}" -lt "${caps#* }" ]; then
  pass "four nests in parallel: 4 PASS, 4 records, DAQ captures/requests $caps"
else
  fail all "expected 4 PASS and shared captures (got rc $(cat "$work/all.rc"), '$caps')" \
    "$work/all.out" "$work/all.err"
fi

# 2. One pen unplugged, one sensor dead, mid-run.
load4 B
start faults "$fixture" all
pid=$!
if wait_for faults "nest 1 step 5/"; then
  ctl unload 1 >/dev/null
  ctl fault sensor-dead 2 disp >/dev/null
fi
finish faults $pid
o="$(outcome faults 0) $(outcome faults 1) $(outcome faults 2) $(outcome faults 3)"
if [ "$o" = "PASS ERROR ERROR PASS" ] && [ "$(cat "$work/faults.rc")" = 3 ] &&
  grep -A1 '^nest 2 ' "$work/faults.out" | grep -qi 'sensor'; then
  pass "unplugged pen and dead sensor: only their nests ERROR ($o)"
else
  fail faults "expected PASS ERROR ERROR PASS, exit 3; got '$o', rc $(cat "$work/faults.rc")" \
    "$work/faults.out"
fi
ctl fault clear >/dev/null

# 3. Ctrl-C stops every nest, each pen left safe.
load4 C
start abort "$fixture" all
pid=$!
wait_for abort "nest 3 step 4/" && sleep 0.3
kill -INT $pid
finish abort $pid
motors=
for n in 0 1 2 3; do motors="$motors$(ctl truth $n | sed -n 's/.*rate_hz=\([0-9]*\).*/\1/p')"; done
if [ "$(cat "$work/abort.rc")" = 5 ] && [ "$(grep -c '  ABORTED$' "$work/abort.out")" = 4 ] &&
  ! grep -q "NOT confirmed" "$work/abort.out" && [ "$motors" = 0000 ]; then
  pass "Ctrl-C: exit 5, 4 ABORTED, every safe state confirmed, every motor off"
else
  fail abort "rc $(cat "$work/abort.rc"), true stroke rates '$motors'" "$work/abort.out"
fi

# 4. A second process on a busy station.
load4 D
start busy "$fixture" 0-2
pid=$!
wait_for busy "nest 0 step 3/"
"$rig" run --fixture "$fixture" --suite "$src/fixtures/suites/calibrate.yaml" --nest 1 \
  --var "SIM_DIR=$sim" --var "SIM_PORT=$port" --time-scale 1000 --reports "$work/reports" \
  --calibrations "$work/cal" --report-formats none >"$work/second.out" 2>&1
second_rc=$?
"$rig" run --fixture "$fixture" --suite "$src/fixtures/suites/calibrate.yaml" --nest 3 \
  --var "SIM_DIR=$sim" --var "SIM_PORT=$port" --time-scale 1000 --reports "$work/reports" \
  --calibrations "$work/cal" --report-formats none >"$work/third.out" 2>&1
third_rc=$?
finish busy $pid
holder="pid $pid"
if [ $second_rc = 3 ] && grep -q "nest 1 of station SIM-01 is in use ($holder, run " "$work/second.out" &&
  [ $third_rc = 3 ] &&
  grep -q "the DAQ of station SIM-01 is in use by another process ($holder, rig run --nests 0-2)" "$work/third.out" &&
  grep -q '^record: ' "$work/second.out" && grep -q '^record: ' "$work/third.out" &&
  [ "$(cat "$work/busy.rc")" = 0 ]; then
  pass "a second rig run on a busy nest or station is refused naming the holder ($holder)"
else
  fail busy "rc $second_rc / $third_rc, first run rc $(cat "$work/busy.rc")" \
    "$work/second.out" "$work/third.out"
fi

# 5. Turn-taking.
sed 's/^  sample_rate_hz: 20000$/&\n  captures: turns/' "$fixture" >"$work/turns.yaml"
load4 E
run turns "$work/turns.yaml" all
caps=$(sed -n 's/.*the DAQ took \([0-9]*\) captures for \([0-9]*\) requests.*/\1 \2/p' "$work/turns.err")
if [ "$(cat "$work/turns.rc")" = 0 ] && [ "$(grep -c '  PASS$' "$work/turns.out")" = 4 ] &&
  [ -n "$caps" ] && [ "${caps% *}" = "${caps#* }" ]; then
  pass "daq.captures: turns: 4 PASS, one capture per request ($caps)"
else
  fail turns "expected 4 PASS and captures = requests (got '$caps')" "$work/turns.out" \
    "$work/turns.err"
fi

# 5b. A register-map-1 DAQ.
ctl fault daq-map-version 1 >/dev/null
load4 V
run map1 "$fixture" all
ctl fault clear >/dev/null
caps=$(sed -n 's/.*the DAQ took \([0-9]*\) captures for \([0-9]*\) requests.*/\1 \2/p' "$work/map1.err")
if [ "$(cat "$work/map1.rc")" = 0 ] && [ "$(grep -c '  PASS$' "$work/map1.out")" = 4 ] &&
  [ -n "$caps" ] && [ "${caps% *}" -lt "${caps#* }" ]; then
  pass "a register-map-1 DAQ: 4 PASS, shared captures ($caps)"
else
  fail map1 "expected 4 PASS and fewer captures than requests (got '$caps')" \
    "$work/map1.out" "$work/map1.err"
fi

# 6. A nest the fixture lacks.
"$rig" run --fixture "$fixture" --suite "$src/fixtures/suites/calibrate.yaml" --nests 0,5 \
  --var "SIM_DIR=$sim" --var "SIM_PORT=$port" >"$work/bad.out" 2>&1
rc=$?
if [ $rc = 2 ] && grep -q "has no nest 5" "$work/bad.out"; then
  pass "--nests 0,5 on a 4-nest fixture: exit 2 naming nest 5"
else
  fail bad "rc $rc" "$work/bad.out"
fi

echo "$passed passed, $failed failed"
[ $failed = 0 ]
