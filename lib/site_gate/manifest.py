"""The publish manifest: the list of files the gate passed, which `publish` uploads from.

It is written outside the output folder, last, when the gate has finished; it is deleted
when the gate starts. So a build that was stopped, failed, ran without the gate or with the
gate off leaves no manifest, and `publish` refuses to upload anything. Each entry holds the
file's SHA-256 as the gate left it: a file changed or added after the build does not match
and is refused. It also records the settings the gate ran with (``BuildSettings``), and
`publish` refuses a manifest built with weaker settings than its own: a development build
(`make html`, no CONSENT_STRICT) is never published with the production settings' trust.

Nothing here imports Pelican.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import GateError

if TYPE_CHECKING:
    from consent_registry.settings import GateSettings

FORMAT = 3  # 3: copy_persons
TMP_PREFIX = ".tmp-manifest-"
REBUILD_ADVICE = (
    "Build the site with the consent gate (make html, make publish, or publish --build) "
    "and publish again"
)


class ManifestError(GateError):
    """There is no usable manifest; the message says what to do."""


@dataclass(frozen=True)
class ManifestEntry:
    path: str  # inside the site, POSIX style
    sha256: str  # of the bytes the gate passed
    kind: str  # sniff.Kind
    content_type: str
    source_sha256: str = ""  # pictures: the bytes as built (face cache and approval key)
    persons: list[str] = field(default_factory=list)  # registry ids seen in it
    # Pictures: True when `persons` is what the gate's face work found (publish decides a
    # photo whose face work is not cached from it); False in manifests written otherwise.
    face_record: bool = False
    # Registry ids seen in the pictures the gate made of it (an SVG drawn, a photo stretched
    # to the shape a page shows it at), where the file itself may show no face: publish
    # withholds it once any of them may no longer be shown.
    copy_persons: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class BuildSettings:
    """The gate settings a manifest was built with: everything that decides what passes.

    One setting is weaker than another when it lets more through: no CONSENT_STRICT,
    CONSENT_BLUR on, "recognise" instead of "detect-only", a larger tolerance, a smaller
    margin or minimum face size, another scope, or no rendered-page check."""

    mode: str
    strict: bool
    blur: bool
    tolerance: float
    margin: float
    min_face_px: int
    scope: str
    render_check: bool = False

    @classmethod
    def of(cls, settings: GateSettings, render_check: bool = False) -> BuildSettings:
        """From a ``consent_registry.settings.GateSettings``; `render_check`: whether the
        rendered pages were face-checked (the build), or must have been (publish)."""
        return cls(
            mode=str(settings.mode),
            strict=bool(settings.strict),
            blur=bool(settings.blur),
            tolerance=float(settings.tolerance),
            margin=float(settings.margin),
            min_face_px=int(settings.min_face_px),
            scope=str(settings.scope),
            render_check=render_check,
        )

    def weaker_than(self, wanted: BuildSettings) -> list[str]:
        """How these settings let through more than `wanted` would, one line each."""
        found = []
        if wanted.strict and not self.strict:
            found.append("CONSENT_STRICT was off (remote pictures were not withheld)")
        if self.blur and not wanted.blur:
            found.append("CONSENT_BLUR was on (faces were blurred instead of withheld)")
        if wanted.mode == "detect-only" and self.mode != "detect-only":
            found.append(f"CONSENT_MODE was {self.mode!r}, not 'detect-only'")
        if self.tolerance > wanted.tolerance:
            found.append(f"CONSENT_TOLERANCE was {self.tolerance}, above {wanted.tolerance}")
        if self.margin < wanted.margin:
            found.append(f"CONSENT_MARGIN was {self.margin}, under {wanted.margin}")
        if self.min_face_px < wanted.min_face_px:
            found.append(f"CONSENT_MIN_FACE_PX was {self.min_face_px}, under {wanted.min_face_px}")
        if self.scope != wanted.scope:
            found.append(f"CONSENT_SCOPE was {self.scope!r}, not {wanted.scope!r}")
        if wanted.render_check and not self.render_check:
            found.append(
                "the rendered-page face check did not run (no Chromium: a development build)"
            )
        return found


@dataclass(frozen=True)
class Manifest:
    output: Path
    generated_at: str
    registry_fingerprint: str
    entries: dict[str, ManifestEntry]
    # Pictures a page shows that the build did not produce (a mistyped path, a failed
    # copy): never a reason to delete the published copy, which publish re-checks instead.
    missing: frozenset[str] = frozenset()
    built_with: BuildSettings | None = None

    def check_settings(self, path: Path, wanted: BuildSettings) -> None:
        """Refuse (ManifestError) a build made with weaker settings than `wanted`."""
        weaker = self.built_with.weaker_than(wanted) if self.built_with else []
        if weaker:
            raise ManifestError(
                f"the publish manifest {path} was built with weaker consent settings than "
                f"publish uses: {'; '.join(weaker)}. That build (e.g. `make html`, for "
                "previewing) may not be published: rebuild with the publishing settings "
                "(make publish, or publish --build, which use publishconf.py) and publish again"
            )


def remove_manifest(path: Path) -> None:
    Path(path).unlink(missing_ok=True)


def clear_stale_temps(folder: Path) -> int:
    """Remove the temp files of manifests whose writer died (a kill, a full disk): named
    by their process, or, from before they were, older than an hour."""
    from site_common.processes import process_alive

    removed = 0
    with contextlib.suppress(OSError):
        for entry in list(Path(folder).glob(f"{TMP_PREFIX}*")):
            pid = entry.name[len(TMP_PREFIX) :].split("-", 1)[0]
            if pid.isdigit():
                stale = int(pid) == os.getpid() or not process_alive(int(pid))
            else:
                stale = time.time() - entry.stat().st_mtime > 3600
            if stale:
                entry.unlink(missing_ok=True)
                removed += 1
    return removed


def write_manifest(
    path: Path,
    *,
    output: Path,
    registry_fingerprint: str,
    entries: list[ManifestEntry],
    built_with: BuildSettings,
    missing: Iterable[str] = (),
    staged: bool = False,
) -> Path | None:
    """Write the manifest atomically. `staged`: write only its temp file beside `path` and
    return it, for the caller to rename into place (``os.replace``) once the site it lists
    is. A failed write (a full disk) removes the temp file and raises: the manifest in
    place stays as it was."""
    document = {
        "built_with": asdict(built_with),
        "missing": sorted(missing),
        "format": FORMAT,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "output": str(Path(output).resolve()),
        "registry_fingerprint": registry_fingerprint,
        "files": {e.path: {k: v for k, v in asdict(e).items() if k != "path"} for e in entries},
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f"{TMP_PREFIX}{os.getpid()}-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(document, handle, sort_keys=True)  # C encoder: no indent
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        if staged:
            return Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return None


def read_manifest(path: Path, output: Path, wanted: BuildSettings | None = None) -> Manifest:
    """The manifest of the build in `output`; ManifestError when there is none for it, or
    when it was built with weaker settings than `wanted` (``Manifest.check_settings``)."""
    path = Path(path)
    rebuild = REBUILD_ADVICE
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(
            f"there is no publish manifest at {path}: the last build did not finish with the "
            "consent gate (it failed, was stopped, ran with the gate off or without it), so "
            f"nothing in {output} may be published. {rebuild}"
        ) from None
    except (OSError, ValueError) as exc:
        raise ManifestError(
            f"the publish manifest {path} cannot be read ({exc}). {rebuild}"
        ) from None
    try:
        if document["format"] != FORMAT:
            raise ValueError(
                f"format {document['format']}, not {FORMAT}: it was written by another version"
            )
        built = Path(document["output"])
        built_with = BuildSettings(**document["built_with"])
        entries = {
            name: ManifestEntry(path=name, **values) for name, values in document["files"].items()
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise ManifestError(f"the publish manifest {path} is damaged ({exc}). {rebuild}") from None
    if built != Path(output).resolve():
        raise ManifestError(
            f"the publish manifest {path} is for {built}, not for {output}: publish the "
            f"folder the gate checked, or {rebuild[0].lower()}{rebuild[1:]}"
        )
    manifest = Manifest(
        built,
        document["generated_at"],
        document["registry_fingerprint"],
        entries,
        frozenset(document.get("missing", ())),
        built_with,
    )
    if wanted is not None:
        manifest.check_settings(path, wanted)
    return manifest
