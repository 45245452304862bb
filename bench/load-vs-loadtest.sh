#!/usr/bin/env bash
# `scale load` beside npm loadtest (the original project's tool), same target, same flags, one after the other in
# one run: achieved rate, percentiles, errors and the CPU each generator used. The target is `scale serve` on a
# synthetic store started here, or --url for another (the lab's HAProxy, say).
# Usage: bench/load-vs-loadtest.sh [--seconds 300] [--rps 500] [--concurrency 50] [--url URL] [--files 20000] [--out FILE]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds=300 rps=500 concurrency=50 url="" files=20000 out=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --rps) rps="$2"; shift 2 ;;
    --concurrency) concurrency="$2"; shift 2 ;;
    --url) url="$2"; shift 2 ;;
    --files) files="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "usage: $0 [--seconds S] [--rps R] [--concurrency C] [--url URL] [--files N] [--out FILE]" >&2; exit 2 ;;
  esac
done
command -v node >/dev/null || { echo "needs Node.js and npm (apt-get install nodejs)" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "needs GNU time (apt-get install time)" >&2; exit 1; }

work="$root/.cache/bench-load"
tools="${SCALE_TOOLS_DIR:-$root/.cache/tools}"
mkdir -p "$work" "$tools"
if [[ ! -x "$tools/node_modules/.bin/loadtest" ]]; then
  npm install --silent --no-audit --no-fund --save-exact --prefix "$tools" loadtest@8.2.1 >/dev/null
fi
dotnet build "$root/src/Product/Scale.Cli" -c Release -v q -nologo >/dev/null
dll="$root/artifacts/bin/Scale.Cli/release/scale.dll"

server_pid=""
cleanup() { [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null || true; }
trap cleanup EXIT
if [[ -z "$url" ]]; then
  db="$work/scale-$files.db"
  if [[ ! -f "$db" ]]; then
    rm -rf "$work/corpus-$files"
    dotnet "$dll" synth --files "$files" --out "$work/corpus-$files" >/dev/null
    SCALE_LOG_FORMAT=text dotnet "$dll" run --source "$work/corpus-$files" --db "$db" >/dev/null
  fi
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  SCALE_LOG_FORMAT=json dotnet "$dll" serve --db "$db" --urls "http://127.0.0.1:$port" >"$work/serve.log" 2>&1 &
  server_pid=$!
  url="http://127.0.0.1:$port/api/instruments"
  for _ in $(seq 1 100); do curl -fs -o /dev/null "http://127.0.0.1:$port/readyz" && break; sleep 0.2; done
  # Warm the server up so neither generator meets a cold one.
  dotnet "$dll" load "$url" -t 5 --rps "$rps" -k -c "$concurrency" --quiet >/dev/null
fi

echo "target $url, $rps requests/s for $seconds s, -c $concurrency, keep-alive; load average $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/time -f '%U %S %e %M' -o "$work/scale.time" dotnet "$dll" load "$url" -t "$seconds" --rps "$rps" -c "$concurrency" -k --json --quiet >"$work/scale.json"
/usr/bin/time -f '%U %S %e %M' -o "$work/loadtest.time" node "$tools/node_modules/loadtest/bin/loadtest.js" "$url" -t "$seconds" --rps "$rps" -c "$concurrency" -k >"$work/loadtest.txt" 2>&1

python3 - "$work" "$rps" "$seconds" "$out" <<'PY'
import json, re, sys
work, rps, seconds, out = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
def times(name):
    user, system, wall, rss = open(f"{work}/{name}.time").read().split()[-4:]
    return float(user) + float(system), float(wall), int(rss) / 1024
s = json.load(open(f"{work}/scale.json"))
text = open(f"{work}/loadtest.txt").read()
def grab(pattern, default="n/a"):
    m = re.search(pattern, text)
    return m.group(1) if m else default
lt = {
    "completed": grab(r"Completed requests:\s+(\d+)"),
    "errors": grab(r"Total errors:\s+(\d+)"),
    "rps": grab(r"Effective rps:\s+([\d.]+)"),
    "mean": grab(r"Mean latency:\s+([\d.]+) ms"),
    **{p: grab(rf"\s{p}%\s+([\d.]+) ms") for p in ("50", "90", "95", "99")},
    "max": grab(r"100%\s+([\d.]+) ms"),
}
scpu, swall, srss = times("scale")
lcpu, lwall, lrss = times("loadtest")
rows = [
    ("completed requests", s["totalRequests"], lt["completed"]),
    ("errors", s["totalErrors"], lt["errors"]),
    ("achieved rate (responses/s)", f'{s["rps"]:.1f}', lt["rps"]),
    ("send rate (requests/s)", f'{s["sendRate"]:.1f}', "not reported"),
    ("mean latency (ms)", f'{s["meanLatencyMs"]:.2f}', lt["mean"]),
    ("p50 (ms)", f'{s["percentiles"]["50"]:.2f}', lt["50"]),
    ("p90 (ms)", f'{s["percentiles"]["90"]:.2f}', lt["90"]),
    ("p95 (ms)", f'{s["percentiles"]["95"]:.2f}', lt["95"]),
    ("p99 (ms)", f'{s["percentiles"]["99"]:.2f}', lt["99"]),
    ("max (ms)", f'{s["maxLatencyMs"]:.2f}', lt["max"]),
    ("late / dropped sends", f'{s["late"]} / {s["dropped"]}', "not reported"),
    ("CPU used (s, user+system)", f"{scpu:.1f}", f"{lcpu:.1f}"),
    ("CPU share of one core", f"{scpu / swall:.1%}", f"{lcpu / lwall:.1%}"),
    ("peak RSS (MB)", f"{srss:.0f}", f"{lrss:.0f}"),
]
table = "| | scale load | npm loadtest 8.2.1 |\n|---|---:|---:|\n" + "\n".join(f"| {a} | {b} | {c} |" for a, b, c in rows)
print(table)
if out:
    with open(out, "a") as f:
        f.write(table + "\n")
PY
