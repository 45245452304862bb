#!/usr/bin/env bash
# Load benchmark of the web app (issue 3): every page and API route of `scale serve`, one after the other, at a
# fixed rate of requests per second from the npm `loadtest` tool, over the full-scale synthetic store.
# Goal per route: p99 < 20 ms and zero errors at 500 requests/s for 60 s. Prints a Markdown table (route, target
# and achieved rps, p50/p99/max, errors, CPU of the server and of loadtest) and writes it to
# bench/results/web-load-<date>.md. Exits 1 when a route misses the goal (after printing everything).
#
# Usage: bench/web-load.sh [--db FILE] [--seconds 60] [--rps 500] [--keep] [--routes a,b] [--warmup 5]
#                          [--work DIR] [--out FILE] [--no-keepalive]
#   --db FILE       a filled store (`scale run` with its similarity step). Default: build the full-scale synthetic
#                   store in --work (176,581 files; ≈ 7 GB disk, a few minutes), or reuse the one built there before.
#   --keep          keep the store built in --work for the next run (default: delete it at the end).
#   --routes a,b    only these routes (names as in `--routes list`).
#   --warmup S      seconds of load at the same rate before each measured run, not measured (default 5).
#   --no-keepalive  a new connection per request (loadtest's default; 500 rps × 60 s nears the ephemeral port range).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

loadtest_version=8.2.1
goal_ms=20
full_files=176581

db="" seconds=60 rps=500 keep=0 only="" warmup=5 keepalive=1 out=""
work="${TMPDIR:-/tmp}/scale-web-load"
usage() {
  sed -n '/^# Usage:/,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
  exit "${1:-2}"
}
while [[ $# -gt 0 ]]; do
  case "$1" in
    --db) db="${2:?--db needs a file}"; shift ;;
    --seconds) seconds="${2:?}"; shift ;;
    --rps) rps="${2:?}"; shift ;;
    --keep) keep=1 ;;
    --routes) only="${2:?--routes needs names, or list}"; shift ;;
    --warmup) warmup="${2:?}"; shift ;;
    --work) work="${2:?}"; shift ;;
    --out) out="${2:?}"; shift ;;
    --no-keepalive) keepalive=0 ;;
    -h|--help) usage 0 ;;
    *) echo "bench/web-load.sh: unknown argument '$1'" >&2; usage ;;
  esac
  shift
done
for n in "$seconds" "$rps" "$warmup"; do
  [[ "$n" =~ ^[0-9]+$ ]] || { echo "bench/web-load.sh: --seconds, --rps and --warmup take whole numbers; got '$n'" >&2; exit 2; }
done
[[ $seconds -ge 1 && $rps -ge 1 ]] || { echo "bench/web-load.sh: --seconds and --rps must be at least 1" >&2; exit 2; }

# The routes: name, method, path (with {placeholders} filled from the data below), body. Read from src/Product/Scale.Web:
# Pages/PageEndpoints.cs, Pages/StaticAssets.cs, Api/ApiEndpoints.cs, Legacy/LegacyEndpoints.cs, ScaleWebApp.cs.
route_table='
home                       GET  /
home-instruments           GET  /?instrument={i1}&instrument={i2}
home-search                GET  /?q={word}&sort=name
song                       GET  /songs/{id}
instruments                GET  /instruments
runs                       GET  /runs
static-css                 GET  /static/site.css
static-js                  GET  /static/site.js
healthz                    GET  /healthz
openapi                    GET  /openapi/v1.json
api-instruments            GET  /api/instruments
api-instrument             GET  /api/instruments/{i1}
api-songs                  GET  /api/songs?instrument={i1}&instrument={i2}&pageSize=50
api-songs-search           GET  /api/songs?q={word}&sort=name&pageSize=50
api-song                   GET  /api/songs/{id}
api-similar                GET  /api/songs/{id}/similar
test_db                    GET  /test_db
load_index                 GET  /load_index
get_songs_for_instruments  POST /get_songs_for_instruments {"instruments":"73"}
show_similar_songs         GET  /show_similar_songs/{id}
get_similar_songs          GET  /get_similar_songs?filename={id}
'
names=() methods=() paths=() bodies=()
while read -r name method path body; do
  [[ -n "$name" ]] || continue
  names+=("$name") methods+=("$method") paths+=("$path") bodies+=("${body:-}")
