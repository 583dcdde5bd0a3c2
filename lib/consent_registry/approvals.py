"""Approvals of photos (who a photo shows, and why it may be published although the gate
withholds it) and photo holds (a photo the office took down, withheld whatever else)."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import date

from face_engine.model import (
    Approval,
    DetectedFace,
)

from . import clock, withdrawals
from .changes import _gate_settings, _plural, _school_day
from .clock import consent_today
from .closest import Closest
from .records import (
    SHA256,
    BlockedImage,
    PersonNotFound,
    PhotoHold,
    RegistryError,
    UnstatedFaces,
    _now,
    _record_of,
    check_person_id,
    closest_text,
)
from .seals import HOLDS, _altered_person

log = logging.getLogger(__name__)


def _unstated_message(
    closest: Sequence[tuple[int, DetectedFace, list[Closest]]], people: Sequence[str]
) -> str:
    count = len(closest)
    faces = "; ".join(
        f"face {number} at ({face.box.left},{face.box.top}): closest {closest_text(near)}"
        for number, face, near in closest
    )
    named = f" (--shows names {', '.join(people)})" if people else ""
    return (
        f"the photo has {_plural(count, 'face')} matching no active record{named}: say who "
        f"{'it is' if count == 1 else 'they are'}, with --shows ID for a record, or "
        "--not-student visitor|parent|TEXT for someone who is not a student. "
        f"{faces}. Nothing was approved."
    )


class ApprovalsMixin:
    """Approving photos and holding them back (part of ``registry.Registry``)."""

    def approve(
        self,
        sha256: str,
        by: str,
        reason: str,
        *,
        shows: Sequence[str],
        label: str = "",
        scope: str = "website",
        today: date | None = None,
        not_student: str = "",
        faces: Sequence[DetectedFace] | None = None,
        settings=None,
    ) -> Approval:
        """The consent office's decision to publish one exact image (by content hash).

        `shows` names every person the office recognised in the photo. Each must be in the
        registry with consent for `scope`: an approval naming someone without it would
        publish nothing. The approval is void as soon as anyone it names loses consent
        (``decision.verdict_for_faces``).

        Who is shown must be said: every face of the photo (`faces`, by default the face
        cache's entry for the image, as the last build or `consent check` found them)
        that matches no active record is either named in `shows` or covered by
        `not_student` (the office's statement: "visitor", "parent", or its own words).
        `shows=()` without `not_student` means no identifiable person, and is refused when
        such a face is there (``UnstatedFaces``, with the closest records of each face,
        withdrawn ones included). An image that showed a withdrawn person, or with a face
        close to one (tolerance plus margin), is refused (``BlockedImage``): only giving
        their consent again can publish it."""
        from face_engine.decision import match_face, withdrawal_reasons

        sha256 = str(sha256).strip().lower()
        if not SHA256.match(sha256):
            raise RegistryError(f"'{sha256}' is not an image hash (64 hexadecimal characters)")
        by = " ".join(str(by).split())
        reason = " ".join(str(reason).split())
        not_student = " ".join(str(not_student or "").split())
        if not by:
            raise RegistryError("say who approves the image (--by NAME)")
        if not reason:
            raise RegistryError("give the reason for the approval (--reason TEXT)")
        if len(not_student) > 200:
            raise RegistryError("say who the other people are in at most 200 characters")
        if isinstance(shows, str):
            shows = (shows,)
        people = tuple(dict.fromkeys(check_person_id(i) for i in shows))
        today = today or consent_today(None)  # callers give the school's day
        settings = _gate_settings(settings or self.gate_settings)
        at = clock.now_utc().replace(microsecond=0)
        with self.transaction():
            snapshot = self.snapshot(today)
            blocked = {b.person_id: b for b in snapshot.blocked}
            for person_id in people:
                person = self.get(person_id)
                if person is None:
                    raise PersonNotFound(
                        f"--shows {person_id}: there is no record for {person_id} in the "
                        "registry, so the photo cannot be published with them in it. Check "
                        "the id (`consent list`); nothing was approved."
                    )
                if not person.authentic:
                    raise RegistryError(_altered_person(person_id) + " Nothing was approved.")
                refusal = _record_of(person).refusal(today, scope)
                if refusal is None and person_id in blocked:
                    refusal = f"{blocked[person_id].describe()}, not given again"
                if refusal is not None:
                    raise RegistryError(
                        f"--shows {person_id} ({person.name}): {refusal}, so the photo "
                        "cannot be published with them in it. Nothing was approved."
                    )
            if faces is None:
                from face_engine.cache import FaceCache

                faces = FaceCache(settings.cache_dir).get(sha256, need_encodings=False)
            faces = list(faces or ())
            results = [match_face(face, snapshot, settings) for face in faces]
            withdrawn = withdrawal_reasons(sha256, faces, results, snapshot, settings)
            if withdrawn:
                raise BlockedImage(
                    "the image cannot be approved: "
                    + "; ".join(withdrawn)
                    + ". Nothing was approved.",
                    withdrawn,
                )
            recognised = {r.person_id for r in results if r.person_id}
            unmatched = [
                (number, face)
                for number, (face, result) in enumerate(zip(faces, results, strict=True), 1)
                if face.encoding is not None and result.person_id is None
            ]
            named_unseen = [p for p in people if p not in recognised]
            if unmatched and not not_student and len(named_unseen) < len(unmatched):
                closest = [
                    (number, face, self.closest_records(face.encoding, limit=3))
                    for number, face in unmatched
                ]
                raise UnstatedFaces(_unstated_message(closest, people), closest)
            previous = self._db.execute(
                "SELECT 1 FROM approvals WHERE sha256 = ?", (sha256,)
            ).fetchone()
            self._db.execute(
                "INSERT OR REPLACE INTO approvals "
                f"({self._APPROVAL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    sha256,
                    by,
                    reason,
                    at.isoformat(),
                    json.dumps(list(people)),
                    label,
                    not_student,
                ),
            )
            self._seal_approval(sha256)
            details = {
                "sha256": sha256,
                "reason": reason,
                "shows": list(people),
                "replaced": bool(previous),
            }
            if not_student:
                details["not_student"] = not_student
            self._audit(by, "approve", None, details)
        return Approval(sha256, by, reason, at, people, label, not_student)

    def withdraw_approval(self, sha256: str, actor: str | None = None) -> None:
        sha256 = str(sha256).strip().lower()
        with self.transaction():
            deleted = self._db.execute("DELETE FROM approvals WHERE sha256 = ?", (sha256,))
            if deleted.rowcount == 0:
                raise RegistryError(f"there is no approval for the image {sha256}")
            self._note_seal("approvals", sha256, None)
            self._audit(actor, "withdraw-approval", None, {"sha256": sha256})

    def hold_photo(self, sha256: str, *, by: str, reason: str, label: str = "") -> PhotoHold:
        """Withhold one photo whatever its consents and approval say (a family asks for one
        photo to come down and keeps its consent): every build and publish withholds it,
        so the next publish takes it down, until ``release_photo``."""
        sha256 = str(sha256).strip().lower()
        if not SHA256.match(sha256):
            raise RegistryError(f"{sha256!r} is not an image's SHA-256 (64 hex digits)")
        by, reason = " ".join(str(by).split()), " ".join(str(reason).split())
        if not by or not reason:
            raise RegistryError("say who takes the photo down and why")
        hold = PhotoHold(sha256, by, reason, _now(), " ".join(str(label).split()))
        with self.transaction():
            self._note_seal(HOLDS, sha256, hold.to_text())
            self._audit(by, "hold-photo", None, {"sha256": sha256, "reason": reason})
            # In the withdrawals journal too: a restore of an older backup takes it down again.
            self._journal(
                withdrawals.HOLD, "", _school_day(self.gate_settings), reason, (sha256,), by
            )
        return hold

    def release_photo(self, sha256: str, actor: str | None = None) -> None:
        """Undo ``hold_photo``: the photo is decided by its faces and approval again."""
        sha256 = str(sha256).strip().lower()
        with self.transaction():
            if sha256 not in self.photo_holds():
                raise RegistryError(f"the photo {sha256[:12]}… is not taken down by the office")
            self._note_seal(HOLDS, sha256, None)
            self._audit(actor, "release-photo", None, {"sha256": sha256})
            self._journal(
                withdrawals.RELEASE,
                "",
                _school_day(self.gate_settings),
                "published again",
                (sha256,),
                actor,
            )
