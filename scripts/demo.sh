#!/usr/bin/env bash
# The demo (`make demo`): Lifeboat protects a fictional school district for a simulated week —
# backups on schedule with copies offsite, a restore drill of every system, a ransomware attack
# caught by the signals, a restore of the clean point — and writes the reports a board, an
# auditor and an on-call engineer would read. It uses S3 with Object Lock on a local Ceph RGW
# and a real PostgreSQL database when they can be started here, and falls back to a second
# local disk and SQLite otherwise (DEMO_SERVERS=off skips them).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${DEMO_BIN:-.build/release/lifeboat}
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

# The IT team's alert receiver: a webhook on loopback that keeps what it is sent.
mkdir -p "$work/alerts"
coproc HOOK { exec python3 scripts/webhook-receiver.py 0 "$work/alerts"; }
read -r _ hook_port <&"${HOOK[0]}"
args+=(--alert-webhook "http://127.0.0.1:$hook_port/district-it")

"$bin" demo "${args[@]}"
echo "• the IT team's webhook received $(ls "$work/alerts" | wc -l | tr -d ' ') alert messages ($work/alerts)"

# The provider's console: a Lifeboat server with the district and two more clients, the
# district's week of runs pushed to it, and an append-only repository the district backs up into.
if [ "${DEMO_SERVER:-on}" != off ]; then
  echo
  echo "• starting the Lifeboat server (the provider's console)"
  mkdir -p "$work/server"
  "$bin" serve --data "$work/server/data" --port "${DEMO_SERVER_PORT:-0}" --admin-token-file "$work/server/admin-token" \
    >"$work/server/server.log" 2>&1 &
  server_pid=$!
  base=$(scripts/server-url.sh "$work/server/server.log")
  admin=$(cat "$work/server/admin-token")
  api() { curl -fsS -X "$1" -H "Authorization: Bearer $admin" -H "Content-Type: application/json" "${@:3}" "$base$2"; }
  api POST /api/v1/tenants --data '{"id":"riverside","name":"Riverside Unified School District"}' >/dev/null
  api PUT /api/v1/tenants/riverside/plan --data-binary "@$work/plan.yaml" >/dev/null
  api POST /api/v1/tokens --data '{"name":"riverside agent","role":"backup","tenant":"riverside"}' \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])' >"$work/server/riverside-token"
  export LIFEBOAT_SERVER_TOKEN_FILE=$work/server/riverside-token
  LIFEBOAT_PLAN=$work/plan.yaml "$bin" push --server "$base" --tenant riverside
  # The district also keeps a copy of its staff documents on the provider's server: append-only.
  api POST /api/v1/tenants/riverside/repositories --data '{"name":"staff-docs"}' >/dev/null
  printf 'provider-side copy\n' >"$work/server/repo-password"
  "$bin" init -q -r "rest:$base/riverside/staff-docs" --password-file "$work/server/repo-password"
  "$bin" backup -q -r "rest:$base/riverside/staff-docs" --password-file "$work/server/repo-password" "$work/district/staff"
  if "$bin" forget -q -r "rest:$base/riverside/staff-docs" --password-file "$work/server/repo-password" --keep-last 0 --keep-daily 0 2>"$work/server/forget.err"; then
    echo "the append-only server accepted a client's forget"; exit 1
  fi
  echo "• a client's attempt to delete its backups: $(grep -o 'append-only[^;]*' "$work/server/forget.err" | head -1)"
  # Two more clients: a clinic whose imaging backups stopped, and a law firm still onboarding.
  api POST /api/v1/tenants --data '{"id":"northside-clinic","name":"Northside Family Clinic"}' >/dev/null
  api PUT /api/v1/tenants/northside-clinic/plan --data-binary @- >/dev/null <<PLAN
organization: Northside Family Clinic
frameworks: [hipaa]
repositories:
  provider: { url: "rest:$base/northside-clinic/ehr", password: "env:NORTHSIDE_PASSWORD" }
systems:
  - { name: EHR, tier: critical, sources: [ { path: /srv/ehr } ] }
  - { name: Imaging, tier: important, sources: [ { path: /srv/pacs } ] }
PLAN
  now=$(date -u +%s)
  iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%S.000Z; }
  jobs=""
  for i in $(seq 1 12); do
    t=$((now - i * 1800))
    jobs+="{\"id\":$i,\"kind\":\"backup\",\"system\":\"EHR\",\"repository\":\"provider\",\"started\":\"$(iso $t)\",\"ended\":\"$(iso $((t + 240)))\",\"outcome\":\"success\",\"bytes\":734003200,\"files\":48211,\"errors\":[],\"warnings\":[]},"
  done
  t=$((now - 30 * 3600))
  jobs+="{\"id\":20,\"kind\":\"backup\",\"system\":\"Imaging\",\"repository\":\"provider\",\"started\":\"$(iso $t)\",\"ended\":\"$(iso $((t + 60)))\",\"outcome\":\"failed\",\"bytes\":0,\"files\":0,\"errors\":[\"source /srv/pacs: permission denied\"],\"warnings\":[]}"
  api POST /api/v1/tenants/northside-clinic/runs --data "{\"source\":\"clinic-fs1\",\"jobs\":[$jobs]}" >/dev/null
  api POST /api/v1/tenants --data '{"id":"hartley-law","name":"Hartley & Wong LLP"}' >/dev/null
  echo "• the console: $base/  (sign in with the admin token in $work/server/admin-token)"
  echo "  API: $base/api/v1/openapi.yaml · metrics: curl -H \"Authorization: Bearer \$(cat $work/server/admin-token)\" $base/metrics"
  if [ "${DEMO_SERVER_KEEP:-on}" = on ]; then
    echo "  the server keeps running (pid $server_pid); stop it with: kill $server_pid"
  else
    kill "$server_pid"; wait "$server_pid" || true
  fi
fi
echo
echo "Open $work/reports/executive.html in a browser (it prints to one page)."
echo "The demo's files stay in $work; remove it when done."
