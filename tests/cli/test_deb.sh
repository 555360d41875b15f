#!/usr/bin/env bash
# The Debian packages (debian/): dpkg-buildpackage -b in a copy of the source
# tree (so that no build artefact lands in the checkout), their contents
# (dpkg-deb -c), lintian without an error, and the packages unpacked into a
# throw-away root (dpkg -x) where the unpacked rig reports its version and
# runs a one-unit demo with the packaged example fixtures. The tests inside
# the package build are skipped (nocheck): CI runs them. Exit 77 (skipped)
# when dpkg-buildpackage is not installed. Usage: test_deb.sh SOURCE_DIR
set -u
src=$1
command -v dpkg-buildpackage >/dev/null || { echo "SKIP: no dpkg-buildpackage"; exit 77; }
tmp=$(mktemp -d /tmp/rigtest-deb-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
failed=0
fail() { echo "FAIL $*"; failed=$((failed + 1)); }

# The sources as committed plus files not yet committed, never build trees.
mkdir "$tmp/needle-rig"
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
  (cd "$src" && git ls-files -z -c -o --exclude-standard | xargs -0 cp --parents -t "$tmp/needle-rig" 2>/dev/null)
  commit=$(git -C "$src" describe --always --dirty --tags)
else
  (cd "$src" && tar --exclude='./build*' --exclude='./obj-*' -cf - .) | tar -C "$tmp/needle-rig" -xf -
  commit=unknown
fi
[ -f "$tmp/needle-rig/debian/control" ] || { echo "FAIL no debian/ in the copy"; exit 1; }

start=$(date +%s)
(cd "$tmp/needle-rig" && RIG_BUILD_COMMIT=$commit DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" \
  nice dpkg-buildpackage -us -uc -b >"$tmp/build.log" 2>&1)
rc=$?
echo "dpkg-buildpackage: exit $rc in $(($(date +%s) - start)) s"
if [ $rc -ne 0 ]; then tail -40 "$tmp/build.log"; echo "FAIL dpkg-buildpackage"; exit 1; fi
[ -z "$(git -C "$src" status --porcelain --ignored -- debian 2>/dev/null | grep -v '^??')" ] ||
  fail "the build touched debian/ in the source tree"

version=$(dpkg-parsechangelog -l "$tmp/needle-rig/debian/changelog" -S Version)
arch=$(dpkg --print-architecture)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
for p in needle-rig librig0 librig-dev; do
  [ -f "$tmp/${p}_${version}_${arch}.deb" ] || fail "no package $p"
done
contains() { # contains PACKAGE PATH...
  local p=$1 list
  shift
  list=$(dpkg-deb -c "$tmp/${p}_${version}_${arch}.deb" | awk '{print $6}' | sed 's,^\./,/,')
  for f in "$@"; do grep -qx -- "$f" <<<"$list" || fail "$p lacks $f"; done
}
contains needle-rig /usr/bin/rig /usr/share/man/man1/rig.1.gz /usr/share/man/man1/rig-run.1.gz \
  /usr/share/man/man1/rig-sim.1.gz /usr/share/bash-completion/completions/rig \
  /usr/lib/udev/rules.d/70-needle-rig.rules /usr/share/doc/needle-rig/copyright \
  /usr/share/needle-rig/fixtures/sim.yaml /usr/share/needle-rig/fixtures/suites/calibrate.yaml
contains librig0 "/usr/lib/$multiarch/librig.so.0" "/usr/lib/$multiarch/librig.so.0.1.0"
contains librig-dev /usr/include/rig/rig.h "/usr/lib/$multiarch/librig.so" \
  "/usr/lib/$multiarch/pkgconfig/rig.pc"
dpkg-deb -c "$tmp/librig-dev_${version}_${arch}.deb" | grep -q 'include/rig/sim.h' &&
  fail "librig-dev holds the simulator's sim.h"
dpkg-deb -I "$tmp/needle-rig_${version}_${arch}.deb" | grep -q "Depends:.*librig0 (>= $version)" ||
  fail "needle-rig does not depend on librig0: $(dpkg-deb -f "$tmp/needle-rig_${version}_${arch}.deb" Depends)"

if command -v lintian >/dev/null; then
  lintian --tag-display-limit 0 -I --pedantic "$tmp"/needle-rig_"${version}"_"${arch}".changes >"$tmp/lintian.log" 2>&1
  echo "lintian: $(grep -c "^E:" "$tmp/lintian.log") error(s), $(grep -c "^W:" "$tmp/lintian.log") warning(s), $(grep -c "^[IP]:" "$tmp/lintian.log") info/pedantic"
  cat "$tmp/lintian.log"
  ! grep -q '^E:' "$tmp/lintian.log" || fail "lintian reports errors"
else
  fail "lintian is not installed"
fi

root=$tmp/root
for p in needle-rig librig0 librig-dev; do dpkg -x "$tmp/${p}_${version}_${arch}.deb" "$root"; done
ver=$(LD_LIBRARY_PATH=$root/usr/lib/$multiarch "$root/usr/bin/rig" --version)
[ "$ver" = "rig $version (build commit $commit)" ] || fail "unpacked rig --version said: $ver"
readelf -d "$root/usr/bin/rig" | grep -qE 'RPATH|RUNPATH' && fail "the packaged rig has an RPATH"
mkdir "$tmp/work"
(cd "$tmp/work" && LD_LIBRARY_PATH=$root/usr/lib/$multiarch "$root/usr/bin/rig" demo --units 1 --lockstep \
  >"$tmp/demo.out" 2>&1) || { fail "the unpacked rig demo: exit $?"; cat "$tmp/demo.out"; }
grep -q "$root/usr/share/needle-rig/fixtures/suites/calibrate.yaml" "$tmp/demo.out" ||
  fail "the unpacked rig demo did not use the packaged suite"
echo "packages built and checked in $(($(date +%s) - start)) s: $failed failure(s)"
[ "$failed" -eq 0 ]
