"""Data types shared by the consent registry, the face engine, the gate and publishing.

Nothing here imports Pelican, so every part can be tested alone, nor numpy (only for type
hints): a rebuild that reuses its verdicts (``site_gate.memo``) never loads numpy.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

PUBLISH = "publish"
WITHHOLD = "withhold"


@dataclass(frozen=True)
class ConsentRecord:
    """One person's consent as the gate sees it (templates decrypted, in memory only)."""

    person_id: str
    name: str
    role: str  # "student" or "staff"
    scopes: frozenset[str]
    expires: date | None
    revoked: bool
    never_publish: bool
    encodings: tuple[np.ndarray, ...]  # 128-d face templates

    def refusal(self, today: date, scope: str) -> str | None:
        """Why this record does not allow publishing today, or None when it does."""
        if self.never_publish:
            return "marked never-publish"
        if self.revoked:
            return "consent revoked"
        if self.expires is not None and self.expires < today:
            return f"consent expired on {self.expires.isoformat()}"
        if scope not in self.scopes:
            return f"consent does not cover '{scope}'"
        return None


NOBODY = "nobody"  # what the office types for `--shows` when no one is identifiable


@dataclass(frozen=True)
class Approval:
    """The consent office's manual decision to publish one exact image (by content hash).

    `shows` names the people the office recognised in the photo: the approval holds only
    while every one of them still has consent (``decision.verdict_for_faces``). An empty
    tuple means the office saw no identifiable person; None means the approval does not
    say (made before approvals recorded it), and such an approval publishes nothing.
    """

    sha256: str
    by: str
    reason: str
    at: datetime
    shows: tuple[str, ...] | None = None
    label: str = ""  # the file the office approved, for messages ("" when approved by hash)
    # Who the faces matching no record are, as the office stated it ("visitor", "parent",
    # or its own words); "" when every face is named in `shows` (or none is identifiable).
    not_student: str = ""

    def shows_text(self) -> str:
        """`S1024, S1025`, `nobody`, `not a student: visitor`, or `not recorded`."""
        if self.shows is None:
            return "not recorded"
        named = ", ".join(self.shows)
        if self.not_student:
            return (named + "; " if named else "") + f"not a student: {self.not_student}"
        return named or NOBODY


@dataclass(frozen=True)
class BlockedPerson:
    """Someone whose consent was withdrawn (revoked, never-publish, expired and purged):
    kept to block, never to publish. A photo on `photos` (content hashes of the photos that
    showed them when they withdrew) or with a face close to `encodings` is withheld, even
    when the office approved it, until their consent is given again."""

    person_id: str
    withdrawn_on: date
    why: str  # "consent revoked", "marked never-publish", "consent expired"
    encodings: tuple[np.ndarray, ...] = ()
    photos: frozenset[str] = frozenset()

    def describe(self) -> str:
        """`S1024 (consent revoked on 2026-12-07)`, for reasons the office reads."""
        return f"{self.person_id} ({self.why} on {self.withdrawn_on.isoformat()})"


@dataclass(frozen=True)
class RegistrySnapshot:
    """The registry as it is at one moment: what a gate run decides against."""

    records: tuple[ConsentRecord, ...]
    approvals: dict[str, Approval]  # keyed by image sha256
    today: date
    # Changes whenever any record, template or approval changes (cache key for matching).
    fingerprint: str = ""
    # People whose consent was withdrawn: what the gate blocks them by (never publishes).
    blocked: tuple[BlockedPerson, ...] = ()
    # Photos the consent office took down (content hash -> why): withheld whatever else.
    held: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FaceBox:
    """A face box in dlib/face_recognition order: (top, right, bottom, left), pixels."""

    top: int
    right: int
    bottom: int
    left: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    def as_css(self) -> tuple[int, int, int, int]:
        return (self.top, self.right, self.bottom, self.left)


@dataclass
class DetectedFace:
    """A face found in an image; encoding is None when it could not be encoded."""

    box: FaceBox
    detector: str
    score: float
    encoding: np.ndarray | None = None
    # The encoding of its eye-levelled copy (``faces._levelled_encoding``): matching takes
    # the worse of the two. The same array as `encoding` when the face is nearly upright.
    levelled: np.ndarray | None = None


@dataclass
class FaceResult:
    """The gate's finding for one face."""

    box: FaceBox
    person_id: str | None  # matched record, or None
    distance: float | None  # to the best record
    margin: float | None  # second-best distance minus best distance
    ok: bool  # this face allows publishing
    reason: str  # plain words: "matched S1024 (consent on file)", "unknown face", ...

    def to_json(self) -> dict:
        return {
            "box": {
                "top": self.box.top,
                "right": self.box.right,
                "bottom": self.box.bottom,
                "left": self.box.left,
            },
            "person_id": self.person_id,
            "distance": None if self.distance is None else round(float(self.distance), 4),
            "margin": None if self.margin is None else round(float(self.margin), 4),
            "ok": self.ok,
            "reason": self.reason,
        }

    @classmethod
    def from_json(cls, data: dict) -> FaceResult:
        return cls(
            box=FaceBox(**{side: int(data["box"][side]) for side in _SIDES}),
            person_id=data["person_id"],
            distance=data["distance"],
            margin=data["margin"],
            ok=bool(data["ok"]),
            reason=str(data["reason"]),
        )


_SIDES = ("top", "right", "bottom", "left")


@dataclass
class Verdict:
    """The gate's decision for one image: publish only when every face allows it."""

    path: str
    sha256: str
    verdict: str  # PUBLISH or WITHHOLD
    reasons: list[str] = field(default_factory=list)
    faces: list[FaceResult] = field(default_factory=list)
    approved_by: str | None = None
    # Faces published blurred (CONSENT_BLUR): the re-encoder blurs exactly these boxes.
    blurred: list[FaceBox] = field(default_factory=list)

    @property
    def publish(self) -> bool:
        return self.verdict == PUBLISH

    def to_json(self) -> dict:
        return {
            "path": self.path,
            "sha256": self.sha256,
            "verdict": self.verdict,
            "reasons": list(self.reasons),
            "faces": [f.to_json() for f in self.faces],
            "approved_by": self.approved_by,
            "blurred": [list(box.as_css()) for box in self.blurred],
        }

    @classmethod
    def from_json(cls, data: dict) -> Verdict:
        """The verdict `to_json` wrote (a verdict remembered from an earlier build)."""
        verdict = str(data["verdict"])
        if verdict not in (PUBLISH, WITHHOLD):
            raise ValueError(f"unknown verdict {verdict!r}")
        return cls(
            path=str(data["path"]),
            sha256=str(data["sha256"]),
            verdict=verdict,
            reasons=[str(reason) for reason in data["reasons"]],
            faces=[FaceResult.from_json(face) for face in data["faces"]],
            approved_by=data["approved_by"],
            blurred=[FaceBox(*(int(v) for v in box)) for box in data["blurred"]],
        )


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
