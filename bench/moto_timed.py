"""moto_server for the benchmarks, measuring the time moto itself spends on the API calls.

Same server as tests/moto/moto_launcher.py (imported, so its SendCommand-without-Targets patch
applies), wrapped in a WSGI middleware that records, for every AWS request:
  - the action (X-Amz-Target, the form's Action=, or the CBOR path's operation),
  - its service time inside moto (WSGI call → response body produced),
and keeps, since the last reset:
  requests, by_action {action: count}, by_action_s {action: moto's time for it, s},
  sum_s (per-request times added up),
  busy_s (the union of the intervals in which moto was serving at least one request — the time
          moto needs for these calls; overlapping requests are not counted twice),
  cpu_s (the process CPU time moto used, HTTP parsing included),
  errors {"Action:Code": count} for every answer with status ≥ 400 (the code from the JSON
          `__type` or the XML `<Code>`), and of those, as separate counters,
          conditional_check_failed (ConditionalCheckFailedException) and transaction_canceled
          (TransactionCanceledException),
  events: for SendCommand and ReceiveMessage, one entry per request
          {"action", "t" (epoch seconds when the request arrived), "end" (when it was answered),
          "instances", "comment" (SendCommand's InstanceIds and Comment), "command_id" (the id it
          answered),
          "messages" (how many messages a ReceiveMessage returned), "status"}.
SDK retries are separate requests, so they are counted like any other call.

GET /bench-stats answers the stats as JSON (GET /bench-stats?events=0 leaves the events out);
POST /bench-stats resets them.

MOTO_BENCH_LATENCY_MS=N adds N ms before each AWS request is served (not counted in moto's time):
a stand-in for the network round trip to a real AWS endpoint, where calls run in parallel
server-side, unlike moto, which serves them one at a time under the GIL.

Usage: python bench/moto_timed.py PORT   (prints "READY <port>", runs until killed)
"""
import io
import json
import os
import re
import signal
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "moto"))

import moto_launcher  # noqa: E402,F401  (applies the SendCommand patch)
from moto.moto_server.werkzeug_app import (  # noqa: E402
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server  # noqa: E402


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with getattr(self, "lock", threading.Lock()):
            self.requests = 0
            self.by_action = {}
            self.by_action_s = {}
            self.sum_s = 0.0
            self.busy_s = 0.0
            self.in_flight = 0
            self.busy_since = 0.0
            self.cpu0 = time.process_time()
            self.errors = {}
            self.conditional_check_failed = 0
            self.transaction_canceled = 0
            self.events = []

    def begin(self):
        with self.lock:
            if self.in_flight == 0:
                self.busy_since = time.perf_counter()
            self.in_flight += 1

    def end(self, action, took, status=200, code=None, event=None):
        with self.lock:
            if status >= 400:
                key = f"{action}:{code or status}"
                self.errors[key] = self.errors.get(key, 0) + 1
                if code and "ConditionalCheckFailed" in code:
                    self.conditional_check_failed += 1
                if code and "TransactionCanceled" in code:
                    self.transaction_canceled += 1
            if event is not None:
                self.events.append(event)
            self.in_flight -= 1
            if self.in_flight == 0:
                self.busy_s += time.perf_counter() - self.busy_since
            self.requests += 1
            self.sum_s += took
            self.by_action[action] = self.by_action.get(action, 0) + 1
            self.by_action_s[action] = self.by_action_s.get(action, 0.0) + took

    def snapshot(self, events=True):
        with self.lock:
            return {
                "errors": dict(sorted(self.errors.items())),
                "conditional_check_failed": self.conditional_check_failed,
                "transaction_canceled": self.transaction_canceled,
                **({"events": list(self.events)} if events else {}),
                "requests": self.requests,
                "by_action": dict(sorted(self.by_action.items())),
                "by_action_s": dict(sorted(self.by_action_s.items())),
                "sum_s": self.sum_s,
                "busy_s": self.busy_s,
                "cpu_s": time.process_time() - self.cpu0,
            }


STATS = Stats()
LATENCY_S = float(os.environ.get("MOTO_BENCH_LATENCY_MS", "0") or 0) / 1000


def action_of(environ, body):
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.split(".")[-1]
    path = environ.get("PATH_INFO", "")
    if "/operation/" in path:
        return path.rsplit("/", 1)[-1]
    if body:
        for part in body.split(b"&"):
            if part.startswith(b"Action="):
                return part[7:].decode("ascii", "replace")
    return environ.get("REQUEST_METHOD", "?") + " " + path


EVENT_ACTIONS = ("SendCommand", "ReceiveMessage")


def error_code(chunks):
    """The error code of an AWS error answer (JSON `__type` or XML `<Code>`), else None."""
    body = b"".join(chunks)[:4096]
    try:
        doc = json.loads(body)
        t = doc.get("__type") or doc.get("code") or (doc.get("Error") or {}).get("Code")
        if t:
            return str(t).rsplit("#", 1)[-1]
    except (ValueError, AttributeError):
        pass
    m = re.search(rb"<Code>([^<]+)</Code>", body)
    return m.group(1).decode("ascii", "replace") if m else None


def event_of(action, body, chunks, t, end, status):
    ev = {"action": action, "t": t, "end": end, "status": status}
    try:
        if action == "SendCommand":
            doc = json.loads(body)
            ev["instances"] = doc.get("InstanceIds") or []
            ev["comment"] = doc.get("Comment")
            if status < 400:
                ev["command_id"] = json.loads(b"".join(chunks))["Command"]["CommandId"]
        elif action == "ReceiveMessage":
            out = b"".join(chunks)
            ev["messages"] = out.count(b'"MessageId"') or out.count(b"<MessageId>")
    except (ValueError, KeyError, TypeError):
        pass
    return ev


def timed(app):
    def wrapper(environ, start_response):
        if environ.get("PATH_INFO") == "/bench-stats":
            if environ.get("REQUEST_METHOD") == "POST":
                STATS.reset()
            events = b"events=0" not in environ.get("QUERY_STRING", "").encode()
            payload = json.dumps(STATS.snapshot(events)).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
            return [payload]
        if LATENCY_S:
            time.sleep(LATENCY_S)  # releases the GIL: concurrent requests wait in parallel
        STATS.begin()
        wall = time.time()
        start = time.perf_counter()
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        seen = {"status": 0}

        def recording_start_response(status, headers, exc_info=None):
            try:
                seen["status"] = int(status.split()[0])
            except (ValueError, IndexError):
                pass
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        chunks = []
        try:
            chunks = list(app(environ, recording_start_response))
        finally:
            took = time.perf_counter() - start
            action = action_of(environ, body)
            status = seen["status"]
            code = error_code(chunks) if status >= 400 else None
            event = event_of(action, body, chunks, wall, wall + took, status) if action in EVENT_ACTIONS else None
            STATS.end(action, took, status, code, event)
        return chunks

    return wrapper


def main():
    port = int(sys.argv[1])
    app = timed(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", port, app, True, request_handler=MotoRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/bench-stats", timeout=1)
            break
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.05)
    print(f"READY {port}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: (server.shutdown(), sys.exit(0)))
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
