"""A fault-injecting WSGI layer in front of moto, for selfheal's end-to-end tests.

With no rule set, every request goes to moto unchanged and moto's answer comes back unchanged; the
layer only records the call. Rules are set at runtime through a control endpoint on the same port
(standard library only, plus the werkzeug that moto already installs):

    POST   /_selfheal/faults   body: a JSON list of rules (or {"rules": [...]}); replaces the
                               current rules and their counters. Answers {"rules": N}.
    GET    /_selfheal/faults   the current rules, each with "matched" and "applied" counters
    DELETE /_selfheal/faults   removes every rule
    GET    /_selfheal/calls    every AWS call seen so far, oldest first (add ?bodies=1 for the
                               request bodies, clipped to 4096 characters)
    DELETE /_selfheal/calls    forgets the calls seen so far

A rule (every field but "operation" is optional):

    {
      "operation": "AmazonSSM.SendCommand",  # the JSON protocol's X-Amz-Target, the query
                                             # protocol's Action ("Publish"), or the operation of
                                             # an rpc-v2-cbor path; "*" matches every call
      "service": "ssm",                      # SigV4 credential-scope service of the request
      "body_contains": "precheck",           # substring of the body (raw or URL-decoded)
      "skip": 0,                             # let this many matches through untouched first
      "times": 1,                            # then apply to this many matches (default: all)
      "when": "before",                      # "before": act instead of / before moto;
                                             # "after": moto acts first (then a status is a lost
                                             # response: moto's answer is dropped)
      "status": 500,                         # answer this HTTP status with an AWS-shaped error
      "error_code": "InternalServerError",   # the error's code (default by status, see below)
      "message": "injected by selfheal faults",
      "delay_ms": 2000,                      # sleep before moto acts ("before") or before its
                                             # answer is returned ("after")
      "side_effect": {"put_parameter": {"name": "/selfheal/mode", "value": "off"}}
                                             # run after moto acted (or, when a "before" status
                                             # keeps moto from acting, when the answer is made)
    }

A rule with neither "status" nor "delay_ms" only observes (and runs its side effect): moto's
answer passes. Every rule counts every request it matches, whether or not it applied, so "skip"
and "times" refer to that rule's own matches; when several rules apply to one request, the first
in the list wins (the others still count it).

The error body follows the request's protocol: JSON ({"__type": CODE, "message": MESSAGE}) for
X-Amz-Target requests and rpc-v2-cbor paths (served as JSON: the clients that use it are not
tested through faults), XML <ErrorResponse> otherwise. Default codes: 400 and 429
ThrottlingException, 503 ServiceUnavailable, other 5xx InternalServerError (JSON) or
InternalError (XML), anything else InjectedFault.

A call record:

    {"seq": 1, "at_ms": 1767225600123, "ms": 12, "service": "ssm",
     "operation": "AmazonSSM.SendCommand", "status": 500, "moto_status": 200,
     "rule": 0, "when": "after", "delay_ms": 0, "side_effect": "ok"}

"status" is the status the layer answered (a client that gave up during a delay never reads
it), "moto_status" moto's own status or null when moto did not act, "at_ms" when the request
arrived and "ms" how long the layer took, "rule" the index of the rule that applied or null,
"side_effect" null, "ok" or "error: ...". Records keep their arrival order ("seq" counts from 1
and is not reset by DELETE).
"""

from __future__ import annotations

import io
import json
import threading
import time
import urllib.parse
from typing import Any, Callable, Iterable

CONTROL_PREFIX = "/_selfheal/"
BODY_CLIP = 4096


def _now_ms() -> int:
    return int(time.time() * 1000)


