"""Unit tests of the decision rules with synthetic encodings (no face models involved)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import numpy as np
import pytest
from face_engine import batch, decision
from face_engine.model import PUBLISH, WITHHOLD, Approval, DetectedFace, FaceBox, sha256_bytes

from .conftest import TODAY, png_bytes, record, snapshot

IMAGE = png_bytes()


def unit(seed: int) -> np.ndarray:
    vector = np.random.default_rng(seed).normal(size=128)
    return vector / np.linalg.norm(vector)


def near(base: np.ndarray, distance: float, seed: int = 99) -> np.ndarray:
    """A vector exactly `distance` away from base."""
    direction = np.random.default_rng(seed).normal(size=128)
    direction -= direction.dot(base) * base
    return base + direction / np.linalg.norm(direction) * distance


def face(encoding: np.ndarray | None, size: int = 120) -> DetectedFace:
    return DetectedFace(FaceBox(10, 10 + size, 10 + size, 10), "test", 0.9, encoding)


A, B, C = unit(1), unit(2), unit(3)


def test_face_within_tolerance_of_a_consented_record_publishes(settings):
    verdict = decision.decide(
        IMAGE, snapshot(record("S1", A), record("S2", B)), settings, faces=[face(near(A, 0.3))]
    )
    assert verdict.verdict == PUBLISH
    assert verdict.faces[0].person_id == "S1"
    assert verdict.faces[0].reason == "matched S1 (consent on file)"
    assert verdict.sha256 == sha256_bytes(IMAGE)


def test_face_beyond_tolerance_withholds_as_unknown(settings):
    snap = snapshot(record("S1", A))
    verdict = decision.decide(
        IMAGE, snap, settings, faces=[face(near(A, settings.tolerance + 0.05))]
    )
    assert verdict.verdict == WITHHOLD
    assert verdict.faces[0].person_id is None
    assert "unknown face" in verdict.faces[0].reason
    # Exactly at the tolerance still matches.
    at_limit = decision.decide(IMAGE, snap, settings, faces=[face(near(A, settings.tolerance))])
    assert at_limit.verdict == PUBLISH


def test_two_records_too_close_together_withhold_as_ambiguous(settings):
    # A face 0.30 from S1 and 0.35 from S2: margin 0.05 < 0.08.
    twin = near(A, 0.05, seed=5)
    probe = near(A, 0.30, seed=6)
    d1, d2 = np.linalg.norm(probe - A), np.linalg.norm(probe - twin)
    assert abs(d2 - d1) < settings.margin
    verdict = decision.decide(
        IMAGE, snapshot(record("S1", A), record("S2", twin)), settings, faces=[face(probe)]
    )
    assert verdict.verdict == WITHHOLD
    assert "ambiguous" in verdict.faces[0].reason
    # A margin requirement of zero accepts the same face.
    relaxed = replace(settings, margin=0.0)
    assert (
        decision.decide(
            IMAGE, snapshot(record("S1", A), record("S2", twin)), relaxed, faces=[face(probe)]
        ).verdict
        == PUBLISH
    )


def test_record_distance_is_the_nearest_of_its_templates(settings):
    snap = snapshot(record("S1", B, A), record("S2", C))
    verdict = decision.decide(IMAGE, snap, settings, faces=[face(near(A, 0.2))])
    assert verdict.verdict == PUBLISH
    assert verdict.faces[0].distance == pytest.approx(0.2, abs=1e-6)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"revoked": True}, "consent revoked"),
        ({"never_publish": True}, "marked never-publish"),
        ({"expires": date(2026, 2, 28)}, "consent expired on 2026-02-28"),
        ({"scopes": frozenset({"newsletter"})}, "consent does not cover 'website'"),
    ],
)
def test_matched_but_refused_record_withholds_with_its_reason(settings, changes, reason):
    snap = snapshot(record("S1", A, **changes), record("S2", B))
    verdict = decision.decide(IMAGE, snap, settings, faces=[face(near(A, 0.1))])
    assert verdict.verdict == WITHHOLD
    assert verdict.faces[0].person_id == "S1"
    assert verdict.faces[0].reason == f"S1: {reason}"
    assert reason in verdict.reasons[0]


def test_consent_expiring_today_still_publishes(settings):
    snap = snapshot(record("S1", A, expires=TODAY))
    assert decision.decide(IMAGE, snap, settings, faces=[face(near(A, 0.1))]).publish


def test_one_unknown_face_among_consented_faces_withholds(settings):
    snap = snapshot(record("S1", A), record("S2", B))
    faces = [face(near(A, 0.1)), face(near(B, 0.1)), face(C)]
    verdict = decision.decide(IMAGE, snap, settings, faces=faces)
    assert verdict.verdict == WITHHOLD
    assert [f.ok for f in verdict.faces] == [True, True, False]
    assert len(verdict.reasons) == 1


def test_small_or_unencoded_faces_withhold(settings):
    snap = snapshot(record("S1", A))
    small = decision.decide(IMAGE, snap, settings, faces=[face(near(A, 0.1), size=30)])
    assert small.verdict == WITHHOLD
    assert "face too small/blurred to match" in small.faces[0].reason
    blurred = decision.decide(IMAGE, snap, settings, faces=[face(None)])
    assert blurred.verdict == WITHHOLD
    assert "could not be encoded" in blurred.faces[0].reason


def test_no_faces_publishes_and_no_records_withholds_any_face(settings):
    assert decision.decide(IMAGE, snapshot(), settings, faces=[]).verdict == PUBLISH
    verdict = decision.decide(IMAGE, snapshot(), settings, faces=[face(A)])
    assert verdict.verdict == WITHHOLD
    assert "no consent records" in verdict.faces[0].reason


def approval(shows: tuple[str, ...] | None, data: bytes = IMAGE) -> Approval:
    return Approval(
        sha256_bytes(data), "Ms. Rivera", "press photo, cleared", datetime(2026, 2, 1), shows
    )


def test_approval_publishes_faces_the_gate_cannot_confirm(settings):
    approved = approval(("S1",))
    snap = snapshot(record("S1", A), approvals={approved.sha256: approved})
    faces = [face(near(A, 0.1)), face(near(B, 0.1)), face(None)]  # S1, unknown, blurred
    verdict = decision.decide(IMAGE, snap, settings, faces=faces)
    assert verdict.verdict == PUBLISH
    assert verdict.approved_by == "Ms. Rivera"
    assert verdict.reasons == [
        "approved by Ms. Rivera on 2026-02-01: press photo, cleared (shows S1)"
    ]
    # An approval of other bytes does not carry over.
    other = decision.decide(png_bytes((1, 2, 3)), snap, settings, faces=[face(near(B, 0.1))])
    assert other.verdict == WITHHOLD
    # "Nobody identifiable" is a decision too: unknown faces only, published.
    nobody = approval(())
    snap = snapshot(record("S1", A), approvals={nobody.sha256: nobody})
    verdict = decision.decide(IMAGE, snap, settings, faces=[face(near(B, 0.1))])
    assert verdict.verdict == PUBLISH and "(shows nobody)" in verdict.reasons[0]


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        # The registry deletes a revoked person's templates: their face is unknown now.
        ({"revoked": True, "encodings": ()}, "S1, shown in it: consent revoked"),
        ({"never_publish": True}, "S1, shown in it: marked never-publish"),
        ({"expires": date(2026, 2, 28)}, "S1, shown in it: consent expired on 2026-02-28"),
        (
            {"scopes": frozenset({"print"})},
            "S1, shown in it: consent does not cover 'website'",
        ),
        (None, "S1, shown in it, is no longer in the registry"),
    ],
)
def test_an_approval_is_void_once_a_person_it_shows_loses_consent(settings, changes, why):
    """The group photo case: approved while S1 had consent, then S1's consent ends."""
    approved = approval(("S2", "S1"))
    faces = [face(near(A, 0.1)), face(near(B, 0.1)), face(C)]
    before = snapshot(record("S1", A), record("S2", B), approvals={approved.sha256: approved})
    assert decision.decide(IMAGE, before, settings, faces=faces).verdict == PUBLISH

    people = [record("S2", B)] + ([] if changes is None else [record("S1", A, **changes)])
    after = snapshot(*people, approvals={approved.sha256: approved})
    verdict = decision.decide(IMAGE, after, settings, faces=faces)
    assert verdict.verdict == WITHHOLD
    assert verdict.approved_by is None
    (reason,) = verdict.reasons
    assert reason.startswith("the approval by Ms. Rivera on 2026-02-01 no longer holds: ")
    assert why in reason


