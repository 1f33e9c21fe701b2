#!/usr/bin/env bash
# The storage demo (`make demo-backup`): back up a real directory of this machine, back it up again (incremental), restore
# it, prove the restored tree identical (lifeboat --verify and an independent comparison),
# read and authenticate every byte in the repository, and print the statistics.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.build/release/lifeboat
source_dir=${DEMO_SOURCE:-/usr/share/doc}
work=$(mktemp -d /tmp/lifeboat-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
export LIFEBOAT_REPOSITORY="$work/repo"
export LIFEBOAT_PASSWORD_FILE="$work/password"
head -c 24 /dev/urandom | base64 > "$LIFEBOAT_PASSWORD_FILE"
chmod 600 "$LIFEBOAT_PASSWORD_FILE"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
timed() { /usr/bin/time -f "   (%e s wall, %U s user, %S s sys, peak RSS %M KiB)" "$@"; }

step "lifeboat init (repository in $LIFEBOAT_REPOSITORY)"
$bin init
step "lifeboat backup $source_dir"
timed $bin backup "$source_dir" --tag demo
step "lifeboat backup $source_dir again (unchanged files are not read)"
timed $bin backup "$source_dir" --tag demo
step "lifeboat snapshots"
$bin snapshots
step "lifeboat restore latest --verify"
timed $bin restore latest --target "$work/restore" --verify
step "independent comparison of $source_dir with the restored copy"
python3 scripts/compare-trees.py "$source_dir" "$work/restore$source_dir"
step "lifeboat check --read-data (every pack read, every blob authenticated)"
timed $bin check --read-data
step "lifeboat stats"
$bin stats
echo
echo "demo complete: $source_dir was backed up, restored byte-for-byte identical and verified."
