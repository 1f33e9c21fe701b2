#!/usr/bin/env bash
# check --read-data-max-age on the bin corpus (#23): bytes read by consecutive checks.
# The corpus (/opt/swift/usr/bin, ~1.5 GB of binaries) is backed up once; then checks run
# with a short age, so the share of the period between two runs is visible in seconds:
# the first reads everything, each later one about (seconds since the last) / age of it.
#
#   bench/check-age.sh [AGE] [PAUSE_SECONDS]     (default: 2m, 12 s → a tenth per run)
set -euo pipefail
cd "$(dirname "$0")/.."
age=${1:-2m}
pause=${2:-12}
bin=${BENCH_BIN:-.build-rel/release/lifeboat}
[ -x "$bin" ] || bin=.build/release/lifeboat
[ -x "$bin" ] || { echo "build the release binary first (make release)" >&2; exit 1; }
work=${BENCH_DIR:-/tmp/lifeboat-bench}/check-age
rm -rf "$work"; mkdir -p "$work/cache"
export LIFEBOAT_PASSWORD=bench LIFEBOAT_CACHE_DIR=$work/cache
"$bin" init -q -r "$work/repo" --kdf pbkdf2
"$bin" backup -q -r "$work/repo" /opt/swift/usr/bin
total=$(du -sb "$work/repo/data" | cut -f1)
echo "repository data: $((total >> 20)) MiB in $(find "$work/repo/data" -type f | wc -l) packs; age $age, a check every $pause s"
echo "| run | packs read | bytes read | share of the data |"
echo "|---|---|---|---|"
for run in 1 2 3 4; do
  [ $run -gt 1 ] && sleep "$pause"
  out=$("$bin" check --json -r "$work/repo" --read-data-max-age "$age")
  python3 -c "
import json,sys
r=json.loads(sys.argv[1]); t=int(sys.argv[2])
print(f\"| {sys.argv[3]} | {r['packsRead']} | {r['bytesRead']/2**20:.0f} MiB | {100*r['bytesRead']/t:.1f} % |\")" "$out" "$total" "$run"
done