def test_an_approval_that_does_not_say_who_is_in_the_photo_publishes_nothing(settings):
    legacy = approval(None)
    snap = snapshot(record("S1", A), approvals={legacy.sha256: legacy})
    verdict = decision.decide(IMAGE, snap, settings, faces=[face(near(A, 0.1))])
    assert verdict.verdict == WITHHOLD
    assert "does not say who is in the photo" in verdict.reasons[0]
    assert "--shows" in verdict.reasons[0]
    # Even an image without faces: the approval is what decides it, and it is void.
    assert decision.decide(IMAGE, snap, settings, faces=[]).verdict == WITHHOLD


def test_an_approval_must_name_everyone_the_gate_recognises(settings):
    """Otherwise it would outlive their consent: once revoked, their face is unknown."""
    nobody = approval(())
    snap = snapshot(record("S1", A), approvals={nobody.sha256: nobody})
    faces = [face(near(A, 0.1)), face(near(B, 0.1))]
    verdict = decision.decide(IMAGE, snap, settings, faces=faces)
    assert verdict.verdict == WITHHOLD
    assert "is S1, whom it does not name: approve it again with --shows S1" in verdict.reasons[0]
    named = approval(("S1",))
    snap = snapshot(record("S1", A), approvals={named.sha256: named})
    assert decision.decide(IMAGE, snap, settings, faces=faces).verdict == PUBLISH


