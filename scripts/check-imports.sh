#!/usr/bin/env bash
# Checks the architecture's rules (docs/architecture.md, "Import rules"):
# 1. every module under Sources/ is in the import table, and imports only what its row allows
#    (system modules Glibc, Synchronization and Dispatch are allowed everywhere);
# 2. every row allows only modules of a lower rank: no upward or sideways edge;
# 3. nothing outside Sources/LifeboatCore/Clock.swift reads a clock.
set -euo pipefail
cd "$(dirname "$0")/.."
doc=docs/architecture.md
always=" Glibc Synchronization Dispatch "
table=$(sed -n '/<!-- imports:begin -->/,/<!-- imports:end -->/p' "$doc" | grep '^| `' || true)
[ -n "$table" ] || { echo "check-imports: no import table in $doc" >&2; exit 1; }
status=0
checked=0

# The rank of each module in the table.
declare -A rank
while IFS= read -r row; do
  m=$(printf '%s' "$row" | cut -d'|' -f2 | tr -d '` ')
  r=$(printf '%s' "$row" | cut -d'|' -f3 | tr -d ' ')
  [[ "$r" =~ ^[0-9]+$ ]] || { echo "check-imports: $m has no rank in $doc" >&2; status=1; continue; }
  rank[$m]=$r
done <<< "$table"

# 2. Rows point down.
while IFS= read -r row; do
  m=$(printf '%s' "$row" | cut -d'|' -f2 | tr -d '` ')
  for dep in $(printf '%s' "$row" | cut -d'|' -f4 | tr -d '`,'); do
    [ -n "${rank[$dep]+x}" ] || continue  # a package or system module
    if [ "${rank[$dep]}" -ge "${rank[$m]:-0}" ]; then
      echo "check-imports: $m (rank ${rank[$m]}) may not import $dep (rank ${rank[$dep]}): imports point to lower ranks" >&2
      status=1
    fi
  done
done <<< "$table"

# 1. Imports follow the rows.
for dir in Sources/*/; do
  module=$(basename "$dir")
  row=$(printf '%s\n' "$table" | grep "^| \`$module\` |" || true)
  if [ -z "$row" ]; then
    echo "check-imports: module $module is not in the table of $doc" >&2
    status=1
    continue
  fi
  allowed=" $(printf '%s' "$row" | cut -d'|' -f4 | tr -d '`,' | xargs) "
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

# 3. Time is injected: only the clock reads it. Each line is checked after removing the forms
# that are not reads (an injected clock's `.now()`, `SystemClock()` as a default argument or in
# the CLI's CommandClock), so a read hidden beside an allowed form is still found.
clock_reads='Date\(\)|Date\.init\(\)|Date\.now|\.now\(\)|(Continuous|Suspending)Clock\.now|ContinuousClock\(\)|SuspendingClock\(\)|timeIntervalSinceNow|CFAbsoluteTimeGetCurrent|gettimeofday|clock_gettime|systemUptime|[^a-z_]time\((nil|&)|datetime\(.now.\)|SystemClock\(\)'
reads=$(grep -rnE "$clock_reads" Sources --include='*.swift' | grep -v '^Sources/LifeboatCore/Clock.swift:' \
  | grep -vE '^[^:]+:[0-9]+:[[:space:]]*//' \
  | sed -E 's/CommandClock\.(system|reporting\(\))\.now\(\)//g; s/([A-Za-z_]+\.)*[cC]lock(\(\))?\.now\(\)//g; s/: any WallClock = SystemClock\(\)//g' \
  | sed -E '/^Sources\/LifeboatCLI\/CommandClock.swift:/s/SystemClock\(\)//g' \
  | grep -E "$clock_reads" || true)
if [ -n "$reads" ]; then
  printf '%s\n' "$reads" | sed 's/^/check-imports: reads the clock outside LifeboatCore\/Clock.swift (take a WallClock, a Stopwatch or Deadline.after): /' >&2
  status=1
fi

[ $status -eq 0 ] && echo "check-imports: $checked modules follow docs/architecture.md (ranks, imports, time)"
exit $status
