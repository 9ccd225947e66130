"""Safety properties of infra/template.yaml.

Each check_* function returns a list of problems (empty = fine). The tests assert that the template
passes every check, and that each check really fires on a template mutated in memory, so a check
that silently stops working fails too.

Run: .tools/infra-venv/bin/pytest -q tests/infra   (bash infra/check.sh does it)
"""

from __future__ import annotations

import copy
import json
import pathlib
import re
from typing import Any, Iterator

import pytest

# cfn-lint is in .tools/infra-venv (infra/check.sh); a test run without it skips this module.
decode = pytest.importorskip("cfnlint.decode").decode

ROOT = pathlib.Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "template.yaml"

REMEDIATOR = "AlertRemediatorFunction"
REPORTER = "WeeklyReporterFunction"
APPROVALS = "SlackApprovalsFunction"
APPROVALS_ROLE = "SlackApprovalsRole"
# Everything that exists only when SlackSigningSecretParamName is set.
APPROVALS_RESOURCES = {"SlackApprovalsLogGroup", APPROVALS_ROLE, APPROVALS, "SlackApprovalsErrorsAlarm"}
# The slack-approvals environment, exactly (functions/slack-approvals/src/settings.rs).
APPROVALS_ENV = {
    "SELFHEAL_SLACK_SIGNING_SECRET_PARAM": {"Ref": "SlackSigningSecretParamName"},
    "SELFHEAL_QUEUE_URL": {"Ref": "AlertQueue"},
    "SELFHEAL_TABLE": {"Ref": "StateTable"},
    "SELFHEAL_APPROVER_GROUP": {"Fn::If": ["HasApproverGroup", {"Ref": "ApproverGroupId"}, {"Ref": "AWS::NoValue"}]},
    "SELFHEAL_APPROVAL_TTL_MINUTES": {"Ref": "ApprovalTtlMinutes"},
    "SELFHEAL_SLACK_TOKEN_PARAM": {"Fn::If": ["HasSlackToken", {"Ref": "SlackTokenParamName"}, {"Ref": "AWS::NoValue"}]},
}
# APIs that support no resource-level permissions: the only ones allowed on Resource "*".
NO_RESOURCE_LEVEL = {"ssm:getcommandinvocation", "ssm:listcommands", "tag:getresources"}
ACCOUNT_ROOT = "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"
PSEUDO = {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012"}


# --------------------------------------------------------------------------------------------- #
# Loading and small helpers
# --------------------------------------------------------------------------------------------- #
def load_template() -> dict:
    tpl, problems = decode(str(TEMPLATE))
    assert not problems, problems
    # cfn-lint's node types -> plain dicts, lists and strings.
    return json.loads(json.dumps(tpl, default=str))


@pytest.fixture()
def tpl() -> dict:
    return load_template()


def resources(tpl: dict, rtype: str | None = None) -> dict[str, dict]:
    return {
        name: res
        for name, res in tpl["Resources"].items()
        if rtype is None or res.get("Type") == rtype
    }


def props(tpl: dict, name: str) -> dict:
    return tpl["Resources"][name].get("Properties", {})


def param_default(tpl: dict, name: str) -> Any:
    return tpl["Parameters"][name].get("Default")


def is_no_value(v: Any) -> bool:
    return v == {"Ref": "AWS::NoValue"}


def render(v: Any) -> str:
    """A readable string for a value that may hold intrinsic functions."""
    if isinstance(v, str):
        return v
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, dict) and len(v) == 1:
        fn, arg = next(iter(v.items()))
        if fn == "Ref":
            return "${%s}" % arg
        if fn == "Fn::GetAtt":
            return "${%s}" % (".".join(arg) if isinstance(arg, list) else arg)
        if fn == "Fn::Sub":
            if isinstance(arg, list):
                text, variables = arg
                for key, value in variables.items():
                    text = text.replace("${%s}" % key, render(value))
                return text
            return arg
        if fn == "Fn::Select":
            return "<select>"
    return json.dumps(v, sort_keys=True)


def branches(v: Any) -> list[Any]:
    """Both branches of an Fn::If (minus AWS::NoValue), or the value itself."""
    if isinstance(v, dict) and list(v) == ["Fn::If"]:
        out = []
        for branch in v["Fn::If"][1:]:
            out.extend(branches(branch))
        return out
    if is_no_value(v):
        return []
    return [v]


def as_list(v: Any) -> list[Any]:
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


def substitute_string_policy(tpl: dict, text: str) -> dict:
    """A PolicyDocument written as an Fn::Sub JSON string, with parameters at their defaults."""

    def repl(match: re.Match) -> str:
        name = match.group(1)
        if name in PSEUDO:
            return PSEUDO[name]
        if name in tpl.get("Parameters", {}):
            return str(param_default(tpl, name))
        return "${%s}" % name

    return json.loads(re.sub(r"\$\{([A-Za-z0-9:]+)\}", repl, text))


def policy_documents(tpl: dict) -> Iterator[tuple[str, str, dict]]:
    """Every policy document in the template as (where, kind, document)."""

    def doc(where: str, raw: Any) -> dict:
        if isinstance(raw, dict) and "Fn::Sub" in raw and isinstance(raw["Fn::Sub"], str):
            return substitute_string_policy(tpl, raw["Fn::Sub"])
        if isinstance(raw, str):
            return json.loads(raw)
        return raw

    for name, res in resources(tpl).items():
        p = res.get("Properties", {})
        rtype = res.get("Type")
        if rtype == "AWS::IAM::Role":
            for pol in p.get("Policies", []):
                yield f"{name}/{pol.get('PolicyName')}", "identity", doc(name, pol["PolicyDocument"])
        elif rtype in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            yield name, "identity", doc(name, p["PolicyDocument"])
        elif rtype == "AWS::Serverless::Function":
            for pol in as_list(p.get("Policies")):
                if isinstance(pol, dict) and "Statement" in pol:
                    yield f"{name}/Policies", "identity", pol
        elif rtype in ("AWS::SNS::TopicPolicy", "AWS::SQS::QueuePolicy"):
            yield name, "resource", doc(name, p["PolicyDocument"])
        elif rtype == "AWS::KMS::Key":
            yield name, "key", doc(name, p["KeyPolicy"])


def statements(document: dict) -> list[dict]:
    out = []
    for st in as_list(document.get("Statement")):
        out.extend(branches(st))
    return out


def actions(st: dict) -> list[str]:
    return [render(a).lower() for a in as_list(st.get("Action"))]


def stmt_resources(st: dict) -> list[str]:
    out = []
    for r in as_list(st.get("Resource")):
        out.extend(render(b) for b in branches(r))
    return out


def allows(st: dict, action: str) -> bool:
    """Does an Allow statement cover `action` (taking IAM wildcards into account)?"""
    if st.get("Effect") != "Allow":
        return False
    for a in actions(st):
        pattern = "^" + re.escape(a).replace(r"\*", ".*").replace(r"\?", ".") + "$"
        if re.match(pattern, action.lower()):
            return True
    return False


# --------------------------------------------------------------------------------------------- #
# Checks
# --------------------------------------------------------------------------------------------- #
def function_timeout(tpl: dict, name: str) -> int:
    return int(props(tpl, name)["Timeout"])


