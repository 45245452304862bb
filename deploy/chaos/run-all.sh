#!/usr/bin/env bash
# Runs the experiments of deploy/chaos/experiments one after the other on the lab (full forms by default) and
# writes each one's journal and HTML report, then a summary table of the measured values from the journals.
# Usage: deploy/chaos/run-all.sh [--short] [--out DIR] [--dir LAB_DIR] [--screenshots] [EXPERIMENT ...]
#   The lab must be up (scale lab up). --screenshots: also DIR/NAME.png, each report as Chromium renders it
#   (1040 x 1500, the images docs/chaos-results.md shows). Exit code: 0 when every hypothesis held.
#   NAME@test_db runs experiment NAME against the original app's steady state instead of its own browsing mix:
#   /test_db (two database reads per request) at 500 requests/s, in the short form too. --list prints the default list.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
short=() out="chaos-results" lab=() names=() screenshots=0
# The zone experiments twice: with their browsing mix, and with the original's /test_db at 500 requests/s.
default_names=(zone-outage zone-partition zone-latency zone-outage@test_db zone-partition@test_db zone-latency@test_db
  zone-loss primary-loss cpu-exhaustion batch-worker-loss)
while [[ $# -gt 0 ]]; do
  case "$1" in
    --short) short=(--short); shift ;;
    --out) out="$2"; shift 2 ;;
    --dir) lab=(--dir "$2"); shift 2 ;;
    --screenshots) screenshots=1; shift ;;
    --list) printf '%s\n' "${default_names[@]}"; exit 0 ;;
    -h|--help) sed -n 2,8p "$0"; exit 0 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) names+=("$1"); shift ;;
  esac
done
[[ ${#names[@]} -gt 0 ]] || names=("${default_names[@]}")
for name in "${names[@]}"; do
  [[ -f "$root/deploy/chaos/experiments/${name%@*}.json" ]] || { echo "run-all.sh: no experiment ${name%@*} in deploy/chaos/experiments" >&2; exit 2; }
  case "$name" in *@*) [[ "${name#*@}" == test_db ]] || { echo "run-all.sh: unknown steady state @${name#*@} in $name (known: @test_db)" >&2; exit 2; } ;; esac
done
# Not built here: the lab's web instances run from the same build output, and rebuilding under them would swap
# their files. Build before `scale lab up` (dotnet build -c Release src/Product/Scale.Cli), or point SCALE_DLL at a build.
dll="${SCALE_DLL:-$root/artifacts/bin/Scale.Cli/release/scale.dll}"
[[ -f "$dll" ]] || { echo "no $dll: dotnet build -c Release src/Product/Scale.Cli first" >&2; exit 2; }
scale=(dotnet "$dll")
mkdir -p "$out"
out_abs="$(cd "$out" && pwd)"
browser=
if [[ $screenshots -eq 1 ]]; then
  browser="$(command -v chromium || command -v chromium-browser || true)"
  [[ -n "$browser" ]] || { echo "run-all.sh: --screenshots needs Chromium (apt-get install chromium)" >&2; exit 2; }
fi
status=0
for name in "${names[@]}"; do
  echo "== $name"
  steady=()
  [[ "$name" != *@test_db ]] || steady=(--var 'paths=["/test_db"]' --var rps=500)
  "${scale[@]}" chaos run "$root/deploy/chaos/experiments/${name%@*}.json" --target lab "${lab[@]}" "${short[@]}" "${steady[@]}" \
    --journal "$out/$name.journal.json" --report "$out/$name.html" || status=1
  if [[ -n "$browser" && -f "$out/$name.html" ]]; then
    # The report is self-contained (inline SVG, no script, nothing fetched), so a headless render is the page as read.
    "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1040,1500 \
      --screenshot="$out_abs/$name.png" "file://$out_abs/$name.html" >/dev/null 2>&1 \
      || echo "run-all.sh: no screenshot of $name.html" >&2
  fi
done

python3 - "$out" "${names[@]}" <<'PY'
import json, sys
out, names = sys.argv[1], sys.argv[2:]
print("\n| experiment | held | status | duration (s) | requests | errors | p99 (ms) | max (ms) | lines met |")
print("|---|---|---|---:|---:|---:|---:|---:|---:|")
for name in names:
    try:
        j = json.load(open(f"{out}/{name}.journal.json"))
    except FileNotFoundError:
        print(f"| {name} | no journal | | | | | | | |")
        continue
    s = j["extensions"][0]
    load = s.get("load") or {}
    verdicts = s["verdicts"]
    met = sum(1 for v in verdicts if v["met"])
    print(f"| {name} | {'yes' if s['hypothesis_held'] else 'NO'} | {j['status']}{', deviated' if j['deviated'] else ''} | {j['duration']:.0f} | "
          f"{load.get('completed', '-')} | {load.get('errors', '-')} | {load.get('p99_ms', '-')} | {load.get('max_ms', '-')} | {met}/{len(verdicts)} |")
for name in names:
    try:
        j = json.load(open(f"{out}/{name}.journal.json"))
    except FileNotFoundError:
        continue
    print(f"\n{name}:")
    for v in j["extensions"][0]["verdicts"]:
        print(f"  {'ok  ' if v['met'] else 'FAIL'} {v['phase']:<7} {v['line']}: {v['explanation']}")
PY
exit $status
