#!/usr/bin/env bash
# Throw-away PostgreSQL servers for the store tests and CI: a real server
# (Debian's `postgresql` package) in a directory of its own, listening only on
# 127.0.0.1 and on a unix socket inside that directory, run by an unprivileged
# user (initdb refuses root; as root the Debian `postgres` user is used, else a
# system user `rigtest` is created). Nothing outside DIR is touched.
#
#   pg_cluster.sh start DIR [PORT]  new cluster in DIR (PORT: a free one),
#                                   role and database `rig`; prints the URL
#   pg_cluster.sh stop DIR          fast shutdown, waits
#   pg_cluster.sh pause DIR         immediate shutdown (an outage: no checkpoint)
#   pg_cluster.sh resume DIR        start again on the same port, wait for it
#   pg_cluster.sh destroy DIR       stop if running, remove DIR
#   pg_cluster.sh check             0 if the server is installed, 77 if not
#
# After start, DIR/env (for `source`) holds:
#   export PGPASSFILE=DIR/pgpass
#   export RIG_TEST_PG='postgresql://rig@127.0.0.1:PORT/rig?connect_timeout=2'
#   export PG_CLUSTER_DIR=DIR
# DIR/pgpass (mode 600, the caller's) has the password of `rig`; DIR/server.log
# the server's log. PG_BINDIR overrides where the server binaries are found.
set -euo pipefail

prog=pg_cluster.sh
ready_timeout=30

die() { echo "$prog: $*" >&2; exit 1; }
note() { echo "$prog: $*" >&2; }

# The caller's libpq settings must not steer our own connections.
unset PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGPASSWORD PGPASSFILE PGSERVICE \
  PGSERVICEFILE PGOPTIONS PGDATA PGSSLMODE PGCONNECT_TIMEOUT PGTARGETSESSIONATTRS

usage() {
  sed -n '8,14p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# The server binaries: $PG_BINDIR, else the highest /usr/lib/postgresql/*/bin.
find_bindir() {
  if [ -n "${PG_BINDIR:-}" ]; then
    [ -x "$PG_BINDIR/initdb" ] || return 1
    bindir=$PG_BINDIR
    return 0
  fi
  local d best=""
  while IFS= read -r d; do
    [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ] && best=$d
  done < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V)
  [ -n "$best" ] || return 1
  bindir=$best
}

need_bindir() {
  find_bindir || die "no PostgreSQL server found (no initdb under ${PG_BINDIR:-/usr/lib/postgresql/*/bin});" \
    "install it with: apt-get install -y postgresql"
  local t
  for t in initdb pg_ctl postgres pg_isready psql; do
    [ -x "$bindir/$t" ] || die "$bindir/$t is missing; reinstall with: apt-get install --reinstall postgresql-$(basename "$(dirname "$bindir")")"
  done
}

# The unprivileged user who owns and runs the cluster.
pick_owner() {
  if [ "$(id -u)" -ne 0 ]; then
    owner=$(id -un)
    return 0
  fi
  if getent passwd postgres >/dev/null; then
    owner=postgres
  else
    if ! getent passwd rigtest >/dev/null; then
      # Two clusters started at once may both try; the loser finds it made.
      useradd --system --no-create-home --shell /usr/sbin/nologin rigtest 2>/dev/null ||
        getent passwd rigtest >/dev/null ||
        die "could not create the system user rigtest (useradd --system --no-create-home rigtest failed);" \
          "create an unprivileged user for the server, or run as a non-root user"
    fi
    owner=rigtest
  fi
}

# Run a command as the owner, from inside DIR (the caller's cwd may be closed
# to the owner, e.g. /root).
as_owner() {
  if [ "$(id -u)" -ne 0 ]; then
    (cd "$dir" && "$@")
  elif command -v runuser >/dev/null; then
    (cd "$dir" && runuser -u "$owner" -- "$@")
  elif command -v setpriv >/dev/null; then
    (cd "$dir" && setpriv --reuid="$owner" --regid="$(id -g "$owner")" --init-groups \
      env HOME="$dir" USER="$owner" LOGNAME="$owner" "$@")
  else
    die "neither runuser nor setpriv is installed (package util-linux); cannot drop root to run the server as $owner"
  fi
}

