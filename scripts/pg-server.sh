#!/usr/bin/env bash
# A real PostgreSQL server for the tests: its own cluster in $DIR (default /tmp/lifeboat-pg),
# listening on 127.0.0.1:$PORT (default 54329) and a Unix socket in $DIR, run as the
# `postgres` user when started by root. Debian's postgresql-15 package provides it.
#
#   scripts/pg-server.sh start   # prints the environment the tests read ($DIR/env)
#   scripts/pg-server.sh stop
set -euo pipefail
DIR=${LIFEBOAT_PG_DIR:-/tmp/lifeboat-pg}
PORT=${LIFEBOAT_PG_PORT:-54329}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
log() { echo "pg-server: $*" >&2; }

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

stop() {
  if [ -n "$bin" ] && [ -f "$DIR/data/postmaster.pid" ]; then
    as_owner "$bin/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -f "$DIR/env"
}

start() {
  if [ -f "$DIR/env" ] && [ -n "$bin" ] && as_owner "$bin/pg_isready" -h 127.0.0.1 -p "$PORT" -q; then
    cat "$DIR/env"; return
  fi
  if [ -z "$bin" ]; then
    log "installing PostgreSQL from Debian"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  fi
  stop
  rm -rf "$DIR"
  mkdir -p "$DIR"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$DIR"
  as_owner "$bin/initdb" -D "$DIR/data" -U postgres -A trust --no-sync >/dev/null
  as_owner "$bin/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 30 \
    -o "-h 127.0.0.1 -p $PORT -k $DIR -c fsync=off -c full_page_writes=off" start >/dev/null
  cat >"$DIR/env" <<ENV
LIFEBOAT_TEST_PG_HOST=127.0.0.1
LIFEBOAT_TEST_PG_PORT=$PORT
LIFEBOAT_TEST_PG_USER=postgres
LIFEBOAT_TEST_PG_BIN=$bin
ENV
  log "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT (data in $DIR)"
  cat "$DIR/env"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
