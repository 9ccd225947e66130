#!/usr/bin/env bash
# Peak RSS and wall time of aggregating 1,000,000 history records into the weekly report
# (issue 6 targets: ≤ 1 s and ≤ 64 MB). Builds the criterion bench binary in the bench profile
# and runs it once in REPORT_RSS mode, which prints VmHWM from /proc/self/status; when
# /usr/bin/time is present its "Maximum resident set size" is printed too.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(cargo bench -p selfheal-core --bench report --no-run --message-format=json 2>/dev/null \
  | python3 -c 'import json,sys
for l in sys.stdin:
    m=json.loads(l)
    if m.get("reason")=="compiler-artifact" and m.get("target",{}).get("name")=="report" and m.get("executable"):
        print(m["executable"])' | tail -1)
[ -x "$bin" ] || { echo "report bench binary not found" >&2; exit 1; }
if [ -x /usr/bin/time ]; then
  REPORT_RSS=1 /usr/bin/time -v "$bin" 2> >(grep -E "Maximum resident|Elapsed" >&2)
else
  REPORT_RSS=1 "$bin"
fi
