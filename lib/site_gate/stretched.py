"""Pictures a page shows at another shape than they are stored: a face squeezed to a
quarter of its width is not found by the detector in the stored file, but the page's
``<img width height>`` (or style) stretches it back to a face a visitor sees. So where a
page shows a local photo at an aspect ratio more than ``TOLERANCE`` away from the stored
one, a copy resized to the shown shape goes through the same verdict as every photo
(``face_engine.batch.check_files``); when that copy would be withheld, the photo is
withheld from that page (the placeholder), while pages that show it at its own shape keep
it. Shapes given by a style sheet are left to the rendered-page check (``render_check``).

The copies are kept in the gate's cache (``<cache>/stretched``), and their face work in
the face cache under the copy's own hash, so a rebuild decides them again without a
detector run. An approval by the consent office is for the photo as stored: a stretched
copy is decided on its faces alone.

Nothing here imports Pelican.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

# Shown and stored shapes further apart than this are checked again: the detector itself
# finds faces stretched or squeezed by a few per cent, and a theme's rounding of
# width/height attributes moves the ratio by well under 1 %.
TOLERANCE = 1.15
# The copy's longer side at most (the detector tiles larger photos; a 4x stretch of a
# camera photo would otherwise be 20,000 px wide).
MAX_SIDE = 4000


def parse_shown(shown: str) -> tuple[float, float] | None:
    """("W", "H") of an ``ImageUse.shown`` "WxH", or None."""
    width, _, height = shown.partition("x")
    try:
        size = float(width), float(height)
    except ValueError:
        return None
    return size if size[0] > 0 and size[1] > 0 else None


def stretched_size(stored: tuple[int, int], shown: tuple[float, float]) -> tuple[int, int] | None:
    """The size of the stored picture resized to the shown aspect ratio (only ever
    enlarged along one side, then scaled down to ``MAX_SIDE``), or None when the shapes
    are within ``TOLERANCE`` of each other."""
    width, height = stored
    if width <= 0 or height <= 0:
        return None
    shown_ratio = shown[0] / shown[1]
    stored_ratio = width / height
    if max(shown_ratio / stored_ratio, stored_ratio / shown_ratio) <= TOLERANCE:
        return None
    if shown_ratio > stored_ratio:
        size = (height * shown_ratio, float(height))
    else:
        size = (float(width), width / shown_ratio)
    scale = min(1.0, MAX_SIDE / max(size))
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


@dataclass
class StretchedCheck:
    """Decides the stretched copies of a build's photos, once per (photo, shape).

    `decide(paths, names)` gives, for each file, ("" when the photo verdict
    (``batch.check_files``, the build's registry and settings) publishes it and blurs
    nothing, else why it is withheld; the registry ids seen in it)."""

    cache_dir: Path
    decide: Callable[[list[Path], list[str]], list[tuple[str, tuple[str, ...]]]]
    # (photo, shape) -> (why it may not be shown so, or None; the registry ids seen)
    found: dict[tuple[str, tuple[int, int]], tuple[str | None, tuple[str, ...]]] = field(
        default_factory=dict
    )
    checked: int = 0
    # rel -> registry ids seen in its stretched copies that passed (kept in the manifest)
    persons_of: dict[str, set[str]] = field(default_factory=dict)

    def reason(self, rel: str, path: Path, source_sha256: str, shown: str) -> str | None:
        """Why the photo `rel` (its checked file at `path`) may not be shown at `shown`
        ("WxH"), or None when it may (or the shape is its own)."""
        size = parse_shown(shown)
        if size is None:
            return None
        try:
            from PIL import Image

            with Image.open(path) as image:
                stored = image.size
        except (OSError, ValueError) as exc:
            return f"its shape could not be read ({exc}), so its stretched copy was not checked"
        target = stretched_size(stored, size)
        if target is None:
            return None
        key = (source_sha256 or rel, target)
        if key not in self.found:
            self.found[key] = self._check(rel, path, source_sha256, stored, target)
        why, persons = self.found[key]
        if why is None:
            self.persons_of.setdefault(rel, set()).update(persons)
        return why

    def _check(
        self, rel: str, path: Path, source_sha256: str, stored, target: tuple[int, int]
    ) -> tuple[str | None, tuple[str, ...]]:
        shape = f"{target[0]}x{target[1]}"
        stored_shape = f"{stored[0]}x{stored[1]}"
        name = f"{rel} at {shape} (stored {stored_shape})"
        try:
            copy = self._copy(path, source_sha256, target)
            ((why, persons),) = self.decide([copy], [name])
        except Exception as exc:  # noqa: BLE001 - fail closed: any error withholds
            logger.debug("stretched copy of %s: %s", rel, exc, exc_info=True)
            why = f"its copy at the shape the page shows ({shape}) could not be checked ({exc})"
            return why, ()
        self.checked += 1
        if not why:
            return None, tuple(persons)
        return (
            f"the page shows it stretched to {shape} from {stored_shape}, and at that shape {why}",
            tuple(persons),
        )

    def _copy(self, path: Path, source_sha256: str, target: tuple[int, int]) -> Path:
        """The stretched copy, from the cache when it was made before."""
        from face_engine.model import sha256_bytes
        from PIL import Image
        from site_common.files import write_atomic

        identity = source_sha256 or sha256_bytes(path.read_bytes())
        cached = self.cache_dir / identity[:2] / f"{identity}-{target[0]}x{target[1]}.png"
        if cached.is_file():
            return cached
        with Image.open(path) as image:
            image.load()
            stretched = image.convert("RGB").resize(target, Image.Resampling.LANCZOS)
        import io

        buffer = io.BytesIO()
        stretched.save(buffer, "PNG")
        cached.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(cached, buffer.getvalue())
        return cached
