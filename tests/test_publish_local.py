"""The documented local path, on a fresh copy of the site: `make publish-local` builds for
the local server's website address and publishes into its bucket; in Chromium, the article
served from the local bucket has its stylesheet and images. The caller's AWS_* variables
are junk throughout: the local server uses its own credentials."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import fresh_copy, share_session_faces

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARTICLE = "news/2026/harvest-supper-2026/"
IMAGE = "harvest-table"

pytestmark = [
    pytest.mark.s3,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium"),
]

JUNK_AWS = {
    "AWS_ACCESS_KEY_ID": "AKIAJUNKJUNKJUNKJUNK",
    "AWS_SECRET_ACCESS_KEY": "junk-secret",
    "AWS_SESSION_TOKEN": "junk-token",
    "AWS_PROFILE": "no-such-profile",
    "AWS_DEFAULT_REGION": "xx-junk-1",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make(site: Path, *args: str) -> list[str]:
    # RUN= : the tools of the linked environment straight from PATH (no uv in this test);
    # -o .venv/.synced : never re-sync the shared environment.
    return ["make", "-C", str(site), "-o", ".venv/.synced", "RUN=", *args]


@pytest.fixture
def site_env(tmp_path):
    site = share_session_faces(fresh_copy(tmp_path / "site"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CONSENT_"))}
    env.update(JUNK_AWS)
    # The rendered-page check has its own tests (consent_gate_build/test_render_check.py); a
    # cold render of every page of the sample site would take this test minutes more.
    env["CONSENT_RENDER_CHECK"] = "0"
    env["PATH"] = f"{ROOT / '.venv' / 'bin'}{os.pathsep}{env['PATH']}"
    env["PYTHONPATH"] = os.pathsep.join(str(site / f) for f in ("lib", "plugins", "apps", "."))
    return site, env


def test_make_publish_local_on_a_fresh_copy(site_env):
    """`make publish-local` with no server running: it starts one in the background (with
    its website), builds for that address, publishes, and says where; `make s3-status`
    finds the server by its folder; in Chromium the article has its stylesheet and images."""
    site, env = site_env
    port = free_port()
    try:
        proc = subprocess.run(
            make(site, "publish-local", f"PORT={port}"),
            env=env,
            capture_output=True,
            text=True,
            timeout=3000,
        )
        log = proc.stdout + proc.stderr
        assert proc.returncode == 0, log
        website = f"http://127.0.0.1:{port}/"
        assert f"Published: {website}" in log, log
        assert "consent registry: none yet" in log  # the build says which registry it used
        page = (site / "output" / ARTICLE / "index.html").read_text()
        # Nothing points at the production address (the office's e-mail address may stay).
        assert "https://www.cedarhollow.example.org" not in page
        assert f"{website}theme/" in page

        status = subprocess.run(
            make(site, "s3-status"), env=env, capture_output=True, text=True, timeout=300
        )
        assert status.returncode == 0, status.stdout + status.stderr
        assert f'"site_url": "{website}"' in status.stdout

        check_in_chromium(website + ARTICLE, website)
    finally:
        subprocess.run(make(site, "s3-stop"), env=env, capture_output=True, timeout=300)
    from s3_publish.local_s3 import find_running

    assert find_running(site / ".s3data") is None


def check_in_chromium(url: str, website: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            tab = browser.new_page()
            failed: list[str] = []
            tab.on("requestfailed", lambda r: failed.append(r.url))
            tab.on("response", lambda r: r.status >= 400 and failed.append(r.url))
            tab.goto(url, wait_until="load")
            sheets = tab.evaluate(
                """() => [...document.styleSheets].filter(s => s.href).map(s => {
                    let rules = -1; try { rules = s.cssRules.length } catch (e) {}
                    return [s.href, rules] })"""
            )
            assert sheets and all(rules > 0 for _, rules in sheets), sheets
            assert all(href.startswith(website) for href, _ in sheets), sheets
            images = tab.evaluate(
                "() => [...document.images].map(i => [i.currentSrc, i.complete, i.naturalWidth])"
            )
            assert any(IMAGE in src for src, _, _ in images), images
            broken = [src for src, done, width in images if not done or width == 0]
            assert not broken, broken
            assert not failed, failed
        finally:
            browser.close()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
