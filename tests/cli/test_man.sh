#!/usr/bin/env bash
# The manual pages (man/*.1) against the program: every command that
# `rig --help` lists has a page rig-COMMAND(1) (and rig(1) exists), and the
# options a page describes (the tags of its .TP entries) are exactly the
# options of `rig COMMAND --help` and of each of its subcommands' --help
# (`rig dut run --help`, ...; --help itself aside). Each page formats
# without a groff warning. Usage: test_man.sh PATH/TO/rig MAN_DIR
set -u
rig=$1
man_dir=$2
failed=0
fail() { echo "FAIL $*"; failed=$((failed + 1)); }

# The commands listed by `rig --help`: "  WORD [SUB|SUB...]  summary".
listing=$("$rig" --help | sed -n '/^commands:/,/^$/p' | grep -E '^  [a-z]')
[ -n "$listing" ] || fail "rig --help lists no commands"
forms=$(sed -E 's/^  //; s/  .*//' <<<"$listing") # "dut info|status|read-table"
words=$(awk '{print $1}' <<<"$forms" | sort -u)
# Options a help text names in passing that belong to another command.
mentioned_only="run:--speed"

help_options() { # the --options in a help text, one a line
  grep -oE -- '--[a-z][a-z0-9-]*' | grep -vx -- '--help' | sort -u
}
page_options() { # the options a page's .TP entries describe
  awk 'tp { print; tp = 0 } /^\.TP/ { tp = 1 }' "$1" | sed 's/\\-/-/g' |
    grep -oE -- '--[a-z][a-z0-9-]*' | sort -u
}
check_page() { # check_page PAGE: it formats without warnings
  local warnings
  warnings=$(groff -man -ww -z "$1" 2>&1)
  [ -z "$warnings" ] || fail "$(basename "$1"): groff warnings: $warnings"
}

[ -f "$man_dir/rig.1" ] || fail "no rig(1) page"
[ -f "$man_dir/rig.1" ] && check_page "$man_dir/rig.1"
for w in $words; do
  page="$man_dir/rig-$w.1"
  if [ ! -f "$page" ]; then fail "rig $w has no page rig-$w.1"; continue; fi
  check_page "$page"
  grep -q "rig\\\\-$w" "$man_dir/rig.1" || fail "rig(1) does not name rig-$w(1)"
  subs=$(awk -v w="$w" '$1 == w && NF > 1 {print $2}' <<<"$forms" | tr '|' '\n')
  helps=$("$rig" "$w" --help 2>&1) || fail "rig $w --help: exit $?"
  for s in $subs; do
    h=$("$rig" "$w" "$s" --help 2>&1) || fail "rig $w $s --help: exit $?"
    helps+=$'\n'$h
  done
  want=$(help_options <<<"$helps" | while read -r o; do
    [[ " $mentioned_only " == *" $w:$o "* ]] || echo "$o"; done)
  have=$(page_options "$page")
  missing=$(comm -23 <(echo "$want") <(echo "$have") | tr '\n' ' ')
  extra=$(comm -13 <(echo "$want") <(echo "$have") | tr '\n' ' ')
  [ -z "${missing// }" ] || fail "rig-$w.1 does not describe: $missing"
  [ -z "${extra// }" ] || fail "rig-$w.1 describes options rig $w does not have: $extra"
done
# Pages of commands rig no longer has.
for page in "$man_dir"/rig-*.1; do
  w=$(basename "$page" .1); w=${w#rig-}
  grep -qx "$w" <<<"$words" || fail "$(basename "$page"): rig --help has no command $w"
done
echo "$(wc -w <<<"$words") commands checked, $failed failure(s)"
[ "$failed" -eq 0 ]
