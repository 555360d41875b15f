#!/usr/bin/env bash
# Evidence of every attempt (docs/records.md), through the `rig` command
# against the simulated station:
#   1. every failure before identify (no simulator, wrong Modbus port, empty
#      nest, busy nest, a DAQ with another register map) gives its real
#      cause in one line on stderr, exit 3, and a signed record (ERROR, with
#      its error) under reports/_unidentified/ or reports/<serial>/;
#   2. a missing, world-readable, malformed or wrong line key never gives
#      FAIL: it is refused before the pen is touched (no measurement at all,
#      the pen's active table byte for byte as before);
#   3. a full disk (reports/ or calibrations/ on a small tmpfs in a private
#      mount namespace, filled up before or during the run) gives ERROR
#      "disk full" and never leaves the pen with a table that is not stored;
#   4. `rig records verify` accepts a fresh record and names the file and
#      field (or journal line) of one edited by hand, a removed signature and
#      another station's key;
#   5. a third party checks the signature (tests/records/verify_ed25519.py)
#      and the journal's hash chain without any needle-rig code.
# Needs root for case 3 (unshare -m, mount -t tmpfs); without it those cases
# fail and say why. Usage: test_evidence.sh PATH/TO/rig SOURCE_DIR
set -u

# --- Case 3 runs this part in its own mount namespace (see disk_case). ---
if [ "${1:-}" = --in-namespace ]; then
  shift
  rig=$1 src=$2 sim=$3 port=$4 simlog=$5 which=$6 room_k=$7 hold=$8 out=$9
  mnt=$out/mnt
  mkdir -p "$mnt" "$out/saved"
  if ! err=$(mount -t tmpfs -o size=$((room_k + 1024))k tmpfs "$mnt" 2>&1); then
    echo "mount -t tmpfs failed: $err" >"$out/why"
    exit 90
  fi
  # Leave exactly room_k kB: reserve them, fill the rest until ENOSPC, free them.
  [ "$room_k" -gt 0 ] && dd if=/dev/zero of="$mnt/reserve" bs=1k count="$room_k" status=none
  dd if=/dev/zero of="$mnt/fill" bs=4k status=none 2>/dev/null
  rm -f "$mnt/reserve"
  df -k --output=avail "$mnt" | tail -1 | tr -d ' ' >"$out/free_kb"
  if [ "$which" = reports ]; then reports=$mnt/reports cal=$out/cal; else reports=$out/reports cal=$mnt/cal; fi
  "$rig" dut read-table "unix://$sim/nest0.sock" --out "$out/before.bin" >/dev/null 2>"$out/read.err"
  holds=$(grep -c "holding command" "$simlog")
  [ "$hold" != none ] && "$rig" sim ctl --state-dir "$sim" fault dut-hold 0 "$hold" 300 >/dev/null
  "$rig" run --fixture "$src/fixtures/sim.yaml" --suite "$src/fixtures/suites/calibrate.yaml" \
    --var "SIM_DIR=$sim" --var "SIM_PORT=$port" --time-scale 1000 \
    --reports "$reports" --calibrations "$cal" >"$out/stdout" 2>"$out/stderr" &
  pid=$!
  if [ "$hold" != none ]; then
    # While the pen holds the command, fill the rest of the disk.
    for _ in $(seq 500); do
      [ "$(grep -c "holding command" "$simlog")" -gt "$holds" ] && break
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.01
    done
    dd if=/dev/zero of="$mnt/fill2" bs=1k status=none 2>/dev/null
    df -k --output=avail "$mnt" | tail -1 | tr -d ' ' >"$out/free_kb_after_fill"
  fi
  wait "$pid"
  echo $? >"$out/rc"
  "$rig" sim ctl --state-dir "$sim" fault clear >/dev/null
  "$rig" dut read-table "unix://$sim/nest0.sock" --out "$out/after.bin" >/dev/null 2>>"$out/read.err"
  rm -f "$mnt"/fill*
  cp -a "$mnt/." "$out/saved/"
  exit 0
fi