def number(tpl: dict, v: Any) -> tuple[float, float]:
    """(smallest, largest) value a literal or a Number parameter can take."""
    if isinstance(v, dict) and "Ref" in v:
        p = tpl["Parameters"][v["Ref"]]
        lo = float(p.get("MinValue", float("-inf")))
        hi = float(p.get("MaxValue", float("inf")))
        if "AllowedValues" in p:
            vals = [float(x) for x in p["AllowedValues"]]
            lo, hi = max(lo, min(vals)), min(hi, max(vals))
        default = float(p["Default"])
        assert lo <= default <= hi, f"default {default} of {v['Ref']} outside {lo}..{hi}"
        return lo, hi
    return float(v), float(v)


def check_queue_and_dlq(tpl: dict) -> list[str]:
    problems = []
    q = props(tpl, "AlertQueue")
    redrive = q.get("RedrivePolicy") or {}
    if redrive.get("deadLetterTargetArn") != {"Fn::GetAtt": ["AlertDeadLetterQueue", "Arn"]}:
        problems.append("AlertQueue has no RedrivePolicy to AlertDeadLetterQueue")
    else:
        lo, _ = number(tpl, redrive.get("maxReceiveCount", 0))
        if lo < 5:
            problems.append(f"maxReceiveCount can be {lo:g} (< 5)")
    visibility = int(q.get("VisibilityTimeout", 30))
    timeout = function_timeout(tpl, REMEDIATOR)
    if visibility < 6 * timeout:
        problems.append(f"VisibilityTimeout {visibility} < 6 x function Timeout {timeout}")
    dlq = props(tpl, "AlertDeadLetterQueue")
    if int(dlq.get("MessageRetentionPeriod", 345600)) <= int(q.get("MessageRetentionPeriod", 345600)):
        problems.append("the DLQ must keep messages longer than the queue")
    for name in ("AlertQueue", "AlertDeadLetterQueue"):
        if not (props(tpl, name).get("SqsManagedSseEnabled") or props(tpl, name).get("KmsMasterKeyId")):
            problems.append(f"{name} is not encrypted")
    return problems


def check_event_source(tpl: dict) -> list[str]:
    problems = []
    events = props(tpl, REMEDIATOR).get("Events", {})
    sqs = [e["Properties"] for e in events.values() if e.get("Type") == "SQS"]
    if len(sqs) != 1:
        return [f"{REMEDIATOR} must have exactly one SQS event, has {len(sqs)}"]
    ev = sqs[0]
    if ev.get("Queue") != {"Fn::GetAtt": ["AlertQueue", "Arn"]}:
        problems.append("the SQS event does not read AlertQueue")
    if "ReportBatchItemFailures" not in as_list(ev.get("FunctionResponseTypes")):
        problems.append("ReportBatchItemFailures is not enabled")
    scaling = ev.get("ScalingConfig", {}).get("MaximumConcurrency")
    if scaling is None:
        problems.append("ScalingConfig.MaximumConcurrency is not set")
    else:
        lo, hi = number(tpl, scaling)
        if lo < 2 or hi > 1000:
            problems.append(f"MaximumConcurrency can be {lo:g}..{hi:g}, outside 2..1000")
    if int(ev.get("BatchSize", 10)) > 10:
        problems.append("BatchSize above 10 needs a batching window; keep batches small")
    return problems


def check_no_wildcard_actions(tpl: dict) -> list[str]:
    problems = []
    for where, kind, document in policy_documents(tpl):
        for st in statements(document):
            if st.get("Effect") != "Allow":
                continue
            if "NotAction" in st or "NotResource" in st:
                problems.append(f"{where}: Allow with NotAction/NotResource")
            for a in actions(st):
                whole_service = re.fullmatch(r"[a-z0-9-]+:\*", a)
                # The one exception: the standard key-policy statement that lets this account's IAM
                # policies govern the key (kms:* for the account root, as AWS documents it).
                key_admin = (
                    kind == "key"
                    and a == "kms:*"
                    and render(st.get("Principal", {}).get("AWS")) == ACCOUNT_ROOT
                )
                if a == "*" or (whole_service and not key_admin):
                    problems.append(f"{where}: Allow with Action {a!r} ({st.get('Sid')})")
            if kind != "key":
                principal = st.get("Principal")
                if principal == "*" or (isinstance(principal, dict) and "*" in as_list(principal.get("AWS"))):
                    problems.append(f"{where}: Allow for every principal ({st.get('Sid')})")
    return problems


def check_resource_star(tpl: dict) -> list[str]:
    """Identity policies use Resource "*" only for APIs without resource-level permissions."""
    problems = []
    for where, kind, document in policy_documents(tpl):
        if kind != "identity":
            continue
        for st in statements(document):
            if st.get("Effect") == "Allow" and "*" in stmt_resources(st):
                extra = set(actions(st)) - NO_RESOURCE_LEVEL
                if extra:
                    problems.append(f"{where}: Resource '*' for {sorted(extra)} ({st.get('Sid')})")
    return problems


def check_send_command(tpl: dict) -> list[str]:
    """SendCommand: never on '*', only on role-tagged instances and on allowed documents."""
    problems = []
    tag_key = param_default(tpl, "RoleTagKey")
    tag_condition_keys = {f"ssm:resourcetag/{tag_key}".lower(), f"aws:resourcetag/{tag_key}".lower()}
    found_instance_statement = found_document_statement = False
    for where, kind, document in policy_documents(tpl):
        for st in statements(document):
            if not allows(st, "ssm:SendCommand"):
                continue
            res = stmt_resources(st)
            sid = st.get("Sid")
            if not res or any(r == "*" or r.endswith(":*") for r in res):
                problems.append(f"{where}: ssm:SendCommand on Resource '*' ({sid})")
                continue
            instance = [r for r in res if ":instance/" in r or ":managed-instance/" in r]
            documents = [r for r in res if ":document/" in r]
            other = set(res) - set(instance) - set(documents)
            if other:
                problems.append(f"{where}: ssm:SendCommand on unexpected resources {sorted(other)} ({sid})")
            if instance:
                found_instance_statement = True
                if documents:
                    problems.append(f"{where}: instances and documents in one SendCommand statement ({sid})")
                condition = st.get("Condition") or {}
                has_tag_condition = any(
                    op in ("StringLike", "StringEquals")
                    and any(k.lower() in tag_condition_keys for k in (block or {}))
                    for op, block in condition.items()
                )
                if not has_tag_condition:
                    problems.append(f"{where}: SendCommand on instances without a {tag_key} tag condition ({sid})")
            if documents:
                found_document_statement = True
                for r in documents:
                    if "*" in r.split(":document/", 1)[1]:
                        problems.append(f"{where}: wildcard document {r} ({sid})")
    if not found_instance_statement:
        problems.append("no SendCommand statement for instances")
    if not found_document_statement:
        problems.append("no SendCommand statement for documents")
    return problems


