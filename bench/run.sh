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
  python3 bench/server_load.py --smoke --bin "$bin"
  status=0
  bench/s3.sh --smoke || status=$?
  scripts/s3-server.sh stop >/dev/null
  exit $status
fi
# Peers: restic and borg from Debian, and borg 1.4 from PyPI where it builds (it needs the
# headers below); bench.py then measures borg 1.4 instead of Debian's 1.2.
scripts/install-deps.sh restic borgbackup python3-venv liblz4-dev libxxhash-dev libacl1-dev libssl-dev
venv="${BENCH_DIR:-/tmp/lifeboat-bench}/borg14"
if [ ! -x "$venv/bin/borg" ]; then
  rm -rf "$venv"
  if python3 -m venv "$venv" && "$venv/bin/pip" install -q "borgbackup>=1.4,<1.5"; then
    echo "built $("$venv/bin/borg" --version) from PyPI"
  else
    echo "borg 1.4 did not build from PyPI; measuring Debian's borg instead" >&2
    rm -rf "$venv"
  fi
fi
[ -x "$venv/bin/borg" ] && export BENCH_BORG="$venv/bin/borg"
make -s release
python3 bench/bench.py "$@"
# Restores from S3 and from a Lifeboat server, beside the local disk and restic on the same S3,
# into docs/BENCHMARKS.md: a regression on a remote path shows in the table.
if [ $# -eq 0 ]; then
  BENCH_REMOTE_OUT=/tmp/lifeboat-bench-remote.md bench/s3.sh /usr/share 3
  python3 - docs/BENCHMARKS.md /tmp/lifeboat-bench-remote.md <<'PY'
import re, sys
doc, table = open(sys.argv[1]).read(), open(sys.argv[2]).read().strip()
doc = re.sub(r"<!-- remote:begin -->.*<!-- remote:end -->",
             lambda m: "<!-- remote:begin -->\n" + table + "\n<!-- remote:end -->", doc, flags=re.S)
open(sys.argv[1], "w").write(doc)
PY
fi