rig=$1
src=$2
py=/usr/bin/python3
work=$(mktemp -d /tmp/rigtest-evidence-XXXXXX)
bg_pids=
cleanup() {
  for p in $bg_pids; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
passed=0
failed=0
t_start=$(date +%s%N)
pass() { passed=$((passed + 1)); echo "ok $1"; }
fail() { # fail NAME MESSAGE [FILE...]: the files' contents are shown
  local name=$1 msg=$2 f
  shift 2
  failed=$((failed + 1))
  echo "FAIL $name: $msg"
  for f in "$@"; do [ -s "$f" ] && sed 's/^/    /' "$f" | head -20; done
}
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
freeport() { $py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start_sim() { # start_sim STATE_DIR PORT LOG ARGS...: a simulator in the background
  local dir=$1 p=$2 log=$3
  shift 3
  RIG_DEBUG=info "$rig" sim --state-dir "$dir" --port "$p" "$@" >"$log" 2>&1 &
  bg_pids="$bg_pids $!"
  for _ in $(seq 100); do [ -S "$dir/nest0.sock" ] && [ -S "$dir/control.sock" ] && return 0; sleep 0.05; done
  echo "the simulator in $dir did not start:"; cat "$log"
  exit 1
}

# A record checked against what it must say (python3, json module only).
cat >"$work/rec.py" <<'EOF'
import json, os, re, sys
args = sys.argv[1:]
path = args.pop(0)
want = {}
while args:
    k = args.pop(0)
    want[k] = True if k == "--no-measurements" else args.pop(0)
try:
    raw = open(path, "rb").read()
    r = json.loads(raw)
except Exception as e:
    print("cannot read the record %s: %s" % (path, e)); sys.exit(1)
err = r.get("error")
bad = []
if "--outcome" in want and r.get("outcome") != want["--outcome"]:
    bad.append("outcome %r, want %r" % (r.get("outcome"), want["--outcome"]))
if "--reason" in want and not re.search(want["--reason"], r.get("reason") or ""):
    bad.append("reason %r does not match /%s/" % (r.get("reason"), want["--reason"]))
if "--error-name" in want:
    if not isinstance(err, dict) or not err.get("name"):
        bad.append("error is %r, want an error" % (err,))
    elif not re.fullmatch(want["--error-name"], err["name"]):
        bad.append("error name %r, want /%s/" % (err["name"], want["--error-name"]))
if "--no-measurements" in want:
    n = sum(len(s.get("measurements") or []) for s in r.get("steps") or [])
    n_found = sum(len(s.get("measurements") or []) for s in r.get("steps") or []
                  if s.get("type") == "as_found")
    if n or n_found:
        bad.append("%d measurements (%d as-found): the pen was measured" % (n, n_found))
    strokes = (r.get("station") or {}).get("phantom", {}).get("strokes_run")
    if strokes:
        bad.append("the phantom took %r strokes: the pen was run" % strokes)
if "--reports" in want:
    # reports/_unidentified/<run-id>/record.json or reports/<serial>/<run-id>/record.json
    serial = (r.get("unit") or {}).get("serial") or ""
    expect = os.path.join(os.path.realpath(want["--reports"]), serial or "_unidentified",
                          r.get("run_id", "?"), "record.json")
    if os.path.realpath(path) != expect:
        bad.append("record at %s, want %s" % (path, expect))
    if os.path.exists(os.path.join(want["--reports"], ".open", r.get("run_id", "?"))):
        bad.append("the run is still open (.open/%s left)" % r.get("run_id"))
if "--stderr-error" in want and isinstance(err, dict) and err.get("name") != want["--stderr-error"]:
    bad.append("stderr says %s, the record says %s" % (want["--stderr-error"], err.get("name")))
for b in bad:
    print(b)
print("record: outcome=%s error=%s commit=%s reason=%s" % (
    r.get("outcome"), (err or {}).get("name"), (r.get("table") or {}).get("commit"),
    (r.get("reason") or "")[:160]))
sys.exit(1 if bad else 0)
EOF

# The journal's hash chain checked independently (hashlib and json only).
cat >"$work/chain.py" <<'EOF'
import hashlib, json, sys
d = sys.argv[1]
data = open(d + "/journal.jsonl", "rb").read()
if not data.endswith(b"\n"):
    print("journal.jsonl does not end in a newline"); sys.exit(1)
lines = data[:-1].split(b"\n")
prev = "0" * 64
for i, line in enumerate(lines, 1):
    ev = json.loads(line)
    if ev.get("prev") != prev:
        print("journal.jsonl:%d: prev %s, but line %d hashes to %s" % (i, ev.get("prev"), i - 1, prev))
        sys.exit(1)
    prev = hashlib.sha256(line).hexdigest()
rec = json.load(open(d + "/record.json"))
j = rec.get("journal") or {}
if j.get("events") != len(lines):
    print("record.json journal.events %r, the journal has %d lines" % (j.get("events"), len(lines))); sys.exit(1)
if j.get("last_sha256") != prev:
    print("record.json journal.last_sha256 %r, the last line hashes to %s" % (j.get("last_sha256"), prev)); sys.exit(1)
print("chain of %d lines intact, last %s" % (len(lines), prev[:12]))
EOF

# The main simulator: lockstep, its log at info (dut-hold notes "holding command").
sim=$work/sim
port=$(freeport)
start_sim "$sim" "$port" "$work/sim.log" --lockstep --seed 7
ctl() {
  "$rig" sim ctl --state-dir "$sim" "$@" >"$work/ctl.txt" 2>&1 ||
    { echo "   (rig sim ctl $* failed: $(tail -1 "$work/ctl.txt"))"; return 1; }
}
fixture_args() { # fixture_args SIM_DIR PORT
  echo --fixture "$src/fixtures/sim.yaml" --suite "$src/fixtures/suites/calibrate.yaml" \
    --var "SIM_DIR=$1" --var "SIM_PORT=$2"
}
read_table() { "$rig" dut read-table "unix://$sim/nest0.sock" --out "$1" >/dev/null 2>"$1.err"; }

# expect_error NAME WANT_RC CAUSE_RE ERROR_NAME_RE REPORTS [--untouched] [--max-ms MS] -- rig run ARGS...
# One `rig run`: its exit code, exactly one "rig run: <serial> ERROR: <cause>
# (RIG_ERR_...)" line on stderr naming the cause, and its record (found by
# the "record:" line on stdout) in place, ERROR with that error, verified.
# --untouched: the record has no measurement and the pen's table is as before.
# --max-ms: it fails within MS milliseconds (it does not wait).
expect_error() {
  local name=$1 want=$2 cause=$3 ename=$4 reports=$5 untouched=0 max_ms='' c rc t0 t line rec
  shift 5
  [ "$1" = --untouched ] && { untouched=1; shift; }
  [ "$1" = --max-ms ] && { max_ms=$2; shift 2; }
  shift # --
  c=$work/case.$((passed + failed))
  mkdir -p "$c"
  [ $untouched = 1 ] && read_table "$c/before.bin"
  t0=$(date +%s%N)
  "$rig" run "$@" --reports "$reports" >"$c/stdout" 2>"$c/stderr"
  rc=$?
  t=$(ms_since "$t0")
  echo "   ($name: exit $rc in $t ms)"
  if [ "$rc" -ne "$want" ]; then
    fail "$name" "exit $rc, want $want; stderr and stdout:" "$c/stderr" "$c/stdout"
    return 1
  fi
  if [ "$(grep -cE '^rig run: .* ERROR: .* \(RIG_ERR_[A-Z_]+\)$' "$c/stderr")" -ne 1 ]; then
    fail "$name" "not exactly one 'rig run: <serial> ERROR: <reason> (RIG_ERR_...)' line on stderr:" "$c/stderr"
    return 1
  fi
  if [ -n "$max_ms" ] && [ "$t" -gt "$max_ms" ]; then
    fail "$name" "it took $t ms (more than $max_ms): it waited" "$c/stderr"
    return 1
  fi
  line=$(grep -E '^rig run: .* ERROR: ' "$c/stderr")
  if ! grep -qE -- "$cause" <<<"$line"; then
    fail "$name" "the ERROR line does not name the cause /$cause/: $line"
    return 1
  fi
  rec=$(sed -n 's/^record: //p' "$c/stdout" | tail -1)
  if [ -z "$rec" ] || [ ! -f "$rec" ]; then
    fail "$name" "no record (stdout names '${rec:-nothing}'):" "$c/stdout"
    return 1
  fi
  local extra=()
  [ $untouched = 1 ] && extra=(--no-measurements)
  if ! $py "$work/rec.py" "$rec" --outcome ERROR --error-name "$ename" --reason "$cause" \
      --reports "$reports" --stderr-error "$(grep -oE 'RIG_ERR_[A-Z_]+\)$' <<<"$line" | tr -d ')')" \
      "${extra[@]}" >"$c/rec.txt"; then
    fail "$name" "the record is wrong:" "$c/rec.txt"
    return 1
  fi
  if ! "$rig" records verify "$(dirname "$rec")" >"$c/verify.txt" 2>&1; then
    fail "$name" "its record does not verify:" "$c/verify.txt"
    return 1
  fi
  if [ $untouched = 1 ]; then
    read_table "$c/after.bin"
    if ! cmp -s "$c/before.bin" "$c/after.bin" || [ ! -s "$c/before.bin" ]; then
      fail "$name" "the pen's active table changed (or could not be read)" "$c/before.bin.err" "$c/after.bin.err"
      return 1
    fi
  fi
  pass "$name"
}

reports=$work/reports
cal=$work/cal
read -r -a fx <<<"$(fixture_args "$sim" "$port")"
common=("${fx[@]}" --time-scale 1000 --calibrations "$cal")

# ---- 1. Failures before identify: the real cause, exit 3, a record. ----
nosim=$work/nosim
mkdir -p "$nosim"
cp "$sim/line.key" "$nosim/line.key" # a good key, so it is the station that is missing
noport=$(freeport)
read -r -a fx_nosim <<<"$(fixture_args "$nosim" "$noport")"
expect_error "1a no simulator running" 3 \
  "nest0\.sock.*(No such file|refused|not running|start the simulator)" "RIG_ERR_[A-Z_]+" "$reports" -- \
  "${fx_nosim[@]}" --time-scale 1000 --calibrations "$cal"

badport=$(freeport)
read -r -a fx_badport <<<"$(fixture_args "$sim" "$badport")"
expect_error "1b wrong Modbus port" 3 \
  "modbus-tcp://127\.0\.0\.1:$badport.*(refused|cannot connect)" "RIG_ERR_[A-Z_]+" "$reports" -- \
  "${fx_badport[@]}" --time-scale 1000 --calibrations "$cal"

ctl unload 0
expect_error "1c empty nest" 3 \
  "identify.*nest0\.sock.*(disconnected|no pen|empty|not seated)" "RIG_ERR_[A-Z_]+" "$reports" -- "${common[@]}"
ctl load 0 MN1-000001

ctl fault daq-map-version 7
expect_error "1e DAQ with register map version 7" 3 \
  "register map version 7.*versions 1 and 2" "RIG_ERR_UNSUPPORTED" "$reports" -- "${common[@]}"
ctl fault clear

# 1d: a second run on a busy nest. The first runs on a slow station (real
# time, no lockstep), so it holds nest 0 for many seconds.
slow=$work/slow
slowport=$(freeport)
start_sim "$slow" "$slowport" "$work/slow.log" --seed 8
read -r -a fx_slow <<<"$(fixture_args "$slow" "$slowport")"
"$rig" run "${fx_slow[@]}" --time-scale 1 --nest 0 --reports "$work/reports-busy" \
  --calibrations "$work/cal-busy" >"$work/first.out" 2>&1 &
first=$!
bg_pids="$bg_pids $first"
for _ in $(seq 200); do
  grep -qs "^pid $first," "$work/reports-busy/.station/SIM-01/nest0.lock" && break
  kill -0 "$first" 2>/dev/null || break
  sleep 0.025
done
if ! grep -qs "^pid $first," "$work/reports-busy/.station/SIM-01/nest0.lock"; then
  fail "1d busy nest" "the first run (pid $first) never held nest 0:" "$work/first.out"
else
  expect_error "1d busy nest" 3 "nest 0 .*in use.*pid $first\b" "RIG_ERR_BUSY" "$work/reports-busy" \
    --max-ms 5000 -- "${fx_slow[@]}" --time-scale 1 --nest 0 --calibrations "$work/cal-busy"
  kill -0 "$first" 2>/dev/null || { echo "   (the first run had ended early:)"; tail -3 "$work/first.out"; }
fi
kill -TERM "$first" 2>/dev/null
wait "$first" 2>/dev/null
echo "   (the first run, stopped: exit $?)"
# SIGTERM is a service manager or kill, not an operator: the record says so.
term_rec=$(ls "$work"/reports-busy/*/2*/record.json 2>/dev/null | head -1)
if [ -z "$term_rec" ]; then
  fail "1f SIGTERM recorded" "the run stopped by SIGTERM left no record:" "$work/first.out"
elif grep -q 'terminated by SIGTERM' "$term_rec" && ! grep -q 'by the operator' "$term_rec" &&
  grep -q '"outcome": *"ABORTED"' "$term_rec"; then
  pass "1f SIGTERM recorded as SIGTERM, ABORTED"
else
  fail "1f SIGTERM recorded" "the record of the run stopped by SIGTERM:" "$term_rec"
fi

# ---- 2. A bad line key is refused before the pen is touched. ----
kdir=$work/keys
mkdir -p "$kdir"
(umask 077 && cp "$sim/line.key" "$kdir/world-readable" && chmod 644 "$kdir/world-readable" &&
  printf '0123456789\n' >"$kdir/malformed" &&
  $py -c 'import os; print(os.urandom(32).hex())' >"$kdir/wrong")
expect_error "2a line key missing" 2 "line key.*$kdir/missing" "RIG_ERR_[A-Z_]+" "$reports" --untouched -- \
  "${common[@]}" --key "$kdir/missing"
expect_error "2b line key mode 0644" 2 "line key.*(group|others|0?644)" "RIG_ERR_[A-Z_]+" "$reports" --untouched -- \
  "${common[@]}" --key "$kdir/world-readable"
expect_error "2c line key malformed (10 hex digits)" 2 "line key.*$kdir/malformed" "RIG_ERR_[A-Z_]+" "$reports" \
  --untouched -- "${common[@]}" --key "$kdir/malformed"
expect_error "2d wrong line key (64 hex digits, 0600)" 3 "refused the .*line key" "RIG_ERR_[A-Z_]+" "$reports" \
  --untouched -- "${common[@]}" --key "$kdir/wrong"

# ---- 4, 5. A normal PASS run; verify its record; edit copies of it. ----
t0=$(date +%s%N)
"$rig" run "${common[@]}" --reports "$reports" >"$work/pass.out" 2>&1
rc=$?
echo "   (a full calibration: exit $rc in $(ms_since "$t0") ms)"
rec=$(sed -n 's/^record: //p' "$work/pass.out" | tail -1)
run_dir=$(dirname "${rec:-/nonexistent/x}")
if [ $rc -ne 0 ] || [ ! -f "$run_dir/record.json" ]; then
  fail "4 PASS run" "exit $rc, record '${rec}'; cases 4 and 5 cannot run:" "$work/pass.out"
  for n in 4a 4b 4c 4d 4e 4f 5a 5b; do fail "$n" "not run: no PASS record"; done
else
  if "$rig" records verify "$run_dir" >"$work/v.txt" 2>&1 && grep -q "OK" "$work/v.txt" &&
    "$rig" records verify "$run_dir/record.json" >>"$work/v.txt" 2>&1; then
    pass "4a verify a fresh record"
  else
    fail "4a verify a fresh record" "exit $?:" "$work/v.txt"
  fi

  # expect_changed NAME DIR PATTERN...: verify exits 1 and says every PATTERN.
  expect_changed() {
    local name=$1 dir=$2 rc p
    shift 2
    "$rig" records verify "$dir" "${pubkey_args[@]}" >"$dir.verify" 2>&1
    rc=$?
    [ "$rc" -eq 1 ] || { fail "$name" "rig records verify exit $rc, want 1:" "$dir.verify"; return 1; }
    for p in "$@"; do
      grep -qE -- "$p" "$dir.verify" || { fail "$name" "the output does not say /$p/:" "$dir.verify"; return 1; }
    done
    pass "$name"
  }
  pubkey_args=()

  # One measurement value edited as by hand: only its digits change.
  cp -r "$run_dir" "$work/edit-measurement"
  field=$($py - "$work/edit-measurement/record.json" <<'EOF'
import json, re, sys
p = sys.argv[1]
text = open(p).read()
r = json.loads(text)
i = next(i for i, s in enumerate(r["steps"]) if s["type"] == "as_found" and s["measurements"])
m = r["steps"][i]["measurements"][0]
pat = re.compile(r'("name":\s*' + re.escape(json.dumps(m["name"])) + r'[^{}]*?"value":\s*)(-?[0-9.eE+-]+)')
hit = pat.search(text)
if hit:
    text = text[:hit.start(2)] + repr(round(float(hit.group(2)) + 1.5, 6)) + text[hit.end(2):]
else:  # not in name-before-value order: rewrite the whole file
    m["value"] += 1.5
    text = json.dumps(r, indent=2) + "\n"
open(p, "w").write(text)
print("steps[%d].measurements[0].value" % i)
EOF
  )
  field_re=$(sed 's/[].[]/\\&/g' <<<"$field")
  if [ -z "$field" ]; then
    fail "4b measurement edited in record.json" "could not edit a measurement of record.json"
  else
    expect_changed "4b measurement edited in record.json" "$work/edit-measurement" \
      "record\.json" "field steps\[" "field $field_re is "
  fi

  cp -r "$run_dir" "$work/edit-journal"
  $py - "$work/edit-journal/journal.jsonl" <<'EOF'
import re, sys
p = sys.argv[1]
lines = open(p, "rb").read().split(b"\n")
line = lines[19]                      # line 20: change one digit
m = re.search(rb'"value":-?(\d)', line) or re.search(rb'(\d)', line)
d = m.group(1)
lines[19] = line[:m.start(1)] + (b"8" if d == b"9" else bytes([d[0] + 1])) + line[m.end(1):]
open(p, "wb").write(b"\n".join(lines))
EOF
  expect_changed "4c journal line 20 edited" "$work/edit-journal" "journal\.jsonl" "(line 20\b|journal\.jsonl:20\b)"

  cp -r "$run_dir" "$work/edit-journal-last"
  $py - "$work/edit-journal-last/journal.jsonl" <<'EOF'
import sys
p = sys.argv[1]
lines = open(p, "rb").read().split(b"\n")
lines[-2] = lines[-2].replace(b'"outcome":"PASS"', b'"outcome":"FAIL"', 1)
open(p, "wb").write(b"\n".join(lines))
EOF
  expect_changed "4d last journal line edited" "$work/edit-journal-last" "journal\.jsonl"

  cp -r "$run_dir" "$work/no-sig"
  rm "$work/no-sig/record.sig"
  expect_changed "4e record.sig deleted" "$work/no-sig" "record\.sig"

  # Another station's key: a real Ed25519 public key when cryptography is
  # there, else any well-formed one.
  $py -c '
import os
try:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives import serialization as s
    k = Ed25519PrivateKey.generate().public_key().public_bytes(s.Encoding.Raw, s.PublicFormat.Raw)
except ImportError:
    k = os.urandom(32)
print("ed25519-public " + k.hex())' >"$work/other-station.pub"
  cp -r "$run_dir" "$work/other-key"
  if "$rig" records verify "$work/other-key" --public-key "$sim/station.signing.key.pub" >"$work/own-key.txt" 2>&1; then
    pubkey_args=(--public-key "$work/other-station.pub")
    expect_changed "4f verify with another station's public key" "$work/other-key" "."
    pubkey_args=()
  else
    fail "4f verify with another station's public key" \
      "it does not even verify with its own station's key $sim/station.signing.key.pub:" "$work/own-key.txt"
  fi

  # 5. Third party: the signature and the hash chain without needle-rig code.
  pub=$($py -c 'import json,sys; print(json.load(open(sys.argv[1]))["signature"]["public_key"])' "$run_dir/record.json")
  station_pub=$(awk '$1 == "ed25519-public" {print $2}' "$sim/station.signing.key.pub")
  $py "$src/tests/records/verify_ed25519.py" "$pub" "$run_dir/record.json" "$run_dir/record.sig" >"$work/sig.txt" 2>&1
  rc=$?
  $py "$src/tests/records/verify_ed25519.py" "$pub" "$work/edit-measurement/record.json" \
    "$work/edit-measurement/record.sig" >"$work/sig-edited.txt" 2>&1
  rc_edited=$?
  if [ $rc -ne 0 ]; then
    fail "5a signature checked by a third party" "verify_ed25519.py exit $rc (3: no Python Ed25519 library):" "$work/sig.txt"
  elif [ "$pub" != "$station_pub" ]; then
    fail "5a signature checked by a third party" "record.json names key $pub, the station publishes $station_pub"
  elif [ $rc_edited -ne 1 ]; then
    fail "5a signature checked by a third party" "the edited record.json still passes it (exit $rc_edited):" "$work/sig-edited.txt"
  else
    pass "5a signature checked by a third party"
  fi
  if ! $py "$work/chain.py" "$run_dir" >"$work/chain.txt" 2>&1; then
    fail "5b journal hash chain checked by a third party" "on the fresh record:" "$work/chain.txt"
  elif $py "$work/chain.py" "$work/edit-journal" >"$work/chain-edited.txt" 2>&1 ||
    ! grep -q "journal.jsonl:21" "$work/chain-edited.txt"; then
    fail "5b journal hash chain checked by a third party" "the check misses the edited line 20:" "$work/chain-edited.txt"
  else
    pass "5b journal hash chain checked by a third party"
  fi
fi

# ---- 3. Full disk, each folder on its own small tmpfs. ----
# disk_case NAME reports|cal ROOM_KB HOLD: runs `rig run` in a private mount
# namespace where that folder is a tmpfs with ROOM_KB left; with HOLD (a
# DUT command) the pen holds it 300 ms (under the rig's 500 ms reply
# timeout) and the disk is filled up meanwhile.
# Leaves $c/{rc,stdout,stderr,before.bin,after.bin,saved/} for the checks.
c=
disk_case() {
  local name=$1 which=$2 room=$3 hold=$4 rc
  c=$work/disk.$((passed + failed))
  mkdir -p "$c"
  if ! command -v unshare >/dev/null; then
    fail "$name" "cannot run: unshare(1) is not installed"
    return 1
  fi
  unshare -m --propagation private bash "${BASH_SOURCE[0]}" --in-namespace "$rig" "$src" "$sim" "$port" \
    "$work/sim.log" "$which" "$room" "$hold" "$c" >"$c/ns.out" 2>&1
  rc=$?
  if [ $rc -ne 0 ] || [ ! -f "$c/rc" ]; then
    fail "$name" "cannot run: a private mount namespace with a tmpfs needs root (unshare -m, mount)" \
      "$c/why" "$c/ns.out"
    return 1
  fi
  echo "   ($name: $(cat "$c/free_kb") kB free$([ -f "$c/free_kb_after_fill" ] &&
    echo ", $(cat "$c/free_kb_after_fill") kB after the fill during $hold"); exit $(cat "$c/rc"))"
  if [ ! -s "$c/before.bin" ] || [ ! -s "$c/after.bin" ]; then
    fail "$name" "the pen's table could not be read" "$c/read.err"
    return 1
  fi
}
# The record of a disk case (its path moved from the tmpfs to saved/).
disk_record() {
  local rec from=$c/mnt
  rec=$(sed -n 's/^record: //p' "$c/stdout" | tail -1)
  rec=${rec/#"$from"/$c/saved}
  [ -n "$rec" ] && [ -f "$rec" ] && echo "$rec"
}
# The pen's table is as before, or else its exact bytes are in calibrations/.
table_stored() { # table_stored CAL_DIR
  local sum
  sum=$(sha256sum <"$c/after.bin" | cut -d' ' -f1)
  find "$1" -name '*.bin' -exec sha256sum {} + 2>/dev/null | grep -q "^$sum "
}

for room in 100 0; do
  name="3a reports full ($room kB left)"
  if disk_case "$name" reports "$room" none; then
    if [ "$(cat "$c/rc")" -ne 3 ]; then
      fail "$name" "exit $(cat "$c/rc"), want 3:" "$c/stderr"
    elif ! grep -q "disk full" "$c/stderr"; then
      fail "$name" "stderr does not say 'disk full':" "$c/stderr"
    elif ! cmp -s "$c/before.bin" "$c/after.bin"; then
      fail "$name" "the pen's active table changed"
    elif rec=$(disk_record) && ! $py "$work/rec.py" "$rec" --outcome ERROR --reason "disk full" \
        --error-name RIG_ERR_NOSPACE >"$c/rec.txt"; then
      fail "$name" "its record is wrong:" "$c/rec.txt"
    else
      pass "$name"
      [ -n "$rec" ] && echo "   (a record was still written: $(tail -1 "$c/rec.txt"))"
    fi
  fi
done

name="3b calibrations full (100 kB left)"
if disk_case "$name" cal 100 none; then
  rec=$(disk_record)
  if [ "$(cat "$c/rc")" -ne 3 ]; then
    fail "$name" "exit $(cat "$c/rc"), want 3:" "$c/stderr"
  elif [ -z "$rec" ]; then
    fail "$name" "no record in $c/reports:" "$c/stdout"
  elif ! $py "$work/rec.py" "$rec" --outcome ERROR --reason "disk full" --error-name RIG_ERR_NOSPACE \
      --reports "$c/reports" >"$c/rec.txt"; then
    fail "$name" "its record is wrong:" "$c/rec.txt"
  elif ! cmp -s "$c/before.bin" "$c/after.bin"; then
    fail "$name" "the pen's active table changed"
  else
    pass "$name"
  fi
fi

# 3c: room for the preflight (256 kB), then the disk fills up: PASS, or ERROR
# "disk full" with the pen's table as before or (commit confirmed) stored.
# HOLD TABLE_READ fills it at identify, while the as-found table is read
# (before it is stored): that run must be ERROR. TABLE_COMMIT fills it with
# the new table stored and its commit in flight.
for hold in none TABLE_READ TABLE_COMMIT; do
  case $hold in
  none) name="3c calibrations with 300 kB left" ;;
  TABLE_READ) name="3c calibrations filling up at identify" ;;
  *) name="3c calibrations filling up during $hold" ;;
  esac
  disk_case "$name" cal 300 "$hold" || continue
  rec=$(disk_record)
  if [ -z "$rec" ]; then
    fail "$name" "no record (exit $(cat "$c/rc")):" "$c/stdout" "$c/stderr"
    continue
  fi
  $py "$work/rec.py" "$rec" >"$c/rec.txt"
  outcome=$($py -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["outcome"], (r["table"] or {}).get("commit"))' "$rec")
  if [ "$outcome" = "PASS confirmed" ] && [ "$(cat "$c/rc")" -eq 0 ]; then
    if [ "$hold" = TABLE_READ ]; then
      fail "$name" "PASS, though the disk was full before the as-found table was stored:" "$c/rec.txt"
    elif ! table_stored "$c/saved/cal"; then
      fail "$name" "PASS, but the pen's new table is in no file of calibrations/:" "$c/rec.txt"
    else
      pass "$name"
    fi
  elif [ "${outcome%% *}" = ERROR ] && [ "$(cat "$c/rc")" -eq 3 ] &&
    $py "$work/rec.py" "$rec" --outcome ERROR --reason "disk full" --error-name RIG_ERR_NOSPACE >"$c/rec.txt" &&
    grep -q "disk full" "$c/stderr"; then
    if cmp -s "$c/before.bin" "$c/after.bin"; then
      pass "$name"
    elif [ "$outcome" = "ERROR confirmed" ] && table_stored "$c/saved/cal"; then
      pass "$name"
    else
      fail "$name" "ERROR disk full, but the pen has a new table that is not stored (commit: ${outcome#* }):" "$c/rec.txt"
    fi
  else
    fail "$name" "exit $(cat "$c/rc"), want PASS or ERROR 'disk full' (RIG_ERR_NOSPACE):" "$c/rec.txt" "$c/stderr"
  fi
done

echo "   (all cases: $(ms_since "$t_start") ms)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
