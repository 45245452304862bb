#!/usr/bin/env bash
# End-to-end timing of `scale run` on synthetic Lakh-shaped corpora: a shard the size of one Lakh folder
# (11,036 files) and, with --full, full scale (176,581 files ≈ 6 GB). Writes bench/results/e2e-<date>.md.
# Usage: bench/e2e.sh [--full] [--keep] [--work DIR]   (a corpus kept with --keep is reused)
# The corpus is generated first (not timed); `scale run` is timed from a warm page cache, as a re-run on a
# machine that just downloaded the data would be. Needs ≈ 7 GB free disk for --full.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
full=0 keep=0 work="${TMPDIR:-/tmp}/scale-e2e"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --full) full=1 ;;
    --keep) keep=1 ;;
    --work) work="$2"; shift ;;
    *) echo "usage: bench/e2e.sh [--full] [--keep] [--work DIR]" >&2; exit 2 ;;
  esac
  shift
done
command -v sqlite3 >/dev/null || { echo "bench/e2e.sh needs sqlite3: apt-get install sqlite3" >&2; exit 1; }
scale="$root/scale"
"$scale" --help >/dev/null   # build once, outside the timings
mkdir -p "$work" "$root/bench/results"
out="$root/bench/results/e2e-$(date -u +%Y-%m-%d).md"
{
  echo "# scale run, end to end ($(date -u +%Y-%m-%dT%H:%MZ))"
  echo
  echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GB RAM, load average before start: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  echo "| corpus | files | MiB | wall s | files/s | MiB/s | valid | invalid |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
} > "$out"

bench_one() {
  local name="$1" files="$2" dir="$work/$1"
  if [[ -f "$dir/corpus/synth-manifest.tsv" && $(($(wc -l < "$dir/corpus/synth-manifest.tsv") - 1)) -eq $files ]]; then
    echo "== $name: reusing the corpus in $dir/corpus" >&2
    rm -f "$dir"/scale.db*
  else
    rm -rf "$dir"
    echo "== $name: writing $files synthetic files to $dir (not timed)" >&2
    "$scale" synth --files "$files" --out "$dir/corpus" --seed 42 >&2
  fi
  find "$dir/corpus" -name '*.mid' -exec cat {} + > /dev/null   # warm the page cache
  local mb; mb=$(du -sm --apparent-size "$dir/corpus" | cut -f1)
  echo "== $name: scale run" >&2
  local start end; start=$(date +%s.%N)
  "$scale" run --source "$dir/corpus" --names "$dir/corpus/md5_to_paths.json" --db "$dir/scale.db" > "$dir/run.txt"
  end=$(date +%s.%N)
  cat "$dir/run.txt" >&2
  local secs valid invalid
  secs=$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')
  valid=$(sqlite3 "$dir/scale.db" "select count(*) from songs" 2>/dev/null || echo "?")
  invalid=$(sqlite3 "$dir/scale.db" "select count(*) from invalid_files" 2>/dev/null || echo "?")
  awk -v n="$name" -v f="$files" -v m="$mb" -v s="$secs" -v v="$valid" -v i="$invalid" \
    'BEGIN { printf "| %s | %d | %d | %.1f | %.0f | %.1f | %s | %s |\n", n, f, m, s, f / s, m / s, v, i }' >> "$out"
  [[ $keep -eq 1 ]] || rm -rf "$dir"
}

bench_one shard 11036
[[ $full -eq 1 ]] && bench_one full 176581
echo >> "$out"
echo "Re-run: \`bench/e2e.sh$([[ $full -eq 1 ]] && echo ' --full')\`. Wall time includes process start and SQLite writes." >> "$out"
cat "$out"
