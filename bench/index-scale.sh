#!/usr/bin/env bash
# A repository of many blobs (#23): BLOBS synthetic data blobs (default 20,000,000) added by
# lifeboat-bench-repo to a real repository with one small snapshot — index files and sparse
# packs, no data — then the peak RSS (GNU time) of `snapshots`, `check` (structure, no
# --read-data), a small backup into it and prune's decision (--dry-run): with the index cache
# on (cold: the run that builds it; warm: the runs after) and off (every index file into
# memory, as before the cache).
# Release binaries. Not a test: generating 20 M blobs takes a few minutes and ~1 GB of index.
#
#   bench/index-scale.sh [BLOBS]      (make release; swift build -c release --product lifeboat-bench-repo)
set -euo pipefail
cd "$(dirname "$0")/.."
blobs=${1:-20000000}
bin=${BENCH_BIN:-.build-rel/release/lifeboat}
gen=${BENCH_GEN:-$(dirname "$bin")/lifeboat-bench-repo}
[ -x "$bin" ] && [ -x "$gen" ] || { echo "build both release binaries first (lifeboat, lifeboat-bench-repo)" >&2; exit 1; }
scripts/install-deps.sh time
work=${BENCH_DIR:-/tmp/lifeboat-bench}/index-scale-$blobs
rm -rf "$work"
mkdir -p "$work/src"
export LIFEBOAT_PASSWORD=bench LIFEBOAT_REPOSITORY=$work/repo LIFEBOAT_CACHE_DIR=$work/cache
python3 - "$work/src" <<'PY'
import os, random, sys
rng = random.Random(23)
for i in range(500):
    with open(os.path.join(sys.argv[1], f"f{i}"), "wb") as f:
        f.write(rng.randbytes(rng.randrange(1, 20000)))
PY
"$bin" init -q
"$bin" backup -q "$work/src"
"$gen" "$work/repo" blobs "$blobs"

results=$work/results.md
echo "| blobs | operation | index cache | wall s | CPU s | peak RSS MiB |" | tee "$results"
echo "|---|---|---|---|---|---|" | tee -a "$results"
measure() { # label cache command…
  local label=$1 cache=$2; shift 2
  sync
  /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$@" > "$work/out" 2>&1 || { tail -20 "$work/out"; exit 1; }
  read -r wall user sys rss < "$work/time"
  python3 -c "
w,u,s,r=$wall,$user,$sys,$rss
print(f'| $blobs | $label | $cache | {w:.1f} | {u+s:.1f} | {r/1024:.0f} |')" | tee -a "$results"
}
touch_some() { for i in $(seq 0 9); do echo "change $1 $i" >> "$work/src/f$i"; done; }

measure snapshots - "$bin" snapshots
LIFEBOAT_CACHE_DIR=off measure check off "$bin" check
LIFEBOAT_CACHE_DIR=off measure "small backup" off "$bin" backup "$work/src"
measure check "cold (builds it)" "$bin" check
measure check warm "$bin" check
touch_some 1
measure "small backup" warm "$bin" backup "$work/src"
touch_some 2
measure "small backup" "warm, 1 newer index file" "$bin" backup "$work/src"
measure check "warm, 2 newer index files" "$bin" check
grep -q "no errors" "$work/out" || { echo "check did not pass:"; tail -5 "$work/out"; exit 1; }
# Prune on the same repository: the synthetic blobs belong to no snapshot, so it decides to
# delete all 5,000 packs and rewrite every index file (dry run: the decision, not the deleting).
LIFEBOAT_CACHE_DIR=off measure "prune --dry-run" off "$bin" prune --max-unused 0% --dry-run
measure "prune --dry-run" warm "$bin" prune --max-unused 0% --dry-run
ls -l "$work/cache/index" | tail -n +2 | awk '{printf "index cache file: %.0f MiB\n", $5/1048576}' | tee -a "$results"
