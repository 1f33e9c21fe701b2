#!/usr/bin/env bash
# Backup and restore throughput on the S3 backend (a local Ceph RADOS Gateway, memstore)
# against the local backend, same corpus, same release binary, in the same run.
#
#   bench/s3.sh [CORPUS_DIR] [RUNS]      # default /usr/share, 3 runs; medians are reported
#
# Each run: a fresh repository, first backup, full restore into a fresh directory on tmpfs
# (/dev/shm), so the figures compare the backends and not this machine's disk.
# Prints a Markdown table (MB/s of source bytes; wall seconds; CPU seconds; peak RSS).
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${1:-/usr/share}
runs=${2:-3}
scripts/install-deps.sh time curl radosgw ceph-mon ceph-osd
command -v aws >/dev/null || python3 -m pip install --quiet awscli
[ -x .build/release/lifeboat ] || make -s release
bin=$PWD/.build/release/lifeboat
scripts/s3-server.sh start >/dev/null
set -a; . "${LIFEBOAT_RGW_DIR:-/tmp/lifeboat-rgw}/env"; set +a
export AWS_ACCESS_KEY_ID=$LIFEBOAT_TEST_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$LIFEBOAT_TEST_S3_SECRET_KEY
export AWS_DEFAULT_REGION=us-east-1 LIFEBOAT_PASSWORD=bench-s3
work=$(mktemp -d /var/tmp/lifeboat-s3bench.XXXXXX)
target=$(mktemp -d /dev/shm/lifeboat-s3bench.XXXXXX 2>/dev/null || mktemp -d)
trap 'rm -rf "$work" "$target"' EXIT
bytes=$(du -sb --apparent-size "$corpus" | cut -f1)
echo "corpus $corpus: $((bytes / 1000000)) MB, $(find "$corpus" -type f | wc -l) files; $runs runs" >&2

measure() {  # label repo op... ; appends "label op wall cpu rss" to $work/results
  local label=$1 repo=$2 op=$3
  shift 3
  sync
  /usr/bin/time -f "%e %U %S %M" -o "$work/t" "$bin" "$@" --repo "$repo" --quiet >/dev/null 2>"$work/err" \
    || { cat "$work/err" >&2; exit 1; }
  read -r wall user sys rss <"$work/t"
  echo "$label $op $wall $(echo "$user + $sys" | bc) $rss" >>"$work/results"
}

for i in $(seq "$runs"); do
  for label in local s3; do
    if [ $label = local ]; then
      repo=$work/repo-$i
    else
      bucket=lb-bench-$i-$RANDOM
      aws --endpoint-url "$LIFEBOAT_TEST_S3_ENDPOINT" s3api create-bucket --bucket "$bucket" >/dev/null
      repo=s3:$LIFEBOAT_TEST_S3_ENDPOINT/$bucket/repo
    fi
    "$bin" init --repo "$repo" --quiet >/dev/null
    measure $label "$repo" backup backup "$corpus"
    rm -rf "$target/restore"
    measure $label "$repo" restore restore latest --target "$target/restore"
    rm -rf "$target/restore" "$work/repo-$i"
  done
done

python3 - "$work/results" "$bytes" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
mb = int(sys.argv[2]) / 1e6
print("| backend | operation | MB/s | wall s | CPU s | peak RSS MB |")
print("|---|---|---|---|---|---|")
for op in ("backup", "restore"):
    for label in ("local", "s3"):
        r = [x for x in rows if x[0] == label and x[1] == op]
        wall = statistics.median(float(x[2]) for x in r)
        cpu = statistics.median(float(x[3]) for x in r)
        rss = statistics.median(int(x[4]) for x in r) / 1024
        name = "local disk" if label == "local" else "S3 (Ceph RGW 16, 127.0.0.1)"
        print(f"| {name} | {op} | {mb / wall:.0f} | {wall:.2f} | {cpu:.2f} | {rss:.0f} |")
PY