def check_topic_policy(tpl: dict) -> list[str]:
    """Only CloudWatch and EventBridge (for this account) and this account's principals publish."""
    problems = []
    policies = [
        (name, p) for name, p in resources(tpl, "AWS::SNS::TopicPolicy").items()
        if {"Ref": "AlertTopic"} in as_list(p["Properties"]["Topics"])
    ]
    if len(policies) != 1:
        return [f"AlertTopic needs exactly one topic policy, has {len(policies)}"]
    name, policy = policies[0]
    sts = statements(policy["Properties"]["PolicyDocument"])
    services_seen = set()
    for st in sts:
        sid = st.get("Sid")
        if st.get("Effect") == "Deny":
            continue
        if actions(st) != ["sns:publish"]:
            problems.append(f"{name}: {sid} allows {actions(st)}, expected only sns:Publish")
        if stmt_resources(st) != ["${AlertTopic}"]:
            problems.append(f"{name}: {sid} is not limited to the alert topic")
        principal = st.get("Principal")
        if not isinstance(principal, dict):
            problems.append(f"{name}: {sid} has principal {principal!r}")
            continue
        services = as_list(principal.get("Service"))
        accounts = [render(a) for a in as_list(principal.get("AWS"))]
        if set(principal) - {"Service", "AWS"}:
            problems.append(f"{name}: {sid} has principal kinds {sorted(principal)}")
        for svc in services:
            if svc not in ("cloudwatch.amazonaws.com", "events.amazonaws.com"):
                problems.append(f"{name}: {sid} lets service {svc} publish")
            source_account = (st.get("Condition") or {}).get("StringEquals", {}).get("aws:SourceAccount")
            if source_account != {"Ref": "AWS::AccountId"}:
                problems.append(f"{name}: {sid} ({svc}) lacks aws:SourceAccount = this account")
            services_seen.add(svc)
        for acct in accounts:
            if acct != ACCOUNT_ROOT:
                problems.append(f"{name}: {sid} lets {acct} publish")
    if services_seen != {"cloudwatch.amazonaws.com", "events.amazonaws.com"}:
        problems.append(f"{name}: CloudWatch and EventBridge must both be allowed, found {sorted(services_seen)}")
    tls = [
        st for st in sts
        if st.get("Effect") == "Deny"
        and (st.get("Condition") or {}).get("Bool", {}).get("aws:SecureTransport") in ("false", False)
    ]
    if not tls:
        problems.append(f"{name}: no Deny for requests without TLS")
    return problems


def check_queue_policy(tpl: dict) -> list[str]:
    problems = []
    for name, res in resources(tpl, "AWS::SQS::QueuePolicy").items():
        for st in statements(res["Properties"]["PolicyDocument"]):
            if st.get("Effect") != "Allow":
                continue
            if st.get("Principal") != {"Service": "sns.amazonaws.com"} or actions(st) != ["sqs:sendmessage"]:
                problems.append(f"{name}: {st.get('Sid')} allows more than SNS SendMessage")
            if (st.get("Condition") or {}).get("ArnEquals", {}).get("aws:SourceArn") != {"Ref": "AlertTopic"}:
                problems.append(f"{name}: {st.get('Sid')} is not limited to the alert topic")
    return problems


def check_table(tpl: dict) -> list[str]:
    problems = []
    tables = resources(tpl, "AWS::DynamoDB::Table")
    if list(tables) != ["StateTable"]:
        return [f"expected exactly the StateTable, found {sorted(tables)}"]
    t = props(tpl, "StateTable")
    key = [(k["AttributeName"], k["KeyType"]) for k in t.get("KeySchema", [])]
    if key != [("pk", "HASH"), ("sk", "RANGE")]:
        problems.append(f"key schema {key}, expected pk HASH + sk RANGE")
    types = {a["AttributeName"]: a["AttributeType"] for a in t.get("AttributeDefinitions", [])}
    if types != {"pk": "S", "sk": "S"}:
        problems.append(f"attribute types {types}, expected pk and sk strings")
    ttl = t.get("TimeToLiveSpecification") or {}
    if ttl.get("AttributeName") != "expires_at" or ttl.get("Enabled") not in (True, "true"):
        problems.append(f"TTL {ttl}, expected expires_at enabled")
    pitr = (t.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled")
    if pitr not in (True, "true"):
        problems.append("point-in-time recovery is off")
    if (t.get("SSESpecification") or {}).get("SSEEnabled") not in (True, "true"):
        problems.append("server-side encryption is off")
    if t.get("BillingMode") != "PAY_PER_REQUEST":
        problems.append("BillingMode is not PAY_PER_REQUEST")
    if t.get("GlobalSecondaryIndexes"):
        problems.append("unexpected GSI (history is partitioned by day)")
    return problems


def check_self_alarms(tpl: dict) -> list[str]:
    problems = []
    alarms = resources(tpl, "AWS::CloudWatch::Alarm")
    for name, res in alarms.items():
        p = res["Properties"]
        targets = as_list(p.get("AlarmActions")) + as_list(p.get("OKActions")) + as_list(p.get("InsufficientDataActions"))
        if not as_list(p.get("AlarmActions")):
            problems.append(f"{name}: no AlarmActions")
        for target in targets:
            if target == {"Ref": "AlertTopic"} or "AlertTopic" in render(target):
                problems.append(f"{name}: routes to the alert topic (selfheal would try to heal itself)")
            elif target != {"Ref": "EscalationTopic"}:
                problems.append(f"{name}: routes to {render(target)}, expected the escalation topic")
    watched = {
        (p["Properties"].get("Namespace"), p["Properties"].get("MetricName"), render(p["Properties"]["Dimensions"][0]["Value"]))
        for p in alarms.values()
        if p["Properties"].get("Dimensions")
    }
    expected = {
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "${AlertDeadLetterQueue.QueueName}"),
        ("AWS/SQS", "ApproximateAgeOfOldestMessage", "${AlertQueue.QueueName}"),
        ("AWS/Lambda", "Errors", "${%s}" % REMEDIATOR),
        ("AWS/Lambda", "Throttles", "${%s}" % REMEDIATOR),
        ("AWS/Lambda", "Invocations", "${%s}" % REPORTER),
        ("AWS/Lambda", "Errors", "${%s}" % REPORTER),
        ("AWS/Lambda", "Errors", "${%s}" % APPROVALS),
    }
    for missing in sorted(expected - watched):
        problems.append(f"no self-alarm on {missing}")
    for name, res in alarms.items():
        p = res["Properties"]
        if p.get("MetricName") == "Invocations":
            if p.get("TreatMissingData") != "breaching":
                problems.append(f"{name}: a not-running alarm must treat missing data as breaching")
            if int(p["Period"]) * int(p["EvaluationPeriods"]) > 604800:
                problems.append(f"{name}: Period x EvaluationPeriods above CloudWatch's 7-day limit")
    return problems


