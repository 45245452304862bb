#!/usr/bin/env bash
# Repeatability: N runs, each on a freshly started default lab (`scale lab down`, `scale lab up`, then the short forms
# at once, as a new user would), optionally with one core kept busy by another process for the whole run. Writes
# every run's journals and reports and a table of every run, not just the good ones.
# Usage: deploy/chaos/repeat.sh [--runs N] [--first K] [--busy-core] [--out DIR] [EXPERIMENT ...]
#   --first K: go on with a series in DIR from run K (runs 1 to K-1 are kept and counted in the table).
#   Default: 5 runs of run-all.sh's list (`deploy/chaos/run-all.sh --list`: every experiment, and the zone experiments
#   again against /test_db at 500 requests/s). Needs root (the lab's zones are network namespaces). About 12 minutes
#   per run with every experiment.
#   Writes DIR/README.md (held or not, run by run), DIR/figures.md (every measured value, deploy/chaos/series-figures.py)
#   and keeps each run's lab logs (DIR/run-N/lab-logs.tar.gz).
#   Exit code: 0 when every experiment held in every run (an experiment this machine cannot run counts as not held).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
runs=5 first=1 busy=0 out="chaos-repeat-$(date -u +%Y%m%dT%H%M%SZ)" names=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --first) first="$2"; shift 2 ;;
    --busy-core) busy=1; shift ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) sed -n '2,/^set /{/^#/p}' "$0"; exit 0 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) names+=("$1"); shift ;;
  esac
done
[[ ${#names[@]} -gt 0 ]] || mapfile -t names < <("$root/deploy/chaos/run-all.sh" --list)
[[ $(id -u) -eq 0 ]] || { echo "repeat.sh: the lab needs root (network namespaces)" >&2; exit 2; }
mkdir -p "$out"
out="$(cd "$out" && pwd)"

lab_dir="${SCALE_LAB_DIR:-${TMPDIR:-/tmp}/scale-lab-$(id -un)}"

# Build once, before any lab runs from the build output (rebuilding under a running lab would swap its files).
"$root/scale" --help >/dev/null

stress_pid=
stop_stress() { [[ -n "$stress_pid" ]] && kill "$stress_pid" 2>/dev/null; wait "$stress_pid" 2>/dev/null || true; stress_pid=; }
trap 'stop_stress; "$root/scale" lab down >/dev/null 2>&1 || true' EXIT
if [[ $busy -eq 1 ]]; then
  command -v stress-ng >/dev/null || apt-get install -y -qq stress-ng >/dev/null
  # One CPU worker at 100 %: another tenant keeping one of the cores busy for the whole run, lab start included.
  stress-ng --cpu 1 --cpu-load 100 --quiet &
  stress_pid=$!
  echo "repeat.sh: one core kept busy by stress-ng (pid $stress_pid)"
fi

status=0
for ((run = first; run <= runs; run++)); do
  dir="$out/run-$run"
  mkdir -p "$dir"
  echo "== run $run of $runs: fresh lab"
  "$root/scale" lab down >"$dir/lab-down.log" 2>&1 || true
  start=$(date +%s)
  if ! "$root/scale" lab up >"$dir/lab-up.log" 2>&1; then
    echo "run $run: scale lab up failed (see $dir/lab-up.log)"; status=1; continue
  fi
  echo "   lab up in $(( $(date +%s) - start )) s; experiments start at once"
  "$root/deploy/chaos/run-all.sh" --short --out "$dir" "${names[@]}" >"$dir/summary.txt" 2>&1 || status=1
  # The lab's logs (every process's output: Patroni and PostgreSQL, web instances, HAProxy) go with the run, so a
  # line that did not hold can be explained afterwards; the next `scale lab up` starts from an empty folder.
  # postgres_exporter logs its connection string, password included, when it cannot connect: redacted in a copy.
  if [[ -d "$lab_dir/logs" ]]; then
    copy="$(mktemp -d)"
    cp -r "$lab_dir/logs" "$copy/"
    grep -rlZ -i password "$copy/logs" | xargs -0 -r sed -i -E 's/(password(=|%3D|: ?))[^ %&"'"'"',;]+/\1REDACTED/Ig'
    tar -czf "$dir/lab-logs.tar.gz" -C "$copy" logs
    rm -rf "$copy"
  else
    echo "run $run: no lab logs in $lab_dir/logs"
  fi
  # No table when run-all.sh did not get that far: that run counts as not held below, and the series goes on.
  grep -E '^\| ' "$dir/summary.txt" | tail -n +2 | sed "s/^/   run $run /" || true
done
stop_stress
"$root/scale" lab down >/dev/null 2>&1 || true
trap - EXIT

python3 - "$out" "$runs" "$busy" "${names[@]}" <<'PY'
import json, os, sys
out, runs, busy, names = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4:]
# The machine, so series run on different machines (or on a busier host) can be told apart.
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "unknown CPU")
stat = open("/proc/stat").readline().split()[1:]
steal = int(stat[7]) / max(1, sum(map(int, stat[:8])))
lines = [f"# Short forms, {runs} runs, each on a freshly started default lab{' with one core kept busy' if busy else ''}", "",
         f"Machine: {os.cpu_count()} cores, {cpu}; {steal:.1%} of its CPU time since boot stolen by the hypervisor.", "",
         "| experiment | " + " | ".join(f"run {r}" for r in range(1, runs + 1)) + " | held |", "|---|" + "---|" * runs + "---:|"]
for name in names:
    cells, held = [], 0
    for r in range(1, runs + 1):
        path = f"{out}/run-{r}/{name}.journal.json"
        if not os.path.exists(path):
            cells.append("no journal"); continue
        j = json.load(open(path)); s = j["extensions"][0]; load = s.get("load") or {}
        failed = [v["line"] for v in s["verdicts"] if not v["met"]]
        ok = s["hypothesis_held"]; held += ok
        cell = ("held" if ok else "**NOT**: " + (", ".join(failed) if failed else j["status"]))
        if load: cell += f" ({load.get('errors', 0)} errors of {load.get('completed', 0)}, p99 {load.get('p99_ms', '-')} ms)"
        cells.append(cell)
    lines.append(f"| {name} | " + " | ".join(cells) + f" | {held}/{runs} |")
open(f"{out}/README.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
# And the figures behind that table: every measured verdict line, run by run.
python3 "$root/deploy/chaos/series-figures.py" "$out" "${names[@]}" >"$out/figures.md"
echo "repeat.sh: table in $out/README.md, every figure in $out/figures.md"
exit $status
