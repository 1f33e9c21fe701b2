#!/usr/bin/env bash
# Backup and restore throughput on remote storage against the local backend, same corpus, same
# binary, same run: a local Ceph RADOS Gateway (S3, memstore), a Lifeboat server (`rest:`,
# append-only endpoint) on 127.0.0.1, and restic on the same gateway for comparison.
#
#   bench/s3.sh [CORPUS_DIR] [RUNS]      # default /usr/share, 3 runs; medians are reported
#   bench/s3.sh --smoke                  # a small corpus, one run, any build (CI: keeps it working)
#
# Each run: a fresh repository per backend, first backup, full restore into a fresh directory on
# tmpfs (/dev/shm), so the figures compare the backends and not this machine's disk.
# Prints a Markdown table (MB/s of source bytes; wall seconds; CPU seconds; peak RSS); with
# BENCH_REMOTE_OUT=FILE also writes it there (bench/run.sh puts it into docs/BENCHMARKS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
smoke=0
if [ "${1:-}" = "--smoke" ]; then
  smoke=1
  shift
fi
corpus=${1:-/usr/share}
runs=${2:-3}
scripts/install-deps.sh time bc curl radosgw ceph-mon ceph-osd
command -v aws >/dev/null || python3 -m pip install --quiet awscli
if [ $smoke = 1 ]; then
  bin=.build/release/lifeboat
  [ -x "$bin" ] || bin=.build/debug/lifeboat
  [ -x "$bin" ] || swift build
  corpus=$PWD/Sources
  runs=1
else
  [ -x .build/release/lifeboat ] || make -s release
  bin=.build/release/lifeboat
fi
bin=$(readlink -f "$bin")
scripts/s3-server.sh start >/dev/null
set -a; . "${LIFEBOAT_RGW_DIR:-/tmp/lifeboat-rgw}/env"; set +a
export AWS_ACCESS_KEY_ID=$LIFEBOAT_TEST_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$LIFEBOAT_TEST_S3_SECRET_KEY
export AWS_DEFAULT_REGION=us-east-1 LIFEBOAT_PASSWORD=bench-s3 RESTIC_PASSWORD=bench-s3
work=$(mktemp -d /var/tmp/lifeboat-s3bench.XXXXXX)
target=$(mktemp -d /dev/shm/lifeboat-s3bench.XXXXXX 2>/dev/null || mktemp -d)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work" "$target"
}
trap cleanup EXIT
bytes=$(du -sb --apparent-size "$corpus" | cut -f1)
echo "corpus $corpus: $((bytes / 1000000)) MB, $(find "$corpus" -type f | wc -l) files; $runs runs" >&2

# A Lifeboat server on a free port, with a tenant and a backup token.
"$bin" serve --data "$work/server" --port 0 --admin-token-file "$work/admin-token" >"$work/server.log" 2>&1 &
server_pid=$!
port=""
for _ in $(seq 300); do
  port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$work/server.log" | head -1)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { cat "$work/server.log" >&2; exit 1; }
api() { curl -fsS -H "Authorization: Bearer $(cat "$work/admin-token")" -H "Content-Type: application/json" "$@"; }
api -X POST --data '{"id":"bench","name":"Bench"}' "http://127.0.0.1:$port/api/v1/tenants" >/dev/null
api -X POST --data '{"name":"agent","role":"backup","tenant":"bench"}' "http://127.0.0.1:$port/api/v1/tokens" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])' >"$work/backup-token"
chmod 600 "$work/backup-token"
export LIFEBOAT_SERVER_TOKEN_FILE=$work/backup-token

labels="local s3 rest"
command -v restic >/dev/null && labels="$labels restic-s3"

measure() {  # label op cmd... ; appends "label op wall cpu rss" to $work/results
  local label=$1 op=$2
  shift 2
  sync
  /usr/bin/time -f "%e %U %S %M" -o "$work/t" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
  read -r wall user sys rss <"$work/t"
  echo "$label $op $wall $(echo "$user + $sys" | bc) $rss" >>"$work/results"
}

for i in $(seq "$runs"); do
  for label in $labels; do
    case $label in
      local) repo=$work/repo-$i ;;
      rest)
        api -X POST --data "{\"name\":\"repo-$i\"}" "http://127.0.0.1:$port/api/v1/tenants/bench/repositories" >/dev/null
        repo=rest:http://127.0.0.1:$port/bench/repo-$i ;;
      *)
        bucket=lb-bench-$i-$RANDOM
        aws --endpoint-url "$LIFEBOAT_TEST_S3_ENDPOINT" s3api create-bucket --bucket "$bucket" >/dev/null
        repo=s3:$LIFEBOAT_TEST_S3_ENDPOINT/$bucket/repo ;;
    esac
    rm -rf "$target/restore"
    if [ $label = restic-s3 ]; then
      restic -r "$repo" init -q >/dev/null
      measure $label backup restic -r "$repo" backup -q --compression auto "$corpus"
      measure $label restore restic -r "$repo" restore -q latest --target "$target/restore"
    else
      "$bin" init --repo "$repo" --quiet >/dev/null
      measure $label backup "$bin" backup --repo "$repo" --quiet "$corpus"
      measure $label restore "$bin" restore --repo "$repo" --quiet latest --target "$target/restore"
    fi
    rm -rf "$target/restore" "$work/repo-$i"
  done
done

python3 - "$work/results" "$bytes" "${BENCH_REMOTE_OUT:-}" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
mb = int(sys.argv[2]) / 1e6
names = {"local": "Lifeboat, local disk", "s3": "Lifeboat, S3 (Ceph RGW, 127.0.0.1)",
         "rest": "Lifeboat, Lifeboat server (`rest:`, 127.0.0.1)", "restic-s3": "restic, S3 (same RGW)"}
out = ["| backend | operation | MB/s | wall s | CPU s | peak RSS MB |", "|---|---|---|---|---|---|"]
for op in ("backup", "restore"):
    for label in names:
        r = [x for x in rows if x[0] == label and x[1] == op]
        if not r:
            continue
        wall = statistics.median(float(x[2]) for x in r)
        cpu = statistics.median(float(x[3]) for x in r)
        rss = statistics.median(int(x[4]) for x in r) / 1024
        out.append(f"| {names[label]} | {op} | {mb / wall:.0f} | {wall:.2f} | {cpu:.2f} | {rss:.0f} |")
print("\n".join(out))
if sys.argv[3]:
    open(sys.argv[3], "w").write("\n".join(out) + "\n")
PY
