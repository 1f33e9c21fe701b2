#!/usr/bin/env bash
# A real MariaDB server for the tests: its own data directory in $DIR (default
# /tmp/lifeboat-mariadb), listening on 127.0.0.1:$PORT (default 33069) and a Unix socket in
# $DIR, root reachable over the socket without a password. Debian's mariadb-server provides it.
#
#   scripts/mariadb-server.sh start   # prints the environment the tests read ($DIR/env)
#   scripts/mariadb-server.sh stop
set -euo pipefail
DIR=${LIFEBOAT_MARIADB_DIR:-/tmp/lifeboat-mariadb}
PORT=${LIFEBOAT_MARIADB_PORT:-33069}
log() { echo "mariadb-server: $*" >&2; }
user=(); [ "$(id -u)" -eq 0 ] && user=(--user=root)

stop() {
  if [ -f "$DIR/pid" ]; then
    local pid; pid=$(cat "$DIR/pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$DIR/env" "$DIR/pid"
}

start() {
  if [ -f "$DIR/env" ] && mariadb --no-defaults -S "$DIR/sock" -uroot -e 'SELECT 1' >/dev/null 2>&1; then
    cat "$DIR/env"; return
  fi
  if ! command -v mariadbd >/dev/null && [ ! -x /usr/sbin/mariadbd ]; then
    log "installing MariaDB from Debian"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends mariadb-server mariadb-client >/dev/null
  fi
  stop
  rm -rf "$DIR"
  mkdir -p "$DIR"
  mariadb-install-db --no-defaults --datadir="$DIR/data" --auth-root-authentication-method=normal \
    --skip-test-db "${user[@]}" >"$DIR/install.log" 2>&1
  /usr/sbin/mariadbd --no-defaults --datadir="$DIR/data" --socket="$DIR/sock" --port="$PORT" \
    --bind-address=127.0.0.1 --pid-file="$DIR/pid" --log-error="$DIR/error.log" --skip-log-bin \
    --innodb-buffer-pool-size=64M --innodb-flush-log-at-trx-commit=0 "${user[@]}" >/dev/null 2>&1 &
  for _ in $(seq 1 300); do
    mariadb --no-defaults -S "$DIR/sock" -uroot -e 'SELECT 1' >/dev/null 2>&1 && break
    sleep 0.1
  done
  mariadb --no-defaults -S "$DIR/sock" -uroot -e 'SELECT 1' >/dev/null || { log "did not start: $(tail -5 "$DIR/error.log")"; exit 1; }
  cat >"$DIR/env" <<ENV
LIFEBOAT_TEST_MARIADB_HOST=127.0.0.1
LIFEBOAT_TEST_MARIADB_PORT=$PORT
LIFEBOAT_TEST_MARIADB_SOCKET=$DIR/sock
ENV
  log "MariaDB $(mariadb --no-defaults -S "$DIR/sock" -uroot -N -e 'SELECT VERSION()') on 127.0.0.1:$PORT (data in $DIR)"
  cat "$DIR/env"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
