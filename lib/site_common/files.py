"""Files written whole: a temporary file in the same folder, renamed over the target, so a
reader (or a crash) never sees half of one; and which write errors are the disk refusing.

Nothing here imports Pelican or any other package of the project."""

from __future__ import annotations

import errno
import json
import logging
import os
import tempfile
from pathlib import Path

logger = logging.getLogger(__name__)

# The errors that mean the disk cannot take what the build writes: never only a warning.
DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.EFBIG})


def is_disk_failure(exc: BaseException) -> bool:
    """Whether `exc` (or what caused it) is a write the disk refused: full, read-only,
    failing. Such a failure fails the build; it never just withholds a photo."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, OSError) and exc.errno in DISK_ERRNOS:
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def write_atomic(
    path: Path, data: bytes | str, *, encoding: str = "utf-8", mode: int | None = None
) -> None:
    """Write `data` to `path` whole: into a temporary file beside it (``.NAME.*.tmp``), then
    renamed over it. The file is readable by its owner only (0o600) unless `mode` is given.
    The temporary file is removed when anything fails; the error is raised."""
    path = Path(path)
    payload = data.encode(encoding) if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_cache_json(path: Path, data: object) -> bool:
    """Write one of the gate's cache files whole (a temp file renamed over it, so readers
    never see half); False when it could not be written, which only costs time later.
    A disk that refuses the write (full, read-only, failing: ``is_disk_failure``)
    raises instead: the build fails rather than go on writing a site to that disk."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(data, separators=(",", ":")))
        return True
    except OSError as exc:
        if is_disk_failure(exc):
            raise OSError(exc.errno, f"could not write the cache file {path}: {exc}") from exc
        logger.debug("could not write %s: %s", path, exc)
        return False
