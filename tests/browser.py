"""The page tests' browser and axe-core: the real Debian chromium (never a downloaded
browser), the axe-core of node_modules, and how their findings are reported.

The `browser` fixture (tests/conftest.py) starts one Chromium for the tests of a module."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import ROOT

CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# Every request to another machine goes to a proxy that is not there, so it fails at once:
# a page test cannot reach the internet (Chromium sends loopback addresses direct). Routing
# each request through Python instead cost 0.06 s a page load, and turns the browser's cache
# off (163 pages at 320 px: 21 s routed, 12 s not).
NO_OTHER_HOSTS = "--proxy-server=http://127.0.0.1:9"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    NO_OTHER_HOSTS,
]
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
AXE_RUN = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map(n => n.target.join(" ")).slice(0, 8),
  }));
}"""


def missing_tools() -> str | None:
    """What is missing for the page tests, with what to run; None when both are there."""
    if not CHROMIUM.exists():
        return (
            f"Debian chromium is missing at {CHROMIUM}: run `make test-deps` "
            "(apt-get install chromium); the page tests never download a browser"
        )
    if not AXE.is_file():
        return f"axe-core is missing at {AXE}: run `npm ci` (or `make test-deps`)"
    return None


def describe(reports: dict[str, dict]) -> str:
    """axe's violations of each page, one line each with the elements concerned."""
    lines = []
    for path, facts in reports.items():
        for violation in facts["violations"]:
            lines.append(
                f"{violation['id']} ({violation['impact']}) on {path}: {violation['help']}"
            )
            lines += [f"    {target}" for target in violation["targets"]]
    return "\n".join(lines)


def requests_outside(page, base_url: str) -> list[str]:
    """The URLs `page` asks for outside `base_url` from now on (none of them is reached:
    NO_OTHER_HOSTS), for the test to assert there are none."""
    outside: list[str] = []
    page.on("request", lambda request: _note_outside(request.url, base_url, outside))
    return outside


def _note_outside(url: str, base_url: str, outside: list[str]) -> None:
    if not url.startswith((base_url, "data:", "blob:", "about:")):
        outside.append(url)
