"""The registry file itself: its integrity check on open, plain words for SQLite's errors
(a damaged file, a full disk, a file that is not a registry), backups and restores.

Backups use SQLite's online backup API (``sqlite3.Connection.backup``): it copies a
consistent snapshot page by page while `consent`, the workspace and builds keep reading
and writing (a copy of the file with `cp` can catch a half-written transaction or miss the
WAL). Each backup is checked (``PRAGMA quick_check``) before it is reported as made.

The integrity check on open is ``PRAGMA quick_check`` (every page and index entry's
structure, without cross-checking index contents): on a registry of 1,000 records with 4
templates each (6.4 MB) it takes 2.8 ms of the 6.7 ms an open costs (a snapshot for the
gate: 200 ms), so every open runs it and a damaged registry decides nothing. A backup of
that registry, copy and check, takes 30-180 ms (cold cache the slowest).
"""

from __future__ import annotations

import glob
import os
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from . import clock
from .errors import RegistryError

SQLITE_HEADER = b"SQLite format 3\x00"
DAMAGED = "damaged: restore from backup"
FULL_CODES = {"SQLITE_FULL", "SQLITE_IOERR_WRITE", "SQLITE_IOERR_FSYNC", "SQLITE_IOERR_SHMSIZE"}
DAMAGED_CODES = {"SQLITE_CORRUPT", "SQLITE_CORRUPT_VTAB", "SQLITE_CORRUPT_SEQUENCE"}


class StorageError(RegistryError):
    """The registry file cannot be used as it is; the message says what to do."""


def restore_advice(path: Path | None) -> str:
    where = f" --registry {path}" if path else ""
    return (
        f"restore your last backup over it (`consent restore BACKUP{where}`; "
        "see 'Backups' in consent/README.md)"
    )


def _registry(path: Path | None) -> str:
    return f"the consent registry {path}" if path else "the consent registry"


def damaged_message(path: Path | None, detail: str = "") -> str:
    more = f" ({detail})" if detail else ""
    return (
        f"{_registry(path)} is {DAMAGED}: its file is corrupt{more}, so nothing "
        f"can be decided from it and nothing was changed. Stop builds and publishing, and "
        f"{restore_advice(path)}."
    )


def full_message(path: Path | None) -> str:
    return (
        f"{_registry(path)} cannot be written because the disk is full (nothing was "
        "saved). Free some space on that disk (old backups, reports, the .cache folder) and "
        "try again."
    )


def damaged_row_message(path: Path | None, detail: str = "") -> str:
    more = f" ({detail})" if detail else ""
    return (
        f"a row of {_registry(path)} is {DAMAGED}: its bytes no longer read back as "
        f"written{more}, so nothing can be decided from it and nothing was changed. Stop "
        f"builds and publishing, and {restore_advice(path)}."
    )


def read_only_message(path: Path | None) -> str:
    where = f" ({Path(path).parent})" if path else ""
    return (
        f"{_registry(path)} is read-only: it, or its folder{where}, cannot be written "
        "(SQLite writes a journal beside the file even to read it), so nothing was done. "
        "Give the user running this command write access to the file and its folder "
        "(`ls -l` shows the owner; `chmod u+w`), or remount the disk read-write if it is "
        "mounted read-only; never copy the registry elsewhere to work on it."
    )


def describe(exc: sqlite3.Error, path: Path | None = None) -> str:
    """SQLite's error on the registry `path` (None: not known here) in the office's words."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc).lower()
    if name in FULL_CODES or "disk is full" in text:
        return full_message(path)
    if name in DAMAGED_CODES or "malformed" in text:
        return damaged_message(path, str(exc))
    if "could not decode" in text:  # a row's text is no longer UTF-8: flipped bytes
        return damaged_row_message(path, str(exc))
    if name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN")) or "readonly" in text:
        return read_only_message(path)
    if name == "SQLITE_NOTADB" or "not a database" in text:
        if path is None or _has_sqlite_header(path):
            return damaged_message(path, str(exc))
        return (
            f"{path} is not a consent registry, or its start is damaged ({exc}): check "
            f"--registry / CONSENT_REGISTRY; if it is the registry, {restore_advice(path)}"
        )
    if name in ("SQLITE_BUSY", "SQLITE_LOCKED") or "locked" in text:
        return (
            f"{_registry(path)} is busy (a build or another change is writing to "
            "it): try again in a moment"
        )
    where = f" --registry {path}" if path else ""
    return (
        f"{_registry(path)} could not be used ({exc}); nothing was changed. Check it with "
        f"`consent audit --verify{where}`: if it reports damage, {restore_advice(path)}."
    )


def _has_sqlite_header(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(16) == SQLITE_HEADER
    except OSError:
        return False


def quick_check(db: sqlite3.Connection) -> list[str]:
    """SQLite's structural check of the open database: [] when sound."""
    rows = [str(r[0]) for r in db.execute("PRAGMA quick_check").fetchall()]
    return [] if rows == ["ok"] else rows


def check_file(db: sqlite3.Connection, path: Path) -> None:
    """Refuse a damaged registry (StorageError) before anything is read from it."""
    try:
        problems = quick_check(db)
    except sqlite3.DatabaseError as exc:
        raise StorageError(describe(exc, path)) from None
    if problems:
        shown = "; ".join(problems[:3]) + (" …" if len(problems) > 3 else "")
        raise StorageError(damaged_message(path, shown))


# ------------------------------------------------------------------ backups


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    people: int
    audit_entries: int