def test_approval_never_overrides_a_refusal_the_gate_recognises(settings):
    approved = approval(("S1",))
    snap = snapshot(
        record("S1", A),
        record("S2", B, never_publish=True),
        record("S3", C, expires=date(2026, 1, 31)),
        approvals={approved.sha256: approved},
    )
    verdict = decision.decide(IMAGE, snap, settings, faces=[face(near(A, 0.1)), face(near(B, 0.1))])
    assert verdict.verdict == WITHHOLD
    assert any("S2" in reason and "never-publish" in reason for reason in verdict.reasons)
    expired = decision.decide(IMAGE, snap, settings, faces=[face(near(A, 0.1)), face(near(C, 0.1))])
    assert expired.verdict == WITHHOLD
    assert "is S3: consent expired on 2026-01-31" in expired.reasons[0]
    # The same approval with only the consented face publishes.
    alone = decision.decide(IMAGE, snap, settings, faces=[face(near(A, 0.1))])
    assert alone.verdict == PUBLISH


def test_detect_only_withholds_every_face_and_skips_encodings(settings, monkeypatch):
    detect_only = replace(settings, mode="detect-only")
    calls = []

    def fake_detect(image_bytes, encode=True, **kwargs):
        calls.append(encode)
        return [face(None)]

    monkeypatch.setattr(decision, "detect_faces", fake_detect)
    verdict = decision.decide(IMAGE, snapshot(record("S1", A)), detect_only)
    assert calls == [False]
    assert verdict.verdict == WITHHOLD
    assert "detect-only" in verdict.faces[0].reason
    assert decision.decide(IMAGE, snapshot(), detect_only, faces=[]).verdict == PUBLISH


