"""The Python/boto3 baseline: the alert-remediator path written by hand, the way a team would.

Same work as the Rust function for the benchmark workload, call for call: parse the SQS record
(SNS envelope → CloudWatch alarm), resolve the role (alarm name ROLE:ALERT, then the instance's
Role tag from the Resource Groups Tagging API, which must match), look up the runbook, read the
kill switch (SSM parameter, cached 30 s), claim the alert in DynamoDB (conditional put), count the
attempt (budget item), take a per-role lease and a fleet-wide hourly slot (versioned items), re-check
the alarm's live state (DescribeAlarms), run precheck → commands → verify with SendCommand +
GetCommandInvocation (saving the phase and command id in the claim), write history, mark the
claim done, release the lease, and log start/result as chat. Records are processed one after the
other (the usual `for record in event["Records"]`), and transient failures go back to SQS through
`batchItemFailures`.

Clients, settings and runbooks are built once at module level (cold start), as AWS recommends.
"""
import json
import logging
import os
import re
import time

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

log = logging.getLogger()
log.setLevel(logging.INFO)
if not log.handlers:
    logging.basicConfig(level=logging.INFO, format="%(message)s")

TABLE = os.environ["SELFHEAL_TABLE"]
MODE_PARAM = os.environ.get("SELFHEAL_MODE_PARAM")
ROLE_TAG = os.environ.get("SELFHEAL_ROLE_TAG", "Role")
MAX_PER_HOUR = int(os.environ.get("SELFHEAL_MAX_PER_HOUR", "30"))
BUDGET_S = int(os.environ.get("SELFHEAL_FUNCTION_BUDGET_SECONDS", "840"))
ACCOUNT = os.environ.get("SELFHEAL_ACCOUNT_ID")
HISTORY_TTL_S = 90 * 86400
LEASE_MS = (BUDGET_S + 60) * 1000
MARGIN_MS = 5000
INSTANCE_RE = re.compile(r"^i-([0-9a-f]{8}|[0-9a-f]{17})$")
TERMINAL = {"Success", "Failed", "Cancelled", "TimedOut", "DeliveryTimedOut", "ExecutionTimedOut",
            "Undeliverable", "Terminated", "InvalidPlatform", "AccessDenied"}

_config = Config(retries={"max_attempts": 4, "mode": "standard"})
ssm = boto3.client("ssm", config=_config)
cloudwatch = boto3.client("cloudwatch", config=_config)
tagging = boto3.client("resourcegroupstaggingapi", config=_config)
table = boto3.resource("dynamodb", config=_config).Table(TABLE)
REGION = ssm.meta.region_name

with open(os.environ["SELFHEAL_RUNBOOKS"]) as f:
    RUNBOOKS = json.load(f)
RUNBOOKS.pop("$schema", None)
DEFAULTS = {"precheck": [], "verify": [], "mode": "enforce", "timeout_seconds": 120, "max_attempts": 3,
            "window_minutes": 60, "max_concurrent": 1, "document": "AWS-RunShellScript"}


class Transient(Exception):
    """The record goes back to the queue."""


def now_ms():
    return int(time.time() * 1000)


_mode_cache = {"mode": None, "until": 0.0}


def global_mode():
    if not MODE_PARAM:
        return "dry-run"
    if time.monotonic() < _mode_cache["until"]:
        return _mode_cache["mode"]
    try:
        value = ssm.get_parameter(Name=MODE_PARAM)["Parameter"]["Value"].strip()
        mode, ttl = (value, 30) if value in ("enforce", "dry-run", "off") else ("dry-run", 5)
    except ClientError:
        mode, ttl = "dry-run", 5
    _mode_cache.update(mode=mode, until=time.monotonic() + ttl)
    return mode


global_mode()  # warm the SSM connection during init


def claim_id(identity):
    h = 0xCBF29CE484222325
    for b in identity.encode():
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def parse(body):
    """SQS body → alert dict, or raises ValueError."""
    doc = json.loads(body)
    if doc.get("Type") == "Notification" and isinstance(doc.get("Message"), str):
        doc = json.loads(doc["Message"])
    name = doc["AlarmName"]
    dims = (doc.get("Trigger") or {}).get("Dimensions") or []
    instances = [d["value"] for d in dims if d.get("name") == "InstanceId"]
    for i in instances:
        if not INSTANCE_RE.match(i):
            raise ValueError(f"bad instance id {i!r}")
    role, _, alert = name.partition(":") if ":" in name else (None, "", name)
    identity = f"alarm|{doc.get('AlarmArn') or name}|{doc.get('StateChangeTime', '-')}|{','.join(instances)}"
    return {"alarm": name, "role": role, "alert": alert, "state": doc["NewStateValue"],
            "instances": instances, "identity": identity}