def check_functions(tpl: dict) -> list[str]:
    problems = []
    expected = {REMEDIATOR: "alert-remediator", REPORTER: "weekly-reporter", APPROVALS: "slack-approvals"}
    functions = resources(tpl, "AWS::Serverless::Function")
    if set(functions) != set(expected):
        problems.append(f"functions {sorted(functions)}, expected {sorted(expected)}")
    for name, binary in expected.items():
        res = functions.get(name, {})
        p = res.get("Properties", {})
        meta = res.get("Metadata", {})
        if p.get("Runtime") != "provided.al2023":
            problems.append(f"{name}: Runtime {p.get('Runtime')}")
        if p.get("Architectures") != ["arm64"]:
            problems.append(f"{name}: Architectures {p.get('Architectures')}")
        if p.get("Handler") != "bootstrap":
            problems.append(f"{name}: Handler {p.get('Handler')}")
        if meta.get("BuildMethod") != "rust-cargolambda" or meta.get("BuildProperties", {}).get("Binary") != binary:
            problems.append(f"{name}: not built by cargo-lambda as {binary}")
    env = props(tpl, REMEDIATOR).get("Environment", {}).get("Variables", {})
    for var in (
        "SELFHEAL_TABLE", "SELFHEAL_MODE_PARAM", "SELFHEAL_ROLE_TAG", "SELFHEAL_SLACK_WEBHOOK_PARAM",
        "SELFHEAL_SLACK_TOKEN_PARAM", "SELFHEAL_SLACK_CHANNEL", "SELFHEAL_CHAT_TOPIC_ARN",
        "SELFHEAL_ESCALATION_TOPIC_ARN", "SELFHEAL_MAX_PER_HOUR", "SELFHEAL_FUNCTION_BUDGET_SECONDS",
        "SELFHEAL_QUEUE_URL", "SELFHEAL_CAPACITY_RETRY_SECONDS", "SELFHEAL_APPROVAL_TTL_MINUTES",
        "SELFHEAL_MAX_RECEIVE_COUNT",
    ):
        if var not in env:
            problems.append(f"{REMEDIATOR}: environment lacks {var}")
    # The remediator shortens capacity waits with sqs:ChangeMessageVisibility on the queue it reads.
    # The engine escalates a capacity wait on the receive before the queue's redrive limit.
    if env.get("SELFHEAL_MAX_RECEIVE_COUNT") != {"Ref": "MaxReceiveCount"}:
        problems.append(f"{REMEDIATOR}: SELFHEAL_MAX_RECEIVE_COUNT must come from MaxReceiveCount")
    if env.get("SELFHEAL_QUEUE_URL") != {"Ref": "AlertQueue"}:
        problems.append(f"{REMEDIATOR}: SELFHEAL_QUEUE_URL must be the alert queue")
    if env.get("SELFHEAL_CAPACITY_RETRY_SECONDS") != {"Ref": "CapacityRetrySeconds"}:
        problems.append(f"{REMEDIATOR}: SELFHEAL_CAPACITY_RETRY_SECONDS must come from CapacityRetrySeconds")
    else:
        lo, hi = number(tpl, env["SELFHEAL_CAPACITY_RETRY_SECONDS"])
        if lo < 0 or hi > 900:
            problems.append(f"CapacityRetrySeconds can be {lo:g}..{hi:g}, outside 0..900")
    consume = [
        st for _, _, document in policy_documents(tpl) for st in statements(document)
        if allows(st, "sqs:ChangeMessageVisibility") and "${AlertQueue.Arn}" in stmt_resources(st)
    ]
    if not consume:
        problems.append(f"{REMEDIATOR}: its role may not change the alert queue's message visibility")
    # Both functions must agree on how long an approval request stays open.
    for name in (REMEDIATOR, APPROVALS):
        ttl = props(tpl, name).get("Environment", {}).get("Variables", {}).get("SELFHEAL_APPROVAL_TTL_MINUTES")
        if ttl != {"Ref": "ApprovalTtlMinutes"}:
            problems.append(f"{name}: SELFHEAL_APPROVAL_TTL_MINUTES must come from ApprovalTtlMinutes")
    if "ApprovalTtlMinutes" in tpl["Parameters"]:
        lo, hi = number(tpl, {"Ref": "ApprovalTtlMinutes"})
        if lo < 1 or hi > 10080:
            problems.append(f"ApprovalTtlMinutes can be {lo:g}..{hi:g}, outside 1..10080")
    # Every function logs to its own log group, encrypted with the stack's key, with the stack's retention.
    for name in functions:
        group = (props(tpl, name).get("LoggingConfig") or {}).get("LogGroup")
        if not (isinstance(group, dict) and group.get("Ref") in tpl["Resources"]):
            problems.append(f"{name}: LoggingConfig.LogGroup is not a log group of this stack")
            continue
        lg = tpl["Resources"][group["Ref"]]
        lgp = lg.get("Properties", {})
        if lgp.get("KmsKeyId") != {"Fn::GetAtt": ["SelfhealKey", "Arn"]}:
            problems.append(f"{name}: log group {group['Ref']} is not encrypted with SelfhealKey")
        if lgp.get("RetentionInDays") != {"Ref": "LogRetentionDays"}:
            problems.append(f"{name}: log group {group['Ref']} does not use LogRetentionDays")
        if lg.get("Condition") != tpl["Resources"][name].get("Condition"):
            problems.append(f"{name}: log group {group['Ref']} has another Condition than its function")
    if "SELFHEAL_RUNBOOKS" in env:
        problems.append(f"{REMEDIATOR}: runbooks are compiled in; SELFHEAL_RUNBOOKS must not be set")
    budget = env.get("SELFHEAL_FUNCTION_BUDGET_SECONDS")
    if budget is not None and not int(budget) < function_timeout(tpl, REMEDIATOR):
        problems.append("SELFHEAL_FUNCTION_BUDGET_SECONDS must leave a margin below the function Timeout")
    if env.get("SELFHEAL_MODE_PARAM") != {"Ref": "ModeParameter"}:
        problems.append("SELFHEAL_MODE_PARAM must name the stack's mode parameter")
    return problems


def check_mode_parameter(tpl: dict) -> list[str]:
    problems = []
    p = props(tpl, "ModeParameter")
    if p.get("AllowedPattern") != "^(enforce|dry-run|off)$":
        problems.append(f"mode AllowedPattern {p.get('AllowedPattern')!r}")
    if p.get("Value") != {"Ref": "InitialMode"} or param_default(tpl, "InitialMode") != "dry-run":
        problems.append("a new stack must start in dry-run")
    return problems


def check_schedule(tpl: dict) -> list[str]:
    events = props(tpl, REPORTER).get("Events", {})
    sched = [e["Properties"] for e in events.values() if e.get("Type") == "ScheduleV2"]
    if len(sched) != 1:
        return ["the reporter needs one ScheduleV2 event"]
    s = sched[0]
    problems = []
    if s.get("ScheduleExpression") != "cron(0 9 ? * MON *)":
        problems.append(f"schedule {s.get('ScheduleExpression')}")
    if s.get("ScheduleExpressionTimezone") != {"Ref": "ReportTimezone"} or param_default(tpl, "ReportTimezone") != "UTC":
        problems.append("the schedule time zone must come from ReportTimezone (default UTC)")
    return problems


def approvals_statements(tpl: dict) -> list[dict]:
    return [
        st
        for pol in props(tpl, APPROVALS_ROLE).get("Policies", [])
        for st in statements(pol["PolicyDocument"])
    ]


