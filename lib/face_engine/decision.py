"""The gate's verdict for an image: publish only when every face in it may be published.

`decide` owns the verdict for one image; `batch.check_files` gives the same verdicts for
many files, with cached face work done in parallel processes. Both fail closed: any error
withholds the image with a reason that says what went wrong.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from .detectors import FaceError
from .faces import detect_faces
from .model import (
    PUBLISH,
    WITHHOLD,
    DetectedFace,
    FaceResult,
    RegistrySnapshot,
    Verdict,
)
from .model import sha256_bytes as _sha256

log = logging.getLogger(__name__)


class MatchSettings(Protocol):
    """What the decision needs from the consent settings (``consent_registry.settings``)."""

    mode: str  # "recognise" or "detect-only"
    scope: str
    tolerance: float
    margin: float
    min_face_px: int
    workers: int
    cache_dir: Path
    blur: bool  # CONSENT_BLUR: blur small unconsented faces instead of withholding


# CONSENT_BLUR: "the faces the photo is about" are its consented faces; a face that may not
# be published is blurred only when it is at most this share of the smallest consented
# face (the longer side of both boxes). In groups/biden_obama_and_child.jpg the adults'
# faces are 186 px and the child's 155 px (83 %): she is one of the people the photo is
# about, and withholds it; a passer-by far behind is under half a subject's size.
BLUR_MAX_SHARE = 0.5
# A face within this distance of a never-publish record is never blurred into a photo: it
# withholds it. Wider than the tolerance (0.55) on purpose: a real photo of a person sits
# up to 0.62 from their own record (the held-out set), and unsure means withheld.
NEVER_PUBLISH_BLUR_DISTANCE = 0.7


# A face whose two views (as found, and turned so its eyes are level) are further apart from
# their nearest record than this is unsure, so withheld. On the shared photos turned by 0-40
# degrees and on bench/realphoto_bench.py the views of a face differ by at most 0.03 (0.015
# typically); at 60 degrees the view as found drifts 0.12-0.40 (dlib's landmarks, started
# from an upright box, miss the tilted features) while the levelled one stays within 0.01.
VIEWS_DISAGREE = 0.1


def match_face(
    face: DetectedFace, snapshot: RegistrySnapshot, settings: MatchSettings
) -> FaceResult:
    """What one detected face allows, in plain words."""
    box = face.box

    def unusable(reason: str) -> FaceResult:
        return FaceResult(box, None, None, None, False, reason)

    if settings.mode == "detect-only":
        return unusable(
            "face found (detect-only mode: any face withholds unless the consent office approves)"
        )
    size = min(box.width, box.height)
    if size < settings.min_face_px:
        return unusable(
            f"face too small/blurred to match ({size} px, under {settings.min_face_px} px)"
        )
    if face.encoding is None:
        return unusable("face too small/blurred to match (it could not be encoded)")
    # The face as found and its eye-levelled copy (``faces._levelled_encoding``): each record
    # is as far as the worse of the two, so a tilted face no view is sure of matches no one.
    views = [face.encoding]
    if face.levelled is not None and face.levelled is not face.encoding:
        views.append(face.levelled)
    distances = []
    for record in snapshot.records:
        if not record.encodings:
            continue
        templates = np.stack(record.encodings)
        seen = [float(np.min(np.linalg.norm(templates - view, axis=1))) for view in views]
        distances.append((max(seen), record, seen))
    if not distances:
        return unusable("unknown face (no consent records)")
    distances.sort(key=lambda item: item[0])
    best, record, seen = distances[0]
    margin = distances[1][0] - best if len(distances) > 1 else None
    if best > settings.tolerance:
        return FaceResult(
            box,
            None,
            best,
            margin,
            False,
            f"unknown face (closest record at distance {best:.2f}, "
            f"above the tolerance {settings.tolerance:.2f})",
        )
    if max(seen) - min(seen) > VIEWS_DISAGREE:
        return FaceResult(
            box,
            None,
            best,
            margin,
            False,
            f"unsure face: as found and turned level it is {seen[0]:.2f} and {seen[1]:.2f} "
            f"from {record.person_id}'s record, more than {VIEWS_DISAGREE:.2f} apart (a "
            "strongly tilted face the model does not see the same way twice)",
        )
    if margin is not None and margin < settings.margin:
        return FaceResult(
            box,
            None,
            best,
            margin,
            False,
            f"ambiguous face: {record.person_id} and {distances[1][1].person_id} are both close "
            f"(margin {margin:.2f}, under {settings.margin:.2f})",
        )
    refusal = record.refusal(snapshot.today, settings.scope)
    if refusal is not None:
        return FaceResult(
            box, record.person_id, best, margin, False, f"{record.person_id}: {refusal}"
        )
    return FaceResult(
        box, record.person_id, best, margin, True, f"matched {record.person_id} (consent on file)"
    )


def verdict_for_faces(
    sha256: str,
    faces: Sequence[DetectedFace],
    snapshot: RegistrySnapshot,
    settings: MatchSettings,
    path: str = "",
) -> Verdict:
    """The verdict for an image whose faces are already known (no face work here).

    The one home of the verdict: the build, `consent check` and the publish-time re-check
    all come here, through `decide` or `check_files`."""
    results = [match_face(face, snapshot, settings) for face in faces]
    if sha256 and sha256 in snapshot.held:  # the office took this one photo down
        return Verdict(path, sha256, WITHHOLD, [snapshot.held[sha256]], results)
    blocked = withdrawal_reasons(sha256, faces, results, snapshot, settings)
    if blocked:
        if sha256 in snapshot.approvals:  # the approval's own reasons first, when it fails
            approved = _approved(path, sha256, snapshot, settings, results)
            if not approved.publish:
                blocked = approved.reasons + blocked
        return Verdict(path, sha256, WITHHOLD, blocked, results)
    if sha256 in snapshot.approvals:
        return _approved(path, sha256, snapshot, settings, results)
    if not results:
        return Verdict(path, sha256, PUBLISH, ["no faces found"], [])
    refused = [r for r in results if not r.ok]
    if refused:
        reasons = [f"face at {_where(r.box)}: {r.reason}" for r in refused]
        if getattr(settings, "blur", False):
            problem = _blur_problem(results, faces, snapshot, settings)
            if problem is None:
                kept = len(results) - len(refused)
                return Verdict(
                    path,
                    sha256,
                    PUBLISH,
                    [f"{kept} face(s) have consent on file; {len(refused)} blurred (CONSENT_BLUR)"]
                    + [f"blurred {reason}" for reason in reasons],
                    results,
                    blurred=[r.box for r in refused],
                )
            reasons.append(f"not blurred (CONSENT_BLUR): {problem}")
        return Verdict(path, sha256, WITHHOLD, reasons, results)
    return Verdict(
        path, sha256, PUBLISH, [f"all {len(results)} face(s) have consent on file"], results
    )


def withdrawal_reasons(
    sha256: str,
    faces: Sequence[DetectedFace],
    results: Sequence[FaceResult],
    snapshot: RegistrySnapshot,
    settings: MatchSettings,
) -> list[str]:
    """Why a withdrawal withholds this image, approved or not ([] when none does).

    A withdrawn person (``RegistrySnapshot.blocked``) blocks the photos that showed them
    when they withdrew (by content hash), and any face within the tolerance plus the
    margin of their kept templates, unless the gate confidently recognised that face as
    someone with consent (closer to them by at least the margin). Only giving their
    consent again (``Registry.give_consent_again``) lifts it."""
    reasons = []
    for person in snapshot.blocked:
        if sha256 and sha256 in person.photos:
            reasons.append(
                f"this photo showed {person.describe()} when their consent was withdrawn: "
                "withheld, approved or not, until their consent is given again "
                f"(`consent reconsent {person.person_id}`)"
            )
    limit = settings.tolerance + settings.margin
    matrix, squares, starts = _blocked_matrix(snapshot.blocked)
    if not len(starts):
        return reasons
    for face, result in zip(faces, results, strict=True):
        if face.encoding is None:
            continue
        # Either view of the face (as found, eye-levelled) close to a withdrawn person is
        # enough: the nearer one counts (unsure means withheld).
        views = [v for v in (face.encoding, getattr(face, "levelled", None)) if v is not None]
        # |t - v|^2 = |t|^2 - 2 t.v + |v|^2: one product per view, no copy of the matrix.
        squared = [squares - 2.0 * _dot(matrix, view) + float(view @ view) for view in views]
        nearest = np.sqrt(np.maximum(np.min(squared, axis=0), 0.0))
        per_person = np.minimum.reduceat(nearest, starts)
        for index, distance in zip(_with_templates(snapshot.blocked), per_person, strict=True):
            person, distance = snapshot.blocked[index], float(distance)
            if distance > limit:
                continue
            if (
                result.ok
                and result.distance is not None
                and result.distance + settings.margin <= distance
            ):
                continue  # confidently someone else, with consent
            reasons.append(
                f"face at {_where(face.box)}: close to {person.describe()} (distance "
                f"{distance:.2f}, within the tolerance {settings.tolerance:.2f} plus the "
                f"margin {settings.margin:.2f}): withheld, approved or not, until their "
                f"consent is given again (`consent reconsent {person.person_id}`)"
            )
    return reasons


# The blocked templates of the last snapshot, stacked once (a build decides thousands of
# photos against one snapshot): (the snapshot's blocked tuple, matrix, squared row norms,
# group starts).
_BLOCKED_MATRIX: list = [None, None, None, None]


def _dot(matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """matrix @ vector in this thread (einsum): BLAS's threads, on a machine busy with
    face workers, made it 5-15x slower for a few thousand templates."""
    return np.einsum("ij,j->i", matrix, vector)


def _with_templates(blocked) -> list[int]:
    return [i for i, person in enumerate(blocked) if person.encodings]


def _blocked_matrix(blocked) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every blocked template in one matrix, its rows' squared norms, and where each
    person's rows start."""
    if _BLOCKED_MATRIX[0] is not blocked:
        rows, starts = [], []
        for index in _with_templates(blocked):
            starts.append(len(rows))
            rows.extend(np.asarray(e, dtype=np.float64) for e in blocked[index].encodings)
        matrix = np.stack(rows) if rows else np.empty((0, 128))
        squares = np.einsum("ij,ij->i", matrix, matrix)
        _BLOCKED_MATRIX[:] = [blocked, matrix, squares, np.asarray(starts, dtype=np.intp)]
    return _BLOCKED_MATRIX[1], _BLOCKED_MATRIX[2], _BLOCKED_MATRIX[3]


