"""The Python/boto3 baseline of `selfheal serve --queue-url URL --once`: one ReceiveMessage (no
long poll, up to 10 messages), each message through the same hand-written handler as the Lambda
baseline (bench/python_handler/handler.py), then DeleteMessage for every message that need not
come back; prints `MESSAGE_ID OUTCOME DISPOSITION` per message like `selfheal serve`.

Usage: python bench/python_serve.py --queue-url URL --once   (env as for selfheal serve)
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "python_handler"))

import boto3  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

import handler  # noqa: E402  (module-level clients, runbooks, mode: the init)

sqs = boto3.client("sqs", config=handler._config)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--queue-url", required=True)
    p.add_argument("--once", action="store_true")
    a = p.parse_args()
    while True:
        messages = sqs.receive_message(
            QueueUrl=a.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0 if a.once else 20,
            AttributeNames=["ApproximateReceiveCount"],
        ).get("Messages", [])
        deadline = handler.now_ms() + handler.BUDGET_S * 1000
        for m in messages:
            record = {"messageId": m["MessageId"], "body": m["Body"]}
            try:
                outcome, keep = handler.process(record, deadline), False
            except (handler.Transient, ClientError) as e:
                outcome, keep = f"retry ({e})", True
            if keep:
                disposition = "returned"
            else:
                sqs.delete_message(QueueUrl=a.queue_url, ReceiptHandle=m["ReceiptHandle"])
                disposition = "deleted"
            print(m["MessageId"], outcome, disposition)
        if a.once:
            return
        if not messages:
            time.sleep(0)


if __name__ == "__main__":
    main()
