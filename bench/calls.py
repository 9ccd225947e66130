"""AWS calls per alert, counted at the emulator (bench/moto_timed.py), for the engine and two Python
scripts, plus a storm of alerts for `selfheal serve` workers sharing one table.

  (a) `selfheal serve --queue-url URL --once`  on 10 healable messages,
  (b) bench/python_naive.py --once             the six-step script (tag, alarm, claim, SendCommand,
                                                poll, history), on the same workload,
  (c) bench/python_serve.py --once             the full Python handler, on the same workload;
      each RUNS times, alternating, fresh table and queue each time: calls by operation per healed
      alert (SDK retries included: each is a request moto sees), start → exit, and the time from
      the ReceiveMessage request to each alert's first SendCommand (p50 / p95, nearest rank),
  (d) a mixed 10-message batch for `selfheal serve --once` (and, for comparison, the naive script):
      5 heal, the same alarm message twice (duplicate), no-runbook, recovered (the alarm is set
      back to OK before the run; the message says ALARM), invalid (not JSON): calls by operation
      per batch and each message's outcome,
  (e) the storm (own moto process, so its instances do not slow other runs): STORM_ALERTS alerts
      (1,000) over 200 instances of 4 roles (50 each, runbooks bench/runbooks/storm.json with
      max_concurrent 2), drained by STORM_WORKERS (4) concurrent `selfheal serve` processes (long
      poll; stopped with SIGINT once every alert's message is deleted) against one table, capacity
      waits in-process for up to STORM_CAPACITY_RETRY_SECONDS (60), then back to the queue for as long: calls per alert, ConditionalCheckFailed / TransactionCanceled answers,
      records returned to the queue, outcomes, wall time, and role cap violations computed from the
      history items (per role, the most remediations whose [first SendCommand, finished_at_ms]
      overlap, which must be ≤ max_concurrent).

The healable and mixed runs use bench/runbooks/calls.json: `api:nginx_down` with `commands` only
(no precheck, no verify), so the engine and the naive script send the same one command per alert
and every other call is the engine's own (CALLS_RUNBOOK=bench/runbooks/bench.json runs the
three-phase benchmark runbook instead).

Usage: python bench/calls.py --endpoint URL --selfheal BIN [--runs 3] [--out calls.json]
                             [--skip-storm] [--storm-alerts 1000]
  env: STORM_ALERTS, STORM_WORKERS, STORM_CAPACITY_RETRY_SECONDS (default 60, the product's), STORM_TIMEOUT_S
Prints a readable line per run on stderr and writes every figure as JSON to --out.
"""
import argparse
import copy
import json
import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import workload  # noqa: E402

CALLS_RUNBOOK = os.environ.get("CALLS_RUNBOOK", os.path.join(HERE, "runbooks", "calls.json"))
STORM_RUNBOOK = os.path.join(HERE, "runbooks", "storm.json")
STORM_ROLES = ("web", "worker", "cache", "queue")
STORM_ALERT = "nginx_down"
FLAPPING = "api:nginx_flapping"
NO_RUNBOOK = "api:disk_full"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def stats(endpoint, reset=False, events=True):
    url = f"{endpoint}/bench-stats" + ("" if events or reset else "?events=0")
    req = urllib.request.Request(url, method="POST" if reset else "GET")
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.load(r)


def body(alarm, instance, state="ALARM"):
    """An SNS-wrapped CloudWatch alarm notification, fresh StateChangeTime (a new identity)."""
    seq = next(workload._SEQ)
    msg = copy.deepcopy(workload._MESSAGE)
    msg["AlarmName"] = alarm
    msg["NewStateValue"] = state
    msg["StateChangeTime"] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{seq:09d}+0000"
    msg["AlarmArn"] = f"arn:aws:cloudwatch:{workload.REGION}:{workload.ACCOUNT}:alarm:{alarm}"
    for d in msg["Trigger"]["Dimensions"]:
        if d["name"] == "InstanceId":
            d["value"] = instance
    env = dict(workload._ENVELOPE)
    env["MessageId"] = str(uuid.uuid4())
    env["Message"] = json.dumps(msg)
    return json.dumps(env)


