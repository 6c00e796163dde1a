#!/bin/bash
# pg-test.sh -- a throw-away PostgreSQL 15 server for the tests.
#
# Usage:
#   scripts/pg-test.sh start DIR         new cluster in DIR; prints its URL (one line)
#   scripts/pg-test.sh stop DIR          stops it (fast) and removes DIR
#   scripts/pg-test.sh stop-server DIR   stops it, keeps the data   (alias: pause)
#   scripts/pg-test.sh start-server DIR  starts it again, same port (alias: resume)
#   scripts/pg-test.sh crash DIR         kills it without a clean shutdown (-m immediate)
#   scripts/pg-test.sh url DIR           prints the URL again
#
# The cluster lives in DIR/data, its unix socket in DIR, its log in DIR/log. It
# listens on 127.0.0.1 only, on a port nothing else listened on, with trust
# authentication (local test use only) and fsync on, since durability tests
# kill it and expect committed rows to survive. The database is `ipborg`, the
# superuser role `ipborg`: the URL is postgresql://ipborg@127.0.0.1:PORT/ipborg.
#
# initdb and postgres refuse to run as root, so under root (CI) the server runs
# as the system user ipborg-test (created when missing; `nobody` if that
# fails) and DIR is handed to that user. Every wait is bounded; on failure the
# script says why on stderr (with the tail of the server log) and exits 1.
set -eu

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
ROLE=ipborg
DB=ipborg
MARK=.ipborg-pg-test
WAIT=30          # seconds for the server to start or stop

die() { echo "pg-test.sh: $*" >&2; exit 1; }
usage() {
    echo "usage: pg-test.sh start|stop|stop-server|start-server|pause|resume|crash|url DIR" >&2
    exit 2
}

