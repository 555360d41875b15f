#!/usr/bin/env bash
# Self-test of tests/store/pg_cluster.sh, the throw-away PostgreSQL servers the
# store tests run against: start, a PostgreSQL 15 server reached with the
# pgpass file and refused without it, an outage (pause) and back (resume),
# destroy. Exit 77 (skipped) when the server is not installed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
pgc=$here/pg_cluster.sh

fail() { echo "test_pg_cluster: FAIL: $*" >&2; exit 1; }

rc=0
bash "$pgc" check || rc=$?
case $rc in
  0) ;;
  77) echo "test_pg_cluster: skipped (no PostgreSQL server)"; exit 77 ;;
  *) fail "pg_cluster.sh check exited $rc" ;;
esac

dir=$(mktemp -d /tmp/rig-pgtest.XXXXXX)
trap 'bash "$pgc" destroy "$dir" || true' EXIT

# Not inherited from the caller (CI exports the ones of its own cluster).
unset RIG_TEST_PG PGPASSFILE PG_CLUSTER_DIR PGPASSWORD PGHOST PGPORT PGUSER PGDATABASE

t0=$(date +%s.%N)
url=$(bash "$pgc" start "$dir") || fail "pg_cluster.sh start $dir"
t1=$(date +%s.%N)
echo "test_pg_cluster: started in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s: $url"

[ -f "$dir/env" ] || fail "no $dir/env"
# shellcheck disable=SC1091
. "$dir/env"
[ "$RIG_TEST_PG" = "$url" ] || fail "RIG_TEST_PG '$RIG_TEST_PG' differs from the printed URL '$url'"
[ "$PG_CLUSTER_DIR" = "$dir" ] || fail "PG_CLUSTER_DIR '$PG_CLUSTER_DIR', expected $dir"
[ "$PGPASSFILE" = "$dir/pgpass" ] || fail "PGPASSFILE '$PGPASSFILE', expected $dir/pgpass"
[ "$(stat -c %a "$PGPASSFILE")" = 600 ] || fail "$PGPASSFILE is not mode 600"
[ -r "$PGPASSFILE" ] || fail "$PGPASSFILE is not readable by $(id -un)"

q() { psql "$RIG_TEST_PG" -X -w -At -v ON_ERROR_STOP=1 -c "$1"; }

version=$(q 'select version()') || fail "psql with $PGPASSFILE could not connect to $RIG_TEST_PG"
echo "test_pg_cluster: $version"
num=$(q 'show server_version_num')
[[ $num =~ ^15[0-9]{4}$ ]] || fail "server version $num, expected 15.x"
[ "$(q 'select current_user')" = rig ] || fail "connected as $(q 'select current_user'), expected rig"
[ "$(q 'show fsync')" = on ] || fail "fsync is not on"
[ "$(q 'show listen_addresses')" = 127.0.0.1 ] || fail "listen_addresses is not 127.0.0.1"
q 'create table t(x int); insert into t values (42)' >/dev/null || fail "rig cannot create a table in its database"

# Without the pgpass file, a password is required.
if out=$(PGPASSFILE=/nonexistent psql "$RIG_TEST_PG" -X -w -At -c 'select 1' 2>&1); then
  fail "connected without a password: $out"
fi
case $out in
  *"no password supplied"*|*"password authentication failed"*) ;;
  *) fail "without a password, expected an authentication error, got: $out" ;;
esac
# A wrong password is refused too.
printf '127.0.0.1:*:rig:rig:wrong\n' >"$dir/wrongpass"; chmod 600 "$dir/wrongpass"
if PGPASSFILE=$dir/wrongpass psql "$RIG_TEST_PG" -X -w -At -c 'select 1' >/dev/null 2>&1; then
  fail "connected with a wrong password"
fi

# An outage: immediate shutdown, connections fail (quickly: connect_timeout=2).
bash "$pgc" pause "$PG_CLUSTER_DIR" || fail "pg_cluster.sh pause"
if q 'select 1' >/dev/null 2>&1; then fail "connected while paused"; fi
bash "$pgc" resume "$PG_CLUSTER_DIR" || fail "pg_cluster.sh resume"
[ "$(q 'select x from t')" = 42 ] || fail "after resume, the committed row is gone"

bash "$pgc" stop "$dir" || fail "pg_cluster.sh stop"
if q 'select 1' >/dev/null 2>&1; then fail "connected after stop"; fi
bash "$pgc" destroy "$dir" || fail "pg_cluster.sh destroy"
[ ! -e "$dir" ] || fail "$dir still there after destroy"
trap - EXIT
echo "test_pg_cluster: ok"
