"""Verdicts remembered between builds: a rebuild in which nothing a verdict depends on
changed takes the last build's verdicts instead of opening the registry again.

A verdict depends on the photo (its hash, and its path, which the reasons name), the
registry's exact stored state (``consent_registry.snapshot.registry_state``: any write, a
revoke, an approval, a purge, a forged row, gives another state), the date the gate
decides for, the matching settings and the face engine's version. The memo's key is a hash
of all of these but the photo, so any change starts a new memo; photos are then looked up
by (hash, path); the code that decides is part of the key too, so an upgrade decides
afresh. Only verdicts drawn from cached face work are remembered (a photo that could not
be read is looked at again next time).

Why: opening the registry means importing numpy and the crypto library, decrypting every
template and checking every row's seal, about 0.3-0.4 s, a third of a 200-photo rebuild
(bench/rebuild_bench.py). The memo holds what the build report holds: verdicts, the
people seen, and the students' name parts as salted hashes, never a name or a template.
Nothing here imports numpy.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import consent_registry
import face_engine
from consent_registry.settings import GateSettings
from consent_registry.snapshot import registry_state
from face_engine.model import Verdict
from site_common.files import write_cache_json

from .output_scan import NameTokens

logger = logging.getLogger(__name__)

FORMAT = 1
FILE_NAME = "verdict-memo.json"


def memo_key(settings: GateSettings, today: date, model_version: str) -> str:
    """Everything but the photo that a verdict depends on, as one digest."""
    parts = [
        f"format={FORMAT}",
        f"code={_deciding_code()}",
        f"registry={registry_state(settings.registry, settings.key_file)}",
        f"today={today.isoformat()}",
        f"mode={settings.mode}",
        f"scope={settings.scope}",
        f"tolerance={settings.tolerance!r}",
        f"margin={settings.margin!r}",
        f"min_face_px={settings.min_face_px}",
        f"blur={settings.blur}",
        f"model={model_version}",
    ]
    return hashlib.sha256("\n".join(parts).encode("utf-8", "surrogateescape")).hexdigest()


def _deciding_code() -> str:
    """A digest of the source of the modules a verdict comes from (read, not imported:
    importing the decision rules loads numpy)."""
    engine, registry = Path(face_engine.__file__).parent, Path(consent_registry.__file__).parent
    digest = hashlib.sha256()
    for source in (
        engine / "decision.py",  # the rules
        engine / "batch.py",  # the same rules over many files
        engine / "model.py",  # consent records and verdicts
        # The snapshot: which records and approvals count (``Registry.snapshot`` reads the
        # rows whose seals hold).
        registry / "queries.py",
        registry / "records.py",
        registry / "seals.py",
        registry / "snapshot.py",
        Path(__file__).parent / "output_scan.py",  # students' name parts
        Path(__file__),
    ):
        digest.update(source.read_bytes())
    return digest.hexdigest()


@dataclass
class Remembered:
    """What a build needs of the registry once its verdicts are known."""

    verdict: Verdict
    persons: tuple[str, ...]


@dataclass
class VerdictMemo:
    key: str
    fingerprint: str = ""  # the registry snapshot's fingerprint (report and manifest)
    has_registry: bool = False
    names: NameTokens | None = None
    entries: dict[str, dict] = field(default_factory=dict)  # "sha256 path" -> JSON

    @classmethod
    def load(cls, folder: Path | None, key: str) -> VerdictMemo:
        """The memo written under `key` into `folder` (the site's own cache folder), or an
        empty one (another key, none, unreadable, no folder)."""
        if folder is None:
            return cls(key)
        path = Path(folder) / FILE_NAME
        try:
            data = json.loads(path.read_bytes())
            if data.get("key") != key:
                return cls(key)
            names = data["names"]
            return cls(
                key,
                fingerprint=str(data["fingerprint"]),
                has_registry=bool(data["has_registry"]),
                names=NameTokens(str(names["salt"]), frozenset(names["hashes"])),
                entries=dict(data["entries"]),
            )
        except FileNotFoundError:
            return cls(key)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            logger.debug("ignoring the verdict memo %s (%s)", path, exc)
            return cls(key)

    @property
    def complete(self) -> bool:
        """Whether it holds what a build needs besides verdicts (it was written whole)."""
        return self.names is not None and bool(self.fingerprint)

    def get(self, sha256: str, path: str) -> Remembered | None:
        entry = self.entries.get(f"{sha256} {path}")
        if entry is None:
            return None
        try:
            verdict = Verdict.from_json(entry["verdict"])
            if verdict.sha256 != sha256 or verdict.path != path:
                return None
            return Remembered(verdict, tuple(str(p) for p in entry["persons"]))
        except (ValueError, KeyError, TypeError) as exc:
            logger.debug("ignoring a remembered verdict for %s (%s)", path, exc)
            return None

    def remember(self, verdict: Verdict, persons: tuple[str, ...]) -> None:
        """Keep a verdict as it is now (later changes to the object are not kept)."""
        self.entries[f"{verdict.sha256} {verdict.path}"] = {
            "verdict": verdict.to_json(),
            "persons": list(persons),
        }

    def save(self, folder: Path | None) -> None:
        """Write atomically; a memo that cannot be written only costs time next build."""
        if not self.complete or folder is None:
            return
        path = Path(folder) / FILE_NAME
        data = {
            "format": FORMAT,
            "key": self.key,
            "fingerprint": self.fingerprint,
            "has_registry": self.has_registry,
            "names": {"salt": self.names.salt, "hashes": sorted(self.names.hashes)},
            "entries": self.entries,
        }
        write_cache_json(path, data)


class CopyVerdicts:
    """What the gate decided about the pictures it makes from a build's files (an SVG file
    drawn, a photo stretched to the shape a page shows it at), by the copy's SHA-256, under
    a ``memo_key``: a rebuild decides unchanged copies without opening the registry. One
    file (``<cache>/copy-verdicts.json``); another key starts it afresh."""

    FILE_NAME = "copy-verdicts.json"

    def __init__(self, cache_dir: Path, key: str) -> None:
        self.path = Path(cache_dir) / self.FILE_NAME
        self.key = key
        # sha256 -> ("" (passes) or why it is withheld, the registry ids seen in it)
        self.known: dict[str, tuple[str, tuple[str, ...]]] = {}
        self.changed = False
        try:
            data = json.loads(self.path.read_bytes())
            if data.get("key") == key and isinstance(data.get("copies"), dict):
                for digest, (reason, persons) in data["copies"].items():
                    self.known[str(digest)] = (str(reason), tuple(map(str, persons)))
        except (OSError, ValueError, AttributeError, TypeError):
            self.known = {}

    def get(self, sha256: str) -> tuple[str, tuple[str, ...]] | None:
        """("" when the copy passed or why not, whom it shows), None when not known."""
        return self.known.get(sha256)

    def put(self, sha256: str, reason: str, persons: tuple[str, ...] = ()) -> None:
        self.known[sha256] = (reason, tuple(persons))
        self.changed = True

    def save(self) -> None:
        if self.changed:
            write_cache_json(
                self.path,
                {"key": self.key, "copies": {k: [r, list(p)] for k, (r, p) in self.known.items()}},
            )