def send(sqs, url, bodies):
    """Sends `bodies` (10 per batch); returns the message ids in order."""
    ids = []
    for i in range(0, len(bodies), 10):
        chunk = bodies[i:i + 10]
        out = sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(j), "MessageBody": b} for j, b in enumerate(chunk)])
        by_id = {e["Id"]: e["MessageId"] for e in out.get("Successful", [])}
        if len(by_id) != len(chunk):
            raise SystemExit(f"SendMessageBatch failed: {out.get('Failed')}")
        ids += [by_id[str(j)] for j in range(len(chunk))]
    return ids


def child_env(endpoint, table, runbooks, tmp, extra=None):
    """A clean environment, like a cron job or a container would give (as serve_vs_python.sh)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "HOME": tmp,
        **workload.aws_env(endpoint),
        "SELFHEAL_MODE_PARAM": workload.MODE_PARAM, "SELFHEAL_RUNBOOKS": runbooks,
        "SELFHEAL_MAX_PER_HOUR": "1000000", "SELFHEAL_ACCOUNT_ID": workload.ACCOUNT,
        "SELFHEAL_TABLE": table,
    }
    env.update(extra or {})
    return env


def run_once(cmd, env, url):
    """Runs one `--once` drain; returns (wall ms, [(message id, outcome, disposition)], rc, stderr)."""
    start = time.perf_counter()
    p = subprocess.run(cmd + ["--queue-url", url, "--once"], env=env, capture_output=True, text=True, cwd=ROOT)
    wall = (time.perf_counter() - start) * 1000
    lines = []
    for line in p.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3:
            lines.append(tuple(parts))
    return wall, lines, p.returncode, p.stderr


def nearest_rank(xs, q):
    if not xs:
        return None
    xs = sorted(xs)
    return xs[max(0, math.ceil(q * len(xs)) - 1)]


def receive_to_send(events, alerts):
    """ms from the (first non-empty) ReceiveMessage request to each alert instance's first SendCommand."""
    receives = [e["t"] for e in events if e["action"] == "ReceiveMessage" and e.get("messages")]
    if not receives:
        return []
    t0 = min(receives)
    first = {}
    for e in events:
        if e["action"] == "SendCommand":
            for i in e.get("instances", []):
                first[i] = min(first.get(i, e["t"]), e["t"])
    return [(first[i] - t0) * 1000 for i in alerts if i in first]


def per_alert(by_action, n):
    return {a: c / n for a, c in by_action.items()} if n else {}


# ---------------------------------------------------------------------------------------------
# (a)–(c): healable messages


def healable(world, endpoint, impls, runs, tmp):
    results = []
    for r in range(runs):
        order = impls if r % 2 == 0 else list(reversed(impls))
        for name, cmd in order:
            table = world.new_table(f"calls-{name}")
            url = world.new_queue(f"calls-{name}")
            ids = send(world.sqs, url, world.bodies(10))
            stats(endpoint, reset=True)
            wall, lines, rc, err = run_once(cmd, child_env(endpoint, table, CALLS_RUNBOOK, tmp), url)
            s = stats(endpoint)
            outcomes = world.outcomes(table)
            printed = {}
            for _, o, _d in lines:
                printed[o] = printed.get(o, 0) + 1
            healed = printed.get("healed", 0)
            depth = world.queue_depth(url)
            problems = []
            if rc != 0:
                problems.append(f"exit {rc}: {err.strip()[-300:]}")
            if healed != 10:
                problems.append(f"printed outcomes {printed}")
            if depth:
                problems.append(f"{depth} messages left")
            lat = receive_to_send(s["events"], world.instances[:10])
            res = {
                "impl": name, "run": r + 1, "wall_ms": wall, "calls": s["requests"], "by_action": s["by_action"],
                "errors": s["errors"], "healed": healed, "printed": printed, "history_outcomes": outcomes,
                "queue_left": depth, "per_alert": per_alert(s["by_action"], healed),
                "calls_per_alert": s["requests"] / healed if healed else None,
                "receive_to_send_ms": lat, "p50_ms": nearest_rank(lat, 0.5), "p95_ms": nearest_rank(lat, 0.95),
                "moto_busy_ms": s["busy_s"] * 1000, "problems": problems, "messages": len(ids),
            }
            results.append(res)
            log(f"  calls {name:8}: {wall:8.1f} ms start→exit, {s['requests']:4} calls, "
                f"{res['calls_per_alert'] or 0:5.1f}/healed alert, receive→SendCommand p50 "
                f"{res['p50_ms'] or 0:7.1f} ms p95 {res['p95_ms'] or 0:7.1f} ms"
                + (f"  PROBLEMS: {problems}" if problems else ""))
    return results