def check_approvals(tpl: dict) -> list[str]:
    """slack-approvals: public URL only under HasApprovals, exact environment, least privilege."""
    problems = []
    # Created only when the signing-secret parameter is set.
    if param_default(tpl, "SlackSigningSecretParamName") != "":
        problems.append("SlackSigningSecretParamName must default to empty (approvals are opt-in)")
    if tpl.get("Conditions", {}).get("HasApprovals") != {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "SlackSigningSecretParamName"}, ""]}]
    }:
        problems.append("HasApprovals must mean: SlackSigningSecretParamName is not empty")
    conditional = {n for n, r in resources(tpl).items() if r.get("Condition") == "HasApprovals"}
    if conditional != APPROVALS_RESOURCES:
        problems.append(f"resources under HasApprovals {sorted(conditional)}, expected {sorted(APPROVALS_RESOURCES)}")

    # A function URL (and a public one at that) only on slack-approvals, only under the condition.
    for name, res in resources(tpl, "AWS::Serverless::Function").items():
        url = res.get("Properties", {}).get("FunctionUrlConfig")
        if url is not None and name != APPROVALS:
            problems.append(f"{name}: has a FunctionUrlConfig")
    for name in resources(tpl, "AWS::Lambda::Url"):
        problems.append(f"{name}: hand-written AWS::Lambda::Url (use FunctionUrlConfig on {APPROVALS})")
    for name, res in resources(tpl, "AWS::Lambda::Permission").items():
        problems.append(f"{name}: hand-written AWS::Lambda::Permission")
    fn = tpl["Resources"].get(APPROVALS)
    if fn is None:
        return problems + [f"{APPROVALS} is missing"]
    p = fn.get("Properties", {})
    if fn.get("Condition") != "HasApprovals":
        problems.append(f"{APPROVALS}: public function URL without Condition HasApprovals")
    if (p.get("FunctionUrlConfig") or {}).get("AuthType") != "NONE":
        problems.append(f"{APPROVALS}: FunctionUrlConfig.AuthType must be NONE (Slack cannot sign AWS requests)")
    if (p.get("FunctionUrlConfig") or {}).get("Cors"):
        problems.append(f"{APPROVALS}: no CORS (only Slack's servers call the URL)")
    if int(p.get("Timeout", 3)) != 10 or int(p.get("MemorySize", 128)) != 128:
        problems.append(f"{APPROVALS}: Timeout {p.get('Timeout')} / MemorySize {p.get('MemorySize')}, expected 10 / 128")
    reserved = p.get("ReservedConcurrentExecutions")
    if reserved is None or not 1 <= int(reserved) <= 10:
        problems.append(f"{APPROVALS}: ReservedConcurrentExecutions {reserved}, expected a small cap (1..10)")
    if p.get("Role") != {"Fn::GetAtt": [APPROVALS_ROLE, "Arn"]}:
        problems.append(f"{APPROVALS}: must run as {APPROVALS_ROLE}")

    env = (p.get("Environment") or {}).get("Variables", {})
    if set(env) != set(APPROVALS_ENV):
        problems.append(
            f"{APPROVALS}: environment {sorted(env)}, expected exactly {sorted(APPROVALS_ENV)}"
        )
    for var, want in APPROVALS_ENV.items():
        if var in env and env[var] != want:
            problems.append(f"{APPROVALS}: {var} is {render(env[var])}, expected {render(want)}")
    group = tpl["Parameters"].get("ApproverGroupId", {})
    pattern = group.get("AllowedPattern", "")
    if group.get("Default") != "" or not re.fullmatch(pattern, "") or not re.fullmatch(pattern, "S0614TZR7"):
        problems.append("ApproverGroupId must default to empty and accept Slack group ids (S...)")
    for bad in ("U012ABCDEF", "s0614tzr7", "S0614TZR7,S1", "S1"):
        if pattern and re.fullmatch(pattern, bad):
            problems.append(f"ApproverGroupId accepts {bad!r}")

    # Least privilege: exactly these actions, each on its one resource.
    secret_arn = "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${SlackSigningSecretParamName}"
    token_arn = "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${SlackTokenParamName}"
    allowed = {
        "ssm:getparameter": {secret_arn, token_arn},
        "dynamodb:getitem": {"${StateTable.Arn}"},
        "dynamodb:putitem": {"${StateTable.Arn}"},
        "dynamodb:updateitem": {"${StateTable.Arn}"},
        "dynamodb:deleteitem": {"${StateTable.Arn}"},
        "sqs:sendmessage": {"${AlertQueue.Arn}"},
        "logs:createlogstream": {"${SlackApprovalsLogGroup.Arn}"},
        "logs:putlogevents": {"${SlackApprovalsLogGroup.Arn}"},
    }
    if APPROVALS_ROLE not in tpl["Resources"]:
        return problems + [f"{APPROVALS_ROLE} is missing"]
    sts = approvals_statements(tpl)
    if not sts:
        problems.append(f"{APPROVALS_ROLE}: no policy statements")
    seen: set[str] = set()
    for st in sts:
        sid = st.get("Sid")
        if st.get("Effect") != "Allow":
            continue
        res = set(stmt_resources(st))
        for a in actions(st):
            seen.add(a)
            if "*" in a:
                problems.append(f"{APPROVALS_ROLE}: wildcard action {a} ({sid})")
            elif a not in allowed:
                problems.append(f"{APPROVALS_ROLE}: unexpected action {a} ({sid})")
            elif not res or not res <= allowed[a]:
                problems.append(f"{APPROVALS_ROLE}: {a} on {sorted(res)}, expected only {sorted(allowed[a])} ({sid})")
        if any(a.startswith("dynamodb:") for a in actions(st)):
            cond = st.get("Condition") or {}
            leading = (cond.get("ForAllValues:StringLike") or {}).get("dynamodb:LeadingKeys")
            if as_list(leading) != ["approval#*"]:
                problems.append(f"{APPROVALS_ROLE}: dynamodb without LeadingKeys = approval#* ({sid})")
            if str((cond.get("Null") or {}).get("dynamodb:LeadingKeys")).lower() != "false":
                problems.append(f"{APPROVALS_ROLE}: dynamodb without a Null check on LeadingKeys ({sid})")
            if set(cond) - {"ForAllValues:StringLike", "Null"}:
                problems.append(f"{APPROVALS_ROLE}: unexpected dynamodb conditions {sorted(cond)} ({sid})")
    for needed in ("ssm:getparameter", "dynamodb:putitem", "sqs:sendmessage", "logs:putlogevents"):
        if needed not in seen:
            problems.append(f"{APPROVALS_ROLE}: lacks {needed}")
    # The queue policy must not shut this role out (only the TLS Deny may be there).
    for st in statements(props(tpl, "AlertQueuePolicy")["PolicyDocument"]):
        if st.get("Effect") == "Deny" and "aws:SecureTransport" not in json.dumps(st.get("Condition") or {}):
            problems.append(f"AlertQueuePolicy: {st.get('Sid')} may deny the approvals role's SendMessage")
    if not (props(tpl, "AlertQueue").get("SqsManagedSseEnabled") and not props(tpl, "AlertQueue").get("KmsMasterKeyId")):
        problems.append("AlertQueue is not SSE-SQS: the approvals role would need kms permissions to send")

    # The operator's one manual step: the URL goes into the Slack app.
    out = tpl.get("Outputs", {}).get("SlackApprovalsUrl")
    if not out:
        problems.append("no SlackApprovalsUrl output")
    else:
        if out.get("Condition") != "HasApprovals":
            problems.append("SlackApprovalsUrl output without Condition HasApprovals")
        if out.get("Value") != {"Fn::GetAtt": [f"{APPROVALS}Url", "FunctionUrl"]}:
            problems.append(f"SlackApprovalsUrl is {render(out.get('Value'))}, expected the function URL")
        if "Interactivity Request URL" not in str(out.get("Description")):
            problems.append("SlackApprovalsUrl description must say where it goes (Interactivity Request URL)")
    return problems