def find_runbook(role, alert):
    for key in (f"{role}:{alert}", f"{role}:*", f"*:{alert}", "*:*"):
        if key in RUNBOOKS:
            return key, {**DEFAULTS, **RUNBOOKS[key]}
    return None, None


def role_tag(instance):
    if ACCOUNT:
        arn = f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{instance}"
        pages = [tagging.get_resources(ResourceARNList=[arn])]
    else:
        pages = tagging.get_paginator("get_resources").paginate(
            ResourceTypeFilters=["ec2:instance"], TagFilters=[{"Key": ROLE_TAG}])
    for page in pages:
        for m in page["ResourceTagMappingList"]:
            if m["ResourceARN"].endswith(f":instance/{instance}"):
                return next((t["Value"] for t in m["Tags"] if t["Key"] == ROLE_TAG), None)
    return None


def history(alert, sort, outcome, reason, claim=None, role=None, key=None, runbook=None):
    t = now_ms()
    table.put_item(Item={
        "pk": "hist#" + time.strftime("%Y-%m-%d", time.gmtime(t / 1000)), "sk": sort,
        "identity": alert["identity"], "key": key, "runbook": runbook, "role": role,
        "alert": alert["alert"], "instance": alert["instances"][0] if len(alert["instances"]) == 1 else None,
        "source": "cloudwatch", "state": alert["state"], "outcome": outcome, "reason": reason,
        "attempt": claim["attempt"] if claim else 0,
        "received_at_ms": claim["claimed_at_ms"] if claim else t, "finished_at_ms": t,
        "command_ids": claim["command_ids"] if claim else [], "failed_phase": None, "exit_code": None,
        "output_tail": None, "expires_at": t // 1000 + HISTORY_TTL_S,
    })
    log.info(json.dumps({"chat": "result", "key": key, "outcome": outcome, "reason": reason}))
    return outcome


def put_versioned(item, version):
    """Writes a counter/claim item if it is absent (version 0) or still at `version`."""
    item["version"] = version + 1
    try:
        table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk) OR version = :v",
                       ExpressionAttributeValues={":v": version})
        return True
    except ClientError as e:
        if e.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise


def save_claim(claim):
    version = claim["version"]
    if not put_versioned(claim, version):
        raise Transient("claim taken over by another worker")