done <<< "$route_table"
if [[ "$only" == list ]]; then
  for i in "${!names[@]}"; do printf '%-27s %-4s %s %s\n' "${names[$i]}" "${methods[$i]}" "${paths[$i]}" "${bodies[$i]}"; done
  exit 0
fi
selected=()
if [[ -z "$only" ]]; then
  selected=("${!names[@]}")
else
  IFS=',' read -r -a wanted <<< "$only"
  for w in "${wanted[@]}"; do
    found=""
    for i in "${!names[@]}"; do [[ "${names[$i]}" == "$w" ]] && found=$i; done
    [[ -n "$found" ]] || { echo "bench/web-load.sh: no route named '$w' (see --routes list)" >&2; exit 2; }
    selected+=("$found")
  done
fi

# Tools: Node.js + npm (NodeSource's nodejs brings npm; don't mix it with Debian's npm package), loadtest in the
# project's tool cache (the same prefix tests/run installs s3rver into), curl.
if ! command -v node >/dev/null 2>&1 && [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "bench/web-load.sh: installing nodejs ..." >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs >/dev/null
fi
for tool in node npm curl; do
  command -v "$tool" >/dev/null 2>&1 || { echo "bench/web-load.sh needs $tool (Node.js with npm, e.g. from NodeSource; curl)" >&2; exit 1; }
done
tools="${SCALE_TOOLS_DIR:-$root/.cache/tools}"
loadtest="$tools/node_modules/.bin/loadtest"
if [[ ! -x "$loadtest" ]]; then
  mkdir -p "$tools"
  echo "bench/web-load.sh: installing loadtest@$loadtest_version into $tools ..." >&2
  (
    flock 9   # tests/run or another benchmark may be installing into the same prefix
    [[ -x "$loadtest" ]] || npm install --silent --no-audit --no-fund --prefix "$tools" "loadtest@$loadtest_version" >/dev/null
  ) 9>"$tools/.install.lock"
fi

scale="$root/scale"
"$scale" --help >/dev/null   # build once, before anything is timed

tmp="$(mktemp -d "${TMPDIR:-/tmp}/web-load.XXXXXX")"
server_pid="" built_store=0
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
  if [[ $built_store -eq 1 && $keep -eq 0 ]]; then
    echo "bench/web-load.sh: deleting $work (keep it for the next run with --keep)" >&2
    rm -rf "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The store: given, or the full-scale synthetic one (built once; reused when complete).
if [[ -n "$db" ]]; then
  [[ -f "$db" ]] || { echo "bench/web-load.sh: no store at $db" >&2; exit 1; }
else
  built_store=1
  db="$work/scale.db"
  if [[ -f "$work/.complete" && -f "$db" ]]; then
    echo "== reusing the full-scale store $db" >&2
  else
    mkdir -p "$work"
    if [[ -f "$work/corpus/synth-manifest.tsv" && $(($(wc -l < "$work/corpus/synth-manifest.tsv") - 1)) -eq $full_files ]]; then
      echo "== reusing the corpus in $work/corpus" >&2
    else
      free_gb=$(df -P -BG "$work" | awk 'NR == 2 { sub("G", "", $4); print $4 }')
      if [[ "$free_gb" -lt 8 ]]; then
        echo "bench/web-load.sh: the full-scale corpus needs ≈ 7 GB; $work has ${free_gb} GB free (or pass --db)" >&2
        exit 1
      fi
      rm -rf "$work/corpus"
      echo "== writing $full_files synthetic files to $work/corpus" >&2
      "$scale" synth --files "$full_files" --out "$work/corpus" --seed 42 >&2
    fi
    rm -f "$db" "$db-wal" "$db-shm"
    echo "== scale run (extraction and similar songs) into $db" >&2
    "$scale" run --source "$work/corpus" --names "$work/corpus/md5_to_paths.json" --db "$db" >&2
    touch "$work/.complete"
  fi
fi

# The server, on a free port chosen by the kernel (port 0); its address comes from its first line.
serve_log="$tmp/serve.log"
"$scale" serve --db "$db" --urls http://127.0.0.1:0 > "$serve_log" 2>&1 &
server_pid=$!
base=""
for _ in $(seq 600); do
  kill -0 "$server_pid" 2>/dev/null || { echo "bench/web-load.sh: scale serve exited:" >&2; cat "$serve_log" >&2; exit 1; }
  base=$(sed -n 's|^scale serve: .* on \(http://127\.0\.0\.1:[0-9][0-9]*\).*|\1|p' "$serve_log" | head -n 1)
  [[ -z "$base" ]] && base=$(sed -n 's|.*Now listening on: \(http://127\.0\.0\.1:[0-9][0-9]*\).*|\1|p' "$serve_log" | head -n 1)
  if [[ -n "$base" ]] && { curl -fs -o /dev/null --max-time 5 "$base/healthz" || curl -fs -o /dev/null --max-time 5 "$base/"; }; then
    break
  fi
  base=""
  sleep 0.5
done
[[ -n "$base" ]] || { echo "bench/web-load.sh: scale serve did not answer within 5 minutes:" >&2; cat "$serve_log" >&2; exit 1; }
echo "== scale serve (pid $server_pid) answers on $base" >&2

# JSON from the app, read with node (there anyway for loadtest). json EXPR: EXPR over `j` (the parsed stdin).
json() {
  node -e 'let s = ""; process.stdin.on("data", d => s += d).on("end", () => {
    const v = new Function("j", "return (" + process.argv[1] + ")")(JSON.parse(s)); console.log(v ?? ""); })' "$1"
}
get() { curl -fsS --max-time 60 "$base$1"; }

