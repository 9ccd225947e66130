"""Prints the one summary table of bench/run from the results directory.

Inputs (any may be missing): criterion's estimates under TARGET/criterion (handler bench),
RESULTS/lambda.json (bench/lambda_bench.py), RESULTS/serve.jsonl (bench/serve_vs_python.sh),
RESULTS/calls.json (bench/calls.py: AWS calls per alert, mixed batch, storm),
RESULTS/sizes.tsv (binary, bytes), RESULTS/load.txt (machine load lines).

Usage: python bench/table.py RESULTS_DIR TARGET_DIR
"""
import glob
import json
import os
import statistics
import sys


def criterion(target):
    """full_id → (median ns, throughput elements or None)."""
    out = {}
    for bj in glob.glob(os.path.join(target, "criterion", "**", "new", "benchmark.json"), recursive=True):
        try:
            meta = json.load(open(bj))
            est = json.load(open(os.path.join(os.path.dirname(bj), "estimates.json")))
        except (OSError, ValueError):
            continue
        elements = (meta.get("throughput") or {}).get("Elements")
        out[meta["full_id"]] = (est["median"]["point_estimate"], est["mean"]["point_estimate"], elements)
    return out


def fmt(v, unit="", digits=1):
    if v is None:
        return "n/a"
    if isinstance(v, str):
        return v
    return f"{v:,.{digits}f}{unit}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "n/a"
    return f"{a / b:.2f}×"


def verdict(ok):
    return "n/a" if ok is None else ("PASS" if ok else "MISS")


