#!/usr/bin/env bash
# Many snapshots (#23): a repository with N snapshots (default 10,000: over a year of hourly
# backups, made by lifeboat-bench-repo from one real one) and a plan whose catalog holds the
# jobs they leave; then wall time, CPU and peak RSS of `snapshots`, `forget --dry-run` with a
# year's rules, `status` and the executive report (GNU time). Release binaries. Not a test.
#
#   bench/snapshots-scale.sh [N]      (make release; swift build -c release --product lifeboat-bench-repo)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000}
bin=${BENCH_BIN:-.build-rel/release/lifeboat}
gen=${BENCH_GEN:-$(dirname "$bin")/lifeboat-bench-repo}
[ -x "$bin" ] && [ -x "$gen" ] || { echo "build both release binaries first (lifeboat, lifeboat-bench-repo)" >&2; exit 1; }
scripts/install-deps.sh time
work=${BENCH_DIR:-/tmp/lifeboat-bench}/snapshots-scale-$n
rm -rf "$work"
mkdir -p "$work/src"
export LIFEBOAT_PASSWORD=bench LIFEBOAT_REPOSITORY=$work/repo LIFEBOAT_CACHE_DIR=$work/cache
for i in $(seq 1 200); do head -c $((i * 97)) /dev/urandom > "$work/src/f$i"; done
"$bin" init -q
"$bin" backup -q --host host-0 "$work/src"
"$gen" "$work/repo" snapshots "$n"
cat > "$work/plan.yaml" <<YAML
organization: Bench
catalog: $work/catalog.sqlite
repositories:
  onsite:
    url: $work/repo
    password: "env:LIFEBOAT_PASSWORD"
systems:
  - name: files
    owner: Bench <bench@example.org>
    tier: critical
    sources:
      - path: $work/src
    retention: { hourly: 24, daily: 14, weekly: 8, monthly: 12, yearly: 7 }
    copies: [onsite]
YAML
"$gen" "$work/catalog.sqlite" jobs "$n" files onsite

results=$work/results.md
echo "| snapshots | operation | wall s | CPU s | peak RSS MiB |" | tee "$results"
echo "|---|---|---|---|---|" | tee -a "$results"
measure() { # label command…
  local label=$1; shift
  /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$@" > "$work/out" 2>&1 || { tail -20 "$work/out"; exit 1; }
  read -r wall user sys rss < "$work/time"
  python3 -c "
w,u,s,r=$wall,$user,$sys,$rss
print(f'| $n | $label | {w:.2f} | {u+s:.2f} | {r/1024:.0f} |')" | tee -a "$results"
}
measure "snapshots" "$bin" snapshots
echo "  ($(grep -c . "$work/out") lines)"
measure "snapshots --json" "$bin" snapshots --json
measure "snapshots --host host-1" "$bin" snapshots --host host-1
measure "forget --dry-run (hourly 24, daily 14, weekly 8, monthly 12, yearly 7)" \
  "$bin" forget --dry-run --keep-hourly 24 --keep-daily 14 --keep-weekly 8 --keep-monthly 12 --keep-yearly 7
echo "  ($(grep -ci "remove" "$work/out") lines naming removals)"
measure "status --plan" "$bin" status --plan "$work/plan.yaml"
measure "report executive --plan" "$bin" report executive --plan "$work/plan.yaml" --out "$work" --format html