# Parameters from the data: the song with the most similar songs, the two most used instruments (the largest
# two-instrument result set), and a word of that song's name for the name filter.
health=$(get /healthz)
songs=$(json 'j.songs' <<< "$health")
data_version=$(json 'j.dataVersion' <<< "$health")
instruments_json=$(get /api/instruments)
i1=$(json 'j.slice().sort((a, b) => b.songs - a.songs)[0].code' <<< "$instruments_json")
i2=$(json 'j.slice().sort((a, b) => b.songs - a.songs)[1].code' <<< "$instruments_json")
top=$(get '/api/songs?sort=-similar&pageSize=1')
id=$(json 'j.items[0].id' <<< "$top")
similar_count=$(json 'j.items[0].similarCount' <<< "$top")
word=$(json 'j.items[0].name.split("/").pop().split(/[^A-Za-z0-9]+/).filter(w => w.length >= 4).pop() || "the"' <<< "$top")
word=$(tr '[:upper:]' '[:lower:]' <<< "$word")
[[ -n "$id" && -n "$i1" && -n "$i2" ]] || { echo "bench/web-load.sh: the store has no songs to load-test with" >&2; exit 1; }
fill() {
  local p="$1"
  p=${p//\{i1\}/$i1}; p=${p//\{i2\}/$i2}; p=${p//\{id\}/$id}; p=${p//\{word\}/$word}
  printf '%s' "$p"
}

# Routes the app has that this script does not load: from its OpenAPI document (API and original routes) and the
# page endpoints in the source, when run from a checkout.
uncovered=()
known=" "
# Templates compare with every {parameter} written as {}.
template() { sed -E 's/\{[^}]*\}/{}/g' <<< "${1%%\?*}"; }
for i in "${!names[@]}"; do known+="$(template "${paths[$i]}") "; done
if openapi_paths=$(get /openapi/v1.json 2>/dev/null | json 'Object.keys(j.paths).join(" ")'); then
  for p in $openapi_paths; do [[ "$known" == *" $(template "$p") "* ]] || uncovered+=("$p"); done
fi
if [[ -d "$root/src/Product/Scale.Web/Pages" ]]; then
  while read -r p; do
    [[ -z "$p" || "$known" == *" $(template "$p") "* ]] || uncovered+=("$p")
  done < <(grep -rhoE 'Map(Get|Post|Methods)\("/[^"]*"' "$root/src/Product/Scale.Web/Pages" | sed -E 's/.*\("([^"]*)"/\1/' | sort -u)
fi

# Results file.
date_tag=$(date -u +%Y-%m-%d)
if [[ -z "$out" ]]; then
  if [[ $seconds -eq 60 && $rps -eq 500 && -z "$only" && $keepalive -eq 1 ]]; then
    out="$root/bench/results/web-load-$date_tag.md"
  else
    out="$root/bench/results/web-load-$date_tag-${seconds}s-${rps}rps.md"
  fi
fi
mkdir -p "$(dirname "$out")"
report="$tmp/report.md"   # copied to $out at the end, so an interrupted run leaves no half table
clk_tck=$(getconf CLK_TCK)
cpu_ticks() {   # utime + stime of a process, in clock ticks (fields 14 and 15 of /proc/PID/stat)
  local rest
  rest=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
  awk '{ print $12 + $13 }' <<< "$rest"
}
agent_flag=()
[[ $keepalive -eq 1 ]] && agent_flag=(-k)
lt_version=$("$loadtest" --version 2>/dev/null | awk '{ print $NF }')
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo "?")
dirty=$(git -C "$root" status --porcelain -- src 2>/dev/null | head -c 1)
db_mb=$(( $(stat -c %s "$db") / 1000000 ))
args="--seconds $seconds --rps $rps${only:+ --routes $only}"
[[ $keepalive -eq 1 ]] || args+=" --no-keepalive"
[[ $warmup -eq 5 ]] || args+=" --warmup $warmup"
dirty_note=""
[[ -z "$dirty" ]] || dirty_note=" (with uncommitted changes under src/)"
{
  echo "# Web app under load ($(date -u +%Y-%m-%dT%H:%MZ))"
  echo
  echo "\`bench/web-load.sh $args\` at commit $commit$dirty_note."
  echo "Each route: ${warmup} s of warm-up at the same rate (not measured), then \`loadtest -t $seconds --rps $rps${agent_flag[*]:+ ${agent_flag[*]}} --cores 1 URL\`"
  echo "(loadtest $lt_version, Node $(node --version), one process; open loop: requests leave at the rate whatever the answers do)."
  echo
  echo "Machine: $(nproc) cores ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), $(free -g | awk '/Mem:/ { print $2 }') GB RAM, shared with other builds;"
  echo "load average before start: $(cut -d' ' -f1-3 /proc/loadavg). loadtest and the server share these cores."
  if awk -v l="$(cut -d' ' -f1 /proc/loadavg)" -v n="$(nproc)" 'BEGIN { exit !(l > n) }'; then
    echo
    echo "**The machine was busy** (load average above its $(nproc) cores): the server waited for CPU; latencies overstate"
    echo "what it needs. *server ms/req* is the figure least moved by that."
  fi
  echo
  echo "Store: $songs songs (data version $data_version), $db_mb MB ($(basename "$db")). Parameters from it: song \`$id\`"
  echo "($similar_count similar songs, the most), instruments $i1 and $i2 (the two most used), name filter \`$word\`."
  echo
  echo "Goal (issue 3): p99 < $goal_ms ms and 0 errors at $rps requests/s; also required here: achieved ≥ 95% of the target rate."
  echo
  echo "| route | target rps | achieved rps | p50 ms | p99 ms | max ms | errors | server CPU | server ms/req | loadtest CPU | load 1m | bytes | goal |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
} > "$report"

