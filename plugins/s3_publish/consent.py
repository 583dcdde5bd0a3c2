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

# checker(files, display_names) -> one verdict per file, in order; each verdict has
# `.publish` (bool) and `.reasons` (list of str), like face_engine.model.Verdict.
Checker = Callable[[Sequence[Path], Sequence[str]], Sequence[Any]]


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
    does publishing): an image is never uploaded unchecked."""
    snapshot = None

    def check(
        files: Sequence[Path], names: Sequence[str], hashes: Sequence[str | None] | None = None
    ) -> Sequence[Any]:
        nonlocal snapshot
        if not files:
            return []
        from face_engine.decision import check_files

        if snapshot is None:
            snapshot = open_snapshot(gate_settings, today)
        # Without every file's key, each file is read and hashed (stale bucket objects).
        known = list(hashes) if hashes is not None and all(hashes) else None
        return check_files(
            list(files),
            snapshot,
            gate_settings,
            progress=progress,
            display_names=list(names),
            hashes=known,
        )

    return check


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


def decide(
    checker: Checker,
    files: Sequence[Path],
    names: Sequence[str],
    hashes: Sequence[str | None] | None = None,
) -> list[ImageDecision]:
    """Run the checker and return one decision per file; any doubt withholds."""
    if not files:
        return []
    try:
        verdicts = list(checker(list(files), list(names), None if hashes is None else list(hashes)))
    except PublishError:
        raise
    except Exception as exc:
        raise PublishError(
            f"the consent re-check failed ({type(exc).__name__}: {exc}); nothing was published"
        ) from exc
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
