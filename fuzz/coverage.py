#!/usr/bin/env python3
"""Line coverage of the project's code by a fuzz target's corpus: `fuzz/coverage.py TARGET FOLDER...`,
e.g. `fuzz/coverage.py jpeg_decoders function/src/engine/decode/jpeg`.

Builds the target with source-based coverage (`cargo fuzz coverage`: a build of its own, beside the
sanitizer one), replays fuzz/corpus/TARGET, and prints llvm-cov's per-file summary of the files under
each FOLDER with their total. Needs rustup's llvm-tools component (`rustup component add llvm-tools`).
"""
import glob
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def llvm_cov():
    sysroot = subprocess.run(["rustc", "--print", "sysroot"], capture_output=True, text=True).stdout.strip()
    found = glob.glob(f"{sysroot}/lib/rustlib/*/bin/llvm-cov")
    if not found:
        sys.exit("llvm-cov not found: rustup component add llvm-tools")
    return found[0]


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    target, folders = sys.argv[1], sys.argv[2:]
    env = dict(os.environ, RUSTC_BOOTSTRAP="1")
    subprocess.run(
        ["cargo", "fuzz", "coverage", target, f"fuzz/corpus/{target}"],
        cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    triple = "x86_64-unknown-linux-gnu"
    binary = ROOT / "fuzz" / "target" / triple / "coverage" / triple / "release" / target
    profile = ROOT / "fuzz" / "coverage" / target / "coverage.profdata"
    files = sorted(str(p) for f in folders for p in (ROOT / f).rglob("*.rs") if "tests" not in p.name)
    report = subprocess.run(
        [llvm_cov(), "report", str(binary), f"-instr-profile={profile}", *files],
        capture_output=True, text=True, check=True,
    ).stdout
    print(f"{target}: line coverage of {', '.join(folders)} by fuzz/corpus/{target} "
          f"({len(list((ROOT / 'fuzz' / 'corpus' / target).iterdir()))} inputs)")
    print(report.replace(str(ROOT) + "/", ""))


if __name__ == "__main__":
    main()
