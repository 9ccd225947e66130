"""The naive script: what an SRE would write to drain the alert queue with boto3, and nothing more.

Per message, exactly six steps, one after the other:
  1. tag check       tag:GetResources for the instance (moto ignores ResourceARNList, so the
                     answer is filtered here, as bench/python_handler does); the Role tag must
                     match the alarm name's ROLE (alarm names are ROLE:ALERT),
  2. live alarm      cloudwatch:DescribeAlarms for the alarm name; it must still be in ALARM,
  3. claim           one conditional dynamodb:PutItem (attribute_not_exists(pk)); taken → duplicate,
  4. run             one ssm:SendCommand with the runbook's `commands` (no precheck, no verify),
  5. wait            ssm:GetCommandInvocation until the status is terminal (first poll at once,
                     then 0.25 s doubling to 5 s, like bench/python_handler),
  6. history         one dynamodb:PutItem (pk hist#DAY, like the engine, so the benchmark's
                     outcome count reads both),
then sqs:DeleteMessage. No budget, no role lease, no fleet cap, no mode parameter, no silences, no
chat. boto3's default retry configuration is kept (every retry is a request the emulator counts).
Anything unexpected (an AWS error) leaves the message in the queue.

Usage: python bench/python_naive.py --queue-url URL --once
  env: AWS_* as for selfheal serve, SELFHEAL_TABLE, SELFHEAL_RUNBOOKS (a JSON file),
       SELFHEAL_ROLE_TAG (default Role), SELFHEAL_ACCOUNT_ID (default 123456789012).
Prints `MESSAGE_ID OUTCOME DISPOSITION` per message, like `selfheal serve`.
"""
import argparse
import json
import os
import time

import boto3
from botocore.exceptions import ClientError

TABLE = os.environ["SELFHEAL_TABLE"]
ROLE_TAG = os.environ.get("SELFHEAL_ROLE_TAG", "Role")
ACCOUNT = os.environ.get("SELFHEAL_ACCOUNT_ID", "123456789012")
TERMINAL = {"Success", "Failed", "Cancelled", "TimedOut", "DeliveryTimedOut", "ExecutionTimedOut",
            "Undeliverable", "Terminated", "InvalidPlatform", "AccessDenied"}

sqs = boto3.client("sqs")
ssm = boto3.client("ssm")
cloudwatch = boto3.client("cloudwatch")
tagging = boto3.client("resourcegroupstaggingapi")
ddb = boto3.client("dynamodb")
REGION = ssm.meta.region_name

with open(os.environ["SELFHEAL_RUNBOOKS"]) as f:
    RUNBOOKS = json.load(f)


def parse(body):
    doc = json.loads(body)
    if doc.get("Type") == "Notification":
        doc = json.loads(doc["Message"])
    instance = next(d["value"] for d in doc["Trigger"]["Dimensions"] if d["name"] == "InstanceId")
    return doc["AlarmName"], doc["NewStateValue"], doc.get("StateChangeTime", ""), instance


def role_of(instance):
    arn = f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{instance}"
    for m in tagging.get_resources(ResourceARNList=[arn])["ResourceTagMappingList"]:
        if m["ResourceARN"] == arn:
            return next((t["Value"] for t in m["Tags"] if t["Key"] == ROLE_TAG), None)
    return None


def handle(body):
    """One message → outcome."""
    try:
        alarm, state, changed, instance = parse(body)
    except (ValueError, KeyError, TypeError, StopIteration):
        return "invalid"
    if state != "ALARM":
        return "ignored"
    runbook = RUNBOOKS.get(alarm)
    if runbook is None:
        return "no-runbook"
    # 1. tag check
    if role_of(instance) != alarm.split(":", 1)[0]:
        return "unresolved"
    # 2. live alarm check
    alarms = cloudwatch.describe_alarms(AlarmNames=[alarm])["MetricAlarms"]
    if not alarms or alarms[0]["StateValue"] != "ALARM":
        return "recovered"
    # 3. idempotency claim
    key = f"{alarm}|{changed}|{instance}"
    started = int(time.time() * 1000)
    try:
        ddb.put_item(TableName=TABLE, Item={"pk": {"S": "claim#" + key}, "sk": {"S": "claim"}},
                     ConditionExpression="attribute_not_exists(pk)")
    except ClientError as e:
        if e.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return "duplicate"
        raise
    # 4. run the runbook's commands
    command_id = ssm.send_command(
        InstanceIds=[instance], DocumentName="AWS-RunShellScript",
        Parameters={"commands": runbook["commands"]}, Comment=f"naive {alarm}"[:100],
    )["Command"]["CommandId"]
    # 5. wait for it
    delay = 0.25
    while True:
        try:
            status = ssm.get_command_invocation(CommandId=command_id, InstanceId=instance)["Status"]
            if status in TERMINAL:
                break
        except ClientError as e:
            if e.response["Error"]["Code"] != "InvocationDoesNotExist":
                raise
        time.sleep(delay)
        delay = min(delay * 2, 5.0)
    outcome = "healed" if status == "Success" else "failed"
    # 6. history
    now = int(time.time() * 1000)
    ddb.put_item(TableName=TABLE, Item={
        "pk": {"S": "hist#" + time.strftime("%Y-%m-%d", time.gmtime(now / 1000))}, "sk": {"S": key},
        "role": {"S": alarm.split(":", 1)[0]}, "alarm": {"S": alarm}, "instance": {"S": instance},
        "outcome": {"S": outcome}, "status": {"S": status}, "command_id": {"S": command_id},
        "started_at_ms": {"N": str(started)}, "finished_at_ms": {"N": str(now)},
    })
    return outcome


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--queue-url", required=True)
    p.add_argument("--once", action="store_true")
    a = p.parse_args()
    while True:
        messages = sqs.receive_message(QueueUrl=a.queue_url, MaxNumberOfMessages=10,
                                       WaitTimeSeconds=0 if a.once else 20).get("Messages", [])
        for m in messages:
            try:
                outcome = handle(m["Body"])
            except ClientError as e:
                print(m["MessageId"], f"error({e.response['Error']['Code']})", "returned", flush=True)
                continue
            sqs.delete_message(QueueUrl=a.queue_url, ReceiptHandle=m["ReceiptHandle"])
            print(m["MessageId"], outcome, "deleted", flush=True)
        if a.once:
            return


if __name__ == "__main__":
    main()
