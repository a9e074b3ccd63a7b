"""Prints, as JSON, every resource of one imgdeploy stack that moto holds: an independent check of `imgdeploy`.

This client shares no code with imgdeploy: it lists each service with boto3 and keeps what carries the stack
name (`<stack>` or `<stack>-...`, `/aws/lambda/<stack>-...` for log groups, the comment `imgdeploy:<stack>` for
CloudFront) or the stack tag (`imgdeploy:stack=<stack>`), so that it also finds what a wrong name would hide.

Output (stdout, one JSON document):
  {"stack", "found": ["s3:bucket:NAME", "sns:topic:ARN", ...],   # everything matched, sorted
   "s3": {"buckets": {NAME: {...}}}, "sns": {"topics": {NAME: {...}}, "subscriptions": [...]},
   "iam": {"roles": {NAME: {...}}}, "lambda": {"functions": {NAME: {...}}},
   "sqs": {"queues": {NAME: {...}}},
   "logs": {"log_groups": {NAME: {...}}},
   "acm": {"certificates": {ARN: {"domain", "status", "tags", "validation"}}},   # us-east-1, by tag
   "route53": {"zones": {NAME: {"id", "records": [{"name", "type", "ttl", "values", "alias"}]}}},
   "cloudfront": {"distributions": {ID: {...}}, "origin_access_controls": {ID: {...}},
                  "functions": {NAME: {"arn", "comment", "runtime", "tags", "code", "live_code"}}}}
Policy documents are parsed into JSON objects; absent configurations are null. Route 53 records carry no
name or tag of the stack: every public zone is listed whole (SOA and NS left out), and none is in `found`.

Usage: python inspect_stack.py STACK [--endpoint URL] [--region R] [--tag-key K]
Credentials and the endpoint also come from the usual AWS_* variables.
"""

import argparse
import json
import os
import sys
import urllib.parse

import boto3
from botocore.exceptions import ClientError

ABSENT_CODES = {
    "NoSuchBucketPolicy",
    "NoSuchPublicAccessBlockConfiguration",
    "OwnershipControlsNotFoundError",
    "ServerSideEncryptionConfigurationNotFoundError",
    "NoSuchTagSet",
    "NoSuchTagSetError",
    "ResourceNotFoundException",
    "NoSuchEntity",
    "NotFound",
    "NoSuchLifecycleConfiguration",
}


def optional(call, *args, **kwargs):
    """The call's answer, or None when the service says that configuration does not exist."""
    try:
        return call(*args, **kwargs)
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") in ABSENT_CODES:
            return None
        raise


# Tests run in parallel against one moto: another test's resource can be deleted between the list that
# names it and the read of its tags. These codes mean "that resource is gone", and it is skipped.
VANISHED_CODES = {
    "NoSuchBucket",
    "NoSuchEntity",
    "NotFound",
    "NotFoundException",
    "ResourceNotFound",
    "ResourceNotFoundException",
    "NoSuchDistribution",
    "NoSuchResource",
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
}


def unless_vanished(call, *args, **kwargs):
    """The call's answer, or None when the listed resource was deleted in the meantime."""
    try:
        return call(*args, **kwargs)
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") in VANISHED_CODES:
            return None
        raise


def parse_policy(text):
    if text is None:
        return None
    if isinstance(text, dict):
        return text
    try:
        return json.loads(urllib.parse.unquote(text) if text.startswith("%7B") else text)
    except (ValueError, AttributeError):
        return {"unparsable": text}


def strip_metadata(answer):
    if isinstance(answer, dict):
        answer = dict(answer)
        answer.pop("ResponseMetadata", None)
    return answer


def tags_to_dict(tags):
    return {t["Key"]: t["Value"] for t in tags or []}


class Stack:
    def __init__(self, name, tag_key):
        self.name = name
        self.tag_key = tag_key

    def named(self, name):
        return name == self.name or name.startswith(self.name + "-")

    def tagged(self, tags):
        return tags.get(self.tag_key) == self.name