def calls_rows(calls):
    """Rows of bench/calls.py: the Rust column is `selfheal serve`, the Python column the naive
    script (bench/python_naive.py) unless the row says otherwise."""
    rows = []
    runs = calls.get("healable", [])

    def med(impl, key):
        xs = [r[key] for r in runs if r["impl"] == impl and r.get(key) is not None]
        return statistics.median(xs) if xs else None

    def med_op(impl, op):
        xs = [r["per_alert"].get(op, 0) for r in runs if r["impl"] == impl and r["healed"]]
        return statistics.median(xs) if xs else None

    if runs:
        rc, nc, pc = med("selfheal", "calls_per_alert"), med("naive", "calls_per_alert"), med("python", "calls_per_alert")
        rows.append(("AWS calls per healed alert (selfheal / naive)", fmt(rc, "", 1), fmt(nc, "", 1), ratio(rc, nc), "report", ""))
        ops = sorted({op for r in runs if r["impl"] in ("selfheal", "naive") for op in r["per_alert"]})
        for op in ops:
            rows.append((f"  {op} per healed alert", fmt(med_op("selfheal", op), "", 1), fmt(med_op("naive", op), "", 1),
                         "", "", ""))
        rows.append(("  python_serve.py (full handler) per healed alert", "", fmt(pc, "", 1), ratio(rc, pc), "", ""))
        rw, nw, pw = med("selfheal", "wall_ms"), med("naive", "wall_ms"), med("python", "wall_ms")
        ok = rw / nw <= 0.5 if rw and nw else None
        rows.append(("serve --once 10 messages vs naive: start → exit (ms, median)", fmt(rw, " ms"), fmt(nw, " ms"),
                     ratio(rw, nw), "≤ 0.5× naive", verdict(ok)))
        rows.append(("  python_serve.py start → exit (ms, median)", "", fmt(pw, " ms"), ratio(rw, pw), "", ""))
        bw, bc = med("before", "wall_ms"), med("before", "calls_per_alert")
        if bw:
            ok = rw / bw <= 0.5 if rw else None
            rows.append(("serve --once 10 messages vs the earlier build (BENCH_SELFHEAL_BEFORE), same run",
                         fmt(rw, " ms"), fmt(bw, " ms"), ratio(rw, bw), "≤ 0.5× before", verdict(ok)))
            rows.append(("  AWS calls per healed alert, earlier build", fmt(rc, "", 1), fmt(bc, "", 1), ratio(rc, bc), "", ""))
        r50, r95, n50, n95 = med("selfheal", "p50_ms"), med("selfheal", "p95_ms"), med("naive", "p50_ms"), med("naive", "p95_ms")
        rows.append(("  ReceiveMessage → alert's first SendCommand p50 / p95 (ms)", f"{fmt(r50)} / {fmt(r95)}",
                     f"{fmt(n50)} / {fmt(n95)}", ratio(r50, n50), "", ""))
    mixed = calls.get("mixed") or {}
    if "selfheal" in mixed:
        m, n = mixed["selfheal"], mixed.get("naive")
        rows.append(("mixed 10-message batch: AWS calls per batch", fmt(m["calls"], "", 0), fmt(n["calls"], "", 0) if n else "",
                     ratio(m["calls"], n["calls"]) if n else "", "report", ""))
        ops = sorted(set(m["by_action"]) | set((n or {}).get("by_action", {})))
        for op in ops:
            rows.append((f"  {op}", fmt(m["by_action"].get(op, 0), "", 0), fmt((n or {}).get("by_action", {}).get(op, 0), "", 0) if n else "",
                         "", "", ""))
        for i, msg in enumerate(m["messages"]):
            other = ""
            if n:
                same = [x for x in n["messages"] if x["kind"] == msg["kind"]]
                k = [x for x in m["messages"] if x["kind"] == msg["kind"]].index(msg)
                if k < len(same):
                    other = f"{same[k]['outcome']} ({same[k]['disposition']})"
            rows.append((f"  message {i + 1} ({msg['kind']}): outcome", f"{msg['outcome']} ({msg['disposition']})", other, "", "", ""))
    st = calls.get("storm")
    if st:
        head = (f"storm: {st['alerts']:,} alerts, {st['instances']} instances × {len(st['roles'])} roles, "
                f"{st['workers']} serve workers")
        rows.append((head + ": calls per alert", fmt(st["calls_per_alert"], "", 1), "", "", "report", ""))
        rows.append(("  wall time (s)", fmt(st["wall_s"], " s") + (" (timed out)" if st["timed_out"] else ""), "", "", "report", ""))
        if st.get("last_send_s") is not None:
            rows.append(("  first ReceiveMessage → last SendCommand (s)", fmt(st["last_send_s"], " s"), "", "", "", ""))
        fin = st.get("finished", sum(st["final_outcomes"].values()))
        rows.append(("  alerts finished (message deleted)", f"{fin:,} of {st['alerts']:,}", "", "", "all",
                     verdict(fin >= st["alerts"])))
        rows.append(("  ConditionalCheckFailed answers", fmt(st["conditional_check_failed"], "", 0), "", "", "report", ""))
        rows.append(("  TransactionCanceled answers", fmt(st["transaction_canceled"], "", 0), "", "", "report", ""))
        ret = ", ".join(f"{k} {v}" for k, v in sorted(st["returned"].items())) or "none"
        rows.append(("  records returned to the queue", f"{st['returned_total']:,} ({ret})", "", "", "report", ""))
        fin = ", ".join(f"{k} {v}" for k, v in sorted(st["final_outcomes"].items()))
        rows.append(("  final outcomes (deleted)", fin, "", "", "report", ""))
        worst = max((c["max_overlap"] for c in st["caps"].values()), default=None)
        rows.append((f"  most overlapping remediations of one role (max_concurrent {st['max_concurrent']})",
                     fmt(worst, "", 0), "", "", f"≤ {st['max_concurrent']}",
                     verdict(None if worst is None else worst <= st["max_concurrent"])))
        rows.append(("  roles with a cap violation", fmt(st["cap_violations"], "", 0), "", "", "0", verdict(st["cap_violations"] == 0)))
    return rows


