"""A Lambda Runtime API stand-in for benchmarks (stdlib only).

Speaks the real protocol (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html):
  GET  /2018-06-01/runtime/invocation/next              → the next event, with the headers
       Lambda-Runtime-Aws-Request-Id, Lambda-Runtime-Deadline-Ms,
       Lambda-Runtime-Invoked-Function-Arn, Lambda-Runtime-Trace-Id (blocks until there is one)
  POST /2018-06-01/runtime/invocation/{id}/response     → 202
  POST /2018-06-01/runtime/invocation/{id}/error        → 202
  POST /2018-06-01/runtime/init/error                   → 202
and starts the function process the way Lambda does: a clean environment with
AWS_LAMBDA_RUNTIME_API=127.0.0.1:PORT, AWS_LAMBDA_FUNCTION_NAME/VERSION/MEMORY_SIZE,
AWS_LAMBDA_LOG_STREAM_NAME/GROUP_NAME, LAMBDA_TASK_ROOT, TZ, the handler's own variables.

Measured (time.perf_counter, in the same process that spawns the function):
  init_ms         process start → first `next` request (clients built, runbooks loaded)
  first_ms        process start → first response (init + the first, cold, invocation)
  first_invoke_ms event handed out → its response, for the first invocation
  warm_ms         the same for each later invocation (list)
  rss_init_kb     VmHWM of the process when it first asked for an event
  rss_peak_kb     VmHWM (peak resident set) after the last invocation
  responses       the response bodies (JSON-decoded), errors, init errors

Library use: `run_function(cmd, env, events)`; command line (one event file, N invocations):
  python bench/runtime_api.py --event FILE [--invokes N] [--env K=V ...] -- CMD [ARGS...]
"""
import argparse
import json
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFIX = "/2018-06-01/runtime"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:alert-remediator-bench"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # a function killed mid-request (end of a run) is expected


class RuntimeApi:
    """The HTTP side. Events are handed out in order; responses are collected per request id."""

    def __init__(self, timeout_ms=900_000):
        self.timeout_ms = timeout_ms
        self.pending = queue.Queue()
        self.lock = threading.Lock()
        self.done = {}  # request id → (kind, body, perf_counter)
        self.handed = {}  # request id → perf_counter when handed out
        self.cond = threading.Condition(self.lock)
        self.first_next = None
        self.on_first_next = None
        self.hook_s = 0.0
        self.init_error = None
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _reply(self, code, payload=b""):
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if payload:
                    self.wfile.write(payload)

            def do_GET(self):
                if self.path != PREFIX + "/invocation/next":
                    return self._reply(404, b'{"errorMessage":"not found"}')
                now = time.perf_counter()
                with api.lock:
                    first = api.first_next is None
                    if first:
                        api.first_next = now
                if first and api.on_first_next:
                    api.on_first_next()
                    api.hook_s = time.perf_counter() - now  # not the function's time
                request_id, body = api.pending.get()
                if request_id is None:  # shutting down
                    return self._reply(500, b'{"errorMessage":"shutting down"}')
                deadline = int(time.time() * 1000) + api.timeout_ms
                with api.lock:
                    api.handed[request_id] = time.perf_counter()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Lambda-Runtime-Aws-Request-Id", request_id)
                self.send_header("Lambda-Runtime-Deadline-Ms", str(deadline))
                self.send_header("Lambda-Runtime-Invoked-Function-Arn", FUNCTION_ARN)
                self.send_header("Lambda-Runtime-Trace-Id",
                                 f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=0")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                now = time.perf_counter()
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    payload = json.loads(raw) if raw else None
                except ValueError:
                    payload = raw.decode("utf-8", "replace")
                parts = self.path[len(PREFIX):].strip("/").split("/")
                if parts == ["init", "error"]:
                    with api.cond:
                        api.init_error = payload
                        api.cond.notify_all()
                    return self._reply(202, b'{"status":"OK"}')
                if len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
                    with api.cond:
                        api.done[parts[1]] = (parts[2], payload, now)
                        api.cond.notify_all()
                    return self._reply(202, b'{"status":"OK"}')
                return self._reply(404, b'{"errorMessage":"not found"}')

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def submit(self, event):
        request_id = str(uuid.uuid4())
        body = json.dumps(event).encode() if not isinstance(event, bytes) else event
        self.pending.put((request_id, body))
        return request_id

    def wait(self, request_id, proc, timeout=300):
        end = time.monotonic() + timeout
        with self.cond:
            while request_id not in self.done:
                if self.init_error is not None:
                    raise RuntimeError(f"init error: {self.init_error}")
                if proc.poll() is not None:
                    raise RuntimeError(f"the function exited with {proc.returncode}")
                left = end - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no response to {request_id}")
                self.cond.wait(min(left, 0.05))
            kind, body, at = self.done[request_id]
            return kind, body, self.handed[request_id], at

    def close(self):
        self.pending.put((None, None))
        self.server.shutdown()
        self.server.server_close()


def vm_hwm_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def lambda_env(port, extra, name="alert-remediator-bench"):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": f"2026/11/23/[$LATEST]{uuid.uuid4().hex}",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "LAMBDA_TASK_ROOT": os.getcwd(),
    }
    env.update(extra)
    return env