# ---------------------------------------------------------------------------------------------
# (d): mixed batch


def mixed(world, endpoint, impls, tmp):
    cw = workload.client("cloudwatch", endpoint)
    workload.put_role_alarm(cw, FLAPPING, world.instances)
    out = {}
    for name, cmd in impls:
        cw.set_alarm_state(AlarmName=FLAPPING, StateValue="OK", StateReason="bench: recovered")
        inst = world.instances
        dup = body(workload.ALARM, inst[5])
        plan = [("heal", body(workload.ALARM, inst[i])) for i in range(5)]
        plan += [("duplicate", dup), ("duplicate", dup)]
        plan += [("no-runbook", body(NO_RUNBOOK, inst[6])), ("recovered", body(FLAPPING, inst[7])),
                 ("invalid", "this is not JSON {")]
        table = world.new_table(f"mixed-{name}")
        url = world.new_queue(f"mixed-{name}")
        ids = send(world.sqs, url, [b for _, b in plan])
        kind_of = dict(zip(ids, [k for k, _ in plan]))
        stats(endpoint, reset=True)
        wall, lines, rc, err = run_once(cmd, child_env(endpoint, table, CALLS_RUNBOOK, tmp), url)
        s = stats(endpoint, events=False)
        msgs = [{"kind": kind_of.get(mid, "?"), "message_id": mid, "outcome": o, "disposition": d} for mid, o, d in lines]
        msgs.sort(key=lambda m: [k for k, _ in plan].index(m["kind"]) if m["kind"] in kind_of.values() else 99)
        problems = [f"exit {rc}: {err.strip()[-300:]}"] if rc else []
        if len(lines) != len(plan):
            problems.append(f"{len(lines)} of {len(plan)} messages printed")
        out[name] = {"wall_ms": wall, "calls": s["requests"], "by_action": s["by_action"], "errors": s["errors"],
                     "conditional_check_failed": s["conditional_check_failed"], "messages": msgs,
                     "history_outcomes": world.outcomes(table), "queue_left": world.queue_depth(url), "problems": problems}
        log(f"  mixed {name:8}: {s['requests']} calls for 10 messages, "
            + ", ".join(f"{m['kind']}→{m['outcome']}/{m['disposition']}" for m in msgs)
            + (f"  PROBLEMS: {problems}" if problems else ""))
    cw.set_alarm_state(AlarmName=FLAPPING, StateValue="OK", StateReason="bench")
    return out


# ---------------------------------------------------------------------------------------------
# (e): the storm


def start_moto(py):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    logf = tempfile.NamedTemporaryFile(prefix="storm-moto-", suffix=".log", delete=False)
    p = subprocess.Popen([py, os.path.join(HERE, "moto_timed.py"), str(port)], stdout=subprocess.PIPE,
                         stderr=logf, text=True)
    line = p.stdout.readline()
    if not line.startswith("READY"):
        p.kill()
        raise SystemExit(f"storm moto did not start (see {logf.name})")
    return p, f"http://127.0.0.1:{port}"