def main():
    results, target = sys.argv[1], sys.argv[2]
    rows = []  # (measure, rust, python, ratio, target, verdict)

    c = criterion(target)

    def crit(full_id):
        return c.get(full_id)

    one = crit("handler/one alert")
    batch = crit("handler/10-record batch")
    event = crit("handler/lambda event 10 records")
    spawned = crit("throughput/10k alerts/1000 batches x 10 spawned")
    if one:
        us = one[0] / 1000
        rows.append(("handler overhead per alert, fakes (µs, median)", fmt(us, " µs", 2), "", "", "≤ 50 µs", verdict(us <= 50)))
    if batch:
        ms = batch[0] / 1e6
        rows.append(("warm 10-record batch, fakes (ms, median)", fmt(ms, " ms", 3), "", "", "≤ 0.5 ms", verdict(ms <= 0.5)))
    if event:
        ms = event[0] / 1e6
        rows.append(("  same from event JSON to response JSON", fmt(ms, " ms", 3), "", "", "≤ 0.5 ms", verdict(ms <= 0.5)))
    for label, r in (("10k alerts as 1000 concurrent 10-record batches, 2 workers", spawned),):
        if r:
            per_s = r[2] / (r[0] / 1e9)
            rows.append((label + " (alerts/s)", fmt(per_s, "/s", 0), "", "", "≥ 20,000/s", verdict(per_s >= 20_000)))

    lam = None
    try:
        lam = json.load(open(os.path.join(results, "lambda.json")))
    except (OSError, ValueError):
        pass
    if lam:
        r, p = lam["rust"], lam["python"]
        init_ok = r["init_ms"] <= 30 and r["init_ms"] <= 0.2 * p["init_ms"]
        rows.append(("Lambda init: start → first next (ms, median)", fmt(r["init_ms"], " ms"), fmt(p["init_ms"], " ms"),
                     ratio(r["init_ms"], p["init_ms"]), "≤ 30 ms and ≤ 0.2×", verdict(init_ok)))
        rows.append(("  min over runs (ms)", fmt(r["init_ms_min"], " ms"), fmt(p["init_ms_min"], " ms"),
                     ratio(r["init_ms_min"], p["init_ms_min"]), "", ""))
        rows.append(("  of which moto serving GetParameter (ms)", fmt(r["init_moto_busy_ms"], " ms"), fmt(p["init_moto_busy_ms"], " ms"),
                     "", "", ""))
        rows.append(("Lambda start → first response (ms)", fmt(r["first_ms"], " ms"), fmt(p["first_ms"], " ms"),
                     ratio(r["first_ms"], p["first_ms"]), "", ""))
        rows.append(("  first (cold) 10-record invocation (ms)", fmt(r["first_invoke_ms"], " ms"), fmt(p["first_invoke_ms"], " ms"),
                     ratio(r["first_invoke_ms"], p["first_invoke_ms"]), "", ""))
        rows.append(("warm 10-record invocation, moto (ms, median)", fmt(r["warm_ms"], " ms"), fmt(p["warm_ms"], " ms"),
                     ratio(r["warm_ms"], p["warm_ms"]), "", ""))
        rows.append(("  p90 / min (ms)", f"{fmt(r['warm_ms_p90'])} / {fmt(r['warm_ms_min'])}",
                     f"{fmt(p['warm_ms_p90'])} / {fmt(p['warm_ms_min'])}", "", "", ""))
        rows.append(("  moto's own time for those calls (busy ms, median)", fmt(r["moto_busy_ms"], " ms"), fmt(p["moto_busy_ms"], " ms"),
                     "", "", ""))
        rows.append(("  moto CPU for those calls (ms, median)", fmt(r["moto_cpu_ms"], " ms"), fmt(p["moto_cpu_ms"], " ms"), "", "", ""))
        rows.append(("  AWS calls per batch", fmt(r["calls_per_batch"], "", 0), fmt(p["calls_per_batch"], "", 0), "", "", ""))
        w_over = r["warm_ms"] / r["moto_busy_ms"] if r["moto_busy_ms"] else None
        p_over = p["warm_ms"] / p["moto_busy_ms"] if p["moto_busy_ms"] else None
        latency = 0.0
        try:
            for line in open(os.path.join(results, "load.txt")):
                if line.startswith("moto:"):
                    latency = float(line.split()[1])
        except (OSError, ValueError, IndexError):
            pass
        rows.append(("  warm invocation ÷ moto's own time", fmt(w_over, "×", 2), fmt(p_over, "×", 2), "",
                     "≤ 1.5×" if not latency else f"n/a: {latency:g} ms latency added",
                     verdict(w_over <= 1.5 if w_over and not latency else None)))
        rss_r, rss_p = r["rss_peak_kb"] / 1024, p["rss_peak_kb"] / 1024
        rows.append(("Lambda peak RSS over the run (MB, VmHWM)", fmt(rss_r, " MB"), fmt(rss_p, " MB"), ratio(rss_r, rss_p),
                     "≤ 30 MB and ≤ 0.4×", verdict(rss_r <= 30 and rss_r <= 0.4 * rss_p)))
        rows.append(("  RSS at first next (after init)", fmt(r["rss_init_kb"] / 1024, " MB"), fmt(p["rss_init_kb"] / 1024, " MB"),
                     ratio(r["rss_init_kb"], p["rss_init_kb"]), "", ""))

    serve = []
    try:
        serve = [json.loads(l) for l in open(os.path.join(results, "serve.jsonl")) if l.strip().startswith("{")]
    except (OSError, ValueError):
        pass
    if serve:
        def med(impl, key):
            xs = [s[key] for s in serve if s["impl"] == impl]
            return statistics.median(xs) if xs else None

        rw, pw = med("rust", "wall_ms"), med("python", "wall_ms")
        rows.append(("serve --once, 10 messages: start → exit (ms, median)", fmt(rw, " ms"), fmt(pw, " ms"), ratio(rw, pw), "report", ""))
        rr, pr = med("rust", "rss_kb"), med("python", "rss_kb")
        rows.append(("  peak RSS (MB)", fmt(rr / 1024 if rr else None, " MB"), fmt(pr / 1024 if pr else None, " MB"), ratio(rr, pr), "report", ""))
        rb, pb = med("rust", "moto_busy_ms"), med("python", "moto_busy_ms")
        rows.append(("  moto's own time for the run's calls (ms)", fmt(rb, " ms"), fmt(pb, " ms"), "", "", ""))
        rows.append(("  AWS calls", fmt(med("rust", "calls"), "", 0), fmt(med("python", "calls"), "", 0), "", "", ""))

    calls = None
    try:
        calls = json.load(open(os.path.join(results, "calls.json")))
    except (OSError, ValueError):
        pass
    if calls:
        rows += calls_rows(calls)

    try:
        for line in open(os.path.join(results, "sizes.tsv")):
            name, size = line.split()
            if size == "-":
                rows.append((f"binary size {name} (stripped release)", "not built", "", "", "< 15 MB", "n/a"))
            else:
                mb = int(size) / 1e6
                rows.append((f"binary size {name} (stripped release)", fmt(mb, " MB", 2), "", "", "< 15 MB", verdict(mb < 15)))
    except OSError:
        pass

    head = ("measure", "Rust", "Python", "Rust/Python", "target", "verdict")
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(6)]
    line = "+".join("-" * (w + 2) for w in widths)
    print(line)
    print("|".join(f" {h:<{w}} " for h, w in zip(head, widths)))
    print(line)
    for r in rows:
        print("|".join(f" {str(v):<{w}} " for v, w in zip(r, widths)))
    print(line)
    try:
        print(open(os.path.join(results, "load.txt")).read().rstrip())
    except OSError:
        pass
    if lam:
        for impl in ("rust", "python"):
            if lam[impl]["problems"]:
                print(f"PROBLEMS (Lambda, {impl}): {len(lam[impl]['problems'])} run(s):", "; ".join(sorted(set(lam[impl]["problems"]))))
    if calls:
        for r in calls.get("healable", []):
            if r["problems"]:
                print(f"PROBLEMS (calls, {r['impl']} run {r['run']}):", "; ".join(r["problems"]))
        for impl, m in calls.get("mixed", {}).items():
            if m["problems"]:
                print(f"PROBLEMS (mixed batch, {impl}):", "; ".join(m["problems"]))
        st = calls.get("storm")
        if st and (st["timed_out"] or st["cap_violations"] or st["failed_runs"]):
            print("PROBLEMS (storm):", f"timed out: {st['timed_out']}, cap violations: {st['cap_violations']},",
                  f"failed serve runs: {st['failed_runs']}", "; ".join(st.get("stderr", [])))
    for s_ in serve:
        if s_["problems"]:
            print(f"PROBLEMS (serve, {s_['impl']}):", "; ".join(s_["problems"]))


if __name__ == "__main__":
    main()
