"""The publish manifest: the list of files the gate passed, which `publish` uploads from.

It is written outside the output folder, last, when the gate has finished; it is deleted
when the gate starts. So a build that was stopped, failed, ran without the gate or with the
gate off leaves no manifest, and `publish` refuses to upload anything. Each entry holds the
file's SHA-256 as the gate left it: a file changed or added after the build does not match
and is refused.

Nothing here imports Pelican.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

FORMAT = 1


class ManifestError(Exception):
    """There is no usable manifest; the message says what to do."""


@dataclass(frozen=True)
class ManifestEntry:
    path: str  # inside the site, POSIX style
    sha256: str  # of the bytes the gate passed
    kind: str  # sniff.Kind
    content_type: str
    source_sha256: str = ""  # pictures: the bytes as built (face cache and approval key)
    persons: list[str] = field(default_factory=list)  # registry ids seen in it


@dataclass(frozen=True)
class Manifest:
    output: Path
    generated_at: str
    registry_fingerprint: str
    entries: dict[str, ManifestEntry]
    # Pictures a page shows that the build did not produce (a mistyped path, a failed
    # copy): never a reason to delete the published copy, which publish re-checks instead.
    missing: frozenset[str] = frozenset()


def remove_manifest(path: Path) -> None:
    Path(path).unlink(missing_ok=True)


def write_manifest(
    path: Path,
    *,
    output: Path,
    registry_fingerprint: str,
    entries: list[ManifestEntry],
    missing: Iterable[str] = (),
) -> None:
    document = {
        "missing": sorted(missing),
        "format": FORMAT,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "output": str(Path(output).resolve()),
        "registry_fingerprint": registry_fingerprint,
        "files": {e.path: {k: v for k, v in asdict(e).items() if k != "path"} for e in entries},
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-manifest-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(document, handle, sort_keys=True)  # C encoder: no indent
            handle.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_manifest(path: Path, output: Path) -> Manifest:
    """The manifest of the build in `output`; ManifestError when there is none for it."""
    path = Path(path)
    rebuild = (
        "Build the site with the consent gate (make html, make publish, or publish --build) "
        "and publish again"
    )
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
            raise ValueError(f"format {document['format']}")
        built = Path(document["output"])
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
    return Manifest(
        built,
        document["generated_at"],
        document["registry_fingerprint"],
        entries,
        frozenset(document.get("missing", ())),
    )
