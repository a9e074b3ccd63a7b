"""Starts moto's server on 127.0.0.1 for imgdeploy's integration tests.

Why a launcher instead of plain `moto_server`:
- moto evaluates a bucket policy's Deny statements without their conditions, so the stack's TLS-only
  statement (Deny when aws:SecureTransport is false) would refuse every object request. The launcher
  turns that partial enforcement off; the tests check policies by reading them back instead.
- SNS deliveries to `lambda` subscriptions are recorded instead of run: moto would try to start the
  function in Docker (there is none), create its log group as a side effect, and, when the function is
  gone, raise out of the fan-out so that the topic's later subscribers (the tests' SQS queues) miss the
  message. With `--lambda-deliveries FILE` each delivery becomes one JSON line
  `{"function_arn", "topic_arn", "subscription_arn", "event"}`, where `event` is the SNS event Lambda would
  receive, ready to feed to the real `bootstrap`. As on AWS, the publish succeeds whatever the function.
  A direct `Invoke` of an existing function is recorded the same way (`"source": "invoke"`).
- with `--enforce-s3-iam`, S3 requests are authenticated and authorised as AWS does, against the IAM
  users' policies, while every other service stays open: moto checks SigV4 differently from the Rust
  SDK for form-encoded services (SNS), and authorises non-S3 actions against resource `*` only, so
  those grants are proven by a policy-evaluation test instead. The launcher creates an admin user
  (`s3:*`) for the tests' own S3 calls and prints its keys in the ready line;
- CloudFront Functions get what moto 5.2 lacks and AWS has (`cloudfront_functions_as_aws`): two
  stages (DEVELOPMENT and LIVE), `PublishFunction`, `UpdateFunction` with its If-Match check, the
  function associations of cache behaviours (moto drops them), and AWS's refusals: a distribution may
  only associate a published function, and a function in use by a distribution cannot be deleted;
- ACM issues a DNS-validated certificate 1 s after it is requested (moto's default is 60 s; AWS takes
  minutes once the validation record exists), so that one `up` of a stack with `[cdn] domain` converges;
- it binds a free port itself (port 0) and prints one ready line, `MOTO READY port=NNNN` (and
  ` admin=KEY:SECRET` with `--enforce-s3-iam`), on stdout;
- it exits by itself when its parent process dies, so no server outlives the test run.
  (prctl's PDEATHSIG is not used: it fires when the parent *thread* exits, and the Rust harness starts
  the server from whichever test thread comes first.)

Usage: python launch.py [--port N] [--parent-pid PID] [--lambda-deliveries FILE] [--enforce-s3-iam]
"""

import argparse
import json
import os
import sys
import threading
import time
from datetime import datetime, timezone


def neutral_bucket_policies() -> None:
    """Makes moto ignore bucket policies when it authorises S3 object requests."""
    from moto.iam.access_control import PermissionResult
    from moto.s3.models import FakeBucket

    def get_permission(self, action, resource):  # noqa: ARG001 - moto's signature
        return PermissionResult.NEUTRAL

    FakeBucket.get_permission = get_permission


def record_lambda_deliveries(path: str | None) -> None:
    """Replaces SNS -> Lambda invocation by a record of the event Lambda would receive."""
    from moto.sns.models import Subscription

    original_publish = Subscription.publish
    lock = threading.Lock()

    def publish(self, message, message_id, subject=None, message_attributes=None, group_id=None,
                deduplication_id=None, message_structure=None):
        if self.protocol != "lambda":
            return original_publish(self, message, message_id, subject=subject,
                                    message_attributes=message_attributes, group_id=group_id,
                                    deduplication_id=deduplication_id,
                                    message_structure=message_structure)
        matcher = self._filter_policy_matcher
        if matcher is not None and not matcher.matches(message_attributes, message):
            return None
        if message_structure == "json":
            message = self._parse_message_structure(message, self.protocol)
        if path is None:
            return None
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        event = {"Records": [{
            "EventSource": "aws:sns",
            "EventVersion": "1.0",
            "EventSubscriptionArn": self.arn,
            "Sns": {
                "Type": "Notification",
                "MessageId": message_id,
                "TopicArn": self.topic.arn,
                "Subject": subject,
                "Message": message,
                "Timestamp": now,
                "SignatureVersion": "1",
                "Signature": "EXAMPLE",
                "SigningCertUrl": "EXAMPLE",
                "UnsubscribeUrl": "EXAMPLE",
                "MessageAttributes": {},
            },
        }]}
        line = json.dumps({"function_arn": self.endpoint, "topic_arn": self.topic.arn,
                           "subscription_arn": self.arn, "event": event})
        with lock, open(path, "a", encoding="utf-8") as out:
            out.write(line + "\n")
        return None

    Subscription.publish = publish


