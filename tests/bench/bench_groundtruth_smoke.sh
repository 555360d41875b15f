#!/bin/bash
# Smoke run of the ground-truth benchmark for ctest: a dozen units must run
# through both suites and the tables must be printed. The figures are not
# checked: at this size they say nothing, and a benchmark is read, not
# asserted. Usage: bench_groundtruth_smoke.sh BENCH_BINARY
set -u
out=$("$1" --units 12) || { printf '%s\n' "$out"; echo "bench_groundtruth failed"; exit 1; }
printf '%s\n' "$out"
for t in '== suite calibrate' '== suite verify' 'PFA %' 'U-cover%' 'failure mode' \
	'after 10 simulated minutes' '12 of 12 units finished'; do
	grep -qF -- "$t" <<<"$out" || { echo "missing from the output: $t"; exit 1; }
done