failed=0 passed=0 notes=()
for i in "${selected[@]}"; do
  name="${names[$i]}" method="${methods[$i]}" body="${bodies[$i]}"
  path=$(fill "${paths[$i]}")
  url="$base$path"
  label="\`$method $path\`"
  req=()
  curl_req=()
  if [[ "$method" == POST ]]; then
    req=(-T application/json -P "$body")
    curl_req=(-X POST -H 'Content-Type: application/json' --data-raw "$body")
    label="\`POST $path $body\`"
  fi
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "| $label | $rps | 0 | – | – | – | – | – | – | – | – | – | **fail** (server gone) |" >> "$report"
    failed=$((failed + 1))
    continue
  fi
  check=$(curl -s -o /dev/null --max-time 30 -w '%{http_code} %{size_download}' "${curl_req[@]}" "$url" || echo "000 0")
  status=${check% *} bytes=${check#* }
  [[ "$status" =~ ^2 ]] || notes+=("$name: a single request before the load answered $status.")
  echo "== $name: $method $url (status $status, $bytes bytes)" >&2
  if [[ $warmup -gt 0 ]]; then
    (cd "$tmp" && "$loadtest" -t "$warmup" --rps "$rps" "${agent_flag[@]}" --cores 1 --quiet "${req[@]}" "$url" > /dev/null 2>&1) || true
  fi
  load1=$(cut -d' ' -f1 /proc/loadavg)
  result="$tmp/$name.txt"
  before=$(cpu_ticks "$server_pid")
  lt_rc=0
  TIMEFORMAT='%U %S %R'
  { time (cd "$tmp" && "$loadtest" -t "$seconds" --rps "$rps" "${agent_flag[@]}" --cores 1 --quiet "${req[@]}" "$url" > "$result" 2>&1); } 2> "$tmp/time" || lt_rc=$?
  after=$(cpu_ticks "$server_pid")
  read -r lt_user lt_sys lt_wall < "$tmp/time"
  read -r completed errors elapsed achieved p50 p99 max < <(awk '
    /^Completed requests:/ { c = $3 } /^Total errors:/ { e = $3 } /^Total time:/ { t = $3 } /^Effective rps:/ { r = $3 }
    $1 == "50%" { p50 = $2 } $1 == "99%" { p99 = $2 } $1 == "100%" { mx = $2 }
    END { print (c == "" ? "?" : c), (e == "" ? "?" : e), (t == "" ? 0 : t), (r == "" ? 0 : r), (p50 == "" ? "?" : p50), (p99 == "" ? "?" : p99), (mx == "" ? "?" : mx) }' "$result")
  codes=$(awk '$NF == "errors" && $1 ~ /:$/ { sub(":", "", $1); printf "%s%s × %s", sep, $2, $1; sep = ", " }' "$result")
  [[ "$p50" == false ]] && p50="n/a"
  [[ "$p99" == false ]] && p99="n/a"
  server_ms=$(awk -v d=$((after - before)) -v hz="$clk_tck" -v n="$completed" 'BEGIN { printf "%.2f", (n > 0 ? 1000 * d / hz / n : 0) }')
  server_cpu=$(awk -v d=$((after - before)) -v hz="$clk_tck" -v s="$elapsed" 'BEGIN { printf "%.0f%%", (s > 0 ? 100 * d / hz / s : 0) }')
  lt_cpu=$(awk -v u="$lt_user" -v y="$lt_sys" -v w="$lt_wall" 'BEGIN { printf "%.0f%%", (w > 0 ? 100 * (u + y) / w : 0) }')
  verdict=pass why=()
  [[ "$p99" =~ ^[0-9]+$ && $p99 -lt $goal_ms ]] || why+=("p99")
  [[ "$errors" == 0 ]] || why+=("errors")
  [[ "$completed" =~ ^[0-9]+$ && $completed -gt 0 ]] || why+=("no answers")
  awk -v a="$achieved" -v t="$rps" 'BEGIN { exit !(a >= 0.95 * t) }' || why+=("rps")
  [[ $lt_rc -eq 0 ]] || why+=("loadtest exit $lt_rc")
  if [[ ${#why[@]} -gt 0 ]]; then
    joined=$(IFS=,; echo "${why[*]}")
    verdict="**fail** (${joined//,/, })"
    failed=$((failed + 1))
  else
    passed=$((passed + 1))
  fi
  [[ -n "$codes" ]] && notes+=("$name: errors by status (-1 = connection error or timeout): $codes.")
  if [[ $lt_rc -ne 0 ]]; then
    notes+=("$name: loadtest exited with $lt_rc: $(tail -n 3 "$result" | tr '\n' ' ')")
  fi
  row="| $label | $rps | $achieved | $p50 | $p99 | $max | $errors | $server_cpu | $server_ms | $lt_cpu | $load1 | $bytes | $verdict |"
  echo "$row" >> "$report"
  echo "   $row" >&2
done

{
  echo
  echo "$passed of $((passed + failed)) routes meet the goal."
  echo
  echo "Columns: *achieved rps* is answered requests over the run's time; *p50/p99/max* are loadtest's latencies"
  echo "(whole milliseconds, rounded down, so p99 19 means under 20 ms; no timeout, so a slow answer counts at its full"
  echo "time; requests still open when the run ends are not counted); *errors* are answers ≥ 400 and connection errors;"
  echo "*server CPU* is the \`scale serve\` process's user + system time during the measured run (/proc/PID/stat) over"
  echo "its wall time, *server ms/req* the same time per answered request, *loadtest CPU* loadtest's (100% = one core;"
  echo "this machine has $(nproc)); *load 1m* the one-minute load average just before the run; *bytes* one answer's body."
  if [[ ${#notes[@]} -gt 0 || ${#uncovered[@]} -gt 0 ]]; then
    echo
    echo "Notes:"
    echo
    for n in "${notes[@]}"; do echo "- $n"; done
    [[ ${#uncovered[@]} -gt 0 ]] && echo "- Routes of the app not loaded by this script: ${uncovered[*]}."
  fi
} >> "$report"
cp "$report" "$out"
echo >&2
cat "$out"
echo >&2
echo "Written to ${out#"$root"/}" >&2
[[ $failed -eq 0 ]]
