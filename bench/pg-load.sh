#!/usr/bin/env bash
# The bulk-load figure of issue 4: the full-scale synthetic results (176,581 files: songs, instruments, ledger,
# invalid files in 2,000-file batches, then every eligible song's similar list of 100 entries) loaded through the
# store into a throwaway PostgreSQL 15 primary + streaming replica, and into SQLite in the same run for the ratio.
# Writes bench/results/pg-load-<date>.md (the goal: PostgreSQL under 60 s).
#
# Usage: bench/pg-load.sh [--files N] [--batch N] [--no-durable] [--skip-sqlite] [--profile] [--set name=value]...
#                         [--db CONNECTION-STRING] [--out FILE]
#   --files        files' results to load (default 176,581, Lakh's size)
#   --batch        files per WriteBatchAsync (default 2,000)
#   --no-durable   fsync = off on the servers (default on, as in production)
#   --set          a postgresql.conf setting for both servers, e.g. --set work_mem=64MB
#   --profile      add the server time per statement (pg_stat_statements) to the note (not with --db)
#   --db           load into this existing, empty PostgreSQL database instead (e.g. tools/pg-local.sh up's)
#   --out          where the note goes (default bench/results/pg-load-<date>.md; - for none)
# The cluster is the tests' (tests/Scale.Testing/Postgres): as root the servers run as 'postgres', and Debian's
# postgresql is installed first when missing; it is removed when the run ends, however it ends.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/bench/results/pg-load-$(date -u +%Y-%m-%d).md"
args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) out="$2"; shift ;;
    --files|--batch|--set|--db) args+=("$1" "$2"); shift ;;
    --no-durable|--skip-sqlite|--durable|--profile) args+=("$1") ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "pg-load: unknown argument '$1' (--help)" >&2; exit 2 ;;
  esac
  shift
done
[[ $out == - ]] || { mkdir -p "$(dirname "$out")"; args+=(--out "$out"); }

echo "== building tests/Scale.Store.Tests (Release)" >&2
dotnet build "$root/tests/Scale.Store.Tests" -c Release -v quiet -nologo >&2
dll="$root/artifacts/bin/Scale.Store.Tests/release/Scale.Store.Tests.dll"
dotnet exec "$dll" load "${args[@]}"
