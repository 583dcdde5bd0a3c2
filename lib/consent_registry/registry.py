"""The consent registry: who may appear on the website, their face templates and the
consent office's decisions, in one SQLite file (WAL mode).

Face templates are encrypted with the key in the key file (see ``crypto``); reference
photos are never stored. Every change is written to an append-only audit log that never
holds template values or names, only person ids.

Adding an id that is already in the registry is an error unless ``replace=True``, which
updates the record (and its templates when new ones are given). The never-publish flag
survives a replace: only ``remove`` clears it, and that is audited. One person, one
record: new templates that match another record within the tolerance are refused unless
the office confirms a look-alike (twins), which is recorded and audited.

Integrity (schema 2): every row that decides publishing (people, templates, approvals)
carries an HMAC made with a key derived from the key file, and an authenticated list in
``meta`` holds each row's current MAC, so a row added or changed without the key (plain
sqlite3), or a genuine older row copied back, is reported and ignored by ``snapshot``: a
face it would have matched is unknown and withheld, an approval it holds approves
nothing. A change through this class never seals an altered record (it is refused; only
``remove`` is allowed). The audit log is a hash chain (each entry's MAC covers the
previous one, and the first covers every entry written before the chain began) that
``verify_audit`` checks. A schema-1 registry is upgraded on the first open with its key.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from . import crypto, storage
from .approvals import ApprovalsMixin
from .audit import AuditMixin
from .blocks import BlocksMixin
from .changes import ChangesMixin
from .queries import QueriesMixin
from .records import (
    KNOWN_SCOPES,
    RESTORE,
    ROLES,
    SHA256,
    BlockedImage,
    LookalikeFound,
    Person,
    PersonExists,
    PersonNotFound,
    RegistryError,
    StaleRecord,
    UnstatedFaces,
    _now,
    check_person_id,
    closest_text,
    default_actor,
)
from .schema import _KEY_CHECK, SCHEMA, SCHEMA_VERSION, SchemaMixin
from .seals import SealsMixin

# What callers use with the registry, importable beside it (defined in ``records`` and
# ``schema``).
__all__ = [
    "KNOWN_SCOPES",
    "RESTORE",
    "ROLES",
    "SCHEMA_VERSION",
    "SHA256",
    "BlockedImage",
    "LookalikeFound",
    "Person",
    "PersonExists",
    "PersonNotFound",
    "Registry",
    "RegistryError",
    "StaleRecord",
    "UnstatedFaces",
    "check_person_id",
    "closest_text",
    "default_actor",
]

log = logging.getLogger(__name__)


class Registry(
    SchemaMixin, AuditMixin, SealsMixin, ChangesMixin, ApprovalsMixin, BlocksMixin, QueriesMixin
):
    """An open registry. Use ``Registry.open(path, key_file)``, ideally as a context manager.

    Opening, closing and transactions are here; the rest is in its parts: ``schema``
    (upgrades), ``audit`` (the log), ``seals`` (row MACs), ``changes`` (the records),
    ``approvals`` (photos approved or held), ``blocks`` (withdrawals and the journal) and
    ``queries`` (reading)."""

    def __init__(self, connection: sqlite3.Connection, path: Path, key_file: Path, key: bytes):
        self._db = connection
        self.path = path
        self.key_file = key_file
        self._key = key
        self._row_key = crypto.derive_key(key, "rows")
        self._audit_key = crypto.derive_key(key, "audit")
        self.created = False
        self.created_key = False
        self.migrated_from: int | None = None  # the schema version upgraded on this open
        # The consent settings (``settings.GateSettings``) a withdrawal and an approval use
        # when the caller gives none: the face cache to find the photos that showed a
        # person, the tolerance and margin, CONSENT_BLOCK_RETENTION_DAYS. The `consent`
        # command sets its own; unset, the defaults and environment are read.
        self.gate_settings = None
        # Withdrawals journal entries of the current transaction, written just before it
        # commits (``_flush_journal``).
        self._pending_journal: list[dict] = []
        # Seals of rows changed in the current transaction, written to meta at commit.
        self._pending: dict[str, dict[str, str | None]] = {}

    # ------------------------------------------------------------ opening

    @classmethod
    def open(cls, path: Path, key_file: Path) -> Registry:
        """Open the registry at `path`, creating it (and a key file) on first use.

        An existing registry needs its own key: a missing or different key file is an
        error, never a new key (that would leave the stored templates unreadable).
        """
        path = Path(path).expanduser()
        key_file = Path(key_file).expanduser()
        if path.is_dir():
            raise RegistryError(f"the registry path {path} is a folder: give a file name")
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        try:
            connection = sqlite3.connect(path, timeout=30, isolation_level=None)
        except sqlite3.Error as exc:
            raise RegistryError(f"cannot open the registry {path} ({exc})") from None
        try:
            registry = cls._prepare(connection, path, key_file)
        except BaseException:
            connection.close()
            raise
        return registry

    @classmethod
    def _prepare(cls, db: sqlite3.Connection, path: Path, key_file: Path) -> Registry:
        try:
            db.execute("PRAGMA foreign_keys = ON")
            db.execute("PRAGMA busy_timeout = 30000")
            mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            has_meta = db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
            ).fetchone()
        except sqlite3.DatabaseError as exc:
            raise RegistryError(storage.describe(exc, path)) from None
        try:  # a damaged registry decides nothing: "damaged: restore from backup"
            storage.check_file(db, path)
        except storage.StorageError as exc:
            raise RegistryError(str(exc)) from None
        if mode.lower() != "wal":
            log.warning("the registry %s could not switch to WAL mode (%s)", path, mode)

        if not has_meta:
            return cls._create(db, path, key_file)

        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        version = int(meta.get("schema_version", "0"))
        if version > SCHEMA_VERSION:
            raise RegistryError(
                f"the registry {path} was written by a newer version of this software "
                f"(schema {version}); update the project before using it"
            )
        if version < 1 or "key_check" not in meta:
            raise RegistryError(f"the registry {path} is incomplete or damaged: restore a backup")
        try:
            key = crypto.read_key_file(key_file)
        except crypto.KeyFileError as exc:
            raise RegistryError(
                f"{exc}. The registry {path} already holds encrypted face templates and "
                "only its own key can read them: restore the key file from your backup, "
                "or point --key-file / CONSENT_KEY_FILE at it. No new key was made."
            ) from None
        try:
            crypto.decrypt(key, bytes.fromhex(meta["key_check"]), b"key-check")
        except (crypto.DecryptionError, ValueError):
            raise RegistryError(
                f"the key file {key_file} does not unlock the registry {path} (it is a "
                "different key): restore the registry's own key file from your backup, "
                "or point --key-file / CONSENT_KEY_FILE at it"
            ) from None
        registry = cls(db, path, key_file, key)
        registry._warn_if_key_public()
        if version < SCHEMA_VERSION:
            registry._migrate()
        return registry

    @classmethod
    def _create(cls, db: sqlite3.Connection, path: Path, key_file: Path) -> Registry:
        created_key = False
        if key_file.exists():
            try:
                key = crypto.read_key_file(key_file)
            except crypto.KeyFileError as exc:
                raise RegistryError(str(exc)) from None
        else:
            try:
                key = crypto.create_key_file(key_file)
            except OSError as exc:
                raise RegistryError(f"cannot create the key file {key_file} ({exc})") from None
            created_key = True
        check = crypto.encrypt(key, _KEY_CHECK, b"key-check").hex()
        db.execute("BEGIN IMMEDIATE")
        try:
            if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone():
                db.execute("ROLLBACK")  # another process created it meanwhile
                return cls._prepare(db, path, key_file)
            for statement in SCHEMA.split(";\n"):
                if statement.strip():
                    db.execute(statement)
            db.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?)",
                [
                    ("schema_version", str(SCHEMA_VERSION)),
                    ("key_check", check),
                    ("created_at", _now()),
                ],
            )
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            registry = cls(db, path, key_file, key)
            registry._init_seals()
            registry._audit(None, "create-registry", None, {})
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        registry.created = True
        registry.created_key = created_key
        return registry

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # ------------------------------------------------------------ transactions

    @property
    def in_transaction(self) -> bool:
        """Whether changes are made that are not yet in the file (inside ``transaction``):
        what is read now may differ from what another reader of the file sees."""
        return self._db.in_transaction

    @contextmanager
    def transaction(self) -> Iterator[Registry]:
        """Group changes: all of them are saved, or none (an exception rolls back)."""
        if self._db.in_transaction:
            yield self
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self
            if self._pending:
                self._write_seals()
            self._flush_journal()  # last: a change refused above journals nothing
        except BaseException:
            self._pending = {}
            self._pending_journal = []
            if self._db.in_transaction:  # SQLite already rolled back on a full disk
                self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
