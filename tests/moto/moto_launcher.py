"""Starts moto_server on 127.0.0.1:PORT for selfheal's end-to-end tests and demo.

One patch (DESIGN §7): moto records a SendCommand without `Targets` against every EC2 instance it
knows. Real SSM sends it only to the `InstanceIds` given, so we make moto do the same; otherwise
"exactly this instance" could not be asserted.

Usage: python moto_launcher.py PORT   (prints "READY <port>" once it answers, runs until killed)
"""
import signal
import sys
import time
import urllib.request

from moto.server import ThreadedMotoServer
from moto.ssm import models as ssm_models

_original = ssm_models.Command._get_instance_ids_from_targets


def _only_given_targets(self):
    if not self.targets:
        return []
    return _original(self)


ssm_models.Command._get_instance_ids_from_targets = _only_given_targets


def main() -> None:
    port = int(sys.argv[1])
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1)
            break
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.05)
    print(f"READY {port}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: (server.stop(), sys.exit(0)))
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
