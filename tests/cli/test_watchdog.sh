#!/usr/bin/env bash
# The pen's host-loss watchdog (docs/protocol.md §3) end to end against
# `rig sim --lockstep`: a host puts the simulated pen's motor on and then
# disappears — a small protocol client killed with SIGKILL while it holds
# the link, and `rig dut run` killed with SIGKILL while it keeps the pen
# stroking (a rig whose `rig dut run` has no --seconds yet exits at once,
# leaving the motor on: that is tested instead). Each time
# the pen must stop by itself 1000 ms (plus the simulator's 50 ms tick) after
# the last valid frame, measured on the wall clock through the simulator's
# ground truth (`rig sim ctl truth 0`: rate_hz 0 once the cam stops), and
# STATUS must then report fault bit 6 HOST_LOST until SAFE. A client that
# sends STATUS every 250 ms keeps the pen running meanwhile (the lockstep
# clock stands still: only real time can trip the watchdog).
# 4. `rig run` on a simulator in real time keeps its pen alive through
# waits longer than the watchdog (1.5 s captures of a run-in): the step
# passes and the simulator never trips the watchdog.
# Usage: test_watchdog.sh PATH/TO/rig SOURCE_DIR
set -u
rig=$1
src=$2
py=/usr/bin/python3
work=$(mktemp -d /tmp/rigtest-watchdog-XXXXXX)
sim_pid=
client_pid=
cleanup() {
  [ -n "$client_pid" ] && kill -9 "$client_pid" 2>/dev/null
  [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
failed=0
fail() { failed=$((failed + 1)); echo "FAIL $*"; }

port=$($py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sim=$work/sim
uri=unix://$sim/nest0.sock
RIG_DEBUG=info "$rig" sim --lockstep --state-dir "$sim" --port "$port" --seed 5 \
  >"$work/sim.log" 2>&1 &
sim_pid=$!
for _ in $(seq 50); do [ -S "$sim/nest0.sock" ] && break; sleep 0.1; done
[ -S "$sim/nest0.sock" ] || { echo "FAIL the simulator did not start:"; cat "$work/sim.log"; exit 1; }

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# The pen's cam turns (ground truth): prints its stroke rate.
rate_hz() {
  "$rig" sim ctl --state-dir "$sim" truth 0 | sed -n 's/.*rate_hz=\([0-9.]*\).*/\1/p'
}
turning() { [ "$(rate_hz | cut -d. -f1)" != 0 ] && [ -n "$(rate_hz)" ]; }

# A host written from docs/protocol.md alone: SET_USER 1000 um / 6000 spm,
# MOTOR 1, prints "on", then sends STATUS every KEEPALIVE ms (0: nothing)
# and holds the link open until killed.
cat >"$work/client.py" <<'EOF'
import socket, struct, sys, time, zlib
path, keepalive_ms = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
seq = 4000
def call(cmd, payload=b""):
    global seq
    seq += 1
    body = struct.pack("<BBHH", 1, cmd, seq, len(payload)) + payload
    s.sendall(b"\xa5\x5a" + body + struct.pack("<I", zlib.crc32(body)))
    head = b""
    while len(head) < 8:
        head += s.recv(8 - len(head))
    n = struct.unpack("<H", head[6:8])[0] + 4
    rest = b""
    while len(rest) < n:
        rest += s.recv(n - len(rest))
    if head[3] != cmd | 0x80 or rest[0] != 0:
        sys.exit("command 0x%02x: type 0x%02x status 0x%02x" % (cmd, head[3], rest[0]))
    return rest[1:-4]
call(0x10, struct.pack("<HH", 1000, 6000))
call(0x12, b"\x01")
print("on", flush=True)
while True:
    if keepalive_ms:
        time.sleep(keepalive_ms / 1000.0)
        if call(0x02)[1] != 1:
            sys.exit("keepalive: the motor stopped")
    else:
        time.sleep(60)
EOF

# Start the client; returns once it printed "on" (the motor runs).
start_client() {
  rm -f "$work/client.out"
  $py "$work/client.py" "$sim/nest0.sock" "$1" >"$work/client.out" 2>&1 &
  client_pid=$!
  for _ in $(seq 200); do grep -q '^on' "$work/client.out" 2>/dev/null && return 0; sleep 0.01; done
  fail "client did not start the motor: $(cat "$work/client.out")"
  return 1
}

# Poll the ground truth until the cam stops (3 s at most); prints the
# milliseconds from $1 (wall clock ms) until then, or "never".
stop_after() {
  local t0=$1 t
  while :; do
    t=$(now_ms)
    if ! turning; then echo $((t - t0)); return; fi
    [ $((t - t0)) -gt 3000 ] && { echo never; return; }
    sleep 0.01
  done
}

# The stop came 1000 ms after the host's last frame, plus the 50 ms tick
# and this script's polling (a `rig sim ctl` per poll): the host's last
# frame is a few ms before t0 here. The margins are for a loaded CI machine
# (sanitizers, parallel tests); the measured time is printed.
check_stop_time() {
  local what=$1 ms=$2
  echo "   $what: motor stopped ${ms} ms after the host went quiet"
  if [ "$ms" = never ]; then fail "$what: the motor never stopped"; return; fi
  [ "$ms" -ge 800 ] || fail "$what: stopped after $ms ms, before the 1000 ms watchdog"
  [ "$ms" -le 2000 ] || fail "$what: stopped after $ms ms (1000 ms watchdog + 50 ms tick + margin)"
}

check_host_lost() {
  local what=$1
  "$rig" dut status "$uri" >"$work/status.txt" 2>&1 || { fail "$what: rig dut status failed"; cat "$work/status.txt"; return; }
  grep -Eq '^faults +.*(HOST_LOST|bit 6)' "$work/status.txt" ||
    { fail "$what: STATUS does not report HOST_LOST (bit 6):"; cat "$work/status.txt"; }
  grep -Eq '^mode +USER' "$work/status.txt" || { fail "$what: not in USER mode"; cat "$work/status.txt"; }
  # (timeout: a `rig dut run` that got its motor on would keep it stroking)
  timeout 10 "$rig" dut run "$uri" 1000 6000 >"$work/run.txt" 2>&1 &&
    fail "$what: MOTOR 1 accepted while HOST_LOST is latched"
  "$rig" dut safe "$uri" >/dev/null 2>&1 || fail "$what: rig dut safe failed"
  "$rig" dut status "$uri" >"$work/status.txt" 2>&1
  grep -Eq '^faults +none' "$work/status.txt" || { fail "$what: SAFE did not clear HOST_LOST:"; cat "$work/status.txt"; }
}

echo "1. a client killed with SIGKILL while the motor runs"
if start_client 0; then
  turning || fail "the cam does not turn after MOTOR 1"
  t0=$(now_ms)
  kill -9 "$client_pid"
  wait "$client_pid" 2>/dev/null
  client_pid=
  check_stop_time "SIGKILL" "$(stop_after "$t0")"
  check_host_lost "SIGKILL"
fi

if "$rig" dut run --help | grep -q -- '--seconds'; then
  echo "2. rig dut run (keeping the pen alive) killed with SIGKILL"
  "$rig" dut run "$uri" 1000 6000 --seconds 60 >"$work/run.txt" 2>&1 &
  client_pid=$!
  for _ in $(seq 300); do grep -q 'pen stroking' "$work/run.txt" && break; sleep 0.01; done
  grep -q 'pen stroking' "$work/run.txt" || fail "rig dut run did not start the motor: $(cat "$work/run.txt")"
  sleep 2
  turning || fail "the motor stopped although rig dut run keeps the link alive"
  t0=$(now_ms)
  kill -9 "$client_pid"
  wait "$client_pid" 2>/dev/null
  client_pid=
  # Its last keepalive came up to 250 ms before the kill.
  ms=$(stop_after "$t0")
  echo "   rig dut run, SIGKILL: motor stopped ${ms} ms after the kill"
  if [ "$ms" = never ] || [ "$ms" -gt 2000 ] || [ "$ms" -lt 550 ]; then
    fail "rig dut run, SIGKILL: stopped after $ms ms, expected 750..1050 (+ margin)"
  fi
  check_host_lost "rig dut run, SIGKILL"
else
  # A rig whose `rig dut run` starts the motor and exits (before the rig's
  # keepalive): the pen is left running, as by a host that died.
  echo "2. rig dut run exits and leaves the motor on"
  if "$rig" dut run "$uri" 1000 6000 >"$work/run.txt" 2>&1; then
    t0=$(now_ms)
    check_stop_time "rig dut run" "$(stop_after "$t0")"
    check_host_lost "rig dut run"
  else
    fail "rig dut run failed: $(cat "$work/run.txt")"
  fi
fi

echo "3. STATUS every 250 ms keeps it running; SIGKILL then stops it"
if start_client 250; then
  sleep 2
  kill -0 "$client_pid" 2>/dev/null || fail "keepalive client: $(cat "$work/client.out")"
  turning || fail "the motor stopped although the host sent STATUS every 250 ms"
  t0=$(now_ms)
  kill -9 "$client_pid"
  wait "$client_pid" 2>/dev/null
  client_pid=
  # The last keepalive came up to 250 ms before the kill.
  ms=$(stop_after "$t0")
  echo "   keepalive then SIGKILL: motor stopped ${ms} ms after the kill"
  if [ "$ms" = never ] || [ "$ms" -gt 2000 ] || [ "$ms" -lt 550 ]; then
    fail "keepalive then SIGKILL: stopped after $ms ms, expected 750..1050 (+ margin)"
  fi
  check_host_lost "keepalive then SIGKILL"
fi

grep -q "host-loss watchdog" "$work/sim.log" || fail "the simulator's log does not mention the watchdog"

echo "4. rig run in real time: 1.5 s captures, the pen kept alive"
kill "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null
rt=$work/sim-rt
RIG_DEBUG=info "$rig" sim --speed 1 --state-dir "$rt" --port "$port" --seed 5 >"$work/sim-rt.log" 2>&1 &
sim_pid=$!
for _ in $(seq 50); do [ -S "$rt/control.sock" ] && break; sleep 0.1; done
cat >"$work/runin.yaml" <<'EOF'
name: watchdog-run-in
version: "1"
steps:
  - type: identify
  - type: readiness
  - type: run_in
    capture_s: 1.5
    window_s: 4.5
    max_slope_pct_per_min: 100
    min_s: 4.5
    max_s: 6
EOF
"$rig" run --fixture "$src/fixtures/sim.yaml" --suite "$work/runin.yaml" --var "SIM_DIR=$rt" \
  --var "SIM_PORT=$port" --reports "$work/reports" --calibrations "$work/cal" >"$work/rt.out" 2>&1
rc=$?
if [ "$rc" != 0 ] || ! grep -q " PASS$" "$work/rt.out"; then
  fail "real-time run: exit $rc, want PASS: $(tail -3 "$work/rt.out")"
elif grep -q "host-loss watchdog" "$work/sim-rt.log"; then
  fail "real-time run: the pen's watchdog tripped: $(grep "host-loss watchdog" "$work/sim-rt.log" | head -2)"
else
  echo "   three 1.5 s captures with the motor on: PASS, watchdog never tripped"
fi
if [ "$failed" -gt 0 ]; then
  echo "$failed check(s) failed"
  exit 1
fi
echo "all watchdog checks passed"
