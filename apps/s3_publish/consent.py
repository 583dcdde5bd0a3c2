"""The consent re-check at publish time: every photo and PDF is checked again against the
registry as it is now, whatever the build decided, from the faces the build found (the face
cache, keyed by the bytes as built). Any failure to check stops publishing."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from .errors import PublishError

log = logging.getLogger(__name__)

# checker(files, display_names, hashes) -> one verdict per file, in order; each verdict has
# `.publish` (bool) and `.reasons` (list of str), like face_engine.model.Verdict. `hashes`:
# each file's identity as built (None: its bytes' own hash), or None for all.
Checker = Callable[[Sequence[Path], Sequence[str], Sequence[str | None] | None], Sequence[Any]]


@dataclass(frozen=True)
class ImageDecision:
    name: str
    publish: bool
    reasons: list[str] = field(default_factory=list)


def registry_checker(
    gate_settings: Any, today: date | None = None, progress: bool = True
) -> Checker:
    """A checker backed by the consent registry and the gate's decision function.

    The registry is opened on first use; if it cannot be opened, checking fails (and so
    does publishing): an image is never uploaded unchecked.

    A photo of the build whose face work is not in the cache (pruned, another machine, an
    engine upgrade) is never scanned again here: the re-encoded copy is not what the build
    looked at, and a new scan can find a "face" the build did not see. It is decided from
    the persons the build recorded for it (`check.recorded`: source hash -> person ids,
    from the manifest) against the registry as it is now, withdrawals included
    (``decide_from_record``). A cached photo whose people differ from the record is
    decided from the cache and the difference is reported (`check.notes`)."""
    snapshot = None
    recorded: dict[str, tuple[str, ...]] = {}
    notes: list[str] = []

    def check(
        files: Sequence[Path], names: Sequence[str], hashes: Sequence[str | None] | None = None
    ) -> Sequence[Any]:
        nonlocal snapshot
        notes.clear()
        if not files:
            return []
        from face_engine.batch import check_files
        from face_engine.cache import FaceCache

        if snapshot is None:
            snapshot = open_snapshot(gate_settings, today)
        # Without every file's key, each file is read and hashed (stale bucket objects).
        known = list(hashes) if hashes is not None and all(hashes) else None
        cache = FaceCache.for_settings(gate_settings)
        from_record: dict[int, Any] = {}
        if known is not None:
            missed = [h for h in known if h in recorded and not cache.path_for(h).exists()]
            if missed:
                cache.fetch_shared(sorted(set(missed)))
            for i, sha256 in enumerate(known):
                if sha256 in recorded and not cache.path_for(sha256).exists():
                    from_record[i] = decide_from_record(
                        names[i], sha256, recorded[sha256], snapshot, gate_settings
                    )
        rest = [i for i in range(len(files)) if i not in from_record]
        scanned = check_files(
            [files[i] for i in rest],
            snapshot,
            gate_settings,
            progress=progress,
            display_names=[names[i] for i in rest],
            hashes=None if known is None else [known[i] for i in rest],
            cache=cache,
        )
        verdicts: list[Any] = [None] * len(files)
        for i, verdict in zip(rest, scanned, strict=True):
            verdicts[i] = verdict
            if known is not None and known[i] in recorded:
                seen = {f.person_id for f in getattr(verdict, "faces", ()) if f.person_id}
                before = set(recorded[known[i]])
                if seen != before and not getattr(verdict, "approved_by", None):
                    notes.append(
                        f"{names[i]}: the build recorded {', '.join(sorted(before)) or 'nobody'}"
                        f", the face cache now recognises {', '.join(sorted(seen)) or 'nobody'}"
                        "; decided from the face cache"
                    )
        for i, verdict in from_record.items():
            verdicts[i] = verdict
        if from_record:
            notes.append(
                f"{len(from_record)} photo(s) had no face work in the cache: decided from the "
                "persons the build recorded, against the registry as it is now (never a new "
                "scan of the published copy)"
            )
        return verdicts

    def from_record(names: Sequence[str], persons: Sequence[Sequence[str]]) -> list[Any]:
        """Verdicts from whom the build saw (``decide_from_record``), no face work."""
        nonlocal snapshot
        if snapshot is None:
            snapshot = open_snapshot(gate_settings, today)
        return [
            decide_from_record(name, "", seen, snapshot, gate_settings)
            for name, seen in zip(names, persons, strict=True)
        ]

    check.recorded = recorded  # type: ignore[attr-defined]
    check.notes = notes  # type: ignore[attr-defined]
    check.from_record = from_record  # type: ignore[attr-defined]
    return check


def decide_from_record(
    name: str, sha256: str, persons: Sequence[str], snapshot: Any, gate_settings: Any
) -> Any:
    """The verdict for a photo decided by the build, from whom the build saw in it: it
    publishes only while every one of them may be shown today (and nobody withdrawn is
    on record as shown in it), else it is withheld, saying why."""
    from face_engine.model import PUBLISH, WITHHOLD, Verdict

    records = {r.person_id: r for r in snapshot.records}
    scope = getattr(gate_settings, "scope", "website")
    reasons = []
    for person in persons:
        record = records.get(person)
        if record is None:
            reasons.append(f"{person}, shown in it at the build, is no longer in the registry")
            continue
        refusal = record.refusal(snapshot.today, scope)
        if refusal:
            reasons.append(f"{person}, shown in it at the build: {refusal}")
    for blocked in getattr(snapshot, "blocked", ()) or ():
        if sha256 in blocked.photos:
            reasons.append(f"{blocked.person_id}, withdrawn, is on record as shown in it")
    if reasons:
        return Verdict(name, sha256, WITHHOLD, reasons, [])
    why = (
        f"as the build decided: {', '.join(persons)} may be shown"
        if persons
        else "as the build decided: nobody identifiable in it"
    )
    return Verdict(name, sha256, PUBLISH, [why + " (decided from the build's record)"], [])


def decide_copies(checker: Checker, files: Sequence[Any]) -> list[ImageDecision]:
    """Decisions for files whose faces the build saw only in the pictures it made of them
    (``copy_persons``: an SVG drawn, a photo stretched to a page's shape): each is
    published only while everyone seen there may be shown today. A checker that cannot
    decide from the build's record withholds them all (never published unchecked)."""
    if not files:
        return []
    names = [f.name for f in files]
    from_record = getattr(checker, "from_record", None)
    if from_record is None:
        why = "the faces the build saw in its drawn or stretched copy cannot be re-checked"
        return [ImageDecision(name=name, publish=False, reasons=[why]) for name in names]
    verdicts = _run_check(lambda: from_record(names, [f.copy_persons for f in files]))
    return [
        ImageDecision(
            name=name,
            publish=getattr(verdict, "publish", False) is True,
            reasons=[f"as drawn or stretched by its page: {r}" for r in verdict.reasons],
        )
        for name, verdict in zip(names, verdicts, strict=True)
    ]


def open_snapshot(gate_settings: Any, today: date | None = None) -> Any:
    """The registry as of today. Unlike the build, a missing registry file is an error here:
    publishing against an empty registry would take down every consented photo."""
    registry_path = Path(gate_settings.registry)
    if not registry_path.is_file():
        raise PublishError(
            f"there is no consent registry at {registry_path}: images cannot be re-checked, so "
            "nothing was published. Run publish from the project folder, or point "
            "CONSENT_REGISTRY at the registry."
        )
    from consent_registry.clock import ClockError, consent_today
    from consent_registry.snapshot import open_snapshot as read_registry

    timezone = getattr(gate_settings, "timezone", None)
    try:
        return read_registry(
            registry_path,
            gate_settings.key_file,
            today or consent_today(timezone),
            timezone=timezone,
        )[0]
    except ClockError as exc:
        raise PublishError(f"{exc} Nothing was published.") from exc
    except Exception as exc:
        raise PublishError(
            f"cannot open the consent registry {registry_path} (key file "
            f"{gate_settings.key_file}): {exc}. Images cannot be re-checked, so nothing was "
            "published: fix CONSENT_REGISTRY / CONSENT_KEY_FILE and run again."
        ) from exc


def _run_check(call: Callable[[], Sequence[Any]]) -> list[Any]:
    """The verdicts of one consent re-check; any failure stops publishing, saying why."""
    try:
        return list(call())
    except PublishError:
        raise
    except Exception as exc:
        raise PublishError(
            f"the consent re-check failed ({type(exc).__name__}: {exc}); nothing was published"
        ) from exc


def decide(
    checker: Checker,
    files: Sequence[Path],
    names: Sequence[str],
    hashes: Sequence[str | None] | None = None,
) -> list[ImageDecision]:
    """Run the checker and return one decision per file; any doubt withholds."""
    if not files:
        return []
    verdicts = _run_check(
        lambda: checker(list(files), list(names), None if hashes is None else list(hashes))
    )
    if len(verdicts) != len(files):
        raise PublishError(
            f"the consent re-check returned {len(verdicts)} verdicts for {len(files)} images; "
            "nothing was published"
        )
    decisions = []
    for name, verdict in zip(names, verdicts, strict=True):
        publish = getattr(verdict, "publish", False) is True
        reasons = [str(r) for r in (getattr(verdict, "reasons", None) or [])]
        if not publish and not reasons:
            reasons = ["withheld by the consent check"]
        decisions.append(ImageDecision(name=name, publish=publish, reasons=reasons))
    return decisions
