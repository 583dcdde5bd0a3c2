"""Withdrawn stays withdrawn through a real site build: the photo the build published is
withheld by the next build after a revoke, even when the office approves it, and
published again once consent is given again."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from consent_registry.registry import BlockedImage
from consent_registry.settings import GateSettings
from face_engine.model import sha256_bytes

from tests.consent_gate_build.gate_helpers import (
    build_site,
    copy_face,
    face_path,
    seed_registry,
    write_article,
)


def test_a_revoked_student_stays_withheld_through_approval_and_rebuild(tmp_path):
    from face_engine.faces import reference_templates

    reference = "people/obama/obama2.jpg"
    encodings = {"obama": reference_templates(face_path(reference).read_bytes(), reference)}
    registry = seed_registry(tmp_path / "office", encodings, people=["obama"])
    content, cache = tmp_path / "content", tmp_path / "cache"
    photo = copy_face(content, "people/obama/obama1.jpg", "images/trip.jpg")
    write_article(content, "trip", "The field trip.\n\n![Trip](/images/trip.jpg)")
    first = build_site(content, tmp_path, "first", registry, cache)
    assert first.image("images/trip.jpg")["verdict"] == "publish"

    settings = replace(GateSettings.from_mapping({}), cache_dir=cache)
    sha256 = sha256_bytes(photo.read_bytes())
    with registry.open() as opened:
        opened.revoke("S1001", actor="office", settings=settings)
        (kept,) = opened.withdrawals()
        assert kept.photos == (sha256,)  # found in the build's face cache, no new scan
        with pytest.raises(BlockedImage, match="S1001 \\(consent revoked on"):
            opened.approve(
                sha256, by="Ms Lee", reason="family agreed by phone", shows=(), settings=settings
            )
    second = build_site(content, tmp_path, "second", registry, cache)
    entry = second.image("images/trip.jpg")
    assert entry["verdict"] == "withhold"
    assert f"S1001 (consent revoked on {date.today().isoformat()})" in " ".join(entry["reasons"])
    assert not (second.output / "images" / "trip.jpg").exists()

    with registry.open() as opened:
        opened.give_consent_again(
            "S1001", given_on=date.today(), by="Michelle Obama", evidence="signed form"
        )
    third = build_site(content, tmp_path, "third", registry, cache)
    assert third.image("images/trip.jpg")["verdict"] == "publish"
