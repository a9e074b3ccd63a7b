"""GETs a URL of an imgdeploy stack the way CloudFront would serve it, from what moto holds: an
independent check that a deployed stack "serves through the function".

Given `https://HOST/PATH` and an Accept header, it follows only what AWS holds, read with boto3:
1. HOST: a Route 53 alias (A) record of HOST to a `*.cloudfront.net` name, or that name itself;
2. the distribution with that domain name, which must list HOST among its aliases when HOST is not
   its own name;
3. the first cache behaviour whose path pattern matches PATH (else the default one), and its
   function associations;
4. the LIVE stage of the viewer-request function (GetFunction Stage=LIVE), run under Node as the
   cloudfront-js-2.0 runtime would (a plain script whose `handler` gets the event), which may rewrite
   the URI;
5. the behaviour's origin: an S3 bucket (`<bucket>.s3.<region>.amazonaws.com`), read at the key of
   the rewritten URI;
6. the viewer-response function, run on the origin's answer.

It prints one JSON document: {"distribution", "behaviour", "uri", "status", "headers", "bytes"}.
Usage: python edge_get.py URL [--accept VALUE]. The endpoint and credentials come from AWS_* variables.
"""

import argparse
import fnmatch
import json
import os
import subprocess
import sys
import urllib.parse

import boto3
from botocore.exceptions import ClientError

RUN = r"""
const vm = require('node:vm');
let input = '';
process.stdin.on('data', (d) => (input += d));
process.stdin.on('end', () => {
  const { code, event } = JSON.parse(input);
  const context = vm.createContext({});
  vm.runInContext(code, context, { filename: 'function.js' });
  process.stdout.write(JSON.stringify(context.handler(event)));
});
"""


def run_function(code, event):
    out = subprocess.run(["node", "-e", RUN], input=json.dumps({"code": code, "event": event}),
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def resolve(r53, host):
    """The CloudFront domain name HOST points at (itself when it is one)."""
    if host.endswith(".cloudfront.net"):
        return host
    for page in r53.get_paginator("list_hosted_zones").paginate():
        for zone in page["HostedZones"]:
            for rpage in r53.get_paginator("list_resource_record_sets").paginate(HostedZoneId=zone["Id"]):
                for r in rpage["ResourceRecordSets"]:
                    if r["Name"] == host + "." and r["Type"] == "A" and "AliasTarget" in r:
                        return r["AliasTarget"]["DNSName"].rstrip(".")
    sys.exit(f"no Route 53 alias record for {host}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--accept")
    args = parser.parse_args()
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        parser.error("no AWS_ENDPOINT_URL: this tool only reads an emulator")
    session = boto3.session.Session()
    client = lambda service: session.client(service, endpoint_url=endpoint)  # noqa: E731
    cf, r53 = client("cloudfront"), client("route53")
    s3 = session.client("s3", endpoint_url=endpoint, config=boto3.session.Config(s3={"addressing_style": "path"}))

    url = urllib.parse.urlsplit(args.url)
    host, uri = url.hostname, urllib.parse.unquote(url.path)
    target = resolve(r53, host)
    summaries = [d for page in cf.get_paginator("list_distributions").paginate()
                 for d in (page.get("DistributionList") or {}).get("Items", []) or []]
    dist = next((d for d in summaries if d["DomainName"] == target), None)
    if dist is None:
        sys.exit(f"no distribution is {target}")
    config = cf.get_distribution_config(Id=dist["Id"])["DistributionConfig"]
    if host != target and host not in ((config.get("Aliases") or {}).get("Items") or []):
        sys.exit(f"distribution {dist['Id']} does not answer to {host} (its aliases: {config.get('Aliases')})")

    behaviours = (config.get("CacheBehaviors") or {}).get("Items") or []
    path = uri.lstrip("/")
    behaviour = next((b for b in behaviours if fnmatch.fnmatchcase(path, b["PathPattern"])),
                     config["DefaultCacheBehavior"])
    functions = {a["EventType"]: a["FunctionARN"]
                 for a in (behaviour.get("FunctionAssociations") or {}).get("Items") or []}

    def code_of(arn):
        name = arn.rsplit("/", 1)[-1]
        return cf.get_function(Name=name, Stage="LIVE")["FunctionCode"].read().decode()

    headers = {"host": {"value": host}}
    if args.accept is not None:
        headers["accept"] = {"value": args.accept}
    request = {"method": "GET", "uri": uri, "querystring": {}, "headers": headers, "cookies": {}}
    if "viewer-request" in functions:
        event = {"version": "1.0", "context": {"eventType": "viewer-request"},
                 "viewer": {"ip": "192.0.2.1"}, "request": request}
        request = run_function(code_of(functions["viewer-request"]), event)

    origin = next(o for o in config["Origins"]["Items"] if o["Id"] == behaviour["TargetOriginId"])
    bucket = origin["DomainName"].split(".s3.", 1)[0]
    key = request["uri"].lstrip("/")
    try:
        got = s3.get_object(Bucket=bucket, Key=key)
        status, body = 200, got["Body"].read()
        response_headers = {"content-type": {"value": got.get("ContentType", "")}}
    except ClientError as e:
        status, body, response_headers = int(e.response["ResponseMetadata"]["HTTPStatusCode"]), b"", {}
    response = {"statusCode": status, "headers": response_headers}
    if "viewer-response" in functions:
        event = {"version": "1.0", "context": {"eventType": "viewer-response"},
                 "viewer": {"ip": "192.0.2.1"}, "request": request, "response": response}
        response = run_function(code_of(functions["viewer-response"]), event)

    json.dump({
        "distribution": dist["Id"],
        "behaviour": behaviour.get("PathPattern", "default"),
        "uri": request["uri"],
        "status": response["statusCode"],
        "headers": {k: v["value"] for k, v in response["headers"].items()},
        "bytes": len(body),
    }, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