def record_lambda_invocations(path: str | None) -> None:
    """Replaces a direct Lambda Invoke (moto would start Docker) by a record of its payload.

    Each becomes one JSON line in the deliveries file, `{"source": "invoke", "function_arn",
    "invocation_type", "event"}`; the function must exist, as on AWS (moto raises otherwise).
    """
    from moto.awslambda.models import LambdaBackend

    lock = threading.Lock()

    def invoke(self, function_name, qualifier, body, headers, response_headers):
        fn = self.get_function(function_name, qualifier)
        if path is not None:
            try:
                event = json.loads(body or b"null")
            except ValueError:
                event = None
            line = json.dumps({"source": "invoke", "function_arn": fn.function_arn,
                               "invocation_type": headers.get("X-Amz-Invocation-Type", "RequestResponse"),
                               "event": event})
            with lock, open(path, "a", encoding="utf-8") as out:
                out.write(line + "\n")
        response_headers["Content-Length"] = "0"
        return b""

    LambdaBackend.invoke = invoke


def cloudfront_functions_as_aws() -> None:
    """Gives moto's CloudFront Functions AWS's stages, publish, update and associations."""
    import copy

    from moto.cloudfront import urls
    from moto.cloudfront.exceptions import CloudFrontException, InvalidIfMatchVersion, NoSuchFunctionExists
    from moto.cloudfront.models import CloudFrontBackend, DefaultCacheBehaviour, random_id
    from moto.cloudfront.responses import CloudFrontResponse
    from moto.core.responses import ActionResult, EmptyResult
    from moto.core.utils import utcnow

    urls.url_paths["{0}/2020-05-31/function/(?P<function_name>[^/]+)/publish$"] = CloudFrontResponse.dispatch

    original_behaviour = DefaultCacheBehaviour.__init__

    def behaviour_init(self, config):
        original_behaviour(self, config)
        items = ((config.get("FunctionAssociations") or {}).get("Items")) or []
        if items:
            self.function_associations = {"Quantity": len(items), "Items": items}

    DefaultCacheBehaviour.__init__ = behaviour_init

    def associated_arns(config):
        behaviours = [config.get("DefaultCacheBehavior") or {}]
        behaviours += ((config.get("CacheBehaviors") or {}).get("Items")) or []
        for b in behaviours:
            for a in ((b.get("FunctionAssociations") or {}).get("Items")) or []:
                yield a.get("FunctionARN")

    def only_published(backend, config):
        for arn in associated_arns(config):
            fn = next((f for f in backend.functions.values() if f.arn == arn), None)
            if fn is None or getattr(fn, "live", None) is None:
                raise CloudFrontException(
                    "InvalidFunctionAssociation",
                    f"The function ARN {arn} is not a published function (the LIVE stage).")

    original_create = CloudFrontBackend.create_distribution_with_tags
    original_update = CloudFrontBackend.update_distribution

    def create_distribution_with_tags(self, distribution_config, tags):
        only_published(self, distribution_config)
        return original_create(self, distribution_config, tags)

    def update_distribution(self, dist_config, _id, if_match):
        only_published(self, dist_config or {})
        return original_update(self, dist_config, _id, if_match)

    CloudFrontBackend.create_distribution_with_tags = create_distribution_with_tags
    CloudFrontBackend.update_distribution = update_distribution

    def staged(backend, name, stage):
        fn = backend.describe_function(name)
        if (stage or "DEVELOPMENT") == "LIVE":
            live = getattr(fn, "live", None)
            if live is None:
                raise NoSuchFunctionExists(name)
            return live
        return fn

    def checked(fn, if_match):
        if not if_match or if_match != fn.etag:
            raise InvalidIfMatchVersion

    def describe_function(self):
        fn = staged(self.backend, self._get_param("Name"), self._get_param("Stage"))
        return ActionResult({"FunctionSummary": fn.function_summary, "ETag": fn.etag})

    def get_function(self):
        fn = staged(self.backend, self._get_param("Name"), self._get_param("Stage"))
        return ActionResult({"FunctionCode": fn.code, "ETag": fn.etag,
                             "ContentType": "application/octet-stream"})

    def publish_function(self):
        fn = self.backend.describe_function(self._get_param("Name"))
        checked(fn, self._get_param("IfMatch"))
        live = copy.copy(fn)
        live.stage = "LIVE"
        live.status = "UNASSOCIATED"
        live.etag = random_id()
        live.last_modified_time = utcnow()
        live.live = None
        fn.live = live
        fn.status = "UNASSOCIATED"
        return ActionResult({"FunctionSummary": live.function_summary})

    def update_function(self):
        fn = self.backend.describe_function(self._get_param("Name"))
        checked(fn, self._get_param("IfMatch"))
        fn.config = self._get_param("FunctionConfig", {})
        fn.code = self._get_param("FunctionCode")
        fn.status = "UNPUBLISHED"
        fn.etag = random_id()
        fn.last_modified_time = utcnow()
        return ActionResult({"FunctionSummary": fn.function_summary, "ETag": fn.etag})

    def delete_function(self):
        name = self._get_param("Name")
        fn = self.backend.describe_function(name)
        checked(fn, self._get_param("IfMatch"))
        for dist in self.backend.distributions.values():
            cfg = dist.distribution_config
            behaviours = [cfg.DefaultCacheBehavior] + list(cfg.CacheBehaviors.get("Items") or [])
            for b in behaviours:
                for a in (b.function_associations or {}).get("Items") or []:
                    if a.get("FunctionARN") == fn.arn:
                        raise CloudFrontException(
                            "FunctionInUse",
                            f"Cannot delete function {name}: distribution {dist.distribution_id} uses it.")
        del self.backend.functions[name]
        return EmptyResult()

    CloudFrontResponse.describe_function = describe_function
    CloudFrontResponse.get_function = get_function
    CloudFrontResponse.publish_function = publish_function
    CloudFrontResponse.update_function = update_function
    CloudFrontResponse.delete_function = delete_function