ALL_CHECKS = [
    check_queue_and_dlq,
    check_event_source,
    check_no_wildcard_actions,
    check_resource_star,
    check_send_command,
    check_topic_policy,
    check_queue_policy,
    check_table,
    check_self_alarms,
    check_functions,
    check_mode_parameter,
    check_schedule,
    check_approvals,
]


# --------------------------------------------------------------------------------------------- #
# The template passes every check
# --------------------------------------------------------------------------------------------- #
@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda c: c.__name__)
def test_template_passes(tpl: dict, check) -> None:
    assert check(tpl) == []


def test_outputs(tpl: dict) -> None:
    assert {"AlertTopicArn", "AlertQueueUrl", "StateTableName", "ModeParameterName", "EscalationTopicArn"} <= set(tpl["Outputs"])
    conditional = {name for name, out in tpl["Outputs"].items() if "Condition" in out}
    assert conditional == {"SlackApprovalsUrl"}
    assert tpl["Outputs"]["SlackApprovalsUrl"]["Condition"] == "HasApprovals"


def sam_transform(tpl: dict, monkeypatch: pytest.MonkeyPatch) -> dict:
    """The template as CloudFormation sees it after the SAM transform (offline)."""
    transform = pytest.importorskip("samtranslator.translator.transform").transform
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    sam = copy.deepcopy(tpl)
    for res in resources(sam, "AWS::Serverless::Function").values():
        res["Properties"]["CodeUri"] = "s3://bucket/key"  # sam build/deploy replaces the local path

    class NoManagedPolicies:
        def load(self) -> dict:
            return {}

    return transform(sam, {}, NoManagedPolicies())


