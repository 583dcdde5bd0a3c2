"""Which withheld photos of the last build wait for a decision: the one rule that
`consent review` and the consent office's review queue both follow, so they list the same
photos for the same report and registry.

A withheld photo waits unless the office kept it withheld on purpose, or the registry as it
is now publishes it: judged by the gate's own verdict (``decision.verdict_for_faces``) on
the build's faces from the face cache; when the cache no longer holds them, by whether an
approval publishes it and names everyone the build recognised in it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Protocol, TypeVar

from face_engine.decision import verdict_for_faces
from face_engine.model import WITHHOLD, Verdict


class JudgedImage(Protocol):
    """An image of the build's report, as ``report.ReportImage`` (or a view of one) has it."""

    @property
    def sha256(self) -> str: ...

    @property
    def verdict(self) -> str: ...

    @property
    def recognised(self) -> list[str]: ...


Image = TypeVar("Image", bound=JudgedImage)


def approval_holds(image: JudgedImage, snapshot, settings) -> bool:
    """Whether an approval now publishes a withheld image, decided on the build's faces:
    the verdict's own rules on the people it names, who must include everyone the build
    recognised in it."""
    if snapshot is None or image.sha256 not in snapshot.approvals:
        return False
    if not verdict_for_faces(image.sha256, [], snapshot, settings).publish:
        return False
    return not set(image.recognised) - set(snapshot.approvals[image.sha256].shows or ())


def verdicts_now(
    images: Iterable[JudgedImage], snapshot, settings, cache_dir: Path | None = None
) -> dict[str, Verdict]:
    """sha256 -> the gate's verdict against the registry now, for the images whose faces
    the face cache (``settings.cache_dir``) holds; no face is scanned here."""
    from face_engine.cache import FaceCache

    if snapshot is None:
        return {}
    cache = FaceCache(cache_dir or settings.cache_dir)
    found = {}
    for image in images:
        faces = cache.get(image.sha256, need_encodings=True)
        if faces is not None:
            found[image.sha256] = verdict_for_faces(image.sha256, faces, snapshot, settings)
    return found


def waiting_for_decision(
    images: Iterable[Image],
    snapshot,
    settings,
    *,
    now: Mapping[str, Verdict | None],
    kept: Collection[str] = (),
) -> list[Image]:
    """The withheld images (in report order) that wait for a decision.

    `snapshot`: the registry now (None when there is none: every withheld image waits);
    `now`: sha256 -> the verdict against it (``verdicts_now``, or the workspace's faster
    matcher; missing when the face cache no longer holds the faces); `kept`: the hashes the
    office decided to keep withheld."""
    waiting = []
    for image in images:
        if image.verdict != WITHHOLD or image.sha256 in kept:
            continue
        verdict = now.get(image.sha256) if snapshot is not None else None
        if verdict is not None:
            if not verdict.publish:
                waiting.append(image)
        elif not approval_holds(image, snapshot, settings):
            waiting.append(image)
    return waiting
