"""A real build under a wrong clock (libfaketime from Debian's `faketime` package, preloaded
into Pelican's process): the build never deletes registry data, and refuses a clock the
registry's audit log shows to be wrong unless told the date (SITE_DATE)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.consent_gate_build.gate_helpers import (
    PEOPLE,
    build_site,
    copy_face,
    days_from_today,
    seed_registry,
    write_article,
)

LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")

pytestmark = pytest.mark.skipif(
    not LIBFAKETIME.is_file(), reason="needs libfaketime (Debian: apt-get install faketime)"
)


def clock(offset: str, **more: str) -> dict[str, str]:
    """The environment of a build whose clock is `offset` (e.g. "+40d") off. The rendered-
    page check is left out (no Chromium: a warning, not CONSENT_STRICT): Chromium and its
    driver under libfaketime stall a page's screenshot, and what a page shows does not
    depend on the date."""
    return {
        "LD_PRELOAD": str(LIBFAKETIME),
        "FAKETIME": offset,
        "TZ": "UTC",
        "CONSENT_CHROMIUM": "/nonexistent/chromium",
        **more,
    }


@pytest.fixture
def site(tmp_path, encodings):
    """Kit (no end date) and Rose (consent ends in 10 days), each in a photo of one page."""
    registry = seed_registry(
        tmp_path / "registry",
        encodings,
        people=("kit", "rose"),
        expires={"rose": days_from_today(10)},
    )
    content = tmp_path / "content"
    copy_face(content, "people/kit_harington/kit2.jpg", "images/club/a.jpg")
    copy_face(content, "people/rose_leslie/rose2.jpg", "images/club/b.jpg")
    write_article(
        content,
        "club",
        "\n\n".join(f"![Club photo {n}]({{static}}/images/club/{n}.jpg)" for n in "ab"),
    )
    return tmp_path, content, registry


def _templates_and_actions(registry) -> tuple[dict[str, int], list[str]]:
    with registry.open() as opened:
        people = {p.person_id: p.templates for p in opened.list_people()}
        return people, [e.action for e in opened.audit_log()]


def test_a_build_with_the_clock_weeks_ahead_deletes_nothing(site, face_cache):
    work, content, registry = site
    before = _templates_and_actions(registry)
    ahead = build_site(content, work, "ahead", registry, face_cache, env=clock("+40d"),
                       check=False)  # fmt: skip
    assert ahead.returncode != 0
    assert "only this clock says so" in ahead.log
    assert f"{PEOPLE['rose'][0]} (last day {days_from_today(10).isoformat()})" in ahead.log
    assert _templates_and_actions(registry) == before  # nothing purged, nothing audited
    assert not (ahead.output / "images/club/a.jpg").exists()  # no output without a decision

    # Told the date (the clock was right after all): Rose's ended consent withholds her
    # photo, and her templates stay until `consent purge-expired`.
    told = (date.today() + timedelta(days=40)).isoformat()
    build = build_site(content, work, "told", registry, face_cache,
                       env=clock("+40d", SITE_DATE=told))  # fmt: skip
    assert (build.output / "images/club/a.jpg").is_file()
    assert not (build.output / "images/club/b.jpg").exists()
    assert "expired" in " ".join(build.image("images/club/b.jpg")["reasons"])
    assert _templates_and_actions(registry) == before


def test_a_build_with_the_clock_behind_the_registry_is_refused(site, face_cache):
    work, content, registry = site
    behind = build_site(content, work, "behind", registry, face_cache, env=clock("-3d"),
                        check=False)  # fmt: skip
    assert behind.returncode != 0
    assert "earlier than the consent registry's newest audit entry" in behind.log
    assert not (behind.output / "images/club/a.jpg").exists()
