#!/usr/bin/env bash
# `cmake --install` into a throw-away prefix, then the installed program used
# as an installed program: rig --version, every manual page formatted by man
# (no troff warning), the bash completion loaded, the pkg-config file usable
# by a C program built against the installed librig, and `rig demo --units 1`
# from a directory outside the source tree, which must find the installed
# example fixtures and leave no /tmp/rig-demo-* behind.
# Usage: test_install.sh BUILD_DIR SOURCE_DIR
set -u
build=$1
src=$2
tmp=$(mktemp -d /tmp/rigtest-install-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
failed=0
fail() { echo "FAIL $*"; failed=$((failed + 1)); }

cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log"; echo "FAIL cmake --install"; exit 1; }
rig=$prefix/bin/rig
libdir=$(ls -d "$prefix"/lib*/ | head -1)
for f in bin/rig include/rig/rig.h include/rig/run.h share/man/man1/rig.1 \
  share/man/man1/rig-demo.1 share/bash-completion/completions/rig \
  lib/udev/rules.d/70-needle-rig.rules share/doc/needle-rig/README.md \
  share/doc/needle-rig/docs/protocol.md share/needle-rig/fixtures/sim.yaml \
  share/needle-rig/fixtures/suites/calibrate.yaml; do
  [ -e "$prefix/$f" ] || fail "not installed: $f"
done
[ ! -e "$prefix/include/rig/sim.h" ] || fail "the simulator's header is installed"
so=$(find "$prefix" -name 'librig.so.*.*' | head -1)
[ -n "$so" ] || fail "no librig.so.N.N.N installed"
[ -n "$so" ] && { readelf -d "$so" | grep -q 'SONAME.*librig\.so\.0' || fail "librig has no SONAME librig.so.0"; }
[ -n "$so" ] && { nm -D --defined-only "$so" | grep -q ' rig_sim_' && fail "librig exports rig_sim_ symbols"; }

# The installed binary, with nothing of the build tree around.
ver=$(env -u LD_LIBRARY_PATH "$rig" --version) || fail "rig --version: exit $?"
grep -qE '^rig [0-9]+\.[0-9]+\.[0-9]+ \(build commit [^)]+\)$' <<<"$ver" || fail "rig --version said: $ver"
[ "$(env -u LD_LIBRARY_PATH "$rig" -V)" = "$ver" ] || fail "rig -V differs from rig --version"
ldd "$rig" | grep -q "librig.so.0 => $prefix" || fail "the installed rig does not use the installed librig: $(ldd "$rig" | grep librig)"

# Every page through man, as a reader would get it, and through groff -ww.
for page in "$prefix"/share/man/man1/*.1; do
  out=$(MANWIDTH=80 MANPAGER=cat man --warnings -l "$page" 2>"$tmp/man.err" | col -b)
  rc=$?
  [ $rc -eq 0 ] || fail "man -l $(basename "$page"): exit $rc"
  [ ! -s "$tmp/man.err" ] || fail "man -l $(basename "$page"): $(cat "$tmp/man.err")"
  grep -q "^NAME" <<<"$out" || fail "$(basename "$page") has no NAME section"
done
[ "$(ls "$prefix"/share/man/man1/*.1 | wc -l)" -ge 13 ] || fail "fewer than 13 manual pages"

# The completion, loaded as bash-completion would.
if [ -f /usr/share/bash-completion/bash_completion ]; then
  words=$(PATH=$prefix/bin:$PATH bash -c '
    source /usr/share/bash-completion/bash_completion
    source "$1"
    COMP_WORDS=(rig dut ""); COMP_CWORD=2; COMP_LINE="rig dut "; COMP_POINT=8
    _rig; echo "${COMPREPLY[*]}"' _ "$prefix/share/bash-completion/completions/rig")
  [ "$words" = "info status read-table run safe" ] || fail "completion of 'rig dut ': $words"
fi

# A program of a third party against the installed librig, through rig.pc.
cat >"$tmp/use.c" <<'C'
#include <stdio.h>
#include <rig/rig.h>
int main(void) { printf("%s\n", rig_version()); return 0; }
C
if PKG_CONFIG_PATH=$libdir/pkgconfig cc "$tmp/use.c" -o "$tmp/use" \
  $(PKG_CONFIG_PATH=$libdir/pkgconfig pkg-config --cflags --libs rig) 2>"$tmp/cc.err"; then
  [ "$(LD_LIBRARY_PATH=$libdir "$tmp/use")" = "${ver#rig }" ] ||
    [ "rig $(LD_LIBRARY_PATH=$libdir "$tmp/use")" = "${ver% (*}" ] || fail "rig_version() via rig.pc"
else
  fail "a program cannot be built with pkg-config rig: $(cat "$tmp/cc.err")"
fi

# rig demo from elsewhere: the installed fixtures, no state left in /tmp.
# Its state directory goes to $TMPDIR (a private one here: other tests run
# demos in /tmp at the same time).
demo_tmp=$tmp/tmpdir
mkdir -p "$tmp/elsewhere" "$demo_tmp"
(cd "$tmp/elsewhere" && env -u LD_LIBRARY_PATH TMPDIR="$demo_tmp" "$rig" demo --units 1 --lockstep \
  >"$tmp/demo.out" 2>&1)
rc=$?
[ $rc -eq 0 ] && grep -q " PASS$" "$tmp/demo.out" || { fail "installed rig demo: exit $rc"; cat "$tmp/demo.out"; }
grep -q "$prefix/share/needle-rig/fixtures/suites/calibrate.yaml" "$tmp/demo.out" ||
  fail "rig demo did not use the installed suite"
ls "$tmp"/elsewhere/reports/MN1-*/*/record.json >/dev/null 2>&1 || fail "rig demo wrote no record in its working directory"
leftover=$(ls -A "$demo_tmp")
[ -z "$leftover" ] || fail "rig demo left $leftover in its TMPDIR"
# A demo that fails on its input (no such fixture) leaves nothing either.
(cd "$tmp/elsewhere" && TMPDIR="$demo_tmp" "$rig" demo --units 1 --fixture nowhere.yaml >/dev/null 2>&1)
rc=$?
[ $rc -eq 2 ] || fail "rig demo --fixture nowhere.yaml: exit $rc (want 2)"
leftover=$(ls -A "$demo_tmp")
[ -z "$leftover" ] || fail "a failed rig demo left $leftover in its TMPDIR"

echo "installed into $prefix: $failed failure(s)"
[ "$failed" -eq 0 ]