def _credential_scope(environ: dict[str, Any]) -> tuple[str | None, str | None]:
    """(region, service) from a SigV4 Authorization header."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    marker = "Credential="
    start = auth.find(marker)
    if start < 0:
        return None, None
    cred = auth[start + len(marker):].split(",", 1)[0].strip()
    parts = cred.split("/")
    if len(parts) >= 5:
        return parts[2], parts[3]
    return None, None


def _operation(environ: dict[str, Any], body: bytes) -> str:
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target
    path = environ.get("PATH_INFO", "")
    if "/operation/" in path:
        return path.rsplit("/operation/", 1)[1].strip("/")
    query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
    if "Action" in query:
        return query["Action"][0]
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        if "Action" in form:
            return form["Action"][0]
    return f"{environ.get('REQUEST_METHOD', '?')} {path}"


def _read_body(environ: dict[str, Any]) -> bytes:
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    length = environ.get("CONTENT_LENGTH")
    if length:
        try:
            return stream.read(int(length))
        except ValueError:
            return b""
    if environ.get("wsgi.input_terminated"):
        return stream.read()
    return b""


class Rule:
    def __init__(self, index: int, spec: dict[str, Any]):
        if not isinstance(spec, dict):
            raise ValueError(f"rule {index}: not an object")
        known = {
            "operation", "service", "body_contains", "skip", "times", "when", "status",
            "error_code", "message", "delay_ms", "side_effect",
        }
        unknown = set(spec) - known
        if unknown:
            raise ValueError(f"rule {index}: unknown fields {sorted(unknown)}")
        if not isinstance(spec.get("operation"), str) or not spec["operation"]:
            raise ValueError(f"rule {index}: 'operation' is required")
        when = spec.get("when", "before")
        if when not in ("before", "after"):
            raise ValueError(f"rule {index}: 'when' must be 'before' or 'after'")
        for field in ("skip", "times", "status", "delay_ms"):
            v = spec.get(field)
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
                raise ValueError(f"rule {index}: '{field}' must be a whole number >= 0")
        effect = spec.get("side_effect")
        if effect is not None:
            put = effect.get("put_parameter") if isinstance(effect, dict) else None
            if (
                not isinstance(put, dict)
                or not isinstance(put.get("name"), str)
                or not isinstance(put.get("value"), str)
                or set(effect) != {"put_parameter"}
            ):
                raise ValueError(
                    f"rule {index}: side_effect must be "
                    '{"put_parameter": {"name": "...", "value": "..."}}'
                )
        self.index = index
        self.spec = spec
        self.when = when
        self.matched = 0
        self.applied = 0

    def matches(self, operation: str, service: str | None, body: bytes) -> bool:
        op = self.spec["operation"]
        if op != "*" and op != operation:
            return False
        svc = self.spec.get("service")
        if svc is not None and svc != service:
            return False
        needle = self.spec.get("body_contains")
        if needle is not None:
            text = body.decode("utf-8", "replace")
            if needle not in text and needle not in urllib.parse.unquote_plus(text):
                return False
        return True

    def in_window(self, nth: int) -> bool:
        """Whether the rule applies to its `nth` match (0-based)."""
        skip = self.spec.get("skip") or 0
        times = self.spec.get("times")
        return nth >= skip and (times is None or nth < skip + times)

    def describe(self) -> dict[str, Any]:
        return dict(self.spec, matched=self.matched, applied=self.applied)


class FaultInjector:
    """WSGI middleware: `FaultInjector(moto_app)`."""

    def __init__(self, app: Callable[..., Iterable[bytes]]):
        self.app = app
        self.lock = threading.Lock()
        self.rules: list[Rule] = []
        self.next_seq = 1
        # seq -> record and seq -> clipped request body (dicts keep the arrival order).
        self.calls: dict[int, dict[str, Any]] = {}
        self.bodies: dict[int, str] = {}

    # ------------------------------------------------------------------ control endpoint

    def _json(self, start_response: Any, status: str, value: Any) -> list[bytes]:
        data = json.dumps(value).encode("utf-8")
        start_response(
            status,
            [("Content-Type", "application/json"), ("Content-Length", str(len(data)))],
        )
        return [data]

    def _control(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        what = path[len(CONTROL_PREFIX):].strip("/")
        if what == "faults":
            if method == "GET":
                with self.lock:
                    return self._json(start_response, "200 OK", [r.describe() for r in self.rules])
            if method == "DELETE":
                with self.lock:
                    self.rules = []
                return self._json(start_response, "200 OK", {"rules": 0})
            if method in ("POST", "PUT"):
                try:
                    spec = json.loads(_read_body(environ) or b"[]")
                    if isinstance(spec, dict):
                        spec = spec.get("rules", [])
                    if not isinstance(spec, list):
                        raise ValueError("expected a list of rules")
                    rules = [Rule(i, r) for i, r in enumerate(spec)]
                except ValueError as e:
                    return self._json(start_response, "400 Bad Request", {"error": str(e)})
                with self.lock:
                    self.rules = rules
                return self._json(start_response, "200 OK", {"rules": len(rules)})
        if what == "calls":
            if method == "GET":
                query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
                with_bodies = query.get("bodies", ["0"])[0] not in ("", "0", "false")
                with self.lock:
                    calls = []
                    for seq, c in self.calls.items():
                        c = dict(c)
                        if with_bodies:
                            c["body"] = self.bodies.get(seq, "")
                        calls.append(c)
                return self._json(start_response, "200 OK", calls)
            if method == "DELETE":
                with self.lock:
                    self.calls = {}
                    self.bodies = {}
                return self._json(start_response, "200 OK", {"calls": 0})
        return self._json(start_response, "404 Not Found", {"error": f"no {method} {path}"})

    # ------------------------------------------------------------------ AWS calls

    def _call_moto(self, environ: dict[str, Any], body: bytes):
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        captured: dict[str, Any] = {}
        chunks: list[bytes] = []

        def start_response(status: str, headers: list, exc_info: Any = None):
            captured["status"] = status
            captured["headers"] = headers
            return chunks.append

        result = self.app(environ, start_response)
        try:
            for chunk in result:
                chunks.append(chunk)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return captured.get("status", "500 INTERNAL SERVER ERROR"), captured.get("headers", []), b"".join(chunks)

    def _error(self, rule: Rule, json_protocol: bool):
        status = rule.spec["status"]
        if status in (400, 429):
            default_code = "ThrottlingException"
        elif status == 503:
            default_code = "ServiceUnavailable"
        elif status >= 500:
            default_code = "InternalServerError" if json_protocol else "InternalError"
        else:
            default_code = "InjectedFault"
        code = rule.spec.get("error_code") or default_code
        message = rule.spec.get("message") or "injected by selfheal faults"
        if json_protocol:
            body = json.dumps({"__type": code, "message": message}).encode("utf-8")
            headers = [
                ("Content-Type", "application/x-amz-json-1.1"),
                ("x-amzn-ErrorType", code),
                ("x-amzn-RequestId", "selfheal-fault"),
            ]
        else:
            kind = "Sender" if status < 500 else "Receiver"
            body = (
                "<ErrorResponse><Error>"
                f"<Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message>"
                "</Error><RequestId>selfheal-fault</RequestId></ErrorResponse>"
            ).encode("utf-8")
            headers = [("Content-Type", "text/xml")]
        reason = {400: "Bad Request", 429: "Too Many Requests", 500: "Internal Server Error",
                  502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}
        return f"{status} {reason.get(status, 'Injected')}", headers, body

    def _put_parameter(self, environ: dict[str, Any], region: str | None, put: dict[str, Any]) -> str:
        from werkzeug.test import EnvironBuilder, run_wsgi_app

        region = put.get("region") or region or "us-east-1"
        payload = json.dumps(
            {"Name": put["name"], "Value": put["value"], "Type": "String", "Overwrite": True}
        )
        builder = EnvironBuilder(
            method="POST",
            path="/",
            base_url=f"http://{environ.get('HTTP_HOST', '127.0.0.1')}",
            headers={
                "X-Amz-Target": "AmazonSSM.PutParameter",
                "Authorization": (
                    f"AWS4-HMAC-SHA256 Credential=test/20240101/{region}/ssm/aws4_request, "
                    "SignedHeaders=host, Signature=0"
                ),
            },
            content_type="application/x-amz-json-1.1",
            data=payload,
        )
        try:
            inner = builder.get_environ()
        finally:
            builder.close()
        try:
            app_iter, status, _headers = run_wsgi_app(self.app, inner, buffered=True)
            b"".join(app_iter)
        except Exception as e:  # noqa: BLE001 - reported in the calls log
            return f"error: {e}"
        return "ok" if status.startswith("200") else f"error: PutParameter answered {status}"

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(CONTROL_PREFIX):
            try:
                return self._control(environ, start_response)
            except Exception:  # noqa: BLE001 - say what broke instead of werkzeug's HTML page
                import traceback

                return self._json(
                    start_response, "500 Internal Server Error", {"error": traceback.format_exc()}
                )
        if path.startswith("/moto-api") or path == "/favicon.ico":
            return self.app(environ, start_response)

        started = time.time()
        body = _read_body(environ)
        region, service = _credential_scope(environ)
        operation = _operation(environ, body)
        json_protocol = bool(environ.get("HTTP_X_AMZ_TARGET")) or "/operation/" in path

        with self.lock:
            applied: Rule | None = None
            for rule in self.rules:
                if rule.matches(operation, service, body):
                    nth = rule.matched
                    rule.matched += 1
                    if applied is None and rule.in_window(nth):
                        applied = rule
                        rule.applied += 1
            seq = self.next_seq
            self.next_seq += 1
            record: dict[str, Any] = {
                "seq": seq,
                "at_ms": int(started * 1000),
                "service": service,
                "operation": operation,
                "status": None,
                "moto_status": None,
                "rule": None,
                "when": None,
                "delay_ms": 0,
                "side_effect": None,
                "ms": None,
            }
            # Recorded on arrival (a slow call shows up while it is still in flight).
            self.calls[seq] = record
            self.bodies[seq] = body[:BODY_CLIP].decode("utf-8", "replace")
        side_effect_done = False

        def run_side_effect() -> None:
            nonlocal side_effect_done
            effect = applied.spec.get("side_effect") if applied else None
            if effect and not side_effect_done:
                side_effect_done = True
                record["side_effect"] = self._put_parameter(
                    environ, region, effect["put_parameter"]
                )

        try:
            delay = (applied.spec.get("delay_ms") or 0) if applied else 0
            if applied is not None:
                record["rule"] = applied.index
                record["when"] = applied.when
                record["delay_ms"] = delay
            if applied is not None and applied.when == "before":
                if delay:
                    time.sleep(delay / 1000)
                if applied.spec.get("status") is not None:
                    status, headers, out = self._error(applied, json_protocol)
                    run_side_effect()
                    record["status"] = int(status.split(" ", 1)[0])
                    return self._respond(start_response, status, headers, out)

            status, headers, out = self._call_moto(environ, body)
            record["moto_status"] = int(status.split(" ", 1)[0])
            run_side_effect()
            if applied is not None and applied.when == "after":
                if delay:
                    time.sleep(delay / 1000)
                if applied.spec.get("status") is not None:
                    status, headers, out = self._error(applied, json_protocol)
            record["status"] = int(status.split(" ", 1)[0])
            return self._respond(start_response, status, headers, out)
        finally:
            with self.lock:
                record["ms"] = int((time.time() - started) * 1000)

    @staticmethod
    def _respond(start_response: Any, status: str, headers: list, out: bytes) -> list[bytes]:
        headers = [(k, v) for (k, v) in headers if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(out))))
        start_response(status, headers)
        return [out]