def backup_name(registry: Path, when: datetime | None = None) -> str:
    when = when or clock.now_utc()
    return f"{Path(registry).stem}-{when:%Y%m%dT%H%M%SZ}.sqlite3"


def backup(registry: Path, dest: Path) -> BackupResult:
    """Copy the registry to `dest` (a *.sqlite3 file, or a folder for a dated file) with SQLite's
    online backup API, then check the copy. Safe while others read and write."""
    registry = Path(registry)
    if not registry.is_file():
        raise StorageError(
            f"there is no consent registry at {registry}: check --registry / CONSENT_REGISTRY"
        )
    folder = Path(dest).expanduser()
    dest = folder
    # A folder (existing, or a name without a file suffix) gets a dated file.
    if folder.is_dir() or not folder.suffix or str(dest).endswith(os.sep):
        folder.mkdir(parents=True, exist_ok=True)
        dest = folder / backup_name(registry)
    if dest.resolve() == registry.resolve():
        raise StorageError(f"{dest} is the registry itself: back it up to another file")
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(f"file:{registry}?mode=ro", uri=True, timeout=30)
    try:
        target = sqlite3.connect(partial)
        try:
            # The whole database in one step: a writer during the copy cannot restart it.
            source.backup(target)
            target.execute("PRAGMA journal_mode = DELETE")
            problems = quick_check(target)
            people = _count(target, "people")
            entries = _count(target, "audit")
        finally:
            target.close()
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        name = getattr(exc, "sqlite_errorname", "") or ""
        if name in FULL_CODES or "disk is full" in str(exc).lower():
            why = (
                f"the disk of {dest.parent} is full (the registry is unchanged). Free some "
                "space there (the oldest backups), or back up to another disk."
            )
        else:
            why = describe(exc, registry)
        raise StorageError(f"the backup of {registry} to {dest} failed: {why}") from None
    finally:
        source.close()
    if problems:
        partial.unlink(missing_ok=True)
        raise StorageError(damaged_message(registry, "; ".join(problems[:3])))
    os.chmod(partial, 0o600)
    os.replace(partial, dest)
    return BackupResult(dest, dest.stat().st_size, people, entries)


def _count(db: sqlite3.Connection, table: str) -> int:
    try:
        return db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    except sqlite3.Error:
        return 0


# The copies a restore keeps of the registry it replaced (``*.before-restore-<time>``):
# the newest RESTORE_KEEP always stay; older ones go once RESTORE_KEEP_DAYS old. They hold
# student records and encrypted templates, so they are not kept for ever.
RESTORE_KEEP = 3
RESTORE_KEEP_DAYS = 30
_STAMP = "%Y%m%dT%H%M%SZ"


def prune_before_restore(registry: Path, now: datetime | None = None) -> list[Path]:
    """Delete the ``*.before-restore-*`` copies of `registry` beyond the newest
    RESTORE_KEEP that are more than RESTORE_KEEP_DAYS old (with their -wal/-shm files);
    returns the copies deleted."""
    registry = Path(registry)
    now = now or clock.now_utc()
    prefix = f"{registry.name}.before-restore-"
    copies = []
    for path in registry.parent.glob(f"{glob.escape(prefix)}*"):
        stamp = path.name[len(prefix) :]
        if stamp.endswith(("-wal", "-shm")):
            continue
        try:
            when = datetime.strptime(stamp, _STAMP).replace(tzinfo=UTC)
        except ValueError:
            continue  # not a copy a restore made: left alone
        copies.append((when, path))
    copies.sort(reverse=True)
    deleted = []
    for when, path in copies[RESTORE_KEEP:]:
        if now - when <= timedelta(days=RESTORE_KEEP_DAYS):
            continue
        for extra in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            extra.unlink(missing_ok=True)
        deleted.append(path)
    return deleted


def restore(backup_file: Path, registry: Path) -> Path | None:
    """Put a backup in place of the registry: the backup is checked first, the registry
    (damaged or not) is kept beside it as ``*.before-restore-<time>``, whose path is
    returned (None when there was no registry); older such copies are pruned
    (``prune_before_restore``). Stop `consent serve` and builds first."""
    backup_file, registry = Path(backup_file), Path(registry)
    if not backup_file.is_file():
        raise StorageError(f"the backup {backup_file} does not exist: check the path")
    try:
        db = sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True)
        try:
            problems = quick_check(db)
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise StorageError(
            f"the backup {backup_file} cannot be used ({describe(exc, backup_file)}): "
            "take an older backup"
        ) from None
    if problems:
        raise StorageError(f"the backup {backup_file} is damaged too: take an older backup")
    if not {"meta", "people", "audit"} <= tables:
        raise StorageError(f"{backup_file} is not a backup of a consent registry: check the path")
    kept = None
    registry.parent.mkdir(parents=True, exist_ok=True)
    partial = registry.with_name(registry.name + ".restoring")
    shutil.copyfile(backup_file, partial)
    os.chmod(partial, 0o600)
    if registry.exists():
        stamp = clock.now_utc().strftime(_STAMP)
        kept = registry.with_name(f"{registry.name}.before-restore-{stamp}")
        os.replace(registry, kept)
    for suffix in ("-wal", "-shm"):  # the old journal goes with the old file, never replayed
        journal = Path(f"{registry}{suffix}")
        if journal.exists():
            if kept is not None:
                os.replace(journal, Path(f"{kept}{suffix}"))
            else:
                journal.unlink()
    os.replace(partial, registry)
    prune_before_restore(registry)
    return kept