def take_attempt(budget_key, max_attempts, window_ms, now):
    for _ in range(8):
        item = table.get_item(Key={"pk": "budget#" + budget_key, "sk": "budget"}, ConsistentRead=True).get("Item")
        version = int(item["version"]) if item else 0
        attempts = [int(t) for t in (item or {}).get("attempts", []) if int(t) >= now - window_ms]
        if len(attempts) >= max_attempts:
            return None
        attempts.append(now)
        new = {"pk": "budget#" + budget_key, "sk": "budget", "attempts": attempts,
               "expires_at": (now + window_ms) // 1000 + 86400}
        if put_versioned(new, version):
            return len(attempts)
    raise Transient("attempt budget contended")


def acquire_lease(role, holder, max_concurrent, now):
    for _ in range(8):
        item = table.get_item(Key={"pk": "lease#" + role, "sk": "lease"}, ConsistentRead=True).get("Item")
        version = int(item["version"]) if item else 0
        holders = {k: int(v) for k, v in (item or {}).get("holders", {}).items() if int(v) > now}
        if holder not in holders and len(holders) >= max_concurrent:
            return False
        holders[holder] = now + LEASE_MS
        new = {"pk": "lease#" + role, "sk": "lease", "holders": holders,
               "expires_at": max(holders.values()) // 1000 + 86400}
        if put_versioned(new, version):
            return True
    raise Transient("lease contended")


def release_lease(role, holder):
    for _ in range(8):
        item = table.get_item(Key={"pk": "lease#" + role, "sk": "lease"}, ConsistentRead=True).get("Item")
        if not item or holder not in item.get("holders", {}):
            return
        holders = {k: int(v) for k, v in item["holders"].items() if k != holder}
        new = {"pk": "lease#" + role, "sk": "lease", "holders": holders,
               "expires_at": max(holders.values(), default=0) // 1000 + 86400}
        if put_versioned(new, int(item["version"])):
            return
    log.warning("lease release contended; it expires on its own")


def take_fleet_slot(holder, now):
    for _ in range(8):
        item = table.get_item(Key={"pk": "fleet", "sk": "starts"}, ConsistentRead=True).get("Item")
        version = int(item["version"]) if item else 0
        starts = {k: int(v) for k, v in (item or {}).get("starts", {}).items() if int(v) >= now - 3_600_000}
        if holder in starts:
            return True
        if len(starts) >= MAX_PER_HOUR:
            return False
        starts[holder] = now
        if put_versioned({"pk": "fleet", "sk": "starts", "starts": starts, "expires_at": now // 1000 + 7200}, version):
            return True
    raise Transient("fleet cap contended")


def wrap(phase, lines):
    out = []
    for i, line in enumerate(lines, 1):
        quoted = line.replace("'", "'\\''")
        out.append(f"command eval '{quoted}'")
        out.append(f'selfheal_rc=$?; if [ "$selfheal_rc" -ne 0 ]; then echo "selfheal: {phase} line {i} of '
                   f'{len(lines)} failed with exit $selfheal_rc" >&2; exit "$selfheal_rc"; fi')
    return out


def run_phase(claim, entry, instance, phase, deadline_ms):
    """Sends one phase and waits for it; returns (status, exit code)."""
    claim.update(phase=phase, command_id=None, phase_sent_at_ms=now_ms(), state="running")
    save_claim(claim)
    try:
        sent = ssm.send_command(
            InstanceIds=[instance], DocumentName=entry["document"], TimeoutSeconds=60,
            Parameters={"commands": wrap(phase, entry[phase]), "executionTimeout": [str(entry["timeout_seconds"])]},
            Comment=f"selfheal {claim_id(claim['identity'])} {phase}"[:100])
    except ClientError as e:
        if e.response["Error"]["Code"] == "InvalidInstanceId":
            return "Undeliverable", None
        raise
    command_id = sent["Command"]["CommandId"]
    claim["command_id"] = command_id
    claim["command_ids"].append(command_id)
    save_claim(claim)
    delay = 0.25
    while True:
        if now_ms() + MARGIN_MS >= deadline_ms:
            return "Running", None
        try:
            inv = ssm.get_command_invocation(CommandId=command_id, InstanceId=instance)
            if inv["Status"] in TERMINAL:
                return inv["Status"], inv.get("ResponseCode")
        except ClientError as e:
            if e.response["Error"]["Code"] != "InvocationDoesNotExist":
                raise
        time.sleep(delay)
        delay = min(delay * 2, 5.0)


def process(record, deadline_ms):
    """One SQS record → outcome. Raises Transient when the record must be retried."""
    try:
        alert = parse(record["body"])
    except (ValueError, KeyError, TypeError) as e:
        return history({"identity": "sqs|" + record["messageId"], "alert": None, "state": None, "instances": []},
                       "invalid#" + record["messageId"], "invalid", str(e))
    if alert["state"] != "ALARM":
        return history(alert, claim_id(alert["identity"]), "ignored", "recovery state")
    if len(alert["instances"]) != 1:
        return history(alert, claim_id(alert["identity"]), "unresolved", "not exactly one instance")
    instance = alert["instances"][0]
    tag = role_tag(instance)
    role = alert["role"] or tag
    key = f"{role}:{alert['alert']}" if role else None
    runbook, entry = find_runbook(role, alert["alert"]) if role else (None, None)
    if runbook is None:
        return history(alert, claim_id(alert["identity"]), "no-runbook", "no runbook", role=role, key=key)
    if tag != role:
        return history(alert, claim_id(alert["identity"]), "unresolved", f"role tag {tag!r} != {role!r}",
                       role=role, key=key, runbook=runbook)
    mode = global_mode()
    if mode == "off" or entry["mode"] == "off":
        return history(alert, claim_id(alert["identity"]), "killed", "mode off", role=role, key=key, runbook=runbook)
    holder = claim_id(alert["identity"])
    now = now_ms()
    claim = {"pk": "claim#" + alert["identity"], "sk": "claim", "identity": alert["identity"], "state": "claimed",
             "owner": "python/" + record["messageId"], "owner_until_ms": now + LEASE_MS, "claimed_at_ms": now,
             "phase": None, "command_id": None, "phase_sent_at_ms": None, "command_ids": [], "attempt": 0,
             "outcome": None, "version": 1, "expires_at": now // 1000 + 30 * 86400}
    try:
        table.put_item(Item=claim, ConditionExpression="attribute_not_exists(pk)")
    except ClientError as e:
        if e.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        existing = table.get_item(Key={"pk": claim["pk"], "sk": "claim"}, ConsistentRead=True)["Item"]
        if existing["state"] == "done":
            return history(alert, f"{holder}#dup#{record['messageId']}", "duplicate", "already handled",
                           role=role, key=key, runbook=runbook)
        raise Transient("claim held by another worker")
    if mode == "dry-run" or entry["mode"] == "dry-run":
        return finish(alert, claim, "dry-run", "dry-run: nothing runs", role, key, runbook, lease=False)
    attempt = take_attempt(f"{key}#{instance}", entry["max_attempts"], entry["window_minutes"] * 60_000, now)
    if attempt is None:
        return finish(alert, claim, "budget-exhausted", "needs review", role, key, runbook, lease=False)
    claim["attempt"] = attempt
    save_claim(claim)
    if not acquire_lease(role, holder, entry["max_concurrent"], now_ms()):
        return capacity_wait(alert, claim, role, key, runbook, release=False)
    if not take_fleet_slot(holder, now_ms()):
        return capacity_wait(alert, claim, role, key, runbook, release=True)
    alarms = cloudwatch.describe_alarms(AlarmNames=[alert["alarm"]], AlarmTypes=["MetricAlarm", "CompositeAlarm"])
    states = [a["StateValue"] for a in alarms["MetricAlarms"] + alarms["CompositeAlarms"]
              if a["AlarmName"] == alert["alarm"]]
    if not states:
        return finish(alert, claim, "unresolved", "alarm not found", role, key, runbook)
    if states[0] != "ALARM":
        return finish(alert, claim, "recovered", f"alarm is {states[0]} again", role, key, runbook)
    log.info(json.dumps({"chat": "start", "key": key, "instance": instance, "commands": entry["commands"]}))
    for phase in ("precheck", "commands", "verify"):
        if not entry[phase]:
            continue
        status, code = run_phase(claim, entry, instance, phase, deadline_ms)
        if status == "Running":
            claim["owner_until_ms"] = now_ms()
            save_claim(claim)
            raise Transient("time ran out while polling")
        if status == "Success" and code in (None, 0):
            continue
        if status in ("Success", "Failed"):
            outcome = "precheck-failed" if phase == "precheck" else "failed"
        elif status in ("TimedOut", "ExecutionTimedOut", "DeliveryTimedOut"):
            outcome = "timed-out"
        elif status == "Undeliverable":
            outcome = "unresolved"
        else:
            outcome = "failed"
        return finish(alert, claim, outcome, f"{phase} ended {status} ({code})", role, key, runbook)
    return finish(alert, claim, "healed", "every command exited 0 and verify passed", role, key, runbook)


def finish(alert, claim, outcome, reason, role, key, runbook, lease=True):
    history(alert, claim_id(alert["identity"]), outcome, reason, claim, role, key, runbook)
    claim.update(state="done", outcome=outcome, owner_until_ms=now_ms())
    if not put_versioned(claim, claim["version"]):
        log.warning("claim changed under us while finishing")
    if lease:
        release_lease(role, claim_id(alert["identity"]))
    return outcome


def capacity_wait(alert, claim, role, key, runbook, release):
    if release:
        release_lease(role, claim_id(alert["identity"]))
    claim.update(state="capacity-wait", owner_until_ms=now_ms())
    history(alert, claim_id(alert["identity"]), "capacity-wait", "capacity", claim, role, key, runbook)
    save_claim(claim)
    raise Transient("capacity-wait")


def handler(event, context):
    deadline = now_ms() + context.get_remaining_time_in_millis()
    failures = []
    for record in event["Records"]:
        try:
            outcome = process(record, deadline)
        except (Transient, ClientError) as e:
            log.warning(json.dumps({"message_id": record["messageId"], "retry": str(e)}))
            failures.append({"itemIdentifier": record["messageId"]})
            continue
        log.info(json.dumps({"message_id": record["messageId"], "outcome": outcome}))
    return {"batchItemFailures": failures}
