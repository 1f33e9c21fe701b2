#!/usr/bin/env bash
# The engine at scale (#23): a generated tree of many files, mostly tiny and some large,
# backed up by Lifeboat and restic 0.14 side by side in one run — first backup, unchanged
# backup, full restore — with wall time, CPU seconds and peak RSS (GNU time) for each.
# Release binary. Not a test: it takes minutes per million files.
#
#   bench/scale.sh [FILES ...]       (default: 1000000; e.g. bench/scale.sh 1000000 5000000)
#   SCALE_TOOLS=lifeboat bench/scale.sh   (one tool only)
#
# The tree (seeded, made once per size and kept under $BENCH_DIR/scale/tree-N): folders of
# 100 files, 100 folders to a folder; files of 0–1,023 bytes, and one in 2,000 of 2 MiB.
# Each tool's repository and restore are removed after its run (5 M files take ~20 GB on
# disk for the tree and as much for each restore). The unchanged backup runs twice (cold and
# warm local caches).
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("${@:-1000000}")
bin=${BENCH_BIN:-.build-rel/release/lifeboat}
[ -x "$bin" ] || bin=.build/release/lifeboat
[ -x "$bin" ] || { echo "build the release binary first (make release)" >&2; exit 1; }
scripts/install-deps.sh restic time
work=${BENCH_DIR:-/tmp/lifeboat-bench}/scale
mkdir -p "$work"
# Each tool keeps its local cache (Lifeboat's index cache, restic's copies of index files) in a
# directory of its own, removed before its run.
export LIFEBOAT_PASSWORD=bench RESTIC_PASSWORD=bench LIFEBOAT_CACHE_DIR=$work/lifeboat-cache
export RESTIC_CACHE_DIR=$work/restic-cache

make_tree() { # root files
  [ -f "$1/.complete" ] && return
  rm -rf "$1"
  python3 - "$1" "$2" <<'PY'
import os, random, sys
root, total = sys.argv[1], int(sys.argv[2])
rng = random.Random(23)
large = rng.randbytes(2 << 20)
for i in range(total):
    d = os.path.join(root, f"d{i // 10000}", f"e{(i // 100) % 100}")
    if i % 100 == 0:
        os.makedirs(d, exist_ok=True)
    fd = os.open(os.path.join(d, f"f{i}"), os.O_WRONLY | os.O_CREAT, 0o644)
    if i % 2000 == 1999:
        # A large file: 2 MiB, the first 64 bytes its own so it is not one blob everywhere.
        os.write(fd, rng.randbytes(64) + large[64:])
    else:
        os.write(fd, rng.randbytes(rng.randrange(1024)))
    os.close(fd)
PY
  touch "$1/.complete"
}

measure() { # label files tool command…
  local label=$1 files=$2 tool=$3; shift 3
  sync
  /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$@" > "$work/out" 2>&1 || {
    # restic exits 3 when a file changed or could not be read; anything else is a failure.
    rc=$?; [ "$tool" = restic ] && [ $rc -eq 3 ] || { tail -20 "$work/out"; exit 1; }
  }
  read -r wall user sys rss < "$work/time"
  python3 -c "
w,u,s,r=$wall,$user,$sys,$rss
print(f'| $files | $label | $tool | {w:.1f} | {u+s:.1f} ({u:.0f} + {s:.0f}) | {r/1024:.0f} |')" | tee -a "$work/results.md"
}

: > "$work/results.md"
echo "| files | operation | tool | wall s | CPU s (user + system) | peak RSS MiB |" | tee -a "$work/results.md"
echo "|---|---|---|---|---|---|" | tee -a "$work/results.md"
for n in "${sizes[@]}"; do
  tree=$work/tree-$n
  make_tree "$tree" "$n"
  for tool in ${SCALE_TOOLS:-lifeboat restic}; do
    repo=$work/repo-$tool
    target=$work/restore-$tool
    rm -rf "$repo" "$target" "$RESTIC_CACHE_DIR" "$LIFEBOAT_CACHE_DIR"
    if [ $tool = lifeboat ]; then
      "$bin" init -q -r "$repo"
      backup=("$bin" backup -q -r "$repo" "$tree")
      restore=("$bin" restore -q -r "$repo" latest --target "$target")
    else
      restic init -q -r "$repo" --repository-version 2 > /dev/null
      backup=(restic backup -q -r "$repo" --compression auto "$tree")
      restore=(restic restore -q -r "$repo" latest --target "$target")
    fi
    # The tree is read whole before each tool, so both start from the same page cache.
    tar -cf - -C "$tree" . | cat > /dev/null
    measure backup "$n" $tool "${backup[@]}"
    # Twice: the first opens the repository's index cold on this machine (Lifeboat builds its
    # index cache from 100,000 blobs on), the second is what every later run costs.
    measure backup-nochange "$n" $tool "${backup[@]}"
    measure backup-nochange-again "$n" $tool "${backup[@]}"
    measure restore "$n" $tool "${restore[@]}"
    rm -rf "$repo" "$target"
  done
done
echo "results: $work/results.md"