def inspect_s3(session, stack, found):
    s3 = session.client("s3")
    buckets = {}
    for bucket in s3.list_buckets().get("Buckets", []):
        name = bucket["Name"]
        try:
            tagging = optional(s3.get_bucket_tagging, Bucket=name)
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in VANISHED_CODES:
                continue
            raise
        tags = tags_to_dict((tagging or {}).get("TagSet"))
        if not (stack.named(name) or stack.tagged(tags)):
            continue
        found.append(f"s3:bucket:{name}")
        policy = optional(s3.get_bucket_policy, Bucket=name)
        versioning = strip_metadata(s3.get_bucket_versioning(Bucket=name))
        keys = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
            keys.extend(o["Key"] for o in page.get("Contents", []))
        versions = 0
        delete_markers = 0
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
            versions += len(page.get("Versions", []))
            delete_markers += len(page.get("DeleteMarkers", []))
        notification = strip_metadata(s3.get_bucket_notification_configuration(Bucket=name))
        buckets[name] = {
            "tags": tags,
            "public_access_block": (
                optional(s3.get_public_access_block, Bucket=name) or {}
            ).get("PublicAccessBlockConfiguration"),
            "ownership_controls": (
                optional(s3.get_bucket_ownership_controls, Bucket=name) or {}
            ).get("OwnershipControls"),
            "encryption": (optional(s3.get_bucket_encryption, Bucket=name) or {}).get(
                "ServerSideEncryptionConfiguration"
            ),
            "versioning": versioning.get("Status"),
            "policy": parse_policy((policy or {}).get("Policy")),
            "notification": notification or None,
            "object_keys": sorted(keys),
            "object_versions": versions,
            "delete_markers": delete_markers,
        }
    return {"buckets": buckets}


def inspect_sns(session, stack, found):
    sns = session.client("sns")
    topics = {}
    stack_topic_arns = set()
    for page in sns.get_paginator("list_topics").paginate():
        for topic in page.get("Topics", []):
            arn = topic["TopicArn"]
            name = arn.split(":")[-1]
            answer = unless_vanished(sns.list_tags_for_resource, ResourceArn=arn)
            if answer is None:
                continue
            tags = tags_to_dict(answer.get("Tags"))
            if not (stack.named(name) or stack.tagged(tags)):
                continue
            found.append(f"sns:topic:{arn}")
            stack_topic_arns.add(arn)
            attributes = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
            topics[name] = {
                "arn": arn,
                "tags": tags,
                "policy": parse_policy(attributes.get("Policy")),
                "attributes": attributes,
            }
    subscriptions = []
    for page in sns.get_paginator("list_subscriptions").paginate():
        for sub in page.get("Subscriptions", []):
            topic_name = sub["TopicArn"].split(":")[-1]
            endpoint_name = sub.get("Endpoint", "").split(":")[-1]
            if not (
                sub["TopicArn"] in stack_topic_arns
                or stack.named(topic_name)
                or stack.named(endpoint_name)
            ):
                continue
            arn = sub["SubscriptionArn"]
            found.append(f"sns:subscription:{arn}")
            attributes = optional(sns.get_subscription_attributes, SubscriptionArn=arn)
            subscriptions.append(
                {
                    "arn": arn,
                    "topic_arn": sub["TopicArn"],
                    "protocol": sub["Protocol"],
                    "endpoint": sub.get("Endpoint"),
                    "attributes": (attributes or {}).get("Attributes"),
                }
            )
    subscriptions.sort(key=lambda s: (s["topic_arn"], s["protocol"], s["endpoint"] or ""))
    for sub in subscriptions:
        name = sub["topic_arn"].split(":")[-1]
        if name in topics:
            topics[name].setdefault("subscriptions", []).append(sub)
    return {"topics": topics, "subscriptions": subscriptions}


def inspect_iam(session, stack, found):
    iam = session.client("iam")
    roles = {}
    for page in iam.get_paginator("list_roles").paginate():
        for role in page.get("Roles", []):
            name = role["RoleName"]
            answer = unless_vanished(iam.list_role_tags, RoleName=name)
            if answer is None:
                continue
            tags = tags_to_dict(answer.get("Tags"))
            if not (stack.named(name) or stack.tagged(tags)):
                continue
            found.append(f"iam:role:{name}")
            inline = {}
            for ipage in iam.get_paginator("list_role_policies").paginate(RoleName=name):
                for policy_name in ipage.get("PolicyNames", []):
                    document = iam.get_role_policy(RoleName=name, PolicyName=policy_name)
                    inline[policy_name] = parse_policy(document["PolicyDocument"])
            attached = []
            for apage in iam.get_paginator("list_attached_role_policies").paginate(RoleName=name):
                attached.extend(p["PolicyArn"] for p in apage.get("AttachedPolicies", []))
            roles[name] = {
                "arn": role["Arn"],
                "tags": tags,
                "trust_policy": parse_policy(role.get("AssumeRolePolicyDocument")),
                "inline_policies": inline,
                "attached_policies": sorted(attached),
            }
    return {"roles": roles}


