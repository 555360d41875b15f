#!/usr/bin/env bash
# .ci/banned, the banned-function check: the tree is clean, and it finds a
# planted call of each banned function (FILE:LINE) while leaving alone the
# same names in comments and strings and the allowed snprintf, fgets, strtol.
# Usage: test_banned.sh SOURCE_DIR
set -u
src=$1
tmp=$(mktemp -d /tmp/rigtest-banned-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
failed=0
fail() { echo "FAIL $*"; failed=$((failed + 1)); }

out=$(bash "$src/.ci/banned" 2>&1) || fail "the tree has banned calls: $out"
for fn in strcpy strcat sprintf vsprintf gets atoi atol atof strtok strncpy; do
  printf '/* a file */\n#include <string.h>\nvoid f(char *d, const char *s)\n{\n\tx = %s (d, s);\n}\n' \
    "$fn" >"$tmp/planted_$fn.c"
  out=$(bash "$src/.ci/banned" "$tmp/planted_$fn.c" 2>&1)
  rc=$?
  [ $rc -eq 1 ] && grep -q "planted_$fn.c:5: banned function: $fn$" <<<"$out" ||
    fail "a planted $fn: exit $rc, said: $out"
done
cat >"$tmp/clean.c" <<'C'
/* strcpy(a, b) in a comment,
 * sprintf(x) over two lines */
// atoi(s) in a line comment
static const char *s = "strcat(a, b) in a string";
static const char c = '(';
void g(char *d, long *n)
{
	snprintf(d, 8, "%s", s);
	fgets(d, 8, stdin);
	*n = strtol(d, NULL, 10);
	my_strcpy_safe(d);
}
C
out=$(bash "$src/.ci/banned" "$tmp/clean.c" 2>&1) || fail "clean.c flagged: $out"
echo "$failed failure(s)"
[ "$failed" -eq 0 ]
