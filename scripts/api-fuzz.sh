#!/usr/bin/env bash
# Fuzzes the server's API from its own OpenAPI document with Schemathesis (PyPI): a throwaway
# server on 127.0.0.1 with one tenant and one repository, then every operation with generated
# inputs, stateful sequences included, checked for server errors and conformance to the document.
#
#   scripts/api-fuzz.sh [MAX_EXAMPLES]        # default 25 per operation
set -euo pipefail
cd "$(dirname "$0")/.."
examples=${1:-25}
python3 -c 'import schemathesis' 2>/dev/null || python3 -m pip install --quiet schemathesis
bin=.build/release/lifeboat
[ -x "$bin" ] || bin=.build/debug/lifeboat
[ -x "$bin" ] || swift build
work=$(mktemp -d /tmp/lifeboat-fuzz.XXXXXX)
"$bin" serve --data "$work/data" --port 0 --admin-token-file "$work/admin" --log-level error >"$work/log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
base=$(scripts/server-url.sh "$work/log")
admin=$(cat "$work/admin")
curl -fsS -X POST -H "Authorization: Bearer $admin" -d '{"id":"acme"}' "$base/api/v1/tenants" >/dev/null
curl -fsS -X POST -H "Authorization: Bearer $admin" -d '{"name":"files"}' "$base/api/v1/tenants/acme/repositories" >/dev/null
python3 -m schemathesis.cli run "$base/api/v1/openapi.yaml" --url "$base" -H "Authorization: Bearer $admin" \
  --checks all --max-examples "$examples"