def _where(box) -> str:
    return f"({box.left},{box.top}) {box.width}x{box.height}"


def _blur_problem(
    results: Sequence[FaceResult],
    faces: Sequence[DetectedFace],
    snapshot: RegistrySnapshot,
    settings: MatchSettings,
) -> str | None:
    """Why the refused faces of a photo cannot be blurred instead of withholding it, or
    None when they can: the photo is about its consented faces, and every other face is
    much smaller (BLUR_MAX_SHARE) and is no one marked never-publish."""
    consented = [r for r in results if r.ok]
    if not consented:
        return "no face in it has consent, so it is not a photo of consented people"
    smallest = min(max(r.box.width, r.box.height) for r in consented)
    never = [r for r in snapshot.records if r.never_publish and r.encodings]
    for result, face in zip(results, faces, strict=True):
        if result.ok:
            continue
        where = f"the face at {_where(result.box)}"
        record = next((r for r in snapshot.records if r.person_id == result.person_id), None)
        if record is not None and record.never_publish:
            return f"{where} is {result.person_id}, marked never-publish"
        if face.encoding is not None:
            views = [v for v in (face.encoding, face.levelled) if v is not None]
            for other in never:
                templates = np.stack(other.encodings)
                distance = min(
                    float(np.min(np.linalg.norm(templates - view, axis=1))) for view in views
                )
                if distance <= NEVER_PUBLISH_BLUR_DISTANCE:
                    return (
                        f"{where} could be {other.person_id}, marked never-publish "
                        f"(distance {distance:.2f})"
                    )
        size = max(result.box.width, result.box.height)
        if size > BLUR_MAX_SHARE * smallest:
            return (
                f"{where} ({size} px) is not much smaller than the consented faces "
                f"(smallest {smallest} px; at most {BLUR_MAX_SHARE:.0%} of it is blurred)"
            )
    return None