@pytest.mark.parametrize("data", [b"", b"not an image at all", IMAGE[: len(IMAGE) // 2]])
def test_corrupt_bytes_withhold_with_a_reason(settings, data):
    verdict = decision.decide(data, snapshot(record("S1", A)), settings, path="gallery/x.png")
    assert verdict.verdict == WITHHOLD
    assert "gallery/x.png" in verdict.reasons[0]


def test_unexpected_errors_withhold_instead_of_raising(settings, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("model file truncated")

    monkeypatch.setattr(decision, "detect_faces", broken)
    verdict = decision.decide(IMAGE, snapshot(), settings, path="a.jpg")
    assert verdict.verdict == WITHHOLD
    assert "model file truncated" in verdict.reasons[0]


def test_missing_file_in_a_batch_withholds(settings, tmp_path):
    verdicts = batch.check_files([tmp_path / "gone.jpg"], snapshot(), settings, progress=False)
    assert verdicts[0].verdict == WITHHOLD
    assert "could not read" in verdicts[0].reasons[0]


def test_verdict_serialises_to_json(settings):
    verdict = decision.decide(
        IMAGE, snapshot(record("S1", A)), settings, path="p.jpg", faces=[face(near(A, 0.2))]
    )
    data = verdict.to_json()
    assert data["verdict"] == PUBLISH
    assert data["faces"][0]["person_id"] == "S1"


def test_batch_falls_back_to_this_process_when_the_pool_breaks(settings, tmp_path, monkeypatch):
    from concurrent.futures.process import BrokenProcessPool

    class BrokenPool:
        def __init__(self, *args, **kwargs):
            pass

        def __enter__(self):
            raise BrokenProcessPool("workers could not start")

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(batch, "ProcessPoolExecutor", BrokenPool)
    paths = []
    for n in range(batch.POOL_MIN_PHOTOS):  # enough photos for the pool to be tried
        paths.append(tmp_path / f"plain{n}.png")
        paths[-1].write_bytes(png_bytes((10 * n, 20, 30)))
    parallel = replace(settings, workers=2)
    verdicts = batch.check_files(paths, snapshot(), parallel, progress=False)
    assert [v.verdict for v in verdicts] == [PUBLISH] * len(paths)
    assert [v.reasons for v in verdicts] == [["no faces found"]] * len(paths)


def test_a_few_photos_are_examined_without_starting_workers(settings, tmp_path, monkeypatch):
    started = []
    monkeypatch.setattr(batch, "_run_pool", lambda *args: started.append(args))
    paths = []
    for n in range(batch.POOL_MIN_PHOTOS - 1):
        paths.append(tmp_path / f"plain{n}.png")
        paths[-1].write_bytes(png_bytes((10 * n, 20, 30)))
    verdicts = batch.check_files(paths, snapshot(), replace(settings, workers=2), progress=False)
    assert not started
    assert [v.verdict for v in verdicts] == [PUBLISH] * len(paths)


# ---------------------------------------------------------------- CONSENT_BLUR


def test_blur_is_off_by_default_and_set_by_consent_blur():
    from consent_registry.settings import GateSettings

    assert GateSettings.from_mapping({}).blur is False
    assert GateSettings.from_mapping({"CONSENT_BLUR": True}).blur is True


def test_with_blur_small_unconsented_faces_are_blurred_and_the_photo_published(settings):
    blur = replace(settings, blur=True)
    snap = snapshot(record("S1", A), record("S2", B, revoked=True))
    faces = [face(near(A, 0.1), size=120), face(C, size=50), face(near(B, 0.1), size=60)]
    faces.append(face(None, size=20))  # too small to check
    verdict = decision.decide(IMAGE, snap, blur, faces=faces)
    assert verdict.verdict == PUBLISH, verdict.reasons
    assert verdict.blurred == [f.box for f in faces[1:]]
    assert verdict.reasons[0] == "1 face(s) have consent on file; 3 blurred (CONSENT_BLUR)"
    assert all(reason.startswith("blurred face at") for reason in verdict.reasons[1:])
    assert verdict.to_json()["blurred"] == [list(f.box.as_css()) for f in faces[1:]]
    # The same faces without CONSENT_BLUR: withheld, nothing blurred.
    off = decision.decide(IMAGE, snap, settings, faces=faces)
    assert off.verdict == WITHHOLD and off.blurred == []


def test_an_unconsented_face_near_a_consented_ones_size_withholds_even_with_blur(settings):
    blur = replace(settings, blur=True)
    snap = snapshot(record("S1", A))
    at_limit = decision.decide(IMAGE, snap, blur, faces=[face(near(A, 0.1), 120), face(C, 60)])
    assert at_limit.verdict == PUBLISH  # 50 % of the smallest consented face
    verdict = decision.decide(IMAGE, snap, blur, faces=[face(near(A, 0.1), 120), face(C, 61)])
    assert verdict.verdict == WITHHOLD and verdict.blurred == []
    assert "not much smaller than the consented faces" in verdict.reasons[-1]


def test_never_publish_faces_are_never_blurred_into_a_photo(settings):
    blur = replace(settings, blur=True)
    child = record("S9", B, never_publish=True)
    snap = snapshot(record("S1", A), child)
    # Recognised as the never-publish child ...
    matched = decision.decide(IMAGE, snap, blur, faces=[face(near(A, 0.1)), face(near(B, 0.1), 40)])
    assert matched.verdict == WITHHOLD and "marked never-publish" in matched.reasons[-1]
    # ... or only close to her record (past the tolerance, unsure): withheld too.
    unsure = decision.decide(IMAGE, snap, blur, faces=[face(near(A, 0.1)), face(near(B, 0.65), 40)])
    assert unsure.verdict == WITHHOLD and "could be S9" in unsure.reasons[-1]
    far = decision.decide(IMAGE, snap, blur, faces=[face(near(A, 0.1)), face(near(B, 0.75), 40)])
    assert far.verdict == PUBLISH


def test_blur_needs_a_consented_face_the_photo_is_about(settings):
    blur = replace(settings, blur=True)
    verdict = decision.decide(IMAGE, snapshot(record("S1", A)), blur, faces=[face(C, 40)])
    assert verdict.verdict == WITHHOLD and "no face in it has consent" in verdict.reasons[-1]
