"""Cost of the rendered-page face check (``site_gate.render_check``).

A generated site (the rebuild bench's photos and articles, faces from the shared face
photos) is built three ways, each into an emptied output folder:

- gate off (CONSENT_ENABLED = False): the baseline;
- cold, with the gate and CONSENT_RENDER_CHECK=1 (as publishconf.py sets it), an empty
  face cache and an empty render cache: every page is rendered in Chromium at two widths
  and its screenshots searched for faces;
- warm, with the caches of the cold build: no page is rendered again.

Prints the render step's cold cost per page (seconds per page, both widths, from the
gate's report) and the warm rebuild / gate off ratio (target <= 1.2). Only the gate plugin
runs. BENCH_RENDER_PHOTOS=N sets the number of photos (default 24, 4 per article).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

from bench.rebuild_bench import write_site
from bench.sites import Gate, build, seed_registry

TARGET_RATIO = 1.2
REPEATS = 3


def main() -> int:
    count = int(os.environ.get("BENCH_RENDER_PHOTOS", "24"))
    with tempfile.TemporaryDirectory(prefix="render-bench-") as tmp:
        work = Path(tmp)
        write_site(work / "content", count)
        registry, key_file = work / "registry.sqlite3", work / "consent.key"
        seed_registry(registry, key_file)
        env = {"CONSENT_REGISTRY": str(registry), "CONSENT_KEY_FILE": str(key_file)}
        # pelicanconf.py leaves the check off (a preview); publishconf.py turns it on.
        env["CONSENT_RENDER_CHECK"] = "1"

        started = time.perf_counter()
        cold = build(work, "gate", Gate.ON, env).seconds
        report = json.loads((work / "report-gate.json").read_text(encoding="utf-8"))
        render = report["summary"]["render_check"]
        if not render.get("ran"):
            print("the render check did not run (no Chromium?): nothing to measure")
            return 1
        pages = max(1, render["pages"])
        print(
            f"cold build, gate: {cold:6.2f} s; render check: {render['pages']} pages, "
            f"{render['rendered']} renderings, {render['faces']} faces on screenshots, "
            f"{render['seconds_rendering']:.1f} s = {render['seconds_rendering'] / pages:.2f} s "
            "per page (375 + 1280 px, render and face search)"
        )
        offs, warms = [], []
        for _ in range(REPEATS):
            offs.append(build(work, "off", Gate.OFF, env).seconds)
            warms.append(build(work, "gate", Gate.ON, env).seconds)
        warm_report = json.loads((work / "report-gate.json").read_text(encoding="utf-8"))
        rendered_warm = warm_report["summary"]["render_check"]["rendered"]
        off, warm = min(offs), min(warms)
        ratio = warm / off
        print(f"gate off:           {off:6.2f} s  (best of {REPEATS}; median {median(offs):.2f} s)")
        print(
            f"warm rebuild, gate: {warm:6.2f} s  (best of {REPEATS}; median {median(warms):.2f} "
            f"s; {rendered_warm} pages rendered again)"
        )
        verdict = "ok" if ratio <= TARGET_RATIO and rendered_warm == 0 else "MISSED"
        print(f"warm rebuild / gate off = {ratio:.2f}x (target <= {TARGET_RATIO}x): {verdict}")
        print(f"bench took {time.perf_counter() - started:.0f} s")
    return 0 if verdict == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
