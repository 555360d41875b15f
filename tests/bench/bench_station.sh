#!/usr/bin/env bash
# Throughput of a station's nests sharing one DAQ (docs/calibration.md,
# "Sharing the DAQ"), in simulated time: `rig demo` on a simulated station
# whose clock runs SPEED times real time, so a unit's station time is its
# wall time x SPEED. The same units (same seed and serials) are calibrated
# one after another on one nest, then all at once on N nests; for each N it
# prints
#   slowdown   mean over the units of (station time on N nests) / (alone):
#              what sharing costs each nest;
#   ratio      1 / slowdown, the throughput of N nests over N x one nest
#              when every nest takes the next pen as soon as it is done;
#   makespan   station time until the last of the N units ended;
#   units/h    N units over the makespan, per hour of station time (the
#              line under the header: one nest, its units one after another);
#   captures   the DAQ's captures for the nests' requests.
# Not a timed test: the figures depend on the machine only through how far
# it falls behind SPEED. On the 2-core machine 8 nests keep up at speed 4,
# not at 10 (the pens' read-out falls behind and their host-loss watchdogs
# trip): measure N = 8 at 4 or below.
# Usage: [FIXTURE=FILE] bench_station.sh [PATH/TO/rig] [SPEED] [N...]
# (default fixtures/sim.yaml, speed 4, N 1 2 4 8; a fixture with
# `daq.captures: turns` measures turn-taking)
set -u
rig=${1:-build/bin/rig}
speed=${2:-4}
shift 2 2>/dev/null
counts=${*:-1 2 4 8}
src=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/rigbench-station-XXXXXX)
trap 'rm -rf "$work"' EXIT
max=0
for n in $counts; do [ "$n" -gt $max ] && max=$n; done

demo() { # demo DIR NESTS UNITS
  (cd "$work" && RIG_DEBUG=info "$rig" demo --fixture "${FIXTURE:-$src/fixtures/sim.yaml}" \
    --suite "$src/fixtures/suites/calibrate.yaml" --seed 11 --speed "$speed" \
    --nests "$2" --units "$3" --reports "$1/reports" --calibrations "$1/cal" \
    >"$1.out" 2>"$1.err")
}
# serial started_ms ended_ms outcome, one line per record of DIR
times() {
  /usr/bin/python3 - "$1/reports" <<'EOF'
import glob, json, sys, datetime
def ms(t):
    return datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp() * 1000
for f in glob.glob(sys.argv[1] + "/*/*/record.json"):
    r = json.load(open(f))
    print(r["unit"]["serial"], ms(r["started"]), ms(r["ended"]), r["outcome"])
    if r["outcome"] != "PASS":
        print(r["unit"]["serial"], r["reason"][:160], file=sys.stderr)
EOF
}

# One nest, the max units one after another: every unit's time alone.
demo "$work/alone" 1 $max
times "$work/alone" | sort >"$work/alone.t"
echo "station throughput, speed x$speed, calibrate suite, units MN1-011001.. (seed 11)"
awk -v s="$speed" '{ t += ($3 - $2) / 1000 * s; k++ }
  END { printf "one nest alone: %.1f s of station time per unit, %.1f units/h\n", t / k,
        3600 * k / t }' "$work/alone.t"
printf "%-3s %10s %8s %12s %8s %10s %s\n" N slowdown ratio makespan_s units/h captures outcomes
for n in $counts; do
  demo "$work/n$n" "$n" "$n"
  times "$work/n$n" 2>"$work/n$n.why" | sort >"$work/n$n.t"
  caps=$(sed -n 's/.*DAQ took \([0-9]*\) captures for \([0-9]*\) requests.*/\1\/\2/p' "$work/n$n.err")
  join "$work/alone.t" "$work/n$n.t" | awk -v s="$speed" -v n="$n" -v c="${caps:--}" '
    { alone = ($3 - $2); shared = ($6 - $5); sum += shared / alone; k++
      if ($6 > end) end = $6; if (start == "" || $5 < start) start = $5
      out[$7]++ }
    END { o = ""; for (x in out) o = o x "=" out[x] " "
          printf "%-3d %10.3f %8.3f %12.1f %8.1f %10s %s\n", n, sum / k, k / sum,
                 (end - start) / 1000 * s, 3600 * k / ((end - start) / 1000 * s), c, o }'
  head -2 "$work/n$n.why" | sed 's/^/    not PASS: /'
done