def storm_world(endpoint, per_role):
    ec2 = workload.client("ec2", endpoint)
    roles = {}
    for role in STORM_ROLES:
        out = ec2.run_instances(ImageId="ami-12c6146b", MinCount=per_role, MaxCount=per_role,
                                TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Role", "Value": role}]}])
        roles[role] = [i["InstanceId"] for i in out["Instances"]]
    cw = workload.client("cloudwatch", endpoint)
    for role in STORM_ROLES:
        alarm = f"{role}:{STORM_ALERT}"
        workload.put_role_alarm(cw, alarm, roles[role])
        cw.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="bench storm")
    workload.client("ssm", endpoint).put_parameter(Name=workload.MODE_PARAM, Value="enforce", Type="String", Overwrite=True)
    return roles


def history_items(ddb, table):
    items = []
    for page in ddb.get_paginator("scan").paginate(TableName=table):
        items += page["Items"]
    return items


def attr(item, name):
    v = item.get(name)
    if not v:
        return None
    if "S" in v:
        return v["S"]
    if "N" in v:
        return int(float(v["N"]))
    if "L" in v:
        return [attr({"x": e}, "x") for e in v["L"]]
    if "NULL" in v:
        return None
    return v


def cap_check(items, sends, max_concurrent):
    """Per role: the most remediations whose [first SendCommand, finished_at_ms] overlap.

    A history item (pk hist#DAY) holds role, outcome, command_ids (in the order sent) and
    finished_at_ms, but no time for its first command: that is the time moto received the
    SendCommand that answered command_ids[0] (moto_timed.py records each SendCommand's command id).
    Items without command ids (nothing ran: capacity-wait, duplicate, …) have no window."""
    sent_at = {e["command_id"]: e["t"] * 1000 for e in sends if e.get("command_id")}
    windows, unmatched = {}, 0
    for it in items:
        if not (attr(it, "pk") or "").startswith("hist#"):
            continue
        ids = attr(it, "command_ids") or []
        if not ids:
            continue
        start, end = sent_at.get(ids[0]), attr(it, "finished_at_ms")
        if start is None or end is None:
            unmatched += 1
            continue
        windows.setdefault(attr(it, "role") or "?", []).append((start, end))
    report = {}
    for role, ws in sorted(windows.items()):
        # An end at the same millisecond as another's start is not an overlap (ends sort first).
        points = sorted([(x, 1) for x, _ in ws] + [(y, -1) for _, y in ws])
        cur = peak = 0
        for _, d in points:
            cur += d
            peak = max(peak, cur)
        report[role] = {"remediations": len(ws), "max_overlap": peak, "max_concurrent": max_concurrent,
                        "violation": peak > max_concurrent}
    return report, unmatched


# The storm queue's visibility timeout and the workers' batch budget (the template: 1800 / 840).
STORM_VISIBILITY_S = 300
STORM_BUDGET_S = 240


