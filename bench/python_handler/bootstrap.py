"""A minimal Lambda Runtime API client (what awslambdaric does, in ~40 lines of stdlib).

Imports the handler module (its module-level code is the function's init), then loops:
GET /invocation/next → handler(event, context) → POST /invocation/{id}/response (or /error).
An import failure is reported to /init/error.
"""
import json
import os
import sys
import time
import traceback
import urllib.request

API = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"


def post(path, payload, headers=None):
    req = urllib.request.Request(API + path, data=json.dumps(payload).encode(), method="POST",
                                 headers={"Content-Type": "application/json", **(headers or {})})
    urllib.request.urlopen(req).read()


def error_body(exc):
    return {"errorMessage": str(exc), "errorType": type(exc).__name__,
            "stackTrace": traceback.format_exception(exc)[-5:]}


class Context:
    def __init__(self, headers):
        self.aws_request_id = headers["Lambda-Runtime-Aws-Request-Id"]
        self.invoked_function_arn = headers.get("Lambda-Runtime-Invoked-Function-Arn")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self._deadline_ms = int(headers["Lambda-Runtime-Deadline-Ms"])

    def get_remaining_time_in_millis(self):
        return max(self._deadline_ms - int(time.time() * 1000), 0)


def main():
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    try:
        import handler  # noqa: PLC0415 - the function's init
    except Exception as e:  # noqa: BLE001
        post("/init/error", error_body(e), {"Lambda-Runtime-Function-Error-Type": "Runtime.ImportModuleError"})
        raise
    while True:
        with urllib.request.urlopen(API + "/invocation/next") as resp:
            headers = resp.headers
            event = json.loads(resp.read())
        ctx = Context(headers)
        os.environ["_X_AMZN_TRACE_ID"] = headers.get("Lambda-Runtime-Trace-Id", "")
        try:
            result = handler.handler(event, ctx)
        except Exception as e:  # noqa: BLE001
            post(f"/invocation/{ctx.aws_request_id}/error", error_body(e))
            continue
        post(f"/invocation/{ctx.aws_request_id}/response", result)


if __name__ == "__main__":
    main()
