#!/usr/bin/env bash
# Crash safety of the evidence (docs/records.md): `rig run` is killed with
# SIGKILL at 50+ points spread over a whole calibration against the
# simulated station — at moments spread over the run, and at every stage of
# the table write, where the simulated pen is made slow (`fault dut-hold`)
# so that the kill lands while the rig waits for TABLE_BEGIN, TABLE_CHUNK,
# TABLE_COMMIT or a read-back. After each kill:
#   - `rig records recover` closes the dead run into a record that says
#     ERROR "run did not finish" (or the run's own outcome if it had ended),
#     and `rig records verify` accepts it;
#   - no temporary file of an interrupted write is left;
#   - the pen's active table verifies with the line key, and its exact bytes
#     are in calibrations/ (every table the pen has ever had active is);
#   - the next run passes.
# Usage: test_crash.sh PATH/TO/rig SOURCE_DIR (CRASH_TIMED_POINTS=N: N timed
# kills instead of 42, plus the 8 in the table write).
set -u
rig=$1
src=$2
work=$(mktemp -d /tmp/rigtest-crash-XXXXXX)
sim_pid=
cleanup() {
  [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
passed=0
failed=0
fail() { failed=$((failed + 1)); echo "FAIL $*"; }

port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sim=$work/sim
RIG_DEBUG=info "$rig" sim --lockstep --state-dir "$sim" --port "$port" --seed 11 \
  >"$work/sim.log" 2>&1 &
sim_pid=$!
for _ in $(seq 50); do [ -S "$sim/nest0.sock" ] && break; sleep 0.1; done
ctl() { "$rig" sim ctl --state-dir "$sim" "$@" >/dev/null; }
run_args=(run --fixture "$src/fixtures/sim.yaml" --suite "$src/fixtures/suites/calibrate.yaml"
  --var "SIM_DIR=$sim" --var "SIM_PORT=$port" --time-scale 1000
  --reports "$work/reports" --calibrations "$work/cal")

# The newest run folder (run ids sort by time).
newest_run() {
  find "$work/reports" -mindepth 2 -maxdepth 2 -type d -name '2*' -printf '%f %p\n' |
    sort | tail -1 | cut -d' ' -f2
}

# The pen's active table verifies, and its bytes are one of the stored ones.
check_pen_table() {
  local name=$1 sum found=0
  if ! "$rig" dut read-table "unix://$sim/nest0.sock" --key "$sim/line.key" \
      --out "$work/active.bin" >"$work/read.txt" 2>&1; then
    fail "$name: the pen's active table does not read back and verify:"
    cat "$work/read.txt"
    return 1
  fi
  sum=$(sha256sum <"$work/active.bin" | cut -d' ' -f1)
  sha256sum "$work"/cal/*/*.bin 2>/dev/null | grep -q "^$sum " && found=1
  [ "$found" = 1 ] || { fail "$name: the pen's active table is in no file of calibrations/"; return 1; }
}

check_after_kill() {
  local name=$1 dir out rc
  "$rig" records recover "$work/reports" --calibrations "$work/cal" >"$work/recover.txt" 2>&1 ||
    { fail "$name: rig records recover failed:"; cat "$work/recover.txt"; return; }
  local temps
  temps=$(find "$work/reports" "$work/cal" -name '.*.tmp-*')
  [ -z "$temps" ] || { fail "$name: temporary files left: $temps"; return; }
  [ -z "$(ls -A "$work/reports/.open" 2>/dev/null)" ] ||
    { fail "$name: runs still open after recovery: $(ls "$work/reports/.open")"; return; }
  dir=$(newest_run)
  [ -n "$dir" ] && [ -f "$dir/record.json" ] ||
    { fail "$name: the killed run has no record ($dir)"; return; }
  out=$(/usr/bin/python3 - "$dir/record.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
ok = r["outcome"] == "PASS" or (r["outcome"] in ("ERROR", "ABORTED")
                                and r["reason"].startswith("run did not finish"))
print(r["outcome"], r["reason"][:100], (r["table"] or {}).get("commit"))
sys.exit(0 if ok else 1)
EOF
  )
  rc=$?
  [ $rc -eq 0 ] || { fail "$name: wrong outcome in the recovered record: $out"; return; }
  "$rig" records verify "$dir" >"$work/verify.txt" 2>&1 ||
    { fail "$name: the recovered record does not verify:"; cat "$work/verify.txt"; return; }
  check_pen_table "$name" || return
  "$rig" "${run_args[@]}" >"$work/next.txt" 2>&1 ||
    { fail "$name: the next run did not pass:"; tail -5 "$work/next.txt"; return; }
  check_pen_table "$name (after the next run)" || return
  passed=$((passed + 1))
  echo "ok $name: $out"
}

# A first full run, which also times one.
t0=$(date +%s%N)
"$rig" "${run_args[@]}" >"$work/first.txt" 2>&1 || { echo "first run failed"; cat "$work/first.txt"; exit 1; }
t_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "a full calibration takes $t_ms ms here"
check_pen_table "first run" && passed=$((passed + 1))

# Kills at moments spread over the whole run (3 % .. 95 % of its length).
n_timed=${CRASH_TIMED_POINTS:-42} # fewer under the sanitizers (.ci/run)
for i in $(seq 1 $n_timed); do
  delay_ms=$(( t_ms * (3 + 92 * (i - 1) / (n_timed - 1)) / 100 ))
  "$rig" "${run_args[@]}" >/dev/null 2>&1 &
  pid=$!
  sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  check_after_kill "kill at ${delay_ms} ms"
done

# Kills inside every stage of the table write: the pen holds COMMAND (after
# SKIP others) and the rig is killed while it waits.
hold_kill() {
  local cmd=$1 skip=$2 what=$3 holds
  holds=$(grep -c "holding command" "$work/sim.log")
  ctl fault dut-hold 0 "$cmd" 700 "$skip"
  "$rig" "${run_args[@]}" >/dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 300); do
    [ "$(grep -c "holding command" "$work/sim.log")" -gt "$holds" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.01
  done
  sleep 0.1
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  sleep 0.7 # the pen finishes what it was holding
  ctl fault clear
  check_after_kill "kill while the pen holds $cmd ($what)"
}
hold_kill TABLE_READ 0 "reading the as-found table"
hold_kill TABLE_BEGIN 0 "table stored, upload starting"
hold_kill TABLE_CHUNK 0 "table uploaded in part"
hold_kill TABLE_COMMIT 0 "commit sent"
hold_kill TABLE_READ 1 "committed, read-back in the commit"
hold_kill TABLE_READ 2 "the read_back step"
# And the same stages again, the pen answering late only after the kill.
hold_kill TABLE_COMMIT 0 "commit sent, second time"
hold_kill TABLE_BEGIN 0 "table stored, second time"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
