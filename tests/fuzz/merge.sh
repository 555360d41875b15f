#!/usr/bin/env bash
# Minimize what a fuzzing run found into a target's corpus (README.md):
#   tests/fuzz/merge.sh TARGET GROWN_DIR...
# libFuzzer -merge=1 keeps the smallest set of files covering the features
# of corpus/TARGET plus GROWN_DIRs; files that fail in strict mode (crashes,
# accepted violations: those belong in findings/) are dropped, and so is
# anything over 64 KB. Needs build-fuzz/ (see .ci/fuzz) and build/.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
t=$1
shift
corpus="$top/tests/fuzz/corpus/$t"
tmp=$(mktemp -d /tmp/rig-fuzz-merge.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/out"
RIG_FUZZ_LENIENT=1 ASAN_OPTIONS=detect_leaks=0 "$top/build-fuzz/tests/fuzz/fuzz_$t" -merge=1 \
  -max_len=65536 -timeout=10 -rss_limit_mb=2048 "$tmp/out" "$corpus" "$@" >"$tmp/log" 2>&1 ||
  { tail -20 "$tmp/log"; exit 1; }
for f in "$tmp/out"/*; do
  if [ "$(stat -c %s "$f")" -gt 65536 ] ||
     ! "$top/build/tests/fuzz/replay_$t" "$f" >/dev/null 2>&1; then
    rm -f "$f"
  fi
done
# Keep the named seeds; add the new files under their SHA-1 names (libFuzzer
# names merged files by the SHA-1 of their content).
known=$(sha1sum "$corpus"/* | cut -d' ' -f1)
for f in "$tmp/out"/*; do
  [ -e "$f" ] || continue
  name=$(basename "$f")
  grep -qx "$name" <<<"$known" || cp "$f" "$corpus/$name"
done
echo "$t: $(ls "$corpus" | wc -l) files, $(du -sk "$corpus" | cut -f1) KB"
