#!/usr/bin/env bash
# A real S3 server on 127.0.0.1 for the tests: a single-node Ceph cluster (one monitor, one
# OSD on memstore) with a RADOS Gateway, all from Debian packages.
#
#   scripts/s3-server.sh start   # installs if needed, starts, writes $DIR/env; prints it
#   scripts/s3-server.sh stop
#   scripts/s3-server.sh env     # prints the environment the tests read
#
# $DIR (default /tmp/lifeboat-rgw) holds config, keys, logs and pid files. Data lives in RAM.
# The tests read $DIR/env: LIFEBOAT_TEST_S3_ENDPOINT and two users' keys (an owner and a
# "writer" used for append-only tests).
set -euo pipefail
DIR=${LIFEBOAT_RGW_DIR:-/tmp/lifeboat-rgw}
PORT=${LIFEBOAT_RGW_PORT:-7480}
MON_PORT=${LIFEBOAT_RGW_MON_PORT:-6789}
CONF=$DIR/ceph.conf
log() { echo "s3-server: $*" >&2; }

install() {
  if command -v radosgw >/dev/null && command -v ceph-mon >/dev/null && command -v ceph-osd >/dev/null; then
    return
  fi
  log "installing Ceph (radosgw, ceph-mon, ceph-osd) from Debian"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    radosgw ceph-mon ceph-osd >/dev/null
}

running() {
  [ -f "$DIR/env" ] && curl -fsS -o /dev/null "http://127.0.0.1:$PORT/" 2>/dev/null
}

stop() {
  # Every daemon writes $DIR/run/<name>.pid (mon.a, osd.0, client.rgw.a).
  for pidfile in "$DIR"/run/*.pid; do
    [ -f "$pidfile" ] || continue
    local pid
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$pidfile"
  done
  rm -f "$DIR/env"
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

wait_for() {  # seconds, description, command...
  local limit=$1 what=$2
  shift 2
  for _ in $(seq $((limit * 10))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  log "timed out after ${limit}s waiting for $what; logs in $DIR/log"
  tail -n 30 "$DIR"/log/*.log >&2 || true
  return 1
}

start() {
  if running; then cat "$DIR/env"; return; fi
  install
  stop
  for p in "$PORT" "$MON_PORT"; do
    if port_in_use "$p"; then
      log "port $p on 127.0.0.1 is in use by another process; stop it or set LIFEBOAT_RGW_PORT / LIFEBOAT_RGW_MON_PORT"
      exit 1
    fi
  done
  rm -rf "$DIR"
  mkdir -p "$DIR"/{run,log,mon,osd}
  local fsid osd_uuid
  fsid=$(cat /proc/sys/kernel/random/uuid)
  osd_uuid=$(cat /proc/sys/kernel/random/uuid)
  cat >"$CONF" <<CONF
[global]
fsid = $fsid
mon host = [v1:127.0.0.1:$MON_PORT]
mon initial members = a
ms bind msgr2 = false
ms bind ipv6 = false
public addr = 127.0.0.1
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
keyring = $DIR/keyring
run dir = $DIR/run
admin socket = $DIR/run/\$name.asok
log file = $DIR/log/\$name.log
pid file = $DIR/run/\$name.pid
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
paxos propose interval = 0.05
paxos min wait = 0.01
osd objectstore = memstore
memstore device bytes = 8589934592
osd data = $DIR/osd
mon data = $DIR/mon
osd max object size = 268435456
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$PORT
rgw dns name = 127.0.0.1
rgw enable usage log = false
rgw thread pool size = 64
CONF
  local kr=$DIR/keyring
  ceph-authtool --create-keyring "$kr" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool "$kr" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' \
    --cap mgr 'allow *' >/dev/null
  ceph-authtool "$kr" --gen-key -n osd.0 --cap mon 'allow profile osd' --cap osd 'allow *' >/dev/null
  ceph-authtool "$kr" --gen-key -n client.rgw.a --cap mon 'allow rw' --cap osd 'allow rwx' >/dev/null
  monmaptool --create --addv a "[v1:127.0.0.1:$MON_PORT]" --fsid "$fsid" "$DIR/monmap" >/dev/null
  ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap" --keyring "$kr"
  timeout 20 ceph-mon -c "$CONF" -i a
  wait_for 20 "the monitor" timeout 5 ceph -c "$CONF" mon stat
  timeout 20 ceph -c "$CONF" osd new "$osd_uuid" >/dev/null
  timeout 30 ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$osd_uuid" >/dev/null 2>&1
  timeout 20 ceph-osd -c "$CONF" -i 0 2>>"$DIR/log/osd-start.log"
  wait_for 30 "the OSD" sh -c "timeout 5 ceph -c '$CONF' osd stat | grep -q '1 up'"
  timeout 20 radosgw -c "$CONF" -n client.rgw.a
  wait_for 60 "the RADOS Gateway on 127.0.0.1:$PORT" curl -fsS -o /dev/null "http://127.0.0.1:$PORT/"
  local ak sk wak wsk
  ak=LBOWNER$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n' | tr a-f A-F)
  sk=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
  wak=LBWRITER$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n' | tr a-f A-F)
  wsk=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
  timeout 30 radosgw-admin -c "$CONF" user create --uid=owner --display-name=owner \
    --access-key="$ak" --secret-key="$sk" >/dev/null
  timeout 30 radosgw-admin -c "$CONF" user create --uid=writer --display-name=writer \
    --access-key="$wak" --secret-key="$wsk" >/dev/null
  umask 077
  cat >"$DIR/env" <<ENV
LIFEBOAT_TEST_S3_ENDPOINT=http://127.0.0.1:$PORT
LIFEBOAT_TEST_S3_ACCESS_KEY=$ak
LIFEBOAT_TEST_S3_SECRET_KEY=$sk
LIFEBOAT_TEST_S3_WRITER_ACCESS_KEY=$wak
LIFEBOAT_TEST_S3_WRITER_SECRET_KEY=$wsk
LIFEBOAT_TEST_S3_SERVER=ceph-rgw-$(radosgw --version | awk '{print $3}')
ENV
  log "RADOS Gateway $(radosgw --version | awk '{print $3}') on http://127.0.0.1:$PORT (state in $DIR)"
  cat "$DIR/env"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env) cat "$DIR/env" ;;
  *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
