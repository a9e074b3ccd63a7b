#!/usr/bin/env python3
"""Backfill fan-out throughput against moto: keys listed and invocations queued per second.

The CLI and orchestrator side of `imgdeploy backfill --engine lambda`, for N originals (default 100,000) in
moto with its Lambda execution off (each asynchronous Invoke is recorded, not run):
  - `backfill --engine lambda --dry-run`: the CLI lists the originals and the variant folders for the plan;
  - `invoke --local --event` on the orchestration event `backfill` sends: the orchestrator lists the
    originals a page at a time and queues one asynchronous Invoke per chunk, as on Lambda.
Prints the median of --runs runs of each. moto, not AWS, answers: its S3 lists and its Lambda queues far
more slowly than AWS does (docs/backfill.md compares), so the figures bound the CLI's and orchestrator's own
cost from above. Run from the repository root after `scripts/setup.sh` (or `make test`, which makes the venv).

  python3 scripts/bench_fanout.py [--originals N] [--runs R]
"""
import argparse
import concurrent.futures
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = Path.home() / ".cache" / "imgdeploy" / "venv"
IMGDEPLOY = ROOT / "target" / "debug" / "imgdeploy"


def run(args, env, cwd):
    out = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{' '.join(map(str, args))} failed:\n{out.stderr}")
    return json.loads(out.stdout) if out.stdout.strip() else None


def timed(args, env, cwd):
    started = time.perf_counter()
    answer = run(args, env, cwd)
    return time.perf_counter() - started, answer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--originals", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    python = VENV / "bin" / "python"
    subprocess.run(["cargo", "build", "-q", "-p", "imgdeploy"], cwd=ROOT, check=True)
    work = Path(tempfile.mkdtemp(prefix="bench-fanout-"))
    deliveries = work / "invocations.jsonl"
    moto = subprocess.Popen(
        [python, ROOT / "tests" / "moto" / "launch.py", "--lambda-deliveries", deliveries],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    port = moto.stdout.readline().split("port=")[1].split()[0]
    endpoint = f"http://127.0.0.1:{port}"
    env = dict(
        os.environ,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_REGION="us-east-1",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ENDPOINT_URL=endpoint,
    )
    stack = "bench-fanout"
    (work / "imgdeploy.toml").write_text(
        f'[stack]\nname = "{stack}"\n[cdn]\nenabled = false\n'
        # No upload notification: the uploads below must not reach the function.
        '[source]\ntrigger = "manual"\n'
        '[[variant]]\nname = "thumb"\nwidth = 200\nheight = 200\n'
        '[[variant]]\nname = "web"\nwidth = 1200\nfit = "inside"\n'
    )
    built = run([IMGDEPLOY, "build", "--quick", "--json"], env, ROOT)
    run([IMGDEPLOY, "up", "--yes", "--json", "--artifact", built["zip"]], env, work)

    # The originals: empty objects (the listing and the fan-out never read them).
    sys.path.insert(0, str(next((VENV / "lib").glob("python3*/site-packages"))))
    import boto3  # noqa: E402 - from the venv

    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        list(pool.map(
            lambda i: s3.put_object(Bucket=f"{stack}-originals", Key=f"originals/{i:07}.jpg", Body=b""),
            range(args.originals),
        ))
    print(f"uploaded {args.originals} originals to moto in {time.perf_counter() - started:.0f} s", file=sys.stderr)

    plans, fanouts, sizes = [], [], []
    for _ in range(args.runs):
        seconds, plan = timed([IMGDEPLOY, "backfill", "--engine", "lambda", "--dry-run", "--json"], env, work)
        assert plan["originals"] == args.originals, plan
        plans.append(seconds)
        event = {"imgdeploy_backfill": {
            "id": f"bench-{time.time_ns()}",
            "bucket": f"{stack}-originals",
            "prefixes": ["originals/"],
            "chunk_size": plan["chunk_size"],
        }}
        (work / "event.json").write_text(json.dumps(event))
        before = deliveries.read_text().count("\n") if deliveries.exists() else 0
        seconds, answer = timed([IMGDEPLOY, "invoke", "--local", "--json", "--event", work / "event.json"], env, work)
        queued = deliveries.read_text().count("\n") - before
        assert answer["listed"] == args.originals and queued == answer["chunks"], (answer, queued)
        fanouts.append((seconds, answer["chunks"], answer["listing_ms"] / 1000, answer["queueing_ms"] / 1000))
        sizes.append(plan["chunk_size"])

    plan_s = statistics.median(plans)
    fan_s = statistics.median(f[0] for f in fanouts)
    list_s = statistics.median(f[2] for f in fanouts)
    queue_s = statistics.median(f[3] for f in fanouts)
    chunks = fanouts[0][1]
    print(f"| step (median of {args.runs}, {args.originals} originals, moto) | seconds | rate |")
    print("| --- | --- | --- |")
    print(f"| CLI plan: list originals and 2 variant folders | {plan_s:.1f} | {args.originals / plan_s:,.0f} keys/s |")
    print(f"| orchestrator, whole process: list and queue {chunks} chunks of {sizes[0]} | {fan_s:.1f} | "
          f"{args.originals / fan_s:,.0f} keys/s |")
    print(f"| orchestrator, listing (S3 ListObjectsV2 pages) | {list_s:.1f} | {args.originals / list_s:,.0f} keys/s |")
    print(f"| orchestrator, queueing (Invoke, Event, 32 at a time) | {queue_s:.1f} | {chunks / queue_s:,.0f} invocations/s |")
    moto.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
