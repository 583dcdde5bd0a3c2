"""Build time of the sample site with site search and Spanish against today's build.

Builds the sample content four ways, each into a fresh output folder, with the consent
gate on (a temporary face cache and no registry, as in the tests) and SITE_DATE fixed:

- today: the site as it was before search and translations (no `es/` content, no
  site_i18n, no site_search): the baseline;
- + Spanish: the translated articles and pages, the Spanish home and the untranslated-page
  notes (site_i18n);
- + search: the Pagefind index of every page (site_search), checked by site_search
  against the gate's rules and then by the gate itself, as in every build;
- + both.

Each figure is the best of REPEATS builds, the four kinds interleaved so that a busy
moment of the shared machine does not fall on one kind only. Target: both / today <=
TARGET_RATIO.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPEATS = 3
TARGET_RATIO = 1.6
SITE_DATE = "2026-11-30T07:30"


def _plugins(i18n: bool, search: bool) -> list[str]:
    sys.path.insert(0, str(ROOT))
    import pelicanconf

    plugins = [
        p for p in pelicanconf.PLUGINS if p not in ("site_i18n", "site_search", "consent_gate")
    ]
    return (
        plugins
        + (["site_i18n"] if i18n else [])
        + (["site_search"] if search else [])
        + ["consent_gate"]
    )


def _content(work: Path, spanish: bool) -> Path:
    target = work / ("content-es" if spanish else "content-en")
    if not target.exists():
        skip = {"gallery"} | (set() if spanish else {"es"})
        shutil.copytree(
            ROOT / "content", target, ignore=lambda _folder, names: [n for n in names if n in skip]
        )
    return target


def _build(work: Path, name: str, i18n: bool, search: bool, run: int) -> tuple[float, int, int]:
    """Seconds, files published and files the gate withheld."""
    output = work / f"out-{name}-{run}"
    settings = {
        "PLUGINS": _plugins(i18n, search),
        "I18N_LANGUAGES": {"es": "Español"} if i18n else {},
        "CONSENT_REPORT_PATH": str(work / f"report-{name}.json"),
        "CONSENT_MANIFEST_PATH": str(work / f"manifest-{name}.json"),
        "CONSENT_CACHE_DIR": str(work / "face-cache"),
        "CONSENT_REGISTRY": str(work / "no-registry" / "registry.sqlite3"),
        "CACHE_PATH": str(work / f"cache-{name}"),
    }
    cmd = [sys.executable, "-m", "pelican", str(_content(work, i18n)), "-o", str(output)]
    cmd += ["-s", str(ROOT / "pelicanconf.py"), "-e"]
    cmd += [f"{key}={json.dumps(value)}" for key, value in settings.items()]
    env = {**os.environ, "SITE_DATE": SITE_DATE, "COLUMNS": "200"}
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"the {name} build failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    files = sum(1 for p in output.rglob("*") if p.is_file())
    report = json.loads(Path(settings["CONSENT_REPORT_PATH"]).read_text(encoding="utf-8"))
    shutil.rmtree(output, ignore_errors=True)
    return elapsed, files, report["summary"]["withheld"]


KINDS = {
    "today": (False, False),
    "+ Spanish": (True, False),
    "+ search": (False, True),
    "+ both": (True, True),
}


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="site-bench-") as temp:
        work = Path(temp)
        best: dict[str, float] = {}
        facts: dict[str, tuple[int, int]] = {}
        # A first build of each kind warms the face cache and the interpreter's imports.
        for name, (i18n, search) in KINDS.items():
            _build(work, name.strip("+ "), i18n, search, -1)
        for run in range(REPEATS):
            for name, (i18n, search) in KINDS.items():
                seconds, files, withheld = _build(work, name.strip("+ "), i18n, search, run)
                best[name] = min(best.get(name, seconds), seconds)
                facts[name] = (files, withheld)
    base = best["today"]
    print(f"{'build':<12}{'best of ' + str(REPEATS):>12}{'ratio':>8}{'files':>8}{'withheld':>10}")
    for name, seconds in best.items():
        files, withheld = facts[name]
        print(f"{name:<12}{seconds:>11.2f}s{seconds / base:>8.2f}{files:>8}{withheld:>10}")
    ratio = best["+ both"] / base
    print(f"search and Spanish / today: {ratio:.2f} (target <= {TARGET_RATIO})")
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
