"""Cold start, warm invocations and peak RSS of the Rust function and the Python/boto3 baseline,
side by side, through the Runtime API stand-in (bench/runtime_api.py) against moto.

Each run: a fresh state table per implementation, one cold invocation then N warm ones, each a
10-record SQS batch of fresh alerts (standard workload, bench/workload.py). The two
implementations alternate (Rust first on even runs, Python first on odd ones). For every warm
invocation, moto's own time for the calls it served is read from bench/moto_timed.py.

Every response must have an empty batchItemFailures and every alert must end `healed` in the
table's history, else the run fails.

Usage: python bench/lambda_bench.py --endpoint URL --rust BIN [--python PY] [--runs 5] [--invokes 20]
       [--out results.json]
"""
import argparse
import json
import os
import statistics
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import runtime_api  # noqa: E402
import workload  # noqa: E402


def moto_stats(endpoint, reset=False):
    req = urllib.request.Request(endpoint + "/bench-stats", method="POST" if reset else "GET", data=b"" if reset else None)
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read())


def one_run(world, name, cmd, endpoint, invokes, log_path):
    table = world.new_table(f"bench-{name}")
    env = {
        **workload.aws_env(endpoint),
        "SELFHEAL_TABLE": table,
        "SELFHEAL_MODE_PARAM": workload.MODE_PARAM,
        "SELFHEAL_RUNBOOKS": workload.RUNBOOKS,
        "SELFHEAL_MAX_PER_HOUR": "1000000",
        "SELFHEAL_ACCOUNT_ID": workload.ACCOUNT,
    }
    per_invoke = []
    init_calls = {}
    hooks = {
        "before_start": lambda: moto_stats(endpoint, reset=True),
        "init_done": lambda: init_calls.update(moto_stats(endpoint)),
        "before_invoke": lambda i: moto_stats(endpoint, reset=True),
        "after_invoke": lambda i: per_invoke.append(moto_stats(endpoint)) if i > 0 else None,
    }
    events = [lambda: world.sqs_event(10) for _ in range(invokes + 1)]
    r = runtime_api.run_function(cmd, env, events, log_path=log_path, hooks=hooks)
    problems = []
    if r["errors"]:
        problems.append(f"{len(r['errors'])} invocation errors: {r['errors'][:1]}")
    failures = sum(len((resp or {}).get("batchItemFailures", [])) for resp in r["responses"])
    if failures:
        problems.append(f"{failures} records in batchItemFailures")
    outcomes = world.outcomes(table)
    want = 10 * (invokes + 1)
    if outcomes.get("healed", 0) != want:
        problems.append(f"outcomes {outcomes}, expected {want} healed")
    r.pop("responses")
    r["moto"] = per_invoke
    r["init_calls"] = init_calls.get("requests")
    r["init_moto_busy_ms"] = init_calls.get("busy_s", 0) * 1000
    r["outcomes"] = outcomes
    r["problems"] = problems
    return r


def summarize(runs):
    warm = [w for r in runs for w in r["warm_ms"]]
    moto = [m for r in runs for m in r["moto"]]

    def med(xs):
        return statistics.median(xs) if xs else None

    return {
        "runs": len(runs),
        "init_ms": med([r["init_ms"] for r in runs]),
        "init_ms_min": min(r["init_ms"] for r in runs),
        "init_ms_all": [round(r["init_ms"], 2) for r in runs],
        "init_moto_busy_ms": med([r["init_moto_busy_ms"] for r in runs]),
        "first_ms": med([r["first_ms"] for r in runs]),
        "first_ms_min": min(r["first_ms"] for r in runs),
        "first_invoke_ms": med([r["first_invoke_ms"] for r in runs]),
        "warm_ms": med(warm),
        "warm_ms_p90": statistics.quantiles(warm, n=10)[-1] if len(warm) >= 10 else None,
        "warm_ms_min": min(warm) if warm else None,
        "rss_init_kb": med([r["rss_init_kb"] for r in runs if r.get("rss_init_kb")]),
        "rss_peak_kb": med([r["rss_peak_kb"] for r in runs if r.get("rss_peak_kb")]),
        "rss_peak_kb_max": max((r["rss_peak_kb"] for r in runs if r.get("rss_peak_kb")), default=None),
        "moto_busy_ms": med([m["busy_s"] * 1000 for m in moto]),
        "moto_cpu_ms": med([m["cpu_s"] * 1000 for m in moto]),
        "moto_sum_ms": med([m["sum_s"] * 1000 for m in moto]),
        "calls_per_batch": med([m["requests"] for m in moto]),
        "calls_by_action": moto[-1]["by_action"] if moto else {},
        "init_calls": runs[-1].get("init_calls"),
        "problems": [p for r in runs for p in r["problems"]],
    }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--endpoint", required=True)
    p.add_argument("--rust", required=True, help="the alert-remediator release binary")
    p.add_argument("--python", default=sys.executable, help="Python with boto3 for the baseline")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--invokes", type=int, default=20, help="warm invocations per run")
    p.add_argument("--out")
    p.add_argument("--log-dir", default=os.environ.get("TMPDIR", "/tmp"))
    a = p.parse_args()
    world = workload.World(a.endpoint)
    impls = {
        "rust": [os.path.abspath(a.rust)],
        "python": [a.python, os.path.join(HERE, "python_handler", "bootstrap.py")],
    }
    runs = {"rust": [], "python": []}
    for i in range(a.runs):
        order = ["rust", "python"] if i % 2 == 0 else ["python", "rust"]
        for name in order:
            log = os.path.join(a.log_dir, f"selfheal-bench-{name}.log")
            r = one_run(world, name, impls[name], a.endpoint, a.invokes, log)
            runs[name].append(r)
            print(
                f"  run {i + 1}/{a.runs} {name:6}: init {r['init_ms']:7.1f} ms, first response {r['first_ms']:7.1f} ms, "
                f"warm median {statistics.median(r['warm_ms']):6.1f} ms, peak RSS {r['rss_peak_kb'] / 1024:5.1f} MB"
                + (f"  PROBLEMS: {r['problems']}" if r["problems"] else ""),
                file=sys.stderr,
                flush=True,
            )
    out = {name: summarize(rs) for name, rs in runs.items()}
    out["raw"] = runs
    text = json.dumps(out, indent=2)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    else:
        print(text)
    if any(out[n]["problems"] for n in ("rust", "python")):
        sys.exit(1)


if __name__ == "__main__":
    main()