def inspect_lambda(session, stack, found):
    lam = session.client("lambda")
    functions = {}
    for page in lam.get_paginator("list_functions").paginate():
        for function in page.get("Functions", []):
            name = function["FunctionName"]
            arn = function["FunctionArn"]
            answer = unless_vanished(lam.list_tags, Resource=arn)
            if answer is None:
                continue
            tags = answer.get("Tags") or {}
            if not (stack.named(name) or stack.tagged(tags)):
                continue
            found.append(f"lambda:function:{name}")
            answer = lam.get_function(FunctionName=name)
            policy = optional(lam.get_policy, FunctionName=name)
            concurrency = strip_metadata(lam.get_function_concurrency(FunctionName=name))
            event_invoke = optional(lam.get_function_event_invoke_config, FunctionName=name)
            functions[name] = {
                "arn": arn,
                "tags": tags,
                "configuration": answer["Configuration"],
                "reserved_concurrency": (concurrency or {}).get("ReservedConcurrentExecutions"),
                "event_invoke_config": strip_metadata(event_invoke) if event_invoke else None,
                "policy": parse_policy((policy or {}).get("Policy")),
            }
    return {"functions": functions}


def inspect_sqs(session, stack, found):
    sqs = session.client("sqs")
    queues = {}
    for page in sqs.get_paginator("list_queues").paginate():
        for url in page.get("QueueUrls", []):
            name = url.rsplit("/", 1)[-1]
            answer = unless_vanished(sqs.list_queue_tags, QueueUrl=url)
            if answer is None:
                continue
            tags = answer.get("Tags") or {}
            if not (stack.named(name) or stack.tagged(tags)):
                continue
            found.append(f"sqs:queue:{name}")
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            queues[name] = {
                "url": url,
                "tags": tags,
                "attributes": attributes,
                "policy": parse_policy(attributes.get("Policy")),
            }
    return {"queues": queues}


def inspect_logs(session, stack, found):
    logs = session.client("logs")
    groups = {}
    for page in logs.get_paginator("describe_log_groups").paginate():
        for group in page.get("logGroups", []):
            name = group["logGroupName"]
            answer = unless_vanished(logs.list_tags_log_group, logGroupName=name)
            if answer is None:
                continue
            tags = answer.get("tags") or {}
            short = name.rsplit("/", 1)[-1]
            if not (stack.named(short) or stack.tagged(tags)):
                continue
            found.append(f"logs:log-group:{name}")
            groups[name] = {
                "arn": group.get("arn"),
                "tags": tags,
                "retention_days": group.get("retentionInDays"),
            }
    return {"log_groups": groups}


def inspect_cloudfront(session, stack, found):
    cf = session.client("cloudfront")
    comment = f"imgdeploy:{stack.name}"
    distributions = {}
    for page in cf.get_paginator("list_distributions").paginate():
        for summary in (page.get("DistributionList") or {}).get("Items", []) or []:
            dist_id = summary["Id"]
            arn = summary["ARN"]
            answer = unless_vanished(cf.list_tags_for_resource, Resource=arn)
            if answer is None:
                continue
            tags = tags_to_dict(answer.get("Tags", {}).get("Items"))
            if not (summary.get("Comment") == comment or stack.tagged(tags)):
                continue
            found.append(f"cloudfront:distribution:{dist_id}")
            answer = cf.get_distribution(Id=dist_id)
            distribution = answer["Distribution"]
            distributions[dist_id] = {
                "arn": arn,
                "tags": tags,
                "domain_name": distribution.get("DomainName"),
                "status": distribution.get("Status"),
                "etag": answer.get("ETag"),
                "config": distribution["DistributionConfig"],
            }
    controls = {}
    for page in cf.get_paginator("list_origin_access_controls").paginate():
        for item in (page.get("OriginAccessControlList") or {}).get("Items", []) or []:
            if not stack.named(item.get("Name", "")):
                continue
            found.append(f"cloudfront:origin-access-control:{item['Id']}")
            controls[item["Id"]] = {
                "name": item.get("Name"),
                "description": item.get("Description"),
                "signing_protocol": item.get("SigningProtocol"),
                "signing_behavior": item.get("SigningBehavior"),
                "origin_type": item.get("OriginAccessControlOriginType"),
            }
    functions = {}
    marker = ""
    while True:
        page = cf.list_functions(Marker=marker) if marker else cf.list_functions()
        listed = page.get("FunctionList") or {}
        for item in listed.get("Items", []) or []:
            name = item.get("Name", "")
            if not stack.named(name):
                continue
            arn = item["FunctionMetadata"]["FunctionARN"]
            found.append(f"cloudfront:function:{name}")
            dev = cf.get_function(Name=name, Stage="DEVELOPMENT")["FunctionCode"].read().decode()
            try:
                live = cf.get_function(Name=name, Stage="LIVE")["FunctionCode"].read().decode()
            except ClientError as e:
                if e.response["Error"]["Code"] != "NoSuchFunctionExists":
                    raise
                live = None
            tags = tags_to_dict(cf.list_tags_for_resource(Resource=arn).get("Tags", {}).get("Items"))
            functions[name] = {
                "arn": arn,
                "comment": item["FunctionConfig"].get("Comment"),
                "runtime": item["FunctionConfig"].get("Runtime"),
                "tags": tags,
                "code": dev,
                "live_code": live,
            }
        marker = listed.get("NextMarker") or ""
        if not marker:
            break
    return {"distributions": distributions, "origin_access_controls": controls, "functions": functions}