def storm(selfheal, py, n_alerts, workers, retry_s, timeout_s, tmp):
    per_role = 50
    moto, endpoint = start_moto(py)
    try:
        roles = storm_world(endpoint, per_role)
        # Interleaved: alert k goes to role k % 4 and to each of its instances in turn.
        instances = [(role, roles[role][j]) for j in range(per_role) for role in STORM_ROLES]
        w = workload.World.__new__(workload.World)  # only its table/queue helpers, no standard instances
        w.endpoint, w.ddb, w.sqs = endpoint, workload.client("dynamodb", endpoint), workload.client("sqs", endpoint)
        table = w.new_table("storm")
        url = w.sqs.create_queue(QueueName=f"storm-{uuid.uuid4().hex[:8]}", Attributes={"VisibilityTimeout": str(STORM_VISIBILITY_S)})["QueueUrl"]
        bodies = []
        for k in range(n_alerts):
            role, inst = instances[k % len(instances)]
            bodies.append(body(f"{role}:{STORM_ALERT}", inst))
        send(w.sqs, url, bodies)
        extra = {"SELFHEAL_CAPACITY_RETRY_SECONDS": str(retry_s), "SELFHEAL_MAX_RECEIVE_COUNT": "1000",
                 "SELFHEAL_MAX_PER_HOUR": "100000", "RUST_LOG": "warn", "NO_COLOR": "1",
                 # A batch may take this long (records wait in-process for a place in their
                 # role); the queue's visibility timeout is longer, as the template's is.
                 "SELFHEAL_FUNCTION_BUDGET_SECONDS": str(STORM_BUDGET_S)}
        env = child_env(endpoint, table, STORM_RUNBOOK, tmp, extra)
        stats(endpoint, reset=True)
        lock = threading.Lock()
        done = {"deleted": 0, "lines": [], "stderr": []}
        finished = threading.Event()
        t0 = time.perf_counter()
        procs = [subprocess.Popen([selfheal, "serve", "--queue-url", url], env=env, cwd=ROOT, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(workers)]

        def reader(p):
            for line in p.stdout:
                parts = line.split()
                if len(parts) != 3:
                    continue
                with lock:
                    done["lines"].append(tuple(parts))
                    if parts[2] == "deleted":
                        done["deleted"] += 1
                        if done["deleted"] >= n_alerts:
                            finished.set()

        def drain_stderr(p):
            tail = []
            for line in p.stderr:
                if "stopping" not in line:
                    tail = (tail + [line.rstrip()])[-5:]
            with lock:
                done["stderr"] += tail

        threads = [threading.Thread(target=reader, args=(p,)) for p in procs]
        threads += [threading.Thread(target=drain_stderr, args=(p,)) for p in procs]
        for t in threads:
            t.start()
        finished.wait(timeout_s)
        wall = time.perf_counter() - t0
        # Every alert is done: the workers are in a long poll; SIGINT stops them there.
        for p in procs:
            p.send_signal(signal.SIGINT)
        failed_runs = 0
        for p in procs:
            try:
                rc = p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                rc = p.wait()
            failed_runs += rc != 0
            if rc != 0:
                done["stderr"].append(f"worker pid {p.pid} exited {rc}")
        for t in threads:
            t.join()
        done["runs"], done["failed_runs"] = len(procs), failed_runs
        s = stats(endpoint)
        items = history_items(w.ddb, table)
        final, returned, final_outcomes = {}, {}, {}
        for _, o, d in done["lines"]:
            if d == "returned":
                returned[o] = returned.get(o, 0) + 1
            else:
                final_outcomes[o] = final_outcomes.get(o, 0) + 1
        hist = {}
        for it in items:
            if (attr(it, "pk") or "").startswith("hist#"):
                o = attr(it, "outcome") or "?"
                hist[o] = hist.get(o, 0) + 1
        sends = [e for e in s["events"] if e["action"] == "SendCommand"]
        caps, unmatched = cap_check(items, sends, 2)
        receives = [e for e in s["events"] if e["action"] == "ReceiveMessage"]
        result = {
            "alerts": n_alerts, "instances": len(instances), "roles": list(STORM_ROLES), "per_role": per_role,
            "workers": workers, "max_concurrent": 2, "max_per_hour": 100000, "capacity_retry_seconds": retry_s,
            "max_receive_count": 1000, "wall_s": wall, "calls": s["requests"], "by_action": s["by_action"],
            "calls_per_alert": s["requests"] / n_alerts, "errors": s["errors"],
            "conditional_check_failed": s["conditional_check_failed"], "transaction_canceled": s["transaction_canceled"],
            "returned": returned, "returned_total": sum(returned.values()), "final_outcomes": final_outcomes,
            "history_outcomes": hist, "serve_workers": done["runs"], "failed_runs": done["failed_runs"],
            "stderr": done["stderr"][:10], "receives": len(receives),
            "empty_receives": sum(1 for e in receives if not e.get("messages")),
            "moto_s_by_action": s.get("by_action_s", {}),
            "queue_left": w.queue_depth(url) if hasattr(w, "sqs") else None,
            "caps": caps, "cap_unmatched": unmatched,
            "cap_violations": sum(1 for c in caps.values() if c["violation"]),
            "moto_busy_s": s["busy_s"], "timed_out": done["deleted"] < n_alerts,
            "finished": sum(final_outcomes.values()),
            "last_send_s": (max(e["t"] for e in sends) - min(e["t"] for e in receives)) if sends and receives else None,
        }
        overlaps = {r: c["max_overlap"] for r, c in caps.items()}
        log(f"  storm: {n_alerts} alerts, {workers} workers: {wall:6.1f} s, {s['requests']} calls "
            f"({result['calls_per_alert']:.1f}/alert), ConditionalCheckFailed {s['conditional_check_failed']}, "
            f"TransactionCanceled {s['transaction_canceled']}, returned {returned}, final {final_outcomes}, "
            f"cap overlap {overlaps} (max 2)"
            + ("  TIMED OUT" if result["timed_out"] else ""))
        return result
    finally:
        moto.terminate()
        try:
            moto.wait(10)
        except subprocess.TimeoutExpired:
            moto.kill()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--endpoint", required=True)
    p.add_argument("--selfheal", default=os.path.join(ROOT, "target", "release", "selfheal"))
    p.add_argument("--python", default=sys.executable)
    p.add_argument("--selfheal-before", default=os.environ.get("BENCH_SELFHEAL_BEFORE"),
                   help="an earlier selfheal build measured beside it in (a)–(c)")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--out", default=None)
    p.add_argument("--skip-storm", action="store_true")
    p.add_argument("--only-storm", action="store_true")
    p.add_argument("--storm-alerts", type=int, default=int(os.environ.get("STORM_ALERTS", "1000")))
    a = p.parse_args()
    if not os.access(a.selfheal, os.X_OK):
        raise SystemExit(f"missing {a.selfheal} (cargo build --release -p selfheal)")
    impls = [("selfheal", [a.selfheal, "serve"]),
             ("naive", [a.python, os.path.join(HERE, "python_naive.py")]),
             ("python", [a.python, os.path.join(HERE, "python_serve.py")])]
    if a.selfheal_before:
        # The same measurement of an earlier build, in the same run (issue 19's "before").
        impls.append(("before", [a.selfheal_before, "serve"]))
    result = {"runbook": os.path.relpath(CALLS_RUNBOOK, ROOT), "storm_runbook": os.path.relpath(STORM_RUNBOOK, ROOT)}
    with tempfile.TemporaryDirectory() as tmp:
        if not a.only_storm:
            world = workload.World(a.endpoint)
            log(f"==> (a)–(c) {a.runs} runs × selfheal / naive / python on 10 healable messages ({result['runbook']})")
            result["healable"] = healable(world, a.endpoint, impls, a.runs, tmp)
            log("==> (d) mixed 10-message batch")
            result["mixed"] = mixed(world, a.endpoint, impls[:2], tmp)
        if not a.skip_storm:
            workers = int(os.environ.get("STORM_WORKERS", "4"))
            retry_s = int(os.environ.get("STORM_CAPACITY_RETRY_SECONDS", "60"))
            timeout_s = float(os.environ.get("STORM_TIMEOUT_S", "900"))
            log(f"==> (e) storm: {a.storm_alerts} alerts, 200 instances × 4 roles, {workers} serve workers")
            result["storm"] = storm(a.selfheal, a.python, a.storm_alerts, workers, retry_s, timeout_s, tmp)
    text = json.dumps(result, indent=1)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")
    else:
        print(text)
    problems = [r["problems"] for r in result.get("healable", []) if r["problems"]]
    problems += [m["problems"] for m in result.get("mixed", {}).values() if m["problems"]]
    st = result.get("storm")
    if st and (st["timed_out"] or st["cap_violations"] or st["failed_runs"]):
        problems.append(["storm"])
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