def open_all_but_s3() -> None:
    """Leaves every service but S3 unauthenticated once enforcement is on."""
    from moto.core.authorization import ActionAuthenticatorMixin

    def no_check(self, resource="*"):  # noqa: ARG001 - moto's signature
        return None

    ActionAuthenticatorMixin._authenticate_and_authorize_normal_action = no_check


def enforce_s3_iam(endpoint: str) -> str:
    """Turns S3 enforcement on; returns `KEY:SECRET` of an admin user for the tests' own S3 calls."""
    import boto3
    from moto import settings

    open_all_but_s3()
    iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    iam.create_user(UserName="imgdeploy-tests-admin")
    iam.put_user_policy(UserName="imgdeploy-tests-admin", PolicyName="s3-admin", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
    key = iam.create_access_key(UserName="imgdeploy-tests-admin")["AccessKey"]
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
    return f"{key['AccessKeyId']}:{key['SecretAccessKey']}"


def parent_alive(parent_pid: int, startup_ppid: int) -> bool:
    if parent_pid <= 1:
        return False  # started by init: our parent was gone before we ran
    if parent_pid == startup_ppid:
        # Once our parent dies we are re-parented (to init or a subreaper): getppid() changes, and that
        # cannot be fooled by pid reuse.
        return os.getppid() == parent_pid
    # Another process, or our parent died before we could read getppid(): is it still there?
    try:
        os.kill(parent_pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one")
    parser.add_argument(
        "--parent-pid",
        type=int,
        default=None,
        help="exit when this process is gone (default: the process that started the launcher)",
    )
    parser.add_argument(
        "--lambda-deliveries",
        metavar="FILE",
        help="append each SNS -> Lambda delivery to FILE as a JSON line (default: drop them)",
    )
    parser.add_argument(
        "--enforce-s3-iam",
        action="store_true",
        help="authorise S3 requests against IAM users' policies (other services stay open)",
    )
    args = parser.parse_args()
    startup_ppid = os.getppid()
    parent_pid = args.parent_pid if args.parent_pid is not None else startup_ppid

    # Read by moto's settings when moto is first imported, just below.
    os.environ.setdefault("MOTO_ACM_VALIDATION_WAIT", "1")
    neutral_bucket_policies()
    record_lambda_deliveries(args.lambda_deliveries)
    record_lambda_invocations(args.lambda_deliveries)
    cloudfront_functions_as_aws()

    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
    server.start()
    _, port = server.get_host_and_port()
    ready = f"MOTO READY port={port}"
    if args.enforce_s3_iam:
        ready += " admin=" + enforce_s3_iam(f"http://127.0.0.1:{port}")
    print(ready, flush=True)

    try:
        while parent_alive(parent_pid, startup_ppid):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    # The server thread is a daemon: leaving the main thread ends the process without waiting for
    # in-flight requests, which is what we want once nobody is listening.
    return 0


if __name__ == "__main__":
    sys.exit(main())
