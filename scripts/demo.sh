#!/usr/bin/env bash
# The demo (`make demo`): Lifeboat protects a fictional school district for a simulated week —
# backups on schedule with copies offsite, a restore drill of every system, a ransomware attack
# caught by the signals, a restore of the clean point — and writes the reports a board, an
# auditor and an on-call engineer would read. It uses S3 with Object Lock on a local Ceph RGW
# and a real PostgreSQL database when they can be started here, and falls back to a second
# local disk and SQLite otherwise (DEMO_SERVERS=off skips them).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.build/release/lifeboat
work=$(mktemp -d /tmp/lifeboat-demo.XXXXXX)
args=(--dir "$work")
started=()
cleanup() { for s in "${started[@]}"; do "scripts/$s-server.sh" stop >/dev/null 2>&1 || true; done; }
trap cleanup EXIT

if [ "${DEMO_SERVERS:-on}" != off ]; then
  rgw_running=no; [ -f /tmp/lifeboat-rgw/env ] && rgw_running=yes
  if timeout 300 scripts/s3-server.sh start >/dev/null 2>&1; then
    [ $rgw_running = no ] && started+=(s3)
    set -a; . /tmp/lifeboat-rgw/env; set +a
    export AWS_ACCESS_KEY_ID=$LIFEBOAT_TEST_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$LIFEBOAT_TEST_S3_SECRET_KEY AWS_REGION=us-east-1
    args+=(--s3 "s3:$LIFEBOAT_TEST_S3_ENDPOINT/lifeboat-demo-$RANDOM$RANDOM/district")
  else
    echo "(no local S3 server: the offsite copy goes to a second local directory)"
  fi
  pg_running=no; [ -f /tmp/lifeboat-pg/env ] && pg_running=yes
  if timeout 120 scripts/pg-server.sh start >/dev/null 2>&1; then
    [ $pg_running = no ] && started+=(pg)
    . /tmp/lifeboat-pg/env
    args+=(--postgres "$LIFEBOAT_TEST_PG_BIN,$LIFEBOAT_TEST_PG_HOST,$LIFEBOAT_TEST_PG_PORT,$LIFEBOAT_TEST_PG_USER")
  else
    echo "(no PostgreSQL: the student information system uses SQLite)"
  fi
fi

"$bin" demo "${args[@]}"
echo
echo "Open $work/reports/executive.html in a browser (it prints to one page)."
echo "The demo's files stay in $work; remove it when done."
