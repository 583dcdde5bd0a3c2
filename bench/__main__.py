"""Run every benchmark in bench/ (or the ones named on the command line).

The scale bench runs at 100 photos here unless BENCH_SCALE is set: its default, 100 and
1,000 photos, takes 20+ minutes per code version for the 1,000-photo cold build alone
(`BENCH_SCALE=100,1000 make bench`, or `uv run python -m bench.scale_bench`).
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from pathlib import Path

SUITE_SCALE = "100"


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    names = argv or sorted(p.stem.removesuffix("_bench") for p in here.glob("*_bench.py"))
    os.environ.setdefault("BENCH_SCALE", SUITE_SCALE)
    failed = []
    for name in names:
        module = importlib.import_module(f"bench.{name}_bench")
        print(f"\n=== bench: {name} ===", flush=True)
        started = time.perf_counter()
        if module.main() not in (None, 0):
            failed.append(name)
        print(f"--- {name} took {time.perf_counter() - started:.1f} s", flush=True)
    if failed:
        print(f"\nbenchmarks that missed a target: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
