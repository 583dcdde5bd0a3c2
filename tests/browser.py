"""The page tests' browser and axe-core: the real Debian chromium (never a downloaded
browser), the axe-core of node_modules, and how their findings are reported.

The `browser` fixture (tests/conftest.py) starts one Chromium for the tests of a module."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import ROOT

CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
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
