#!/usr/bin/env bash
# What the observability costs per request: the same store served by this checkout's `scale serve` (metrics,
# request log of errors, readiness) and by a baseline commit without them (default 6e166a3, the last commit before
# issue 5), measured with wrk in alternating rounds so machine noise hits both alike. Prints requests/s and
# p50/p99 per route and build, and the ratio current/baseline.
# Usage: bench/observability-overhead.sh [--baseline COMMIT] [--seconds 10] [--rounds 3] [--files 20000]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
baseline=6e166a3 seconds=10 rounds=3 files=20000
while [[ $# -gt 0 ]]; do
  case "$1" in
    --baseline) baseline="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --files) files="$2"; shift 2 ;;
    *) echo "usage: $0 [--baseline COMMIT] [--seconds S] [--rounds N] [--files N]" >&2; exit 2 ;;
  esac
done
command -v wrk >/dev/null || { echo "needs wrk: apt-get install wrk" >&2; exit 1; }

work="$root/.cache/bench-observability"
mkdir -p "$work"
tree="$work/baseline-$baseline"
if [[ ! -d "$tree" ]]; then git -C "$root" worktree add --detach "$tree" "$baseline" >/dev/null; fi
echo "building baseline $baseline and current ..."
# A baseline from before the product moved under src/Product has the program at src/Scale.Cli.
baseline_cli="$tree/src/Product/Scale.Cli"
[[ -d "$baseline_cli" ]] || baseline_cli="$tree/src/Scale.Cli"
dotnet build "$baseline_cli" -c Release -v q -nologo >/dev/null
dotnet build "$root/src/Product/Scale.Cli" -c Release -v q -nologo >/dev/null
current_dll="$root/artifacts/bin/Scale.Cli/release/scale.dll"
baseline_dll="$tree/artifacts/bin/Scale.Cli/release/scale.dll"

db="$work/scale-$files.db"
if [[ ! -f "$db" ]]; then
  dotnet "$current_dll" synth --files "$files" --out "$work/corpus-$files" >/dev/null
  SCALE_LOG_FORMAT=text dotnet "$current_dll" run --source "$work/corpus-$files" --db "$db" >/dev/null
fi
song=$(sqlite3 "$db" "SELECT id FROM songs ORDER BY id LIMIT 1 OFFSET 100;" 2>/dev/null || python3 -c "import sqlite3,sys;print(sqlite3.connect(sys.argv[1]).execute('SELECT id FROM songs ORDER BY id LIMIT 1 OFFSET 100').fetchone()[0])" "$db")
routes=("/healthz" "/api/instruments" "/api/songs/$song" "/songs/$song")

start() { # dll port
  SCALE_LOG_FORMAT=json dotnet "$1" serve --db "$db" --urls "http://127.0.0.1:$2" >"$work/serve-$2.log" 2>&1 &
  echo $!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$2/healthz" >/dev/null && return 0; sleep 0.2; done
  echo "server on $2 did not start: $(tail -5 "$work/serve-$2.log")" >&2; exit 1
}
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
pids+=("$(start "$baseline_dll" 18190)")
pids+=("$(start "$current_dll" 18191)")

results="$work/results.tsv"
: > "$results"
for route in "${routes[@]}"; do
  for name in baseline current; do port=$([[ $name == baseline ]] && echo 18190 || echo 18191); wrk -t1 -c8 -d2s "http://127.0.0.1:$port$route" >/dev/null; done
  for round in $(seq "$rounds"); do
    for name in baseline current; do
      port=$([[ $name == baseline ]] && echo 18190 || echo 18191)
      out=$(wrk -t1 -c8 -d"${seconds}s" --latency "http://127.0.0.1:$port$route")
      rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
      p50=$(awk '$1=="50%" {print $2}' <<<"$out")
      p99=$(awk '$1=="99%" {print $2}' <<<"$out")
      errors=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$route" "$name" "$round" "$rps" "$p50" "$p99" "${errors:-0}" >>"$results"
    done
  done
done

python3 - "$results" "$baseline" "$(uptime)" <<'PY'
import sys, re, statistics
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
def ms(text):
    m = re.match(r"([\d.]+)(us|ms|s)", text); v = float(m.group(1))
    return v / 1000 if m.group(2) == "us" else v * 1000 if m.group(2) == "s" else v
print(f"baseline {sys.argv[2]} vs current, wrk -t1 -c8, median of rounds; {sys.argv[3].strip()}\n")
print("| route | baseline req/s | current req/s | ratio | baseline p50 / p99 ms | current p50 / p99 ms |")
print("|---|---:|---:|---:|---:|---:|")
for route in dict.fromkeys(r[0] for r in rows):
    med = {}
    for name in ("baseline", "current"):
        rs = [r for r in rows if r[0] == route and r[1] == name]
        med[name] = (statistics.median(float(r[3]) for r in rs), statistics.median(ms(r[4]) for r in rs), statistics.median(ms(r[5]) for r in rs))
    b, c = med["baseline"], med["current"]
    shown = route if len(route) < 30 else route[:22] + "…"
    print(f"| {shown} | {b[0]:,.0f} | {c[0]:,.0f} | {c[0]/b[0]:.2f} | {b[1]:.2f} / {b[2]:.2f} | {c[1]:.2f} / {c[2]:.2f} |")
PY