[ $# -eq 2 ] || usage
cmd=$1
dir=$2
[ -n "$dir" ] || usage
case "$dir" in /*) ;; *) dir="$(pwd)/$dir" ;; esac

for b in initdb pg_ctl postgres psql pg_isready; do
    [ -x "$PGBIN/$b" ] || die "$PGBIN/$b not found: install postgresql-15 (scripts/install-deps.sh test)"
done

# --- who runs the server -----------------------------------------------------

pick_user() {
    if [ "$(id -u)" != 0 ]; then
        id -un
        return
    fi
    if ! id ipborg-test >/dev/null 2>&1; then
        useradd --system --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin ipborg-test >/dev/null 2>&1 || true
    fi
    if id ipborg-test >/dev/null 2>&1; then
        echo ipborg-test
    else
        echo nobody
    fi
}

# as_user CMD...: runs CMD as the cluster's owner, from / (the caller's working
# directory may not be readable by that user).
as_user() {
    if [ "$(id -u)" = 0 ]; then
        (cd / && runuser -u "$owner" -- "$@")
    else
        (cd / && "$@")
    fi
}

# --- ports ---------------------------------------------------------------------

port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

free_port() {
    local i p
    for i in $(seq 1 200); do
        p=$(( 20000 + ($(od -An -N2 -tu2 /dev/urandom) % 40000) ))
        if ! port_in_use "$p"; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

# --- the server ------------------------------------------------------------------

log_tail() {
    if [ -f "$dir/log" ]; then
        echo "pg-test.sh: last lines of $dir/log:" >&2
        tail -n 15 "$dir/log" >&2
    fi
}

url() { echo "postgresql://$ROLE@127.0.0.1:$(cat "$dir/port")/$DB"; }

running() {
    as_user "$PGBIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1
}

# Starts the server on the port in DIR/port; 0 when it accepts TCP connections.
server_start() {
    local port
    port=$(cat "$dir/port")
    if running; then
        return 0
    fi
    if ! as_user "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t "$WAIT" \
            -o "-p $port" start >/dev/null 2>&1; then
        return 1
    fi
    as_user "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$port" -t "$WAIT" || return 1
}

server_stop() {  # $1: fast | immediate
    if [ -f "$dir/data/postmaster.pid" ] && running; then
        as_user "$PGBIN/pg_ctl" -D "$dir/data" -w -t "$WAIT" -m "$1" stop >/dev/null 2>&1 ||
            as_user "$PGBIN/pg_ctl" -D "$dir/data" -w -t "$WAIT" -m immediate stop >/dev/null 2>&1 ||
            { log_tail; die "cannot stop the server in $dir"; }
    fi
}

check_ours() {
    [ -d "$dir" ] || die "$dir does not exist"
    [ -f "$dir/$MARK" ] && [ -f "$dir/data/PG_VERSION" ] ||
        die "$dir is not a cluster made by pg-test.sh start"
    owner=$(cat "$dir/owner")
}

cmd_start() {
    owner=$(pick_user)
    mkdir -p "$dir"
    [ -z "$(ls -A "$dir")" ] || die "$dir is not empty"
    touch "$dir/$MARK"
    echo "$owner" > "$dir/owner"
    if [ "$(id -u)" = 0 ]; then
        # A root directory that others may not search (0700: seen in chroots
        # unpacked from a mktemp -d directory) stops every unprivileged
        # program, PostgreSQL included. Debian's / is 0755: give back the
        # search bit (not read), and say so.
        if [ $(( 0$(stat -c %a /) & 1 )) -eq 0 ]; then
            echo "pg-test.sh: / is not searchable by other users ($(stat -c %A /)); adding o+x so PostgreSQL can run unprivileged" >&2
            chmod o+x / || die "cannot make / searchable"
        fi
        chown "$owner" "$dir" || die "cannot hand $dir to user $owner"
        runuser -u "$owner" -- test -w "$dir" ||
            die "user $owner cannot write to $dir (is a parent directory private?)"
    fi

    # initdb's own files need no fsync (a crash of the machine during the
    # tests loses the cluster anyway); the running server keeps fsync on.
    if ! as_user timeout 120 "$PGBIN/initdb" -D "$dir/data" -U "$ROLE" --auth=trust \
            --encoding=UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1; then
        tail -n 15 "$dir/initdb.log" >&2
        die "initdb failed in $dir/data"
    fi
    cat >> "$dir/data/postgresql.conf" <<EOF

# pg-test.sh: a throw-away server for the tests
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
max_connections = 200
fsync = on
synchronous_commit = on
full_page_writes = on
shared_buffers = 32MB
logging_collector = off
log_min_messages = warning
EOF

    # A port free now may be taken before the server binds it: try a few.
    local try
    for try in 1 2 3 4 5; do
        free_port > "$dir/port" || die "no free TCP port found on 127.0.0.1"
        echo "port = $(cat "$dir/port")" >> "$dir/data/postgresql.conf"
        if server_start; then
            break
        fi
        if running; then
            server_stop immediate
        fi
        if [ "$try" = 5 ]; then
            log_tail
            die "the server in $dir did not start"
        fi
    done

    if ! as_user timeout "$WAIT" "$PGBIN/psql" -X -q -h "$dir" -p "$(cat "$dir/port")" \
            -U "$ROLE" -d postgres -c "CREATE DATABASE $DB" >/dev/null 2>"$dir/createdb.log"; then
        cat "$dir/createdb.log" >&2
        die "cannot create database $DB"
    fi
    url
}

cmd_stop() {
    if [ ! -e "$dir" ]; then
        echo "pg-test.sh: $dir does not exist: nothing to stop" >&2
        return 0
    fi
    check_ours
    server_stop fast
    rm -rf -- "$dir"
}

cmd_start_server() {
    check_ours
    port=$(cat "$dir/port")
    if ! running && port_in_use "$port"; then
        die "port $port is taken by another program: cannot restart the server of $dir"
    fi
    server_start || { log_tail; die "the server in $dir did not start"; }
    url
}

case "$cmd" in
    start)                 cmd_start ;;
    stop)                  cmd_stop ;;
    stop-server | pause)   check_ours; server_stop fast ;;
    start-server | resume) cmd_start_server ;;
    crash)                 check_ours; server_stop immediate ;;
    url)                   check_ours; url ;;
    *)                     usage ;;
esac
