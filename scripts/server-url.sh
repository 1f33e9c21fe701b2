#!/usr/bin/env bash
# Prints the base URL (http://127.0.0.1:PORT) that a `lifeboat serve --port 0` started in the
# background announces in its log, waiting up to 10 s for it. Without one, prints the log to
# stderr and exits 1.  Usage: base=$(scripts/server-url.sh LOGFILE)
set -euo pipefail
log=$1
for _ in $(seq 1 100); do
  base=$(grep -o 'http://127.0.0.1:[0-9]*' "$log" 2>/dev/null | head -1 || true)
  if [ -n "$base" ]; then
    echo "$base"
    exit 0
  fi
  sleep 0.1
done
echo "the server did not start; its log:" >&2
cat "$log" >&2
exit 1
