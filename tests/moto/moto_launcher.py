"""Starts moto on 127.0.0.1:PORT for selfheal's end-to-end tests and demo.

Three patches (DESIGN §7):

- moto records a SendCommand without `Targets` against every EC2 instance it knows. Real SSM sends
  it only to the `InstanceIds` given, so we make moto do the same; otherwise "exactly this
  instance" could not be asserted.
- moto's TransactWriteItems snapshots the whole table (deepcopy) before it applies a transaction
  and, when the transaction is cancelled (a condition failed), puts that snapshot back: every
  write another request made in between is silently lost (seen: 2 of 300 concurrent PutItems gone
  while failing transactions ran). In DynamoDB a cancelled transaction changes nothing at all.
  We serialize moto's DynamoDB actions with one lock, so a snapshot can never span another
  request's write (DynamoDB's own serializable isolation of transactions, at moto's speed).

- The same snapshot is also the cost of every transaction: a deepcopy of the whole table, so a
  TransactWriteItems gets slower and the process larger as the table grows (a 1,000-alert storm
  took moto to 19 GB and the kernel's OOM killer; a Lambda benchmark's warm invocations spent
  3× the time of the same number of PutItems). We snapshot only the items the transaction names
  and put exactly those back when it is cancelled (safe under the lock above: nothing else can
  write in between), which is what DynamoDB's all-or-nothing means.

moto runs in this process (werkzeug's threaded server over moto's own
`DomainDispatcherApplication`, as `moto_server` and `ThreadedMotoServer` do) behind the
fault-injecting layer of `faults.py`: with no rule set, moto's behaviour is unchanged; tests set
rules and read the calls seen through `/_selfheal/faults` and `/_selfheal/calls` on the same port
(see faults.py for the exact JSON).

Usage: python moto_launcher.py PORT   (prints "READY <port>" once it answers, runs until killed)
"""
import copy
import os
import signal
import sys
import threading
import time
import urllib.request

# faults.py lives beside this file; the launcher may be run through runpy from elsewhere.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from moto.moto_server.werkzeug_app import (  # noqa: E402
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto.dynamodb import models as dynamodb_models  # noqa: E402
from moto.dynamodb import responses as dynamodb_responses  # noqa: E402
from moto.ssm import models as ssm_models  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from faults import FaultInjector  # noqa: E402

_original = ssm_models.Command._get_instance_ids_from_targets


def _only_given_targets(self):
    if not self.targets:
        return []
    return _original(self)


ssm_models.Command._get_instance_ids_from_targets = _only_given_targets

_dynamodb_lock = threading.RLock()
_dynamodb_call_action = dynamodb_responses.DynamoHandler.call_action


def _serialized_call_action(self, *args, **kwargs):
    with _dynamodb_lock:
        return _dynamodb_call_action(self, *args, **kwargs)


dynamodb_responses.DynamoHandler.call_action = _serialized_call_action


class _NoTableCopy:
    """`copy` for moto's DynamoDB models: a Table is not deep-copied (see the docstring)."""

    def __getattr__(self, name):
        return getattr(copy, name)

    @staticmethod
    def deepcopy(x, memo=None):
        if isinstance(x, dynamodb_models.Table):
            return x
        return copy.deepcopy(x, memo)


def _touched_items(backend, transact_items):
    """(table, key, attributes before or None) for each item the transaction names."""
    saved = []
    for entry in transact_items:
        try:
            op_type, op = next(iter(entry.items()))
            table_name = op["TableName"]
            table = backend.get_table(table_name)
            if op_type == "Put":
                attrs = op["Item"]
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op["Key"]
            current = backend.get_item(table_name, key)
        except Exception:  # noqa: BLE001 - moto itself answers the malformed request
            continue
        before = copy.deepcopy(current.to_json()["Attributes"]) if current else None
        saved.append((table_name, key, before))
    return saved


_transact_write_items = dynamodb_models.DynamoDBBackend.transact_write_items


def _transact_touched_only(self, transact_items):
    saved = _touched_items(self, transact_items)
    try:
        return _transact_write_items(self, transact_items)
    except Exception:
        for table_name, key, before in reversed(saved):
            if before is None:
                try:
                    self.delete_item(table_name, key)
                except Exception:  # noqa: BLE001 - it was never written
                    pass
            else:
                self.put_item(table_name, before)
        raise


dynamodb_models.copy = _NoTableCopy()
dynamodb_models.DynamoDBBackend.transact_write_items = _transact_touched_only


def main() -> None:
    port = int(sys.argv[1])
    app = FaultInjector(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=MotoRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1)
            break
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.05)
    print(f"READY {port}", flush=True)

    def stop(*_):
        server.shutdown()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
