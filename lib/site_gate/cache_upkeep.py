"""Keeping the consent cache healthy: entries no current site uses are pruned, and the
cache stays under a size cap.

Each site (output folder) has a folder of its own in the cache (``site_folder``): the
gate's index of built photos, its remembered verdicts, and the ledger of the photos (by
source hash) the site used at its last successful build. At most once a day
(``PRUNE_EVERY``: a prune walks the whole cache):

- face results and re-encoded copies that no ledger of the last CONSENT_CACHE_KEEP_DAYS
  names are deleted, and so are the caches of earlier face-engine and re-encoder
  versions, page caches not written for as long, and the folders of sites not built;
- while the cache is over CONSENT_CACHE_MAX_MB, the oldest ledgers stop protecting their
  photos (never the newest site's).

One cache can then serve several sites (a district's schools, a preview and a live build)
without one pruning the other's photos. Entries written in the last day are never pruned:
a build running at the same time may be about to use them.

Why: unpruned, 1,000 photos left 274 MB behind, 92 % of it re-encoded copies, and every
photo ever replaced stayed. Nothing here imports Pelican or numpy.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from site_common.files import is_disk_failure, write_cache_json

logger = logging.getLogger(__name__)

SITES = "sites"
LEDGER = "used.json"
STAMP = "pruned-at"
PRUNE_EVERY = 24 * 3600  # seconds between prunes when the cache is under its cap
FRESH = 24 * 3600  # entries younger than this are never pruned
# Entry files keyed by a source hash: the face cache's and the re-encoded copies'.
_HASH_ENTRY = re.compile(r"^([0-9a-f]{64})(?:\.json)?$")
_FACE_VERSION = re.compile(r"^[0-9a-f]{16}$")  # face_engine.cache: one folder per version
_PUBLISHED_VERSION = re.compile(r"^v[0-9a-f]{12}$")  # raster.ReencodeCache
# Caches keyed by page text, kept while used within the keep period.
_BY_AGE = ("pages", "rewrites", re.compile(r"^clean-text-"))


@dataclass(frozen=True)
class Pruned:
    files: int
    bytes_freed: int
    bytes_left: int


def site_folder(cache_dir: Path, output: Path) -> Path:
    """The cache folder of the site built into `output` (its final folder, not staging)."""
    key = hashlib.sha256(str(Path(output).resolve()).encode("utf-8", "surrogateescape"))
    return Path(cache_dir) / SITES / key.hexdigest()[:24]


def record_use(cache_dir: Path, output: Path, sources: set[str]) -> Path:
    """Write the ledger of the photos (source hashes) the site in `output` now uses."""
    path = site_folder(cache_dir, output) / LEDGER
    try:
        if set(json.loads(path.read_bytes())["sources"]) == sources:
            os.utime(path)  # still in use: the date is what keeps its entries
            return path
    except (OSError, ValueError, KeyError, TypeError):
        pass
    write_cache_json(path, {"output": str(output), "sources": sorted(sources)})
    return path


def after_build(cache_dir: Path, output: Path, sources: set[str], settings) -> None:
    """After a successful build: its ledger, then a prune when one is due. Fails the build
    only when the disk refuses the ledger (full, read-only, failing); a cache that cannot
    be kept tidy otherwise only costs disk."""
    try:
        record_use(cache_dir, output, sources)
        pruned = prune_if_due(
            cache_dir, _current_versions, settings.cache_keep_days, settings.cache_max_mb << 20
        )
    except OSError as exc:
        if is_disk_failure(exc):
            raise
        logger.warning("could not prune the consent cache %s (%s)", cache_dir, exc)
        return
    if pruned and pruned.files:
        logger.info(
            "Consent cache %s: %d entries no site uses any more removed (%d MB); %d MB left",
            cache_dir,
            pruned.files,
            pruned.bytes_freed >> 20,
            pruned.bytes_left >> 20,
        )


def _current_versions(cache_dir: Path) -> set[Path]:
    """The version folders of this face engine and re-encoder (loaded only to prune)."""
    from face_engine.cache import FaceCache

    from .raster import ReencodeCache

    return {FaceCache(cache_dir).directory, ReencodeCache(cache_dir / "published").directory}


def prune_if_due(
    cache_dir: Path,
    current: Callable[[Path], set[Path]],
    keep_days: float,
    max_bytes: int,
    now: float | None = None,
) -> Pruned | None:
    """Prune when the last prune is a day old (or never ran); None when not due."""
    now = time.time() if now is None else now
    stamp = Path(cache_dir) / STAMP
    try:
        if now - stamp.stat().st_mtime < PRUNE_EVERY:
            return None
    except OSError:
        pass
    result = prune(cache_dir, current(Path(cache_dir)), keep_days, max_bytes, now)
    with contextlib.suppress(OSError):
        stamp.touch()
    return result


def prune(
    cache_dir: Path,
    current: set[Path],
    keep_days: float,
    max_bytes: int,
    now: float | None = None,
) -> Pruned:
    """Delete what no ledger of the last `keep_days` uses (and every entry of a version
    folder not in `current`, the face cache's and the re-encoder's of this version); then,
    while over `max_bytes`, forget the oldest ledgers' photos (never the newest's)."""
    cache_dir = Path(cache_dir)
    now = time.time() if now is None else now
    keep_after = now - keep_days * 86400
    ledgers = _ledgers(cache_dir, keep_after)
    current = {Path(folder).resolve() for folder in current}
    removed = [0, 0]  # files, bytes

    def sweep(keep: set[str]) -> None:
        for folder, pattern in (
            (cache_dir, _FACE_VERSION),
            (cache_dir / "published", _PUBLISHED_VERSION),
        ):
            for version in _children(folder):
                if pattern.match(version.name):
                    in_use = keep if version.resolve() in current else set()
                    _sweep_entries(version, in_use, now, removed)

    keep = set().union(*(sources for _, sources in ledgers))
    sweep(keep)
    for entry in _children(cache_dir):
        if any(
            p.match(entry.name) if isinstance(p, re.Pattern) else entry.name == p for p in _BY_AGE
        ):
            _sweep_by_age(entry, keep_after, removed)
    left = _size(cache_dir)
    # Over the cap: the oldest ledgers stop protecting their photos, one by one.
    while left > max_bytes and len(ledgers) > 1:
        ledgers.pop(0)
        sweep(set().union(*(sources for _, sources in ledgers)))
        left = _size(cache_dir)
    if left > max_bytes:
        logger.warning(
            "The consent cache %s holds %d MB for the photos the site uses now, over "
            "CONSENT_CACHE_MAX_MB (%d): raise the cap, or builds will redo face work",
            cache_dir,
            left >> 20,
            max_bytes >> 20,
        )
    return Pruned(removed[0], removed[1], left)


def _ledgers(cache_dir: Path, keep_after: float) -> list[tuple[float, set[str]]]:
    """(date, sources) of every ledger newer than `keep_after`, oldest first; the folders
    of sites not built since are deleted."""
    found = []
    for site in _children(cache_dir / SITES):
        path = site / LEDGER
        try:
            modified = path.stat().st_mtime
            if modified < keep_after:
                shutil.rmtree(site, ignore_errors=True)
                continue
            found.append((modified, set(json.loads(path.read_bytes())["sources"])))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return sorted(found, key=lambda item: item[0])


def _sweep_entries(version: Path, keep: set[str], now: float, removed: list[int]) -> None:
    for bucket in _children(version):
        for entry in _children(bucket):
            match = _HASH_ENTRY.match(entry.name)
            if match and match.group(1) not in keep:
                _remove_if_stale(entry, now - FRESH, removed)


def _sweep_by_age(folder: Path, keep_after: float, removed: list[int]) -> None:
    for root, _dirs, names in os.walk(folder):
        for name in names:
            _remove_if_stale(Path(root, name), keep_after, removed)


def _remove_if_stale(path: Path, before: float, removed: list[int]) -> None:
    try:
        stat = path.stat()
        if stat.st_mtime >= before:
            return
        path.unlink()
    except OSError:
        return
    removed[0] += 1
    removed[1] += stat.st_size


def _children(folder: Path) -> list[Path]:
    try:
        return sorted(folder.iterdir())
    except OSError:
        return []


def _size(folder: Path) -> int:
    total = 0
    for root, _dirs, names in os.walk(folder):
        for name in names:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total
