"""Which withheld photos of the last build wait for a decision, and which photos show a
person and what happens to each when their consent ends: the rules that `consent` and the
consent office's workspace both follow, so they list the same photos for the same report
and registry.

A withheld photo waits unless the office kept it withheld on purpose, or the registry as it
is now publishes it: judged by the gate's own verdict (``decision.verdict_for_faces``) on
the build's faces from the face cache; when the cache no longer holds them, by whether an
approval publishes it and names everyone the build recognised in it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

from face_engine.decision import verdict_for_faces
from face_engine.model import PUBLISH, WITHHOLD, Approval, Verdict


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


# ---------------------------------------------------------------- photos showing someone


class ShownImage(Protocol):
    """An image of the build's report as ``photos_showing`` reads it (``report.ReportImage``,
    or the workspace's view of one)."""

    @property
    def sha256(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def verdict(self) -> str: ...

    @property
    def pages(self) -> Sequence[str]: ...

    def shows(self, person_id: str) -> bool: ...


@dataclass(frozen=True)
class Showing:
    """A photo showing a person, and what the next publish does with it once their
    consent ends (`fate`, in the office's words)."""

    name: str
    pages: tuple[str, ...]
    fate: str
    sha256: str
    published: bool = False  # the last build published it: it can be taken down now
    built: bool = True  # False: not in the last build, only an approval names the person


def photos_showing(
    images: Iterable[ShownImage],
    person_id: str,
    approvals: Iterable[Approval],
    *,
    now: Mapping[str, str] | None = None,
) -> list[Showing]:
    """The photos of the last build that show `person_id` (the gate recognised them, or an
    approval names them), in report order, then the approved photos naming them that the
    build did not have; each with what happens to it when their consent ends.

    `now`: sha256 -> the verdict ("publish" or "withhold") against the registry as it is
    now, where it is known; an image missing from it counts as the build decided."""
    named = {a.sha256: a for a in approvals if a.shows and person_id in a.shows}
    now = now or {}
    found = []
    seen = set()
    for image in images:
        if not image.shows(person_id) and image.sha256 not in named:
            continue
        seen.add(image.sha256)
        current = now.get(image.sha256, image.verdict)
        if image.verdict == PUBLISH and current == WITHHOLD:
            fate = "published by the last build; withheld now, taken down at the next publish"
        elif image.verdict == PUBLISH:
            fate = "taken down from the website at the next publish"
        elif current == PUBLISH:
            fate = "withheld by the last build; published at the next build while they keep consent"
        else:
            fate = "already withheld; it stays off the website"
        approval = named.get(image.sha256)
        if approval is not None:
            fate += f" (the approval by {approval.by} no longer holds)"
        found.append(
            Showing(image.name, tuple(image.pages), fate, image.sha256, image.verdict == PUBLISH)
        )
    for sha256, approval in named.items():
        if sha256 in seen:
            continue
        found.append(
            Showing(
                approval.label or f"image {sha256[:12]}…",
                (),
                f"approved by {approval.by} on {approval.at:%Y-%m-%d}: withheld wherever it is "
                "used, taken down from the website at the next publish",
                sha256,
                built=False,
            )
        )
    return found