def inspect_acm(session, stack, found):
    acm = session.client("acm", region_name="us-east-1")
    certificates = {}
    for page in acm.get_paginator("list_certificates").paginate():
        for summary in page.get("CertificateSummaryList", []):
            arn = summary["CertificateArn"]
            tags = tags_to_dict(acm.list_tags_for_certificate(CertificateArn=arn).get("Tags"))
            if not stack.tagged(tags):
                continue
            found.append(f"acm:certificate:{arn}")
            detail = acm.describe_certificate(CertificateArn=arn)["Certificate"]
            options = detail.get("DomainValidationOptions") or [{}]
            certificates[arn] = {
                "domain": detail.get("DomainName"),
                "status": detail.get("Status"),
                "tags": tags,
                "validation": options[0].get("ResourceRecord"),
            }
    return {"certificates": certificates}


def inspect_route53(session):
    r53 = session.client("route53")
    zones = {}
    for page in r53.get_paginator("list_hosted_zones").paginate():
        for zone in page.get("HostedZones", []):
            records = []
            for rpage in r53.get_paginator("list_resource_record_sets").paginate(HostedZoneId=zone["Id"]):
                for r in rpage.get("ResourceRecordSets", []):
                    if r["Type"] in ("SOA", "NS"):
                        continue
                    records.append({
                        "name": r["Name"],
                        "type": r["Type"],
                        "ttl": r.get("TTL"),
                        "values": [v["Value"] for v in r.get("ResourceRecords", [])],
                        "alias": r.get("AliasTarget"),
                    })
            zones[zone["Name"]] = {"id": zone["Id"].split("/")[-1], "records": records}
    return {"zones": zones}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stack")
    parser.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL"))
    parser.add_argument("--region", default=os.environ.get("AWS_REGION", "us-east-1"))
    parser.add_argument("--tag-key", default="imgdeploy:stack")
    args = parser.parse_args()
    if not args.endpoint:
        parser.error("no endpoint: pass --endpoint or set AWS_ENDPOINT_URL (this tool never talks to AWS)")

    session = boto3.session.Session(
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
        region_name=args.region,
    )
    endpoint = args.endpoint

    class Clients:
        def client(self, service):
            config = None
            if service == "s3":
                config = boto3.session.Config(s3={"addressing_style": "path"})
            return session.client(service, endpoint_url=endpoint, config=config)

    def session_for_acm(session, endpoint):
        class AcmClients:
            def client(self, service, region_name):
                return session.client(service, endpoint_url=endpoint, region_name=region_name)
        return AcmClients()

    stack = Stack(args.stack, args.tag_key)
    found = []
    clients = Clients()
    report = {
        "stack": args.stack,
        "s3": inspect_s3(clients, stack, found),
        "sns": inspect_sns(clients, stack, found),
        "iam": inspect_iam(clients, stack, found),
        "lambda": inspect_lambda(clients, stack, found),
        "sqs": inspect_sqs(clients, stack, found),
        "logs": inspect_logs(clients, stack, found),
        "cloudfront": inspect_cloudfront(clients, stack, found),
        "acm": inspect_acm(session_for_acm(session, endpoint), stack, found),
        "route53": inspect_route53(clients),
    }
    report["found"] = sorted(found)
    json.dump(report, sys.stdout, indent=2, sort_keys=True, default=str)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
