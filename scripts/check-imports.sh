#!/usr/bin/env bash
# Checks that every module under Sources/ imports only what docs/architecture.md allows.
# The table between <!-- imports:begin --> and <!-- imports:end --> is the rule; system
# modules (Glibc, Synchronization, Dispatch) are allowed everywhere.
set -euo pipefail
cd "$(dirname "$0")/.."
doc=docs/architecture.md
always=" Glibc Synchronization Dispatch "
table=$(sed -n '/<!-- imports:begin -->/,/<!-- imports:end -->/p' "$doc" | grep '^| `' || true)
[ -n "$table" ] || { echo "check-imports: no import table in $doc" >&2; exit 1; }
status=0
checked=0
for dir in Sources/*/; do
  module=$(basename "$dir")
  row=$(printf '%s\n' "$table" | grep "^| \`$module\` |" || true)
  if [ -z "$row" ]; then
    echo "check-imports: module $module is not in the table of $doc" >&2
    status=1
    continue
  fi
  allowed=" $(printf '%s' "$row" | cut -d'|' -f3 | tr -d '`,' | xargs) "
  while IFS= read -r line; do
    file=${line%%:*}
    imported=$(printf '%s' "$line" | sed -E 's/.*import[[:space:]]+(struct |class |enum |func )?([A-Za-z_][A-Za-z0-9_]*).*/\2/')
    case "$always$allowed" in
      *" $imported "*) ;;
      *) echo "check-imports: $file imports $imported, which $module may not import (see $doc)" >&2; status=1 ;;
    esac
  done < <(grep -HE '^[[:space:]]*(@[A-Za-z]+[[:space:]]+)*((public|package|internal|private|fileprivate)[[:space:]]+)?import[[:space:]]' "$dir" -r --include='*.swift' || true)
  checked=$((checked + 1))
done
[ $status -eq 0 ] && echo "check-imports: $checked modules follow docs/architecture.md"
exit $status
