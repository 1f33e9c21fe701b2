#!/usr/bin/env bash
# Benchmarks. `bench/run.sh --smoke` is the tiny CI run (debug build is fine) that keeps the
# harness from rotting; without it this is the full side-by-side run against restic and borg,
# in release mode, installing the peers from Debian first.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--smoke" ]; then
  bin=.build/release/lifeboat
  [ -x "$bin" ] || bin=.build/debug/lifeboat
  [ -x "$bin" ] || swift build
  python3 bench/bench.py --smoke --bin "$bin" "${@:2}"
  exec python3 bench/server_load.py --smoke --bin "$bin"
fi
scripts/install-deps.sh restic borgbackup
swift build -c release
exec python3 bench/bench.py "$@"
