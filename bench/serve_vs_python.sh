#!/usr/bin/env bash
# `selfheal serve --queue-url URL --once` against moto, process start → exit for a 10-message queue
# (standard workload: SNS-wrapped alarms, ten instances of role api, precheck+commands+verify), next
# to the Python/boto3 equivalent bench/python_serve.py. Each run gets a fresh table and queue; the
# two alternate. Wall time is measured around the process (date +%s%N), peak RSS with
# /usr/bin/time (else by polling VmHWM). Every message must end `healed` and the queue must be
# empty, else the script fails.
#
# Usage: bench/serve_vs_python.sh ENDPOINT [RUNS]
#   env: SELFHEAL_BIN (default target/release/selfheal), BENCH_PYTHON (default .venv/bin/python)
# Prints one JSON object per run on stdout, a readable line per run on stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
endpoint=${1:?usage: bench/serve_vs_python.sh ENDPOINT [RUNS]}
runs=${2:-5}
bin=${SELFHEAL_BIN:-target/release/selfheal}
py=${BENCH_PYTHON:-.venv/bin/python}
[ -x "$bin" ] || { echo "missing $bin (cargo build --release -p selfheal)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A clean environment, like a cron job or a container would give.
base_env=(
  env -i PATH="$PATH" LANG=C.UTF-8 HOME="$tmp"
  AWS_ENDPOINT_URL="$endpoint" AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_EC2_METADATA_DISABLED=true
  SELFHEAL_MODE_PARAM=/selfheal-bench/mode SELFHEAL_RUNBOOKS="$PWD/bench/runbooks/bench.json"
  SELFHEAL_MAX_PER_HOUR=1000000 SELFHEAL_ACCOUNT_ID=123456789012
)

# Runs "$@" and writes its peak RSS in kB to $tmp/rss.
peak_rss() {
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f "%M" -o "$tmp/rss" "$@"
  else
    "$@" &
    local pid=$! hwm=0 v
    while kill -0 "$pid" 2>/dev/null; do
      v=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
      [ -n "$v" ] && hwm=$v
      sleep 0.002
    done
    wait "$pid"
    echo "$hwm" > "$tmp/rss"
  fi
}

measure() {
  local name=$1; shift
  local table url start end
  read -r table url < <("$py" bench/workload.py serve-setup "$endpoint" "bench-serve-$name")
  curl -sf -X POST "$endpoint/bench-stats" > /dev/null
  start=$(date +%s%N)
  peak_rss "${base_env[@]}" SELFHEAL_TABLE="$table" "$@" --queue-url "$url" --once \
    > "$tmp/out" 2> "$tmp/err" || { echo "$name failed:" >&2; cat "$tmp/err" >&2; exit 1; }
  end=$(date +%s%N)
  curl -sf "$endpoint/bench-stats" > "$tmp/moto"
  "$py" bench/workload.py outcomes "$endpoint" "$table" > "$tmp/outcomes"
  "$py" bench/workload.py queue-depth "$endpoint" "$url" > "$tmp/depth"
  "$py" - "$name" "$(( (end - start) / 1000 ))" "$(tail -1 "$tmp/rss")" "$tmp" <<'EOF'
import json, sys
name, wall_us, rss, tmp = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
moto = json.load(open(f"{tmp}/moto"))
outcomes = json.load(open(f"{tmp}/outcomes"))
depth = int(open(f"{tmp}/depth").read())
lines = open(f"{tmp}/out").read().split()
problems = []
if outcomes.get("healed") != 10:
    problems.append(f"outcomes {outcomes}")
if depth:
    problems.append(f"{depth} messages left in the queue")
r = {"impl": name, "wall_ms": wall_us / 1000, "rss_kb": rss, "outcomes": outcomes, "queue_left": depth,
     "moto_busy_ms": moto["busy_s"] * 1000, "moto_cpu_ms": moto["cpu_s"] * 1000, "calls": moto["requests"],
     "by_action": moto["by_action"], "problems": problems}
print(json.dumps(r))
with open(f"{tmp}/all.jsonl", "a") as f:
    f.write(json.dumps(r) + "\n")
print(f"  serve {name:6}: {r['wall_ms']:8.1f} ms start→exit, peak RSS {rss / 1024:5.1f} MB, "
      f"{r['calls']} AWS calls, moto busy {r['moto_busy_ms']:7.1f} ms"
      + (f"  PROBLEMS: {problems}" if problems else ""), file=sys.stderr)
EOF
}

for i in $(seq 1 "$runs"); do
  if (( i % 2 )); then
    measure rust "$bin" serve
    measure python "$py" bench/python_serve.py
  else
    measure python "$py" bench/python_serve.py
    measure rust "$bin" serve
  fi
done
# Every run is reported; any run with problems (a message not healed, messages left) fails the script.
if grep -q '"problems": \["' "$tmp/all.jsonl"; then
  exit 1
fi