def _approved(
    path: str,
    sha256: str,
    snapshot: RegistrySnapshot,
    settings: MatchSettings,
    faces: list[FaceResult],
) -> Verdict:
    """An image the consent office approved: published while the approval holds.

    The approval covers the faces the gate cannot confirm (unknown, too small, ambiguous),
    never a refusal on record. It is void, and the image withheld with the reason, when
    it does not say who is in the photo, when anyone it names is removed, revoked,
    expired, marked never-publish or no longer covers the scope, or when the gate
    recognises a face it does not name (whose record refuses publishing, or who would
    then keep the photo up after their consent ends)."""
    approval = snapshot.approvals[sha256]
    records = {r.person_id: r for r in snapshot.records}
    problems: list[str] = []
    if approval.shows is None:
        problems.append(
            "it does not say who is in the photo (it was made before approvals recorded "
            "that): approve it again, naming each person in it with --shows ID, or with "
            "--shows nobody"
        )
    else:
        for person_id in approval.shows:
            record = records.get(person_id)
            if record is None:
                problems.append(
                    f"{person_id}, shown in it, is no longer in the registry (removed, or the "
                    "record failed the registry's integrity check)"
                )
                continue
            refusal = record.refusal(snapshot.today, settings.scope)
            if refusal is not None:
                problems.append(f"{person_id}, shown in it: {refusal}")
    named = set(approval.shows or ())
    for face in faces:
        if face.person_id is None or face.person_id in named:
            continue
        where = f"the face at ({face.box.left},{face.box.top})"
        if not face.ok:
            problems.append(f"{where} is {face.reason}")
        elif approval.shows is not None:
            # Unnamed, the approval would outlive their consent: once revoked, their face
            # is unknown, and unknown faces are what an approval covers.
            problems.append(
                f"{where} is {face.person_id}, whom it does not name: approve it again "
                f"with --shows {face.person_id}"
            )
    when = f"{approval.at:%Y-%m-%d}"
    if problems:
        reasons = [
            f"the approval by {approval.by} on {when} no longer holds: {problem}"
            for problem in problems
        ]
        return Verdict(path, sha256, WITHHOLD, reasons, faces)
    reason = f"approved by {approval.by} on {when}"
    if approval.reason:
        reason += f": {approval.reason}"
    reason += f" (shows {approval.shows_text()})"
    return Verdict(path, sha256, PUBLISH, [reason], faces, approved_by=approval.by)


def error_verdict(path: str, sha256: str, message: str) -> Verdict:
    return Verdict(path, sha256, WITHHOLD, [message], [])


def decide(
    image_bytes: bytes,
    snapshot: RegistrySnapshot,
    settings: MatchSettings,
    path: str = "",
    faces: list[DetectedFace] | None = None,
) -> Verdict:
    """The verdict for one image. Never raises: any error withholds the image."""
    sha256 = ""
    try:
        sha256 = _sha256(image_bytes)
        if faces is None:
            faces = detect_faces(
                image_bytes, encode=settings.mode == "recognise", source=path or "the image"
            )
        return verdict_for_faces(sha256, faces, snapshot, settings, path)
    except FaceError as exc:
        return error_verdict(path, sha256, str(exc))
    except Exception as exc:  # noqa: BLE001 - fail closed on anything unexpected
        log.exception("consent check of %s failed", path or "an image")
        return error_verdict(
            path, sha256, f"could not check {path or 'the image'} ({type(exc).__name__}: {exc})"
        )