def test_public_url_only_with_approvals(tpl: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    out = sam_transform(tpl, monkeypatch)
    urls = resources(out, "AWS::Lambda::Url")
    assert set(urls) == {f"{APPROVALS}Url"}
    url = urls[f"{APPROVALS}Url"]
    assert url["Properties"]["AuthType"] == "NONE"
    assert url["Properties"]["TargetFunctionArn"] == {"Ref": APPROVALS}
    # Every public permission SAM adds for the URL is created only with the function.
    perms = resources(out, "AWS::Lambda::Permission")
    public = {n: r for n, r in perms.items() if r["Properties"].get("Principal") == "*"}
    assert public, "SAM should add the URL's public permissions"
    for name, res in [(f"{APPROVALS}Url", url), *public.items()]:
        assert res.get("Condition") == "HasApprovals", name
    for res in public.values():
        p = res["Properties"]
        assert p["FunctionName"] == {"Ref": APPROVALS}
        # Public invocation only through the URL (never a bare lambda:Invoke from anyone).
        assert p.get("FunctionUrlAuthType") == "NONE" or p.get("InvokedViaFunctionUrl") in (True, "true"), p
    # The output names the resource SAM really generates (cfn-lint does not resolve it).
    target, attribute = out["Outputs"]["SlackApprovalsUrl"]["Value"]["Fn::GetAtt"]
    assert (target, attribute) == (f"{APPROVALS}Url", "FunctionUrl")
    assert out["Resources"][target]["Type"] == "AWS::Lambda::Url"
    # Nothing else of the stack depends on the optional function without the condition.
    for name, res in out["Resources"].items():
        if res.get("Condition") != "HasApprovals" and name != "OperationsDashboard":
            assert "SlackApprovals" not in json.dumps(res.get("Properties", {})), name


# --------------------------------------------------------------------------------------------- #
# Each check fires on a broken template (mutations in memory)
# --------------------------------------------------------------------------------------------- #
def remediator_statement(tpl: dict, sid: str) -> dict:
    for _, _, document in policy_documents(tpl):
        for st in statements(document):
            if st.get("Sid") == sid:
                return st
    raise KeyError(sid)


def add_remediator_statement(tpl: dict, statement: dict) -> None:
    policies = props(tpl, "AlertRemediatorRole")["Policies"]
    plain = next(p for p in policies if isinstance(p["PolicyDocument"], dict) and "Statement" in p["PolicyDocument"])
    plain["PolicyDocument"]["Statement"].append(statement)


def instance_policy(tpl: dict) -> dict:
    return next(
        p for p in props(tpl, "AlertRemediatorRole")["Policies"]
        if isinstance(p["PolicyDocument"], dict) and "Fn::Sub" in p["PolicyDocument"]
    )


def mutate_drop_tag_condition(tpl):
    pol = instance_policy(tpl)
    doc = json.loads(pol["PolicyDocument"]["Fn::Sub"])
    del doc["Statement"][0]["Condition"]
    pol["PolicyDocument"]["Fn::Sub"] = json.dumps(doc)


def mutate_tag_condition_other_key(tpl):
    pol = instance_policy(tpl)
    pol["PolicyDocument"]["Fn::Sub"] = pol["PolicyDocument"]["Fn::Sub"].replace("${RoleTagKey}", "Owner")


def mutate_send_command_everywhere(tpl):
    add_remediator_statement(tpl, {"Sid": "Oops", "Effect": "Allow", "Action": "ssm:SendCommand", "Resource": "*"})


def mutate_send_wildcard_action(tpl):
    add_remediator_statement(tpl, {"Sid": "Oops", "Effect": "Allow", "Action": "ssm:Send*", "Resource": "*"})


def mutate_wildcard_document(tpl):
    add_remediator_statement(tpl, {
        "Sid": "Oops", "Effect": "Allow", "Action": "ssm:SendCommand",
        "Resource": {"Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}::document/*"},
    })


def mutate_max_receive_3(tpl):
    props(tpl, "AlertQueue")["RedrivePolicy"]["maxReceiveCount"] = 3


def mutate_max_receive_param_min_3(tpl):
    tpl["Parameters"]["MaxReceiveCount"]["MinValue"] = 3


def mutate_no_dlq(tpl):
    del props(tpl, "AlertQueue")["RedrivePolicy"]


def mutate_short_visibility(tpl):
    props(tpl, "AlertQueue")["VisibilityTimeout"] = 900


def mutate_long_timeout(tpl):
    props(tpl, REMEDIATOR)["Timeout"] = 900


def mutate_no_batch_failures(tpl):
    props(tpl, REMEDIATOR)["Events"]["Alerts"]["Properties"]["FunctionResponseTypes"] = []


def mutate_concurrency_1(tpl):
    tpl["Parameters"]["MaxConcurrency"]["MinValue"] = 1


def mutate_concurrency_literal_2000(tpl):
    props(tpl, REMEDIATOR)["Events"]["Alerts"]["Properties"]["ScalingConfig"]["MaximumConcurrency"] = 2000


def mutate_action_star(tpl):
    add_remediator_statement(tpl, {"Sid": "Oops", "Effect": "Allow", "Action": "*", "Resource": {"Fn::GetAtt": ["StateTable", "Arn"]}})


def mutate_service_star(tpl):
    add_remediator_statement(tpl, {"Sid": "Oops", "Effect": "Allow", "Action": "dynamodb:*", "Resource": {"Fn::GetAtt": ["StateTable", "Arn"]}})


def mutate_read_star(tpl):
    add_remediator_statement(tpl, {"Sid": "Oops", "Effect": "Allow", "Action": "ssm:GetParameter", "Resource": "*"})


def alert_topic_statement(tpl: dict, sid: str) -> dict:
    doc = props(tpl, "AlertTopicPolicy")["PolicyDocument"]
    return next(st for st in doc["Statement"] if st.get("Sid") == sid)


def mutate_topic_anyone(tpl):
    alert_topic_statement(tpl, "PrincipalsOfThisAccount")["Principal"] = {"AWS": "*"}


def mutate_topic_other_account(tpl):
    alert_topic_statement(tpl, "PrincipalsOfThisAccount")["Principal"] = {"AWS": "arn:aws:iam::999999999999:root"}


def mutate_topic_no_source_account(tpl):
    del alert_topic_statement(tpl, "EventBridgeRulesOfThisAccount")["Condition"]["StringEquals"]


def mutate_topic_extra_service(tpl):
    alert_topic_statement(tpl, "CloudWatchAlarmsOfThisAccount")["Principal"] = {"Service": ["cloudwatch.amazonaws.com", "s3.amazonaws.com"]}


def mutate_topic_subscribe(tpl):
    alert_topic_statement(tpl, "PrincipalsOfThisAccount")["Action"] = ["sns:Publish", "sns:Subscribe"]


def mutate_topic_no_tls_deny(tpl):
    doc = props(tpl, "AlertTopicPolicy")["PolicyDocument"]
    doc["Statement"] = [st for st in doc["Statement"] if st.get("Effect") != "Deny"]


def mutate_queue_anyone(tpl):
    props(tpl, "AlertQueuePolicy")["PolicyDocument"]["Statement"][0]["Principal"] = "*"


def mutate_table_numeric_sk(tpl):
    props(tpl, "StateTable")["AttributeDefinitions"][1]["AttributeType"] = "N"


def mutate_table_ttl(tpl):
    props(tpl, "StateTable")["TimeToLiveSpecification"]["AttributeName"] = "ttl"


def mutate_table_no_pitr(tpl):
    props(tpl, "StateTable")["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] = False


def mutate_alarm_to_alert_topic(tpl):
    props(tpl, "RemediatorErrorsAlarm")["AlarmActions"] = [{"Ref": "AlertTopic"}]


def mutate_alarm_ok_to_alert_topic(tpl):
    props(tpl, "DeadLetterQueueNotEmptyAlarm")["OKActions"] = [{"Ref": "AlertTopic"}]


def mutate_drop_dlq_alarm(tpl):
    del tpl["Resources"]["DeadLetterQueueNotEmptyAlarm"]


def mutate_reporter_missing_not_breaching(tpl):
    props(tpl, "ReporterNotRunningAlarm")["TreatMissingData"] = "notBreaching"


def mutate_x86(tpl):
    props(tpl, REPORTER)["Architectures"] = ["x86_64"]


def mutate_old_runtime(tpl):
    props(tpl, REMEDIATOR)["Runtime"] = "provided.al2"


def mutate_start_enforcing(tpl):
    tpl["Parameters"]["InitialMode"]["Default"] = "enforce"


def mutate_runbooks_env(tpl):
    props(tpl, REMEDIATOR)["Environment"]["Variables"]["SELFHEAL_RUNBOOKS"] = "/var/task/runbooks"


def mutate_schedule_no_timezone(tpl):
    del props(tpl, REPORTER)["Events"]["Weekly"]["Properties"]["ScheduleExpressionTimezone"]


def approvals_statement(tpl: dict, sid: str) -> dict:
    for st in approvals_statements(tpl):
        if st.get("Sid") == sid:
            return st
    raise KeyError(sid)


def add_approvals_statement(tpl: dict, statement: dict) -> None:
    props(tpl, APPROVALS_ROLE)["Policies"][0]["PolicyDocument"]["Statement"].append(statement)


def mutate_approvals_unconditional(tpl):
    del tpl["Resources"][APPROVALS]["Condition"]


def mutate_approvals_iam_auth(tpl):
    props(tpl, APPROVALS)["FunctionUrlConfig"]["AuthType"] = "AWS_IAM"


def mutate_remediator_url(tpl):
    props(tpl, REMEDIATOR)["FunctionUrlConfig"] = {"AuthType": "NONE"}


def mutate_approvals_no_leading_keys(tpl):
    del approvals_statement(tpl, "ApprovalRecordsOnly")["Condition"]


def mutate_approvals_leading_keys_star(tpl):
    approvals_statement(tpl, "ApprovalRecordsOnly")["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"] = ["*"]


def mutate_approvals_query(tpl):
    approvals_statement(tpl, "ApprovalRecordsOnly")["Action"].append("dynamodb:Query")


def mutate_approvals_send_to_dlq(tpl):
    approvals_statement(tpl, "EnqueueApprovalsOnTheAlertQueue")["Resource"] = {"Fn::GetAtt": ["AlertDeadLetterQueue", "Arn"]}


def mutate_approvals_send_anywhere(tpl):
    approvals_statement(tpl, "EnqueueApprovalsOnTheAlertQueue")["Resource"] = "*"


def mutate_approvals_delete_message(tpl):
    add_approvals_statement(tpl, {
        "Sid": "Oops", "Effect": "Allow", "Action": "sqs:DeleteMessage", "Resource": {"Fn::GetAtt": ["AlertQueue", "Arn"]},
    })


def mutate_approvals_sqs_star(tpl):
    add_approvals_statement(tpl, {"Sid": "Oops", "Effect": "Allow", "Action": "sqs:*", "Resource": {"Fn::GetAtt": ["AlertQueue", "Arn"]}})


def mutate_approvals_extra_env(tpl):
    props(tpl, APPROVALS)["Environment"]["Variables"]["SELFHEAL_SLACK_SIGNING_SECRET"] = "oops"


def mutate_approvals_missing_env(tpl):
    del props(tpl, APPROVALS)["Environment"]["Variables"]["SELFHEAL_TABLE"]


def mutate_approvals_other_ttl(tpl):
    props(tpl, APPROVALS)["Environment"]["Variables"]["SELFHEAL_APPROVAL_TTL_MINUTES"] = "60"


def mutate_approvals_no_reserved(tpl):
    del props(tpl, APPROVALS)["ReservedConcurrentExecutions"]


def mutate_approvals_output_unconditional(tpl):
    del tpl["Outputs"]["SlackApprovalsUrl"]["Condition"]


def mutate_approvals_group_pattern(tpl):
    tpl["Parameters"]["ApproverGroupId"]["AllowedPattern"] = ".*"


def mutate_remediator_no_queue_url(tpl):
    del props(tpl, REMEDIATOR)["Environment"]["Variables"]["SELFHEAL_QUEUE_URL"]


def mutate_remediator_no_change_visibility(tpl):
    remediator_statement(tpl, "ConsumeTheAlertQueue")["Action"].remove("sqs:ChangeMessageVisibility")


def mutate_capacity_retry_max(tpl):
    tpl["Parameters"]["CapacityRetrySeconds"]["MaxValue"] = 43200


def mutate_approvals_log_group_unencrypted(tpl):
    del props(tpl, "SlackApprovalsLogGroup")["KmsKeyId"]


def mutate_drop_approvals_alarm(tpl):
    del tpl["Resources"]["SlackApprovalsErrorsAlarm"]


MUTATIONS = [
    (mutate_drop_tag_condition, check_send_command, "without a Role tag condition"),
    (mutate_tag_condition_other_key, check_send_command, "without a Role tag condition"),
    (mutate_send_command_everywhere, check_send_command, "on Resource '*'"),
    (mutate_send_wildcard_action, check_send_command, "on Resource '*'"),
    (mutate_wildcard_document, check_send_command, "wildcard document"),
    (mutate_max_receive_3, check_queue_and_dlq, "maxReceiveCount can be 3"),
    (mutate_max_receive_param_min_3, check_queue_and_dlq, "maxReceiveCount can be 3"),
    (mutate_no_dlq, check_queue_and_dlq, "no RedrivePolicy"),
    (mutate_short_visibility, check_queue_and_dlq, "VisibilityTimeout 900"),
    (mutate_long_timeout, check_queue_and_dlq, "6 x function Timeout 900"),
    (mutate_no_batch_failures, check_event_source, "ReportBatchItemFailures"),
    (mutate_concurrency_1, check_event_source, "outside 2..1000"),
    (mutate_concurrency_literal_2000, check_event_source, "outside 2..1000"),
    (mutate_action_star, check_no_wildcard_actions, "Action '*'"),
    (mutate_service_star, check_no_wildcard_actions, "Action 'dynamodb:*'"),
    (mutate_read_star, check_resource_star, "Resource '*' for ['ssm:getparameter']"),
    (mutate_topic_anyone, check_topic_policy, "lets * publish"),
    (mutate_topic_other_account, check_topic_policy, "lets arn:aws:iam::999999999999:root publish"),
    (mutate_topic_no_source_account, check_topic_policy, "lacks aws:SourceAccount"),
    (mutate_topic_extra_service, check_topic_policy, "lets service s3.amazonaws.com publish"),
    (mutate_topic_subscribe, check_topic_policy, "expected only sns:Publish"),
    (mutate_topic_no_tls_deny, check_topic_policy, "without TLS"),
    (mutate_queue_anyone, check_queue_policy, "allows more than SNS SendMessage"),
    (mutate_table_numeric_sk, check_table, "expected pk and sk strings"),
    (mutate_table_ttl, check_table, "expected expires_at"),
    (mutate_table_no_pitr, check_table, "point-in-time recovery is off"),
    (mutate_alarm_to_alert_topic, check_self_alarms, "routes to the alert topic"),
    (mutate_alarm_ok_to_alert_topic, check_self_alarms, "routes to the alert topic"),
    (mutate_drop_dlq_alarm, check_self_alarms, "ApproximateNumberOfMessagesVisible"),
    (mutate_reporter_missing_not_breaching, check_self_alarms, "missing data as breaching"),
    (mutate_x86, check_functions, "Architectures ['x86_64']"),
    (mutate_old_runtime, check_functions, "Runtime provided.al2"),
    (mutate_runbooks_env, check_functions, "SELFHEAL_RUNBOOKS"),
    (mutate_start_enforcing, check_mode_parameter, "dry-run"),
    (mutate_schedule_no_timezone, check_schedule, "ReportTimezone"),
    (mutate_approvals_unconditional, check_approvals, "without Condition HasApprovals"),
    (mutate_approvals_iam_auth, check_approvals, "AuthType must be NONE"),
    (mutate_remediator_url, check_approvals, "AlertRemediatorFunction: has a FunctionUrlConfig"),
    (mutate_approvals_no_leading_keys, check_approvals, "without LeadingKeys = approval#*"),
    (mutate_approvals_leading_keys_star, check_approvals, "without LeadingKeys = approval#*"),
    (mutate_approvals_query, check_approvals, "unexpected action dynamodb:query"),
    (mutate_approvals_send_to_dlq, check_approvals, "sqs:sendmessage on ['${AlertDeadLetterQueue.Arn}']"),
    (mutate_approvals_send_anywhere, check_approvals, "sqs:sendmessage on ['*']"),
    (mutate_approvals_delete_message, check_approvals, "unexpected action sqs:deletemessage"),
    (mutate_approvals_sqs_star, check_approvals, "wildcard action sqs:*"),
    (mutate_approvals_sqs_star, check_no_wildcard_actions, "Action 'sqs:*'"),
    (mutate_approvals_extra_env, check_approvals, "expected exactly"),
    (mutate_approvals_missing_env, check_approvals, "expected exactly"),
    (mutate_approvals_other_ttl, check_functions, "SlackApprovalsFunction: SELFHEAL_APPROVAL_TTL_MINUTES"),
    (mutate_approvals_no_reserved, check_approvals, "ReservedConcurrentExecutions"),
    (mutate_approvals_output_unconditional, check_approvals, "output without Condition HasApprovals"),
    (mutate_approvals_group_pattern, check_approvals, "ApproverGroupId accepts"),
    (mutate_remediator_no_queue_url, check_functions, "SELFHEAL_QUEUE_URL"),
    (mutate_remediator_no_change_visibility, check_functions, "change the alert queue's message visibility"),
    (mutate_capacity_retry_max, check_functions, "outside 0..900"),
    (mutate_approvals_log_group_unencrypted, check_functions, "not encrypted with SelfhealKey"),
    (mutate_drop_approvals_alarm, check_self_alarms, "SlackApprovalsFunction"),
    (mutate_drop_approvals_alarm, check_approvals, "resources under HasApprovals"),
]


@pytest.mark.parametrize("mutate,check,expected", MUTATIONS, ids=[m[0].__name__ for m in MUTATIONS])
def test_check_catches(tpl: dict, mutate, check, expected: str) -> None:
    broken = copy.deepcopy(tpl)
    mutate(broken)
    problems = check(broken)
    assert any(expected in p for p in problems), problems
    # The mutation is what broke it: the untouched template still passes.
    assert check(tpl) == []


def test_topic_policy_sees_anyone_as_wildcard(tpl: dict) -> None:
    broken = copy.deepcopy(tpl)
    mutate_topic_anyone(broken)
    assert any("every principal" in p for p in check_no_wildcard_actions(broken))
