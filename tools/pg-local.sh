#!/usr/bin/env bash
# A local PostgreSQL for Scale: a primary and one streaming replica on 127.0.0.1, in one folder, started the way the
# tests start theirs (tests/Scale.Testing/Postgres): initdb, scram-sha-256 passwords on loopback only, a replication
# role, pg_basebackup -R with a replication slot. Run as root, the servers run as the 'postgres' user (PostgreSQL
# refuses root), and Debian's postgresql package is installed first when missing. Debian's own cluster (port 5432)
# is left alone.
#
# Usage: tools/pg-local.sh up|down|status [--dir DIR] [--port PORT]
#   up      create and start (or start again) the primary (PORT) and the replica (PORT+1); print connection strings
#   down    stop both servers and delete DIR
#   status  say what runs, and print the connection strings while it does
#   --dir   where the data, logs and password live (default: $SCALE_PG_DIR, else ${TMPDIR:-/tmp}/scale-pg-local-$USER)
#   --port  the primary's port (default: $SCALE_PG_PORT, else 55432); the replica takes the next one
set -euo pipefail

usage() { sed -n '8,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
die() { echo "pg-local: $*" >&2; exit 1; }

command=${1:-}
[[ $# -gt 0 ]] && shift
dir=${SCALE_PG_DIR:-${TMPDIR:-/tmp}/scale-pg-local-$(id -un)}
port=${SCALE_PG_PORT:-55432}
while [[ $# -gt 0 ]]; do
  case $1 in
    --dir) [[ $# -ge 2 ]] || die "--dir needs a folder"; dir=$2; shift 2 ;;
    --dir=*) dir=${1#--dir=}; shift ;;
    --port) [[ $# -ge 2 ]] || die "--port needs a number"; port=$2; shift 2 ;;
    --port=*) port=${1#--port=}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done
case $command in up|down|status) ;; -h|--help|help) usage; exit 0 ;; *) usage >&2; exit 2 ;; esac
[[ $port =~ ^[0-9]+$ ]] && (( port > 1023 && port < 65535 )) || die "--port must be a number from 1024 to 65534"
[[ $dir == /* ]] || dir="$PWD/$dir"

primary="$dir/primary"
replica="$dir/replica"
user=scale
database=scale
replication_user=replicator
server_user=postgres
is_root=false; [[ $(id -u) -eq 0 ]] && is_root=true

# Runs a command as the server user when root (runuser keeps the environment, PGPASSWORD included).
as_server() {
  if $is_root; then (cd / && runuser -u "$server_user" -- "$@"); else "$@"; fi
}

find_bin() {
  if [[ -n ${SCALE_PG_BIN:-} ]]; then echo "$SCALE_PG_BIN"; return; fi
  if [[ -x /usr/lib/postgresql/15/bin/initdb ]]; then echo /usr/lib/postgresql/15/bin; return; fi
  local newest
  newest=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [[ -n $newest && -x $newest/initdb ]] && echo "$newest"
}

ensure_installed() {
  bin=$(find_bin || true)
  if [[ -z $bin ]]; then
    $is_root || die "PostgreSQL's server programs are missing: sudo apt-get install postgresql (or set SCALE_PG_BIN)"
    echo "pg-local: installing Debian's postgresql ..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q postgresql >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q postgresql >/dev/null; } \
      || die "apt-get install postgresql failed"
    bin=$(find_bin || true)
    [[ -n $bin ]] || die "postgresql is installed but no /usr/lib/postgresql/N/bin holds initdb"
  fi
  for program in initdb pg_ctl pg_basebackup psql; do
    [[ -x $bin/$program ]] || die "$bin/$program is missing"
  done
  if $is_root && ! id -u "$server_user" >/dev/null 2>&1; then
    die "running as root, the servers need the user '$server_user' (Debian's postgresql package creates it)"
  fi
}

running() { # data folder
  [[ -f $1/postmaster.pid ]] && as_server "$bin/pg_ctl" -D "$1" status >/dev/null 2>&1
}

port_of() { # data folder: the last "port = N" line wins, as in the server
  sed -n 's/^port = \([0-9]*\).*/\1/p' "$1/postgresql.conf" | tail -n 1
}

sql() { # port, query: one value, unaligned
  PGPASSWORD=$password PGCONNECT_TIMEOUT=5 "$bin/psql" -X -q -A -t -v ON_ERROR_STOP=1 \
    -h 127.0.0.1 -p "$1" -U "$user" -d "$database" -c "$2"
}

listening() { # port: true when something accepts connections on 127.0.0.1:port
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start_server() { # data folder, log
  if running "$1"; then return; fi
  if ! as_server "$bin/pg_ctl" -D "$1" -l "$2" -w -t 60 start >/dev/null; then
    echo "--- $2 ---" >&2; tail -n 30 "$2" >&2 || true
    die "could not start the server in $1 (its log is above)"
  fi
}

stop_server() { # data folder
  running "$1" || return 0
  as_server "$bin/pg_ctl" -D "$1" -m fast -w -t 60 stop >/dev/null 2>&1 \
    || as_server "$bin/pg_ctl" -D "$1" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
}

wait_streaming() {
  local primary_port=$1 i
  for ((i = 0; i < 300; i++)); do
    [[ $(sql "$primary_port" "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'replica' AND state = 'streaming'" 2>/dev/null) == 1 ]] && return 0
    sleep 0.1
  done
  echo "--- $dir/replica.log ---" >&2; tail -n 30 "$dir/replica.log" >&2 || true
  die "the replica does not stream from the primary after 30 s (its log is above)"
}

# A creation that fails half-way leaves nothing behind: no server, no folder.
undo_create() {
  [[ -d $replica ]] && as_server "$bin/pg_ctl" -D "$replica" -m immediate -w stop >/dev/null 2>&1 || true
  [[ -d $primary ]] && as_server "$bin/pg_ctl" -D "$primary" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf -- "$dir"
}

create() {
  local replica_port=$((port + 1)) p
  for p in "$port" "$replica_port"; do
    ! listening "$p" || die "port $p on 127.0.0.1 is taken: choose others with --port"
  done
  trap undo_create EXIT
  mkdir -p "$dir"
  chmod 700 "$dir"
  if $is_root; then
    chown "$server_user:" "$dir"
    as_server test -w "$dir" -a -x "$dir" \
      || die "the '$server_user' user cannot use $dir (a folder above it is closed to it): choose another with --dir"
  fi

  password=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  (umask 077 && printf '%s\n' "$password" >"$dir/password")
  local password_file="$dir/initdb-password"
  printf '%s\n' "$password" >"$password_file"
  chmod 644 "$password_file"
  as_server "$bin/initdb" -D "$primary" -U "$user" --pwfile "$password_file" --auth scram-sha-256 \
    --encoding UTF8 --locale C >"$dir/initdb.log" 2>&1 || { rm -f "$password_file"; cat "$dir/initdb.log" >&2; die "initdb failed"; }
  rm -f "$password_file"

  # Files initdb made keep their owner when rewritten.
  cat >"$primary/pg_hba.conf" <<EOF
# Scale's local cluster: TCP on loopback only, passwords checked.
host    all          all                  127.0.0.1/32  scram-sha-256
host    replication  $replication_user    127.0.0.1/32  scram-sha-256
EOF
  cat >>"$primary/postgresql.conf" <<EOF

# Scale's local cluster (tools/pg-local.sh; later lines win)
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = ''
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
max_slot_wal_keep_size = '4GB'
hot_standby = on
hot_standby_feedback = on
wal_retrieve_retry_interval = '1s'
lc_messages = 'C'
log_line_prefix = '%m [%p] %q%u@%d '
EOF
  start_server "$primary" "$dir/primary.log"

  local replication_password
  replication_password=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  PGPASSWORD=$password "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U "$user" -d postgres \
    -c "CREATE ROLE $replication_user WITH REPLICATION LOGIN PASSWORD '$replication_password'" \
    -c "CREATE DATABASE $database OWNER $user" >/dev/null

  as_server "$bin/pg_basebackup" -D "$replica" -X stream -c fast -R -C -S replica \
    -d "host=127.0.0.1 port=$port user=$replication_user password=$replication_password application_name=replica" \
    >"$dir/basebackup.log" 2>&1 || { cat "$dir/basebackup.log" >&2; die "pg_basebackup failed"; }
  printf '\n# The replica of tools/pg-local.sh\nport = %s\n' "$replica_port" >>"$replica/postgresql.conf"
  start_server "$replica" "$dir/replica.log"
  wait_streaming "$port"
  trap - EXIT
}

print_connection_strings() {
  local primary_port=$1 replica_port=$2
  local common="Database=$database;Username=$user;Password=$password"
  cat <<EOF

Connection strings for scale --db (or SCALE_DB):
  the primary alone:
    Host=127.0.0.1;Port=$primary_port;$common
  both servers, for writes (the batch job: scale run, extract, similar):
    Host=127.0.0.1:$primary_port,127.0.0.1:$replica_port;$common;Target Session Attributes=read-write
  both servers, reads from the replica while there is one (the web app: scale serve):
    Host=127.0.0.1:$primary_port,127.0.0.1:$replica_port;$common;Target Session Attributes=prefer-standby

psql:  PGPASSWORD=$password psql -h 127.0.0.1 -p $primary_port -U $user $database
Stop and delete it all:  ${BASH_SOURCE[0]} down${dir_argument}
EOF
}

dir_argument=""
[[ -n ${SCALE_PG_DIR:-} || $dir == "${TMPDIR:-/tmp}/scale-pg-local-$(id -un)" ]] || dir_argument=" --dir $dir"

status() {
  if [[ ! -d $primary || ! -f $dir/password ]]; then
    echo "No local PostgreSQL in $dir (start one with: ${BASH_SOURCE[0]} up${dir_argument})"
    return 1
  fi
  password=$(cat "$dir/password")
  local primary_port replica_port any_up=false server folder p state
  primary_port=$(port_of "$primary")
  replica_port=$(port_of "$replica" 2>/dev/null || echo "?")
  echo "Scale's local PostgreSQL in $dir ($("$bin/postgres" --version 2>/dev/null || echo PostgreSQL)):"
  for server in primary replica; do
    folder="$dir/$server"
    p=$(port_of "$folder" 2>/dev/null || echo "?")
    if [[ -d $folder ]] && running "$folder"; then
      any_up=true
      case $(sql "$p" "SELECT pg_is_in_recovery()" 2>/dev/null || echo "?") in
        f) state="running, read-write" ;;
        t) state="running, read-only replica ($(sql "$p" "SELECT coalesce((SELECT status FROM pg_stat_wal_receiver), 'not streaming')" 2>/dev/null || echo '?'))" ;;
        *) state="running, not answering yet" ;;
      esac
    else
      state="stopped"
    fi
    printf '  %-8s 127.0.0.1:%-6s %s   (log: %s)\n' "$server" "$p" "$state" "$dir/$server.log"
  done
  if $any_up; then
    print_connection_strings "$primary_port" "$replica_port"
  else
    echo "Both servers are stopped: ${BASH_SOURCE[0]} up${dir_argument} starts them again."
  fi
}

case $command in
  up)
    ensure_installed
    if [[ -d $primary && -f $dir/password ]]; then
      password=$(cat "$dir/password")
      start_server "$primary" "$dir/primary.log"
      [[ -d $replica ]] && start_server "$replica" "$dir/replica.log"
      [[ -d $replica ]] && wait_streaming "$(port_of "$primary")"
    elif [[ -e $dir && -n $(ls -A "$dir" 2>/dev/null) ]]; then
      die "$dir exists but holds no local cluster of this script: remove it, or choose another with --dir"
    else
      create
    fi
    status
    ;;
  down)
    bin=$(find_bin || true)
    if [[ ! -d $dir ]]; then
      echo "No local PostgreSQL in $dir."
      exit 0
    fi
    if [[ -n $bin ]]; then
      [[ -d $replica ]] && stop_server "$replica"
      [[ -d $primary ]] && stop_server "$primary"
    fi
    for folder in "$replica" "$primary"; do
      if [[ -n $bin && -d $folder ]] && running "$folder"; then die "the server in $folder does not stop; $dir is kept"; fi
    done
    rm -rf -- "$dir"
    echo "Stopped and deleted the local PostgreSQL in $dir."
    ;;
  status)
    bin=$(find_bin || true)
    [[ -n $bin ]] || die "PostgreSQL is not installed (tools/pg-local.sh up installs it when run as root)"
    status || true
    ;;
esac