# DIR as an absolute path, with characters safe for postgresql.conf quoting.
set_dir() {
  [ -n "${1:-}" ] || usage
  case $1 in /*) dir=$1 ;; *) dir=$PWD/$1 ;; esac
  dir=${dir%/}
  [ -n "$dir" ] || die "refusing to use / as the cluster directory"
  case $dir in
    *[\'\\,\"[:space:]]*) die "cluster directory '$dir' has a quote, backslash, comma or space; choose a plain path such as \$(mktemp -d)" ;;
  esac
  data=$dir/data
  log=$dir/server.log
}

# Settings written by start; the marker that DIR is one of ours.
load_info() {
  [ -f "$dir/pg_cluster.info" ] ||
    die "$dir is not a cluster made by $prog (no $dir/pg_cluster.info); start one with: $prog start $dir"
  # Parsed, not sourced: DIR belongs to the server's user.
  local key val
  port="" owner="" bindir=""
  while IFS='=' read -r key val; do
    case $key in
      port) [[ $val =~ ^[0-9]+$ ]] && port=$val ;;
      owner) [[ $val =~ ^[a-z_][a-z0-9_-]*$ ]] && owner=$val ;;
      bindir) [[ $val =~ ^/[A-Za-z0-9_./-]+$ ]] && bindir=$val ;;
    esac
  done <"$dir/pg_cluster.info"
  if [ -z "$port" ] || [ -z "$owner" ] || [ -z "$bindir" ]; then
    die "$dir/pg_cluster.info is incomplete; remove the directory ($prog destroy $dir) and start again"
  fi
  [ -x "$bindir/pg_ctl" ] ||
    die "$bindir/pg_ctl (recorded in $dir/pg_cluster.info) is gone; was PostgreSQL removed? reinstall it: apt-get install -y postgresql"
}

free_port() {
  if command -v python3 >/dev/null; then
    python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()' && return 0
  fi
  # No python3: probe random high ports.
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
  done
  die "found no free TCP port on 127.0.0.1 (50 tries); pass one: $prog start DIR PORT"
}

running() {
  as_owner "$bindir/pg_ctl" status -D "$data" >/dev/null 2>&1
}

log_tail() {
  if [ -r "$log" ]; then
    echo "--- last lines of $log:" >&2
    tail -n 25 "$log" >&2
    echo "---" >&2
  fi
}

# Start the server of DIR and wait, at most $ready_timeout s, until it accepts
# TCP connections on 127.0.0.1:$port. Returns 1 (log shown) if it does not.
start_server() {
  local t0=$SECONDS
  local out
  if ! out=$(as_owner "$bindir/pg_ctl" start -D "$data" -l "$log" -w -t "$ready_timeout" -s 2>&1); then
    note "the server in $data did not start (pg_ctl start failed${out:+: $out})"
    log_tail
    return 1
  fi
  local rc=0
  while :; do
    rc=0
    "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -t 2 || rc=$?
    [ "$rc" -eq 0 ] && return 0
    if [ $((SECONDS - t0)) -ge "$ready_timeout" ]; then
      note "the server in $data does not accept connections on 127.0.0.1:$port after ${ready_timeout}s (pg_isready exit $rc)"
      log_tail
      return 1
    fi
    sleep 0.2
  done
}

cmd_start() {
  set_dir "${1:-}"
  local want_port=${2:-}
  if [ -n "$want_port" ]; then
    if ! [[ $want_port =~ ^[0-9]+$ ]] || [ "$want_port" -lt 1 ] || [ "$want_port" -gt 65535 ]; then
      die "port '$want_port' is not a number in 1..65535"
    fi
  fi
  need_bindir
  pick_owner

  mkdir -p "$dir" || die "cannot create $dir"
  if [ -e "$dir/pg_cluster.info" ] || [ -e "$data" ]; then
    die "$dir already holds a cluster; use '$prog resume $dir' to start it again, or '$prog destroy $dir' first"
  fi
  [ -z "$(ls -A "$dir")" ] || die "$dir is not empty; give a new or empty directory (e.g. \$(mktemp -d))"
  # The unix socket path (DIR/.s.PGSQL.PORT) must fit in sun_path (107 bytes).
  [ $((${#dir} + 18)) -le 107 ] ||
    die "$dir is too long for a unix socket directory (${#dir} characters; at most 89); use a shorter path such as \$(mktemp -d)"

  chown "$owner:" "$dir" 2>/dev/null || [ "$(id -u)" -ne 0 ] || die "cannot chown $dir to $owner"
  chmod 755 "$dir"
  as_owner test -w "$dir" ||
    die "user $owner cannot write to $dir (a parent directory is probably closed to it, as /root is);" \
      "put the cluster under /tmp, e.g. \$(mktemp -d)"

  local port_given=1 attempt
  [ -n "$want_port" ] || port_given=0
  port=${want_port:-$(free_port)}
  {
    printf 'owner=%q\n' "$owner"
    printf 'bindir=%q\n' "$bindir"
    printf 'port=%q\n' "$port"
  } >"$dir/pg_cluster.info"

  if ! as_owner "$bindir/initdb" -D "$data" -U "$owner" --auth=trust -E UTF8 --locale=C \
      --no-instructions >"$dir/initdb.log" 2>&1; then
    note "initdb failed for $data (as user $owner); its output:"
    tail -n 25 "$dir/initdb.log" >&2
    exit 1
  fi

  cat >>"$data/postgresql.conf" <<EOF

# pg_cluster.sh: a throw-away test server
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
unix_socket_permissions = 0700
password_encryption = 'scram-sha-256'
fsync = on
EOF
  cat >"$data/pg_hba.conf" <<EOF
# pg_cluster.sh: the owner over the socket in $dir without a password (the
# socket is mode 0700: only the owner, and root, can reach it),
# everyone else over TCP on 127.0.0.1 with a password (SCRAM); nothing else.
local   all   $owner                  trust
host    all   all      127.0.0.1/32   scram-sha-256
EOF

  # A free port may be taken between the probe and the server's bind: try
  # other ports then, unless the caller asked for this one.
  for attempt in 1 2 3; do
    if start_server; then break; fi
    if [ "$port_given" -eq 0 ] && [ "$attempt" -lt 3 ] &&
       grep -q 'could not bind\|Address already in use' "$log" 2>/dev/null; then
      port=$(free_port)
      note "port taken, trying $port"
      sed -i "s/^port = .*/port = $port/" "$data/postgresql.conf"
      sed -i "s/^port=.*/port=$port/" "$dir/pg_cluster.info"
      : >"$log"
      continue
    fi
    die "could not start the PostgreSQL server in $data on 127.0.0.1:$port (see $log); remove it with: $prog destroy $dir"
  done

  local password
  password=$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')
  [ ${#password} -eq 48 ] || die "could not read a random password from /dev/urandom"
  if ! as_owner "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U "$owner" -d postgres \
      -v pw="$password" >"$dir/setup.log" 2>&1 <<'EOF'
CREATE ROLE rig LOGIN PASSWORD :'pw';
CREATE DATABASE rig OWNER rig;
EOF
  then
    note "could not create role and database rig in $data; psql said:"
    cat "$dir/setup.log" >&2
    exit 1
  fi
  rm -f "$dir/setup.log"

  local url="postgresql://rig@127.0.0.1:$port/rig?connect_timeout=2"
  (umask 077 && printf '127.0.0.1:%s:rig:rig:%s\n' "$port" "$password" >"$dir/pgpass")
  chmod 600 "$dir/pgpass"
  {
    printf 'export PGPASSFILE=%q\n' "$dir/pgpass"
    printf "export RIG_TEST_PG='%s'\n" "$url"
    printf 'export PG_CLUSTER_DIR=%q\n' "$dir"
  } >"$dir/env"
  echo "$url"
}

cmd_stop() {
  local mode=$1 what=$2
  set_dir "${3:-}"
  load_info
  if ! running; then
    [ "$what" = pause ] && die "the server in $data is not running; nothing to pause (resume with: $prog resume $dir)"
    note "the server in $data is not running"
    return 0
  fi
  local out
  if ! out=$(as_owner "$bindir/pg_ctl" stop -D "$data" -m "$mode" -w -t 60 -s 2>&1); then
    note "pg_ctl stop -m $mode failed for $data${out:+: $out}"
    log_tail
    exit 1
  fi
}

cmd_resume() {
  set_dir "${1:-}"
  load_info
  running && die "the server in $data is already running (127.0.0.1:$port)"
  start_server ||
    die "could not start the server in $data again on 127.0.0.1:$port (is the port taken now? see $log)"
}

cmd_destroy() {
  set_dir "${1:-}"
  [ -e "$dir" ] || return 0
  if [ ! -f "$dir/pg_cluster.info" ]; then
    [ -z "$(ls -A "$dir" 2>/dev/null)" ] && { rmdir "$dir"; return 0; }
    die "refusing to remove $dir: not a cluster made by $prog (no $dir/pg_cluster.info)"
  fi
  load_info
  if [ -f "$data/postmaster.pid" ] && running; then
    as_owner "$bindir/pg_ctl" stop -D "$data" -m immediate -w -t 60 -s >/dev/null 2>&1 || {
      note "could not stop the server in $data; not removing $dir"
      log_tail
      exit 1
    }
  fi
  rm -rf "$dir"
}

cmd_check() {
  if find_bindir && [ -x "$bindir/pg_ctl" ] && [ -x "$bindir/psql" ] && [ -x "$bindir/pg_isready" ]; then
    echo "$prog: PostgreSQL server $("$bindir/postgres" --version | awk '{print $3}') in $bindir"
    return 0
  fi
  echo "$prog: the PostgreSQL server is not installed (no initdb under ${PG_BINDIR:-/usr/lib/postgresql/*/bin});" \
    "install it with: apt-get install -y postgresql" >&2
  exit 77
}

case ${1:-} in
  start) shift; { [ $# -ge 1 ] && [ $# -le 2 ]; } || usage; cmd_start "$@" ;;
  stop) [ $# -eq 2 ] || usage; cmd_stop fast stop "$2" ;;
  pause) [ $# -eq 2 ] || usage; cmd_stop immediate pause "$2" ;;
  resume) [ $# -eq 2 ] || usage; cmd_resume "$2" ;;
  destroy) [ $# -eq 2 ] || usage; cmd_destroy "$2" ;;
  check) [ $# -eq 1 ] || usage; cmd_check ;;
  *) usage ;;
esac
