"""Files built from the checked pages (a search index) are checked in turn: the gate's
`after_pages` hook (no face models needed: no photo passes through it)."""

from __future__ import annotations

import io
from datetime import date

import pytest
from consent_gate.gate import GateError, run_gate
from consent_registry.settings import GateSettings
from PIL import Image


@pytest.fixture
def site(tmp_path):
    output = tmp_path / "output"
    (output / "news").mkdir(parents=True)
    (output / "index.html").write_text("<!doctype html><title>Home</title><p>Welcome</p>")
    (output / "news/index.html").write_text("<!doctype html><title>News</title>")
    settings = GateSettings.from_mapping(
        {
            "CONSENT_REGISTRY": str(tmp_path / "none.sqlite3"),
            "CONSENT_CACHE_DIR": str(tmp_path / "cache"),
            "CONSENT_REPORT_PATH": str(tmp_path / "report.json"),
            "CONSENT_MANIFEST_PATH": str(tmp_path / "manifest.json"),
        }
    )
    return output, settings


def _gate(output, settings, hook):
    return run_gate(
        output,
        settings,
        siteurl="",
        placeholder="<p>withheld</p>",
        today=date(2026, 11, 26),
        progress=False,
        after_pages=hook,
    )


def test_an_index_built_from_the_pages_is_checked_and_listed(site):
    output, settings = site
    seen = []

    def index(folder):
        seen.append((folder / "index.html").read_text())
        (folder / "search").mkdir()
        (folder / "search/index.json").write_text('{"pages": ["index.html"]}')
        buffer = io.BytesIO()
        Image.new("RGB", (40, 40), (200, 10, 10)).save(buffer, "JPEG")
        (folder / "search/thumb.jpg").write_bytes(buffer.getvalue())
        (folder / "search/blob.bin").write_bytes(b"\x00\x01binary\xff" * 10)

    outcome = _gate(output, settings, index)
    assert seen and "Welcome" in seen[0]
    listed = {entry.path for entry in outcome.entries}
    assert "search/index.json" in listed
    assert "search/thumb.jpg" not in listed and not (output / "search/thumb.jpg").exists()
    assert "search/blob.bin" not in listed and not (output / "search/blob.bin").exists()
    assert "added after the pages were checked" in outcome.verdicts["search/thumb.jpg"].reasons[0]


def test_a_hook_may_not_change_what_was_checked(site):
    output, settings = site

    def tamper(folder):
        (folder / "index.html").write_text("<img src='data:image/png;base64,AAAA'>")

    with pytest.raises(GateError, match="index.html was changed after the consent gate"):
        _gate(output, settings, tamper)
    assert not (output / "index.html").exists()  # failed closed: nothing unchecked stays
