"""The standard benchmark workload (issue 9), set up in moto with boto3, and its events.

- ten EC2 instances tagged Role=api (moto's EC2 API),
- the alarm `api:nginx_down` in ALARM state (the engine re-checks the live state and that the
  alarm watches the alert's instance: a metric-math alarm over the ten instances),
- the mode parameter set to `enforce`, a fresh state table per run,
- SNS-wrapped CloudWatch alarm notifications in the shape of tests/fixtures/sns-envelope.json, one
  per instance, with a fresh StateChangeTime per alert on every invocation.
"""
import copy
import itertools
import json
import os
import time
import uuid

import boto3

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
ALARM = "api:nginx_down"
RUNBOOKS = os.path.join(HERE, "runbooks", "bench.json")
MODE_PARAM = "/selfheal-bench/mode"

with open(os.path.join(ROOT, "tests", "fixtures", "sns-envelope.json")) as f:
    _ENVELOPE = json.load(f)
_MESSAGE = json.loads(_ENVELOPE["Message"])
_SEQ = itertools.count(int(time.time() * 1000) % 10**9)


def aws_env(endpoint):
    """The AWS part of a child process's environment: everything pointed at moto."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def client(service, endpoint):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def put_role_alarm(cw, name, instances):
    """The alarm `name` watching every one of `instances`: a metric-math alarm, MIN over each
    instance's nginx process count (the engine re-checks that the alarm's own configuration names
    the alert's InstanceId, so one alarm for a role must list its instances; real CloudWatch allows
    10 metrics per alarm, moto any number)."""
    metrics = [
        {
            "Id": f"m{k}",
            "MetricStat": {
                "Metric": {
                    "Namespace": "CWAgent",
                    "MetricName": "procstat_lookup_pid_count",
                    "Dimensions": [{"Name": "exe", "Value": "nginx"}, {"Name": "InstanceId", "Value": i}],
                },
                "Period": 60,
                "Stat": "Minimum",
            },
            "ReturnData": False,
        }
        for k, i in enumerate(instances)
    ]
    metrics.append(
        {
            "Id": "fewest",
            "Expression": "MIN([" + ",".join(m["Id"] for m in metrics) + "])",
            "Label": "fewest nginx processes on one instance",
            "ReturnData": True,
        }
    )
    cw.put_metric_alarm(
        AlarmName=name,
        Metrics=metrics,
        EvaluationPeriods=2,
        Threshold=1.0,
        ComparisonOperator="LessThanThreshold",
    )


class World:
    """What one benchmark run needs in moto."""

    def __init__(self, endpoint):
        self.endpoint = endpoint
        ec2 = client("ec2", endpoint)
        # Reuse the ten instances of an earlier run against the same moto (moto's tagging API
        # answers with every instance, so more instances would slow later runs down).
        found = ec2.describe_instances(Filters=[{"Name": "tag:Role", "Values": ["api"]}])
        self.instances = sorted(i["InstanceId"] for r in found["Reservations"] for i in r["Instances"])[:10]
        if len(self.instances) < 10:
            out = ec2.run_instances(
                ImageId="ami-12c6146b",
                MinCount=10,
                MaxCount=10,
                TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Role", "Value": "api"}]}],
            )
            self.instances = [i["InstanceId"] for i in out["Instances"]]
        cw = client("cloudwatch", endpoint)
        put_role_alarm(cw, ALARM, self.instances)
        cw.set_alarm_state(AlarmName=ALARM, StateValue="ALARM", StateReason="bench")
        client("ssm", endpoint).put_parameter(Name=MODE_PARAM, Value="enforce", Type="String", Overwrite=True)
        self.ddb = client("dynamodb", endpoint)
        self.sqs = client("sqs", endpoint)

    def new_table(self, prefix):
        name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        self.ddb.create_table(
            TableName=name,
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        return name

    def outcomes(self, table):
        """Outcome → count over every history item of `table`."""
        counts = {}
        pages = self.ddb.get_paginator("scan").paginate(
            TableName=table,
            FilterExpression="begins_with(pk, :h)",
            ExpressionAttributeValues={":h": {"S": "hist#"}},
        )
        for page in pages:
            for item in page["Items"]:
                o = item.get("outcome", {}).get("S", "?")
                counts[o] = counts.get(o, 0) + 1
        return counts

    def new_queue(self, prefix):
        url = self.sqs.create_queue(QueueName=f"{prefix}-{uuid.uuid4().hex[:8]}", Attributes={"VisibilityTimeout": "60"})[
            "QueueUrl"
        ]
        return url

    def fill_queue(self, url, n=10):
        entries = [{"Id": str(i), "MessageBody": body} for i, body in enumerate(self.bodies(n))]
        self.sqs.send_message_batch(QueueUrl=url, Entries=entries)

    def queue_depth(self, url):
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return sum(int(v) for v in attrs.values())

    def bodies(self, n=10):
        return [alert_body(self.instances[i % len(self.instances)]) for i in range(n)]

    def sqs_event(self, n=10):
        """A Lambda SQS event with `n` fresh alerts (one per instance)."""
        records = []
        for body in self.bodies(n):
            mid = str(uuid.uuid4())
            records.append(
                {
                    "messageId": mid,
                    "receiptHandle": "AQEB" + mid,
                    "body": body,
                    "attributes": {
                        "ApproximateReceiveCount": "1",
                        "SentTimestamp": str(int(time.time() * 1000)),
                        "SenderId": "AIDAEXAMPLE",
                        "ApproximateFirstReceiveTimestamp": str(int(time.time() * 1000)),
                    },
                    "messageAttributes": {},
                    "md5OfBody": "0" * 32,
                    "eventSource": "aws:sqs",
                    "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:selfheal-alerts",
                    "awsRegion": REGION,
                }
            )
        return {"Records": records}


def alert_body(instance):
    """One SNS-wrapped CloudWatch alarm notification for `instance` with a fresh StateChangeTime."""
    seq = next(_SEQ)
    msg = copy.deepcopy(_MESSAGE)
    msg["StateChangeTime"] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{seq:09d}+0000"
    msg["AlarmArn"] = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{ALARM}"
    for d in msg["Trigger"]["Dimensions"]:
        if d["name"] == "InstanceId":
            d["value"] = instance
    env = dict(_ENVELOPE)
    env["MessageId"] = str(uuid.uuid4())
    env["Message"] = json.dumps(msg)
    return json.dumps(env)


def main(argv):
    """Command line for shell scripts:
    serve-setup ENDPOINT PREFIX   → prints "TABLE QUEUE_URL" (fresh table, queue with 10 alerts)
    outcomes ENDPOINT TABLE       → prints {outcome: count} as JSON
    queue-depth ENDPOINT URL      → prints the number of messages left
    """
    cmd, endpoint = argv[1], argv[2]
    w = World(endpoint)
    if cmd == "serve-setup":
        table, url = w.new_table(argv[3]), w.new_queue(argv[3])
        w.fill_queue(url, 10)
        print(table, url)
    elif cmd == "outcomes":
        print(json.dumps(w.outcomes(argv[3])))
    elif cmd == "queue-depth":
        print(w.queue_depth(argv[3]))
    else:
        raise SystemExit(f"unknown command {cmd}")


if __name__ == "__main__":
    import sys

    main(sys.argv)