def run_function(cmd, env, events, log_path=os.devnull, timeout_ms=900_000, hooks=None):
    """Starts `cmd` as a Lambda function and sends it `events` (JSON values, or callables
    returning one, called just before the event is queued); returns the measurements.
    `hooks` (optional callables): before_start(), init_done() (first `next`, server thread),
    before_invoke(i) and after_invoke(i) around each invocation (i = 0 is the cold one)."""
    api = RuntimeApi(timeout_ms=timeout_ms)
    events = list(events)
    result = {"responses": [], "errors": [], "warm_ms": []}
    hooks = hooks or {}
    rss_init = {}
    holder = {}

    def first_next():
        if "pid" in holder:
            rss_init.setdefault("kb", vm_hwm_kb(holder["pid"]))
        if hooks.get("init_done"):
            hooks["init_done"]()

    api.on_first_next = first_next
    try:
        first_id = api.submit(events[0]() if callable(events[0]) else events[0])
        with open(log_path, "ab") as log:
            if hooks.get("before_start"):
                hooks["before_start"]()
            t0 = time.perf_counter()
            proc = subprocess.Popen(cmd, env=lambda_env(api.port, env), stdout=log, stderr=log,
                                    stdin=subprocess.DEVNULL)
            holder["pid"] = proc.pid
            try:
                kind, body, handed, at = api.wait(first_id, proc)
                result["init_ms"] = (api.first_next - t0) * 1000
                result["first_ms"] = (at - t0 - api.hook_s) * 1000
                result["first_invoke_ms"] = (at - handed) * 1000
                (result["responses"] if kind == "response" else result["errors"]).append(body)
                if hooks.get("after_invoke"):
                    hooks["after_invoke"](0)
                for i, ev in enumerate(events[1:], 1):
                    payload = ev() if callable(ev) else ev
                    if hooks.get("before_invoke"):
                        hooks["before_invoke"](i)
                    rid = api.submit(payload)
                    kind, body, handed, at = api.wait(rid, proc)
                    result["warm_ms"].append((at - handed) * 1000)
                    (result["responses"] if kind == "response" else result["errors"]).append(body)
                    if hooks.get("after_invoke"):
                        hooks["after_invoke"](i)
                result["rss_init_kb"] = rss_init.get("kb")
                result["rss_peak_kb"] = vm_hwm_kb(proc.pid)
            finally:
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    finally:
        api.close()
    return result


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--event", required=True, help="JSON event file handed to every invocation")
    p.add_argument("--invokes", type=int, default=5)
    p.add_argument("--env", action="append", default=[], help="K=V for the function's environment")
    p.add_argument("--log", default=os.devnull)
    p.add_argument("cmd", nargs=argparse.REMAINDER)
    a = p.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    with open(a.event) as f:
        event = json.load(f)
    env = dict(kv.split("=", 1) for kv in a.env)
    r = run_function(cmd, env, [event] * a.invokes, a.log)
    json.dump(r, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
