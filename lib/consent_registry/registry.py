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

import getpass
import hashlib
import json
import logging
import os
import re
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
from face_engine.model import (
    Approval,
    BlockedPerson,
    ConsentRecord,
    DetectedFace,
    RegistrySnapshot,
)

from . import crypto, storage, withdrawals
from .clock import consent_today
from .closest import Closest, ClosestIndex

log = logging.getLogger(__name__)

SCHEMA_VERSION = 3
ROLES = ("student", "staff")
# Where a photo may be used; a record's scopes are checked against CONSENT_SCOPE.
KNOWN_SCOPES = ("website", "social", "newsletter", "print")
ENCODING_SIZE = 128
PERSON_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
_KEY_CHECK = b"cedar-hollow consent registry"

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE people (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('student', 'staff')),
    grade TEXT,
    scopes TEXT NOT NULL,
    expires TEXT,
    status TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
    never_publish INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    lookalikes TEXT NOT NULL DEFAULT '',
    version INTEGER NOT NULL DEFAULT 1,
    mac TEXT
);
CREATE TABLE templates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    encrypted BLOB NOT NULL,
    created_at TEXT NOT NULL,
    mac TEXT
);
CREATE INDEX templates_person ON templates(person_id);
CREATE TABLE approvals (
    sha256 TEXT PRIMARY KEY,
    approved_by TEXT NOT NULL,
    reason TEXT NOT NULL,
    approved_at TEXT NOT NULL,
    shows TEXT,
    label TEXT NOT NULL DEFAULT '',
    not_student TEXT NOT NULL DEFAULT '',
    mac TEXT
);
CREATE TABLE withdrawals (
    person_id TEXT PRIMARY KEY,
    withdrawn_on TEXT NOT NULL,
    why TEXT NOT NULL,
    keep_until TEXT NOT NULL,
    photos TEXT NOT NULL,
    mac TEXT
);
CREATE TABLE blocked_templates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id TEXT NOT NULL,
    encrypted BLOB NOT NULL,
    created_at TEXT NOT NULL,
    mac TEXT
);
CREATE INDEX blocked_templates_person ON blocked_templates(person_id);
CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    person_id TEXT,
    details TEXT NOT NULL,
    hash TEXT
);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""


# Schema 1 -> 2: the columns that hold MACs, who an approval shows, confirmed look-alikes.
MIGRATE_1_TO_2 = (
    "ALTER TABLE people ADD COLUMN lookalikes TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE people ADD COLUMN mac TEXT",
    "ALTER TABLE templates ADD COLUMN mac TEXT",
    "ALTER TABLE approvals ADD COLUMN shows TEXT",
    "ALTER TABLE approvals ADD COLUMN label TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE approvals ADD COLUMN mac TEXT",
    "ALTER TABLE audit ADD COLUMN hash TEXT",
)
# Schema 2 -> 3: record versions (a change from an older form is refused), who the faces
# matching no record are in an approval, and what a withdrawal keeps to block.
MIGRATE_2_TO_3 = (
    "ALTER TABLE people ADD COLUMN version INTEGER NOT NULL DEFAULT 1",
    "ALTER TABLE approvals ADD COLUMN not_student TEXT NOT NULL DEFAULT ''",
    *(s for s in SCHEMA.split(";\n") if "withdrawals" in s or "blocked_templates" in s),
)
RESTORE = "restore from backup (your last good copy of the registry file)"
# meta row holding the current MAC of every sealed row, itself authenticated: a genuine but
# older row copied back (undoing a revoke or an unapprove) no longer matches it.
SEALS_KEY = "row_seals"
SEAL_TABLES = (
    "people", "templates", "approvals", "withdrawals", "blocked_templates", "photo_holds"
)  # fmt: skip
# Photos the office took down (``Registry.hold_photo``): each hold is its own entry in the
# authenticated list of seals (sha256 -> its details as JSON), so no hold can be dropped,
# or an older list copied back, without the key.
HOLDS = "photo_holds"
SEALS_ALTERED = (
    f"the registry's list of sealed rows (meta {SEALS_KEY}) is missing or was changed "
    f"outside the consent command, so no record, template or approval can be trusted: "
    f"{RESTORE}"
)


class RegistryError(Exception):
    """A problem the consent office can fix; the message says what to do."""


class PersonNotFound(RegistryError):
    pass


class PersonExists(RegistryError):
    pass


class StaleRecord(RegistryError):
    """A change based on an older version of a record than the one stored: refused, with
    what changed since (from the audit log), so the office reloads and decides again."""

    def __init__(self, message: str, person_id: str, expected: int, current: int):
        super().__init__(message)
        self.person_id = person_id
        self.expected = expected
        self.current = current


class LookalikeFound(RegistryError):
    """New templates match another record: the same person may not be enrolled twice."""

    def __init__(self, message: str, matches: list[tuple[str, float]]):
        super().__init__(message)
        self.matches = matches


@dataclass(frozen=True)
class Person:
    """A registry record as the consent office sees it (never the template values)."""

    person_id: str
    name: str
    role: str
    grade: str | None
    scopes: tuple[str, ...]
    expires: date | None
    status: str  # "active" or "revoked"
    never_publish: bool
    templates: int
    created_at: datetime
    updated_at: datetime
    lookalikes: tuple[str, ...] = ()  # records confirmed as different people who look alike
    authentic: bool = True  # False: the row was changed without the key (ignored by the gate)
    # Goes up by one with every change of the record (details, scopes, dates, templates,
    # state): a change made from an older version is refused (``StaleRecord``).
    version: int = 1

    def state(self, today: date) -> str:
        """One word for listings: altered, never-publish, revoked, expired or active."""
        if not self.authentic:
            return "altered"
        if self.never_publish:
            return "never-publish"
        if self.status == "revoked":
            return "revoked"
        if self.expires is not None and self.expires < today:
            return "expired"
        return "active"

    def to_json(self, today: date) -> dict:
        return {
            "id": self.person_id,
            "name": self.name,
            "role": self.role,
            "grade": self.grade,
            "scopes": list(self.scopes),
            "expires": self.expires.isoformat() if self.expires else None,
            "status": self.state(today),
            "never_publish": self.never_publish,
            "templates": self.templates,
            "lookalikes": list(self.lookalikes),
            "version": self.version,
            "created_at": self.created_at.isoformat(timespec="seconds"),
            "updated_at": self.updated_at.isoformat(timespec="seconds"),
        }


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    actor: str
    action: str
    person_id: str | None
    details: dict

    def to_json(self) -> dict:
        return {
            "at": self.at.isoformat(timespec="seconds"),
            "actor": self.actor,
            "action": self.action,
            "person_id": self.person_id,
            "details": self.details,
        }


def _genesis(rows: Sequence[tuple]) -> str:
    """What the first chained audit entry covers: every entry written before the chain."""
    digest = hashlib.sha256(b"cedar-hollow consent audit log\n")
    for row in rows:
        digest.update(crypto.canonical(tuple(row)) + b"\n")
    return digest.hexdigest()


def _altered_row(table: str, key: object, person_id: str = "") -> str:
    """What the gate does with a row that does not match its seal, and what to do."""
    row = f"{table} row {key}" + (f" ({person_id})" if person_id else "")
    effect = {
        "people": f"so it is ignored and {key}'s face counts as unknown (photos withheld)",
        "templates": "so it is ignored",
        "approvals": "so it approves nothing",
        "withdrawals": "so every approval is suspended (approved photos are withheld)",
        "blocked_templates": "so every approval is suspended (approved photos are withheld)",
    }[table]
    return f"{row}: added or changed outside the consent command, {effect}; {RESTORE}"


def _altered_person(person_id: str) -> str:
    return (
        f"the record {person_id} was added or changed outside the consent command (it does "
        f"not match its authentication code): {RESTORE}, or remove it with "
        f"`consent remove {person_id} --yes` and add the person again."
    )


def default_actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# Changes that only ever publish less: never refused because the clock is behind (a
# withdrawal must not wait for a clock to be fixed); see Registry._audit.
NEVER_WAITS = frozenset({"revoke", "never-publish", "remove", "withdraw-approval", "hold-photo"})


def _aware(moment: datetime) -> datetime:
    """A stored time as an aware UTC datetime (times without a zone were written in UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def check_person_id(person_id: str) -> str:
    person_id = str(person_id).strip()
    if not PERSON_ID.match(person_id):
        raise RegistryError(
            f"'{person_id}' is not a valid id: use letters, digits, '.', '_' or '-' "
            "(up to 64 characters), e.g. S1024"
        )
    return person_id


def _check_scopes(scopes: Sequence[str]) -> tuple[str, ...]:
    if isinstance(scopes, str):
        scopes = (scopes,)
    cleaned = tuple(sorted({s.strip().lower() for s in scopes if s.strip()}))
    if not cleaned:
        raise RegistryError("give at least one scope, e.g. website")
    unknown = [s for s in cleaned if s not in KNOWN_SCOPES]
    if unknown:
        raise RegistryError(
            f"unknown scope {', '.join(unknown)}: use one of {', '.join(KNOWN_SCOPES)}"
        )
    return cleaned


def _check_encoding(encoding: np.ndarray) -> bytes:
    array = np.asarray(encoding, dtype=np.float64)
    if array.shape != (ENCODING_SIZE,) or not np.all(np.isfinite(array)):
        raise RegistryError(
            f"a face template must be {ENCODING_SIZE} finite numbers, not shape {array.shape}"
        )
    return array.astype("<f8").tobytes()


class Registry:
    """An open registry. Use ``Registry.open(path, key_file)``, ideally as a context manager."""

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

    def _migrate(self) -> None:
        """Schema 1 -> 2 -> 3, in one transaction: add the new columns and tables, compute
        the MAC of every existing row with the key, start the audit chain (its first MAC
        covers every older entry) and audit the upgrade. Approvals of schema 1 do not say
        who is in the photo: they stay, and publish nothing until the office approves the
        image again. Schema 3 adds record versions and the withdrawal block list."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            version = int(
                db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
            )
            if version >= SCHEMA_VERSION:  # another process upgraded it meanwhile
                db.execute("COMMIT")
                return
            if version < 2:
                for statement in MIGRATE_1_TO_2:
                    db.execute(statement)
                self._init_seals()
                people = [r[0] for r in db.execute("SELECT id FROM people")]
                templates = db.execute("SELECT COUNT(*) FROM templates").fetchone()[0]
                self._seal_templates(None)
                approvals = [r[0] for r in db.execute("SELECT sha256 FROM approvals")]
            else:
                # Only rows authentic under schema 2 are sealed again with their new
                # columns: a row changed without the key stays unauthentic.
                people, approvals = self._schema_2_authentic()
                templates = db.execute("SELECT COUNT(*) FROM templates").fetchone()[0]
            for statement in MIGRATE_2_TO_3:
                db.execute(statement)
            for person_id in people:
                self._seal_person(person_id)
            for sha256 in approvals:
                self._seal_approval(sha256)
            if version >= 2:
                approvals = []  # they already say who is in the photo
            db.execute(
                "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),)
            )
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self._audit(
                "consent software",
                "upgrade-registry",
                None,
                {
                    "from_schema": version,
                    "to_schema": SCHEMA_VERSION,
                    "people_authenticated": len(people),
                    "templates_authenticated": templates,
                    "approvals_needing_shows": len(approvals),
                },
            )
            self._write_seals()
            db.execute("COMMIT")
        except BaseException:
            self._pending = {}
            db.execute("ROLLBACK")
            raise
        self.migrated_from = version
        log.warning(
            "Upgraded the consent registry %s to schema %d: its %d record(s), %d template(s) "
            "and %d approval(s) are now authenticated with the key. Approvals made before "
            "do not say who is in the photo, so they publish nothing until the image is "
            "approved again with --shows (`consent review` lists them after the next build).",
            self.path,
            SCHEMA_VERSION,
            len(people),
            templates,
            len(approvals),
        )

    def _schema_2_authentic(self) -> tuple[list[str], list[str]]:
        """The people and approvals rows of a schema-2 registry that match their seals."""
        seals = self._stored_seals() or {t: {} for t in SEAL_TABLES}
        people = [
            row[0]
            for row in self._db.execute(
                "SELECT id, name, role, grade, scopes, expires, status, never_publish, "
                "created_at, updated_at, lookalikes, mac FROM people"
            )
            if seals["people"].get(row[0]) == row[11]
            and crypto.mac_matches(self._row_key, row[11], "people", *row[:11])
        ]
        approvals = [
            row[0]
            for row in self._db.execute(
                "SELECT sha256, approved_by, reason, approved_at, shows, label, mac FROM approvals"
            )
            if seals["approvals"].get(row[0]) == row[6]
            and crypto.mac_matches(self._row_key, row[6], "approvals", *row[:6])
        ]
        return people, approvals

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

    def _warn_if_key_public(self) -> None:
        try:
            if not crypto.key_file_is_private(self.key_file):
                log.warning(
                    "the key file %s can be read by other users: run chmod 600 %s",
                    self.key_file,
                    self.key_file,
                )
        except OSError:
            pass

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

    # ------------------------------------------------------------ integrity

    def _audit(self, actor: str | None, action: str, person_id: str | None, details: dict) -> None:
        """Append an audit entry whose MAC covers the previous entry's (the chain), and
        record the new head (entry count and MAC, itself authenticated) in meta. An entry
        dated before the newest one (a clock that is behind) is refused: the log's times are
        what ``clock.check_clock`` trusts. A withdrawal (NEVER_WAITS) is never refused for
        the clock: it is recorded at the newest entry's time, with the clock's reading."""
        at, actor = _now(), actor or default_actor()
        newest = self.newest_audit_at()
        behind = newest is not None and _aware(datetime.fromisoformat(at)) < newest
        if behind and action in NEVER_WAITS:
            log.warning(
                "the clock reads %s, earlier than the registry's newest audit entry (%s): "
                "the %s is recorded at that entry's time. Set the clock right.",
                at,
                newest.isoformat(timespec="seconds"),
                action,
            )
            details = {**details, "clock_read": at}
            at = newest.isoformat(timespec="seconds")
        if newest is not None and _aware(datetime.fromisoformat(at)) < newest:
            raise RegistryError(
                f"this machine's clock reads {at[:16].replace('T', ' ')} UTC, earlier than the "
                f"registry's newest audit entry ({newest:%Y-%m-%d %H:%M} UTC): the clock is "
                "wrong, and a change dated before the last one would make the audit log "
                "lie. Set the clock right (`timedatectl`, or the machine's time settings), "
                "then make the change again. Nothing was saved."
            )
        if person_id is not None and "version" not in details:
            row = self._db.execute(
                "SELECT version FROM people WHERE id = ?", (person_id,)
            ).fetchone()
            if row is not None:  # the version this change made (StaleRecord lists them)
                details = {**details, "version": row[0]}
        text = json.dumps(details)
        previous = self._db.execute(
            "SELECT hash FROM audit WHERE hash IS NOT NULL ORDER BY id DESC LIMIT 1"
        ).fetchone()
        link = previous[0] if previous else _genesis(self._legacy_audit_rows())
        entry_hash = crypto.mac(self._audit_key, link, at, actor, action, person_id, text)
        self._db.execute(
            "INSERT INTO audit (at, actor, action, person_id, details, hash) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (at, actor, action, person_id, text, entry_hash),
        )
        count = self._db.execute("SELECT COUNT(*) FROM audit").fetchone()[0]
        head = f"{count} {entry_hash} " + crypto.mac(self._audit_key, "head", count, entry_hash)
        self._db.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('audit_head', ?)", (head,)
        )

    def record_event(
        self, actor: str | None, action: str, details: dict, person_id: str | None = None
    ) -> None:
        """Append an entry for something done outside the registry's own methods (a
        sign-in, an export, a change of account) to the one audit log and its chain, in
        its own transaction."""
        with self.transaction():
            self._audit(actor, action, person_id, details)

    def _legacy_audit_rows(self) -> list[tuple]:
        """Entries written before the chain began (schema 1): covered by its first MAC."""
        first = self._db.execute("SELECT MIN(id) FROM audit WHERE hash IS NOT NULL").fetchone()[0]
        sql = "SELECT id, at, actor, action, person_id, details FROM audit WHERE hash IS NULL"
        if first is not None:
            sql += f" AND id < {int(first)}"
        return self._db.execute(sql + " ORDER BY id").fetchall()

    def verify_audit(self) -> list[str]:
        """Where the audit chain breaks, in plain words; [] when the whole log is intact."""
        rows = self._db.execute(
            "SELECT id, at, actor, action, person_id, details, hash FROM audit ORDER BY id"
        ).fetchall()
        legacy = []
        while rows and rows[0][6] is None:
            legacy.append(rows.pop(0)[:6])
        problems = []
        link = _genesis(legacy)
        for entry_id, at, actor, action, person_id, details, stored in rows:
            where = (
                f"entry {entry_id} ({at}, {actor}: {action}{' ' + person_id if person_id else ''})"
            )
            if not crypto.mac_matches(
                self._audit_key, stored, link, at, actor, action, person_id, details
            ):
                problems.append(
                    f"the audit log breaks at {where}: it, or an entry before it, was added, "
                    f"changed or removed outside the consent command; {RESTORE}"
                )
            if stored is not None:  # an entry inserted without a MAC: skip it for the chain
                link = stored
        head = dict(self._db.execute("SELECT key, value FROM meta").fetchall()).get("audit_head")
        count = len(legacy) + len(rows)
        try:
            head_count, head_hash, head_mac = str(head).split()
            head_ok = crypto.mac_matches(
                self._audit_key, head_mac, "head", int(head_count), head_hash
            )
        except ValueError:
            head_ok = False
        if not head_ok:
            problems.append(f"the audit log's recorded end is missing or altered; {RESTORE}")
        elif int(head_count) < count:
            problems.append(
                f"the audit log holds {count} entries but {head_count} were written by the "
                f"consent command: entries were added outside it; {RESTORE}"
            )
        elif int(head_count) > count or link != head_hash:
            problems.append(
                f"the audit log ends at entry {rows[-1][0] if rows else 0} but {head_count} "
                f"entries were written: the last entries were removed; {RESTORE}"
            )
        return problems

    def _init_seals(self) -> None:
        """An empty, authenticated list of seals (a new or just-upgraded registry)."""
        self._store_seals({table: {} for table in SEAL_TABLES})

    def _store_seals(self, seals: dict[str, dict[str, str]]) -> None:
        text = json.dumps(seals, sort_keys=True, separators=(",", ":"))
        value = crypto.mac(self._row_key, "row-seals", text) + " " + text
        self._db.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (SEALS_KEY, value)
        )

    def _stored_seals(self) -> dict[str, dict[str, str]] | None:
        """The list of seals as committed; None when it is missing or altered."""
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (SEALS_KEY,)).fetchone()
        if row is None:
            return None
        mac, _, text = str(row[0]).partition(" ")
        if not crypto.mac_matches(self._row_key, mac, "row-seals", text):
            return None
        try:
            data = json.loads(text)
            # A list written before a table existed has no entry for it (the list is
            # authenticated as a whole, so an entry cannot be dropped without the key).
            return {t: {str(k): str(v) for k, v in data.get(t, {}).items()} for t in SEAL_TABLES}
        except (ValueError, KeyError, TypeError, AttributeError):
            return None

    def _seals(self) -> dict[str, dict[str, str]] | None:
        """The seal each row must carry now: committed, plus this transaction's changes."""
        seals = self._stored_seals()
        if seals is None:
            return None
        for table, changes in self._pending.items():
            for key, mac in changes.items():
                if mac is None:
                    seals[table].pop(key, None)
                else:
                    seals[table][key] = mac
        return seals

    def _note_seal(self, table: str, key: object, mac: str | None) -> None:
        self._pending.setdefault(table, {})[str(key)] = mac

    def _write_seals(self) -> None:
        """Save this transaction's seals. Refuses (the transaction rolls back) when the
        stored list was altered: writing it again would vouch for whatever it holds."""
        seals = self._seals()
        if seals is None:
            raise RegistryError(SEALS_ALTERED + ". Nothing was saved.")
        self._store_seals(seals)
        self._pending = {}

    def _forget_templates(self, person_id: str) -> int:
        """Delete a person's templates and their seals; returns how many."""
        ids = [r[0] for r in self._db.execute(
            "SELECT id FROM templates WHERE person_id = ?", (person_id,)
        )]  # fmt: skip
        for template_id in ids:
            self._note_seal("templates", template_id, None)
        self._db.execute("DELETE FROM templates WHERE person_id = ?", (person_id,))
        return len(ids)

    def _template_ok(self, row: tuple, seals: dict | None) -> bool:
        """Row (id, person_id, encrypted, created_at, mac) is the sealed, current one."""
        return (
            seals is not None
            and seals["templates"].get(str(row[0])) == row[4]
            and crypto.mac_matches(self._row_key, row[4], "templates", *row[:4])
        )

    def _person_mac(self, row: tuple) -> str:
        """MAC of a people row: every column but the MAC itself (see _PERSON_COLUMNS)."""
        return crypto.mac(self._row_key, "people", *row)

    def _seal_person(self, person_id: str) -> None:
        row = self._db.execute(
            f"SELECT {self._PERSON_COLUMNS} FROM people WHERE id = ?", (person_id,)
        ).fetchone()
        mac = self._person_mac(row)
        self._db.execute("UPDATE people SET mac = ? WHERE id = ?", (mac, person_id))
        self._note_seal("people", person_id, mac)

    def _template_mac(self, template_id: int, person_id: str, blob: bytes, created: str) -> str:
        return crypto.mac(self._row_key, "templates", template_id, person_id, blob, created)

    def _seal_templates(self, person_id: str | None) -> None:
        """Seal the templates of one person (None: every template)."""
        sql = "SELECT id, person_id, encrypted, created_at FROM templates"
        rows = self._db.execute(
            sql + (" WHERE person_id = ?" if person_id else ""), (person_id,) if person_id else ()
        ).fetchall()
        macs = [(self._template_mac(*row), row[0]) for row in rows]
        self._db.executemany("UPDATE templates SET mac = ? WHERE id = ?", macs)
        for mac, template_id in macs:
            self._note_seal("templates", template_id, mac)

    _APPROVAL_COLUMNS = "sha256, approved_by, reason, approved_at, shows, label, not_student"

    def _seal_approval(self, sha256: str) -> None:
        row = self._db.execute(
            f"SELECT {self._APPROVAL_COLUMNS} FROM approvals WHERE sha256 = ?", (sha256,)
        ).fetchone()
        mac = crypto.mac(self._row_key, "approvals", *row)
        self._db.execute("UPDATE approvals SET mac = ? WHERE sha256 = ?", (mac, sha256))
        self._note_seal("approvals", sha256, mac)

    def _require(self, person_id: str, change: bool = False) -> Person:
        """The record, or PersonNotFound; with `change`, also refuse a record that was
        altered without the key (a change would seal the alteration as genuine)."""
        person = self.get(person_id)
        if person is None:
            raise PersonNotFound(
                f"there is no record for {person_id} in the registry: check the id "
                "(`consent list` shows them all)"
            )
        if change and not person.authentic:
            raise RegistryError(_altered_person(person_id) + " Nothing was changed.")
        return person

    # ------------------------------------------------------------ changes

    def add(
        self,
        person_id: str,
        name: str,
        encodings: Sequence[np.ndarray],
        role: str = "student",
        scopes: Sequence[str] = ("website",),
        expires: date | None = None,
        grade: str | None = None,
        actor: str | None = None,
        replace: bool = False,
        lookalike_of: Sequence[str] = (),
        tolerance: float | None = None,
        check_lookalikes: bool = True,
        *,
        expected_version: int | None = None,
    ) -> Person:
        """Record consent with face templates. An existing id is an error unless `replace`,
        which updates the record and replaces its templates (or keeps the stored ones when
        `encodings` is empty). An update never makes a withdrawn (revoked) record active:
        only ``give_consent_again`` does. `expected_version`: the version the office saw;
        a record changed since is refused (``StaleRecord``).

        New templates within `tolerance` (default: CONSENT_TOLERANCE's default) of another
        record's raise LookalikeFound, unless that record is named in `lookalike_of` (the
        office confirms two people who look alike) or was confirmed before.
        `check_lookalikes=False` is for callers that ran `lookalike_conflicts` themselves
        (the import checks a whole export at once)."""
        person_id = check_person_id(person_id)
        name = " ".join(str(name).split())
        if not name:
            raise RegistryError(f"give a name for {person_id}")
        if role not in ROLES:
            raise RegistryError(f"role must be student or staff, not '{role}'")
        scopes = _check_scopes(scopes)
        if isinstance(expires, datetime):
            expires = expires.date()
        if expires is not None and not isinstance(expires, date):
            raise RegistryError(f"the expiry date must be a date, not {expires!r}")
        grade = str(grade).strip() if grade not in (None, "") else None
        blobs = [_check_encoding(e) for e in encodings]
        confirmed = tuple(sorted({check_person_id(i) for i in lookalike_of}))
        if person_id in confirmed:
            raise RegistryError(f"--lookalike-of names {person_id} itself: name the other record")
        now = _now()
        with self.transaction():
            existing = self.get(person_id)
            if existing is not None and not replace:
                raise PersonExists(
                    f"{person_id} ({existing.name}) is already in the registry: use "
                    "--replace to update the record, or choose another id"
                )
            if existing is not None:
                self._require(person_id, change=True)
                self._check_version(existing, expected_version)
            if not blobs and (existing is None or existing.templates == 0):
                raise RegistryError(
                    f"{person_id} needs at least one reference photo with the face clearly "
                    "visible (the gate recognises people by it)"
                )
            for other in confirmed:
                if self.get(other) is None:
                    raise PersonNotFound(
                        f"--lookalike-of {other}: there is no record for {other} in the "
                        "registry (`consent list` shows them all). Nothing was saved."
                    )
            lookalikes = tuple(
                sorted(set(existing.lookalikes if existing else ()) | set(confirmed))
            )
            if blobs and check_lookalikes:
                conflicts = self.lookalike_conflicts(
                    person_id, encodings, tolerance=tolerance, confirmed=lookalikes
                )
                if conflicts:
                    raise LookalikeFound(
                        _lookalike_message(person_id, conflicts, tolerance), conflicts
                    )
            values = (name, role, grade, ",".join(scopes), expires and expires.isoformat())
            if existing is None:
                self._db.execute(
                    "INSERT INTO people (id, name, role, grade, scopes, expires, status, "
                    "never_publish, created_at, updated_at, lookalikes) "
                    "VALUES (?, ?, ?, ?, ?, ?, 'active', 0, ?, ?, ?)",
                    (person_id, *values, now, now, ",".join(lookalikes)),
                )
            else:
                self._db.execute(
                    "UPDATE people SET name = ?, role = ?, grade = ?, scopes = ?, expires = ?, "
                    "updated_at = ?, lookalikes = ?, version = version + 1 WHERE id = ?",
                    (*values, now, ",".join(lookalikes), person_id),
                )
            self._seal_person(person_id)
            if blobs:
                self._forget_templates(person_id)
                context = self._template_context(person_id)
                self._db.executemany(
                    "INSERT INTO templates (person_id, encrypted, created_at) VALUES (?, ?, ?)",
                    [(person_id, crypto.encrypt(self._key, b, context), now) for b in blobs],
                )
                self._seal_templates(person_id)
            details = {
                "role": role,
                "grade": grade,
                "scopes": list(scopes),
                "expires": expires and expires.isoformat(),
                "templates": len(blobs) if blobs else f"kept {existing.templates}",
            }
            if confirmed:
                details["confirmed_lookalike_of"] = list(confirmed)
            self._audit(actor, "update" if existing else "add", person_id, details)
            return self._require(person_id)

    def lookalike_conflicts(
        self,
        person_id: str,
        encodings: Sequence[np.ndarray],
        tolerance: float | None = None,
        confirmed: Sequence[str] = (),
        records: Sequence[ConsentRecord] | None = None,
    ) -> list[tuple[str, float]]:
        """Other records whose templates come within `tolerance` of `encodings`, closest
        first, measured by the gate's own matching (``face_engine.decision.match_face``).
        Records confirmed as look-alikes of `person_id` (either way round) are left out.
        `records` defaults to the registry's authenticated records as they are now."""
        from face_engine.decision import match_face
        from face_engine.model import DetectedFace, FaceBox

        if tolerance is None:
            from .settings import DEFAULTS

            tolerance = float(DEFAULTS["CONSENT_TOLERANCE"])
        today = consent_today(None)  # matching a face does not depend on the day
        if records is None:
            records = self.snapshot(today).records
        people = {p.person_id: p for p in self.list_people()}
        skip = {person_id, *confirmed}
        skip |= {other for other, p in people.items() if person_id in p.lookalikes}
        probe = _ProbeSettings(tolerance=tolerance)
        box = FaceBox(0, 1, 1, 0)
        found = []
        for record in records:
            if record.person_id in skip or not record.encodings:
                continue
            alone = RegistrySnapshot(records=(record,), approvals={}, today=today)
            best = min(
                match_face(
                    DetectedFace(box, "reference", 1.0, np.asarray(e)), alone, probe
                ).distance
                for e in encodings
            )
            if best <= tolerance:
                found.append((record.person_id, best))
        return sorted(found, key=lambda item: item[1])

    def revoke(
        self,
        person_id: str,
        actor: str | None = None,
        *,
        expected_version: int | None = None,
        settings=None,
    ) -> Person:
        """Consent withdrawn: the record stays (as revoked), its templates move to the
        block list with the photos that showed the person (``withdraw``'s rule), and the
        withdrawal is written to the journal."""
        person_id = check_person_id(person_id)
        with self.transaction():
            person = self._require(person_id, change=True)
            self._check_version(person, expected_version)
            if person.status == "revoked":
                raise RegistryError(f"consent for {person_id} ({person.name}) is already revoked")
            today = _school_day(settings or self.gate_settings)
            photos = self._keep_to_block(
                person_id, "revoke", "consent revoked", today, actor, settings
            )
            self._forget_templates(person_id)
            self._db.execute(
                "UPDATE people SET status = 'revoked', updated_at = ?, version = version + 1 "
                "WHERE id = ?",
                (_now(), person_id),
            )
            self._seal_person(person_id)
            self._audit(
                actor,
                "revoke",
                person_id,
                {"templates_deleted": person.templates, "photos_blocked": len(photos)},
            )
            return self._require(person_id)

    def remove(
        self, person_id: str, actor: str | None = None, *, expected_version: int | None = None
    ) -> Person:
        """Delete the record and its templates for good (a student leaves the school).
        Allowed for an altered record too: deleting never publishes anything. A withdrawal
        stays on the block list until its retention date; a never-publish record's
        templates move there first (the flag must outlive the record)."""
        person_id = check_person_id(person_id)
        with self.transaction():
            person = self._require(person_id)
            self._check_version(person, expected_version)
            if person.never_publish and person.authentic:
                self._keep_to_block(
                    person_id,
                    "never-publish",
                    "marked never-publish",
                    _school_day(self.gate_settings),
                    actor,
                    None,
                )
            self._forget_templates(person_id)
            self._db.execute("DELETE FROM people WHERE id = ?", (person_id,))
            self._note_seal("people", person_id, None)
            self._audit(actor, "remove", person_id, {"templates_deleted": person.templates})
            return person

    def set_never_publish(
        self,
        person_id: str,
        actor: str | None = None,
        *,
        expected_version: int | None = None,
        settings=None,
    ) -> Person:
        """Safeguarding flag: never publish this person. The templates are kept so the
        gate can recognise them and say why a photo is withheld; they and the photos that
        showed the person are also put on the block list."""
        person_id = check_person_id(person_id)
        with self.transaction():
            person = self._require(person_id, change=True)
            self._check_version(person, expected_version)
            if person.never_publish:
                raise RegistryError(f"{person_id} ({person.name}) is already marked never-publish")
            photos = self._keep_to_block(
                person_id,
                "never-publish",
                "marked never-publish",
                _school_day(settings or self.gate_settings),
                actor,
                settings,
            )
            self._db.execute(
                "UPDATE people SET never_publish = 1, updated_at = ?, version = version + 1 "
                "WHERE id = ?",
                (_now(), person_id),
            )
            self._seal_person(person_id)
            self._audit(actor, "never-publish", person_id, {"photos_blocked": len(photos)})
            return self._require(person_id)

    def give_consent_again(
        self,
        person_id: str,
        *,
        given_on: date,
        by: str,
        evidence: str,
        actor: str | None = None,
        expected_version: int | None = None,
        scopes: Sequence[str] | None = None,
        expires: date | None = None,
    ) -> Person:
        """The family gives consent again to a withdrawn (revoked, or expired and purged)
        record: the one action that makes it active again and lifts its block. The
        templates kept on the block list come back (when retention has not purged them:
        otherwise add reference photos with `consent add ID --replace`). `given_on` is the
        date of the new consent, `by` who gave it (a parent), `evidence` where it is kept
        (the signed form); `scopes` and `expires`, when given, are those of the new
        consent (else the record's stay). Never-publish is a safeguarding flag and is not
        lifted here."""
        person_id = check_person_id(person_id)
        by = " ".join(str(by).split())
        evidence = " ".join(str(evidence).split())
        if not by:
            raise RegistryError("say who gave consent again (--by NAME, e.g. the parent)")
        if not evidence:
            raise RegistryError(
                "say where the new consent is kept (--evidence TEXT, e.g. 'signed form, "
                "office file 2026/14')"
            )
        if isinstance(given_on, datetime):
            given_on = given_on.date()
        if not isinstance(given_on, date):
            raise RegistryError(f"the date consent was given must be a date, not {given_on!r}")
        new_scopes = None if scopes is None else ",".join(_check_scopes(scopes))
        if isinstance(expires, datetime):
            expires = expires.date()
        if expires is not None and not isinstance(expires, date):
            raise RegistryError(f"the expiry date must be a date, not {expires!r}")
        with self.transaction():
            person = self._require(person_id, change=True)
            self._check_version(person, expected_version)
            if person.never_publish:
                raise RegistryError(
                    f"{person_id} ({person.name}) is marked never-publish (a safeguarding "
                    "decision): consent given again does not lift it. Nothing was changed."
                )
            withdrawal = self._withdrawal_row(person_id)
            if person.status != "revoked" and withdrawal is None:
                raise RegistryError(
                    f"{person_id} ({person.name}) is not withdrawn: there is no consent to "
                    "give again. Edit the record with `consent add --replace` instead."
                )
            restored = 0
            kept = self._blocked_encodings(person_id)
            if kept and person.templates == 0:
                self._store_templates(person_id, kept)
                restored = len(kept)
            self._drop_block(person_id)
            self._db.execute(
                "UPDATE people SET status = 'active', updated_at = ?, version = version + 1, "
                "scopes = COALESCE(?, scopes), expires = COALESCE(?, expires) WHERE id = ?",
                (_now(), new_scopes, expires and expires.isoformat(), person_id),
            )
            self._seal_person(person_id)
            self._journal(RECONSENT, person_id, given_on, "consent given again", (), actor)
            self._audit(
                actor,
                "reconsent",
                person_id,
                {
                    "given_on": given_on.isoformat(),
                    "given_by": by,
                    "evidence": evidence,
                    "templates_restored": restored,
                    "scopes": new_scopes and new_scopes.split(","),
                    "expires": expires and expires.isoformat(),
                },
            )
            return self._require(person_id)

    # ------------------------------------------------------------ withdrawals

    def _check_version(self, person: Person, expected_version: int | None) -> None:
        """Refuse a change made from an older version of the record (StaleRecord), naming
        who changed what since, from the audit log."""
        if expected_version is None or int(expected_version) == person.version:
            return
        since = [
            entry
            for entry in self.audit_log(person.person_id)
            if int(entry.details.get("version", 0) or 0) > int(expected_version)
        ] or self.audit_log(person.person_id)[-1:]
        changes = "; ".join(
            f"{entry.at:%Y-%m-%d %H:%M} UTC {entry.actor}: {entry.action}"
            + (f" ({_change_summary(entry.details)})" if _change_summary(entry.details) else "")
            for entry in since
        )
        raise StaleRecord(
            f"{person.person_id} ({person.name}) changed since you opened it (your version "
            f"{expected_version}, now version {person.version}): {changes}. Reload the record, "
            "check those changes and make yours again. Nothing was saved.",
            person.person_id,
            int(expected_version),
            person.version,
        )

    def _journal(
        self,
        action: str,
        person_id: str,
        on: date,
        why: str,
        photos: Sequence[str],
        actor: str | None,
    ) -> None:
        """Note an entry for the withdrawals journal: written, with its new end recorded in
        meta, once every other change of this transaction is made, just before it commits
        (so a change refused on the way, such as a clock that is behind, journals nothing)."""
        self._pending_journal.append(
            {
                "action": action,
                "person_id": person_id,
                "on": on.isoformat(),
                "why": why,
                "photos": tuple(photos),
                "actor": actor or default_actor(),
            }
        )

    def _flush_journal(self) -> None:
        pending, self._pending_journal = self._pending_journal, []
        for fields in pending:
            row = self._db.execute(
                "SELECT value FROM meta WHERE key = ?", (withdrawals.HEAD_KEY,)
            ).fetchone()
            head = withdrawals.parse_head(self._key, row[0]) if row else None
            try:
                entry = withdrawals.append(
                    withdrawals.journal_path(self.path), self._key, head, **fields
                )
            except OSError as exc:
                raise RegistryError(
                    f"the withdrawals journal {withdrawals.journal_path(self.path)} cannot be "
                    f"written ({exc.strerror or exc}): free disk space or fix its permissions "
                    "and try again. Nothing was saved."
                ) from None
            self._set_journal_head(entry.seq, entry.mac)

    def _set_journal_head(self, seq: int, mac: str) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
            (withdrawals.HEAD_KEY, withdrawals.head_value(self._key, seq, mac)),
        )

    def _decrypt_templates(self, person_id: str) -> list[np.ndarray]:
        """The person's sealed templates, decrypted (in memory only)."""
        seals = self._seals()
        found = []
        for row in self._db.execute(
            "SELECT id, person_id, encrypted, created_at, mac FROM templates "
            "WHERE person_id = ? ORDER BY id",
            (person_id,),
        ).fetchall():
            if not self._template_ok(row, seals):
                continue
            try:
                plain = crypto.decrypt(self._key, row[2], self._template_context(person_id))
            except crypto.DecryptionError:
                continue
            found.append(np.frombuffer(plain, dtype="<f8").copy())
        return found

    def _store_templates(self, person_id: str, encodings: Sequence[np.ndarray]) -> None:
        context = self._template_context(person_id)
        self._db.executemany(
            "INSERT INTO templates (person_id, encrypted, created_at) VALUES (?, ?, ?)",
            [
                (person_id, crypto.encrypt(self._key, _check_encoding(e), context), _now())
                for e in encodings
            ],
        )
        self._seal_templates(person_id)

    def _keep_to_block(
        self,
        person_id: str,
        action: str,
        why: str,
        on: date,
        actor: str | None,
        settings,
    ) -> set[str]:
        """Before a withdrawal deletes anything: put the person's templates and the photos
        that showed them (the face cache's faces within the tolerance of the templates,
        and the images approved naming them) on the block list, with a retention date
        (CONSENT_BLOCK_RETENTION_DAYS from today), and write the journal. Returns the
        photos' hashes."""
        settings = _gate_settings(settings or self.gate_settings)
        encodings = self._decrypt_templates(person_id)
        photos = set(photos_showing(encodings, settings.cache_dir, settings.tolerance))
        photos |= {a.sha256 for a in self.approvals().values() if a.shows and person_id in a.shows}
        keep_until = _school_day(settings) + timedelta(days=int(settings.block_retention_days))
        self._add_block(person_id, on, why, keep_until, photos, encodings)
        self._journal(action, person_id, on, why, sorted(photos), actor)
        return photos

    def _add_block(
        self,
        person_id: str,
        on: date,
        why: str,
        keep_until: date,
        photos: set[str],
        encodings: Sequence[np.ndarray],
    ) -> None:
        """Add to (or start) the person's block list entry; photos and templates add up."""
        existing = self._withdrawal_row(person_id)
        if existing is not None:
            photos = set(photos) | set(existing[4])
            keep_until = max(keep_until, date.fromisoformat(existing[3]))
        self._db.execute(
            "INSERT OR REPLACE INTO withdrawals (person_id, withdrawn_on, why, keep_until, "
            "photos) VALUES (?, ?, ?, ?, ?)",
            (person_id, on.isoformat(), why, keep_until.isoformat(), json.dumps(sorted(photos))),
        )
        row = self._db.execute(
            "SELECT person_id, withdrawn_on, why, keep_until, photos FROM withdrawals "
            "WHERE person_id = ?",
            (person_id,),
        ).fetchone()
        mac = crypto.mac(self._row_key, "withdrawals", *row)
        self._db.execute("UPDATE withdrawals SET mac = ? WHERE person_id = ?", (mac, person_id))
        self._note_seal("withdrawals", person_id, mac)
        if encodings and not self._blocked_encodings(person_id):
            context = b"blocked:" + person_id.encode("utf-8")
            now = _now()
            for encoding in encodings:
                cursor = self._db.execute(
                    "INSERT INTO blocked_templates (person_id, encrypted, created_at) "
                    "VALUES (?, ?, ?)",
                    (person_id, crypto.encrypt(self._key, _check_encoding(encoding), context), now),
                )
                row = self._db.execute(
                    "SELECT id, person_id, encrypted, created_at FROM blocked_templates "
                    "WHERE id = ?",
                    (cursor.lastrowid,),
                ).fetchone()
                mac = crypto.mac(self._row_key, "blocked_templates", *row)
                self._db.execute("UPDATE blocked_templates SET mac = ? WHERE id = ?", (mac, row[0]))
                self._note_seal("blocked_templates", row[0], mac)

    def _withdrawal_row(self, person_id: str) -> tuple | None:
        """(person_id, withdrawn_on, why, keep_until, photos list) when authentic."""
        seals = self._seals()
        row = self._db.execute(
            "SELECT person_id, withdrawn_on, why, keep_until, photos, mac FROM withdrawals "
            "WHERE person_id = ?",
            (person_id,),
        ).fetchone()
        if row is None or not self._withdrawal_ok(row, seals):
            return None
        return (*row[:4], tuple(json.loads(row[4])))

    def _withdrawal_ok(self, row: tuple, seals: dict | None) -> bool:
        return (
            seals is not None
            and seals["withdrawals"].get(str(row[0])) == row[5]
            and crypto.mac_matches(self._row_key, row[5], "withdrawals", *row[:5])
        )

    def _blocked_rows(self, person_id: str | None = None) -> list[tuple[str, np.ndarray]]:
        """(person_id, template) of the authentic block-list templates."""
        seals = self._seals()
        sql = "SELECT id, person_id, encrypted, created_at, mac FROM blocked_templates"
        args: tuple = ()
        if person_id is not None:
            sql, args = sql + " WHERE person_id = ?", (person_id,)
        found = []
        for row in self._db.execute(sql + " ORDER BY id", args).fetchall():
            if not (
                seals is not None
                and seals["blocked_templates"].get(str(row[0])) == row[4]
                and crypto.mac_matches(self._row_key, row[4], "blocked_templates", *row[:4])
            ):
                continue
            try:
                plain = crypto.decrypt(self._key, row[2], b"blocked:" + row[1].encode("utf-8"))
            except crypto.DecryptionError:
                continue
            found.append((row[1], np.frombuffer(plain, dtype="<f8").copy()))
        return found

    def _bad_block_rows(self) -> list[str]:
        """The block-list rows changed without the key, in plain words."""
        seals = self._seals()
        bad = [
            _altered_row("withdrawals", row[0])
            for row in self._db.execute(
                "SELECT person_id, withdrawn_on, why, keep_until, photos, mac FROM withdrawals"
            ).fetchall()
            if not self._withdrawal_ok(row, seals)
        ]
        for row in self._db.execute(
            "SELECT id, person_id, encrypted, created_at, mac FROM blocked_templates"
        ).fetchall():
            if not (
                seals is not None
                and seals["blocked_templates"].get(str(row[0])) == row[4]
                and crypto.mac_matches(self._row_key, row[4], "blocked_templates", *row[:4])
            ):
                bad.append(_altered_row("blocked_templates", row[0], row[1]))
        return bad

    def _blocked_encodings(self, person_id: str) -> list[np.ndarray]:
        return [encoding for _, encoding in self._blocked_rows(person_id)]

    def _drop_block(self, person_id: str) -> None:
        for (template_id,) in self._db.execute(
            "SELECT id FROM blocked_templates WHERE person_id = ?", (person_id,)
        ).fetchall():
            self._note_seal("blocked_templates", template_id, None)
        self._db.execute("DELETE FROM blocked_templates WHERE person_id = ?", (person_id,))
        if self._db.execute("DELETE FROM withdrawals WHERE person_id = ?", (person_id,)).rowcount:
            self._note_seal("withdrawals", person_id, None)

    def withdrawals(self) -> list[Withdrawal]:
        """Everyone on the block list, as the office sees it (never the template values)."""
        seals = self._seals()
        counts = dict(
            self._db.execute(
                "SELECT person_id, COUNT(*) FROM blocked_templates GROUP BY person_id"
            ).fetchall()
        )
        found = []
        for row in self._db.execute(
            "SELECT person_id, withdrawn_on, why, keep_until, photos, mac FROM withdrawals "
            "ORDER BY person_id"
        ).fetchall():
            if not self._withdrawal_ok(row, seals):
                continue
            found.append(
                Withdrawal(
                    person_id=row[0],
                    withdrawn_on=date.fromisoformat(row[1]),
                    why=row[2],
                    keep_until=date.fromisoformat(row[3]),
                    photos=tuple(json.loads(row[4])),
                    templates=int(counts.get(row[0], 0)),
                )
            )
        return found

    def blocked_people(self, today: date) -> tuple[BlockedPerson, ...]:
        """What the gate blocks (``RegistrySnapshot.blocked``): every withdrawal on the
        list, and every never-publish record's own templates. An expiry whose record was
        renewed since (active, in date) no longer blocks."""
        people = {p.person_id: p for p in self.list_people()}
        encodings: dict[str, list[np.ndarray]] = {}
        for person_id, encoding in self._blocked_rows():
            encodings.setdefault(person_id, []).append(encoding)
        found = []
        for withdrawal in self.withdrawals():
            person = people.get(withdrawal.person_id)
            if (
                withdrawal.why == EXPIRED
                and person is not None
                and person.authentic
                and person.state(today) == "active"
            ):
                continue
            found.append(
                BlockedPerson(
                    person_id=withdrawal.person_id,
                    withdrawn_on=withdrawal.withdrawn_on,
                    why=withdrawal.why,
                    encodings=tuple(encodings.get(withdrawal.person_id, ())),
                    photos=frozenset(withdrawal.photos),
                )
            )
        listed = {b.person_id for b in found}
        for person in people.values():
            if person.never_publish and person.authentic and person.person_id not in listed:
                own = tuple(self._decrypt_templates(person.person_id))
                if own:
                    found.append(
                        BlockedPerson(
                            person.person_id,
                            person.updated_at.date(),
                            "marked never-publish",
                            own,
                        )
                    )
        return tuple(found)

    def closest_records(self, encoding: np.ndarray, limit: int = 5) -> list[Closest]:
        """The records whose templates come closest to one face, closest first, the
        withdrawn ones included (from the block list, flagged), so the office sees who a
        face matching no active record may be before it approves a photo
        (``closest.ClosestIndex``: the one rule, also used by the office's workspace)."""
        today = consent_today(None)  # matching a face does not depend on the day
        people = {p.person_id: p for p in self.list_people()}
        try:
            return ClosestIndex(self.snapshot(today)).closest(encoding, people, limit)
        except ValueError as exc:
            raise RegistryError(str(exc)) from None

    def purge_block_data(self, today: date, actor: str | None = None) -> list[str]:
        """Delete the block-list entries (templates and photo hashes) whose retention date
        is before `today`; returns their person ids. After it, a photo of that person is
        judged like any other: an unknown face is withheld until the office approves it."""
        with self.transaction():
            due = [w for w in self.withdrawals() if w.keep_until < today]
            stale = [
                r[0]
                for r in self._db.execute(
                    "SELECT person_id FROM withdrawals WHERE keep_until < ?", (today.isoformat(),)
                ).fetchall()
            ]
            for person_id in sorted({w.person_id for w in due} | set(stale)):
                templates = len(self._blocked_encodings(person_id))
                self._drop_block(person_id)
                self._audit(
                    actor,
                    "purge-block-data",
                    person_id,
                    {"retention_ended": today.isoformat(), "templates_deleted": templates},
                )
        return sorted({w.person_id for w in due} | set(stale))

    def reapply_withdrawals(
        self, entries: Sequence[withdrawals.Entry], actor: str | None = None
    ) -> list[str]:
        """After a restore: make every withdrawal of the journal entries (those recorded
        after the backup) hold again, unless consent was given again after it. Returns
        what was done, one line per person, for the office to read."""
        done = []
        last: dict[str, withdrawals.Entry] = {}
        photos: dict[str, set[str]] = {}
        for entry in sorted(entries, key=lambda e: e.seq):
            last[entry.person_id] = entry
            if entry.action in withdrawals.WITHDRAWALS:
                photos.setdefault(entry.person_id, set()).update(entry.photos)
        with self.transaction():
            for person_id, entry in sorted(last.items()):
                if entry.action == RECONSENT:
                    done.append(
                        f"{person_id}: consent was given again on {entry.on} after the backup; "
                        "the record is as the backup has it (give consent again if it is "
                        "withdrawn there)"
                    )
                    continue
                on = date.fromisoformat(entry.on)
                person = self.get(person_id)
                settings = _gate_settings(self.gate_settings)
                keep_until = _school_day(settings) + timedelta(
                    days=int(settings.block_retention_days)
                )
                encodings = self._decrypt_templates(person_id) if person else []
                self._add_block(person_id, on, entry.why, keep_until, photos[person_id], encodings)
                if person is not None and person.authentic:
                    if entry.action == "revoke" and person.status != "revoked":
                        self._forget_templates(person_id)
                        self._db.execute(
                            "UPDATE people SET status = 'revoked', updated_at = ?, "
                            "version = version + 1 WHERE id = ?",
                            (_now(), person_id),
                        )
                    elif entry.action == "never-publish" and not person.never_publish:
                        self._db.execute(
                            "UPDATE people SET never_publish = 1, updated_at = ?, "
                            "version = version + 1 WHERE id = ?",
                            (_now(), person_id),
                        )
                    elif entry.action == "expired":
                        self._forget_templates(person_id)
                        self._db.execute(
                            "UPDATE people SET updated_at = ?, version = version + 1 WHERE id = ?",
                            (_now(), person_id),
                        )
                    self._seal_person(person_id)
                self._audit(
                    actor,
                    "reapply-withdrawal",
                    person_id,
                    {"withdrawal": entry.action, "on": entry.on, "journal_entry": entry.seq},
                )
                count = len(photos[person_id])
                done.append(
                    f"{person_id}: {entry.why} on {entry.on} (by {entry.actor}), made after the "
                    f"backup: applied again, {_plural(count, 'photo')} blocked"
                )
        return done

    def set_journal_position(self, seq: int, mac: str, actor: str | None = None) -> None:
        """Record where the withdrawals journal ends (after a restore re-applied it)."""
        with self.transaction():
            self._set_journal_head(seq, mac)
            self._audit(actor, "journal-position", None, {"journal_entry": seq})

    def approve(
        self,
        sha256: str,
        by: str,
        reason: str,
        *,
        shows: Sequence[str],
        label: str = "",
        scope: str = "website",
        today: date | None = None,
        not_student: str = "",
        faces: Sequence[DetectedFace] | None = None,
        settings=None,
    ) -> Approval:
        """The consent office's decision to publish one exact image (by content hash).

        `shows` names every person the office recognised in the photo. Each must be in the
        registry with consent for `scope`: an approval naming someone without it would
        publish nothing. The approval is void as soon as anyone it names loses consent
        (``decision.verdict_for_faces``).

        Who is shown must be said: every face of the photo (`faces`, by default the face
        cache's entry for the image, as the last build or `consent check` found them)
        that matches no active record is either named in `shows` or covered by
        `not_student` (the office's statement: "visitor", "parent", or its own words).
        `shows=()` without `not_student` means no identifiable person, and is refused when
        such a face is there (``UnstatedFaces``, with the closest records of each face,
        withdrawn ones included). An image that showed a withdrawn person, or with a face
        close to one (tolerance plus margin), is refused (``BlockedImage``): only giving
        their consent again can publish it."""
        from face_engine.decision import match_face, withdrawal_reasons

        sha256 = str(sha256).strip().lower()
        if not SHA256.match(sha256):
            raise RegistryError(f"'{sha256}' is not an image hash (64 hexadecimal characters)")
        by = " ".join(str(by).split())
        reason = " ".join(str(reason).split())
        not_student = " ".join(str(not_student or "").split())
        if not by:
            raise RegistryError("say who approves the image (--by NAME)")
        if not reason:
            raise RegistryError("give the reason for the approval (--reason TEXT)")
        if len(not_student) > 200:
            raise RegistryError("say who the other people are in at most 200 characters")
        if isinstance(shows, str):
            shows = (shows,)
        people = tuple(dict.fromkeys(check_person_id(i) for i in shows))
        today = today or consent_today(None)  # callers give the school's day
        settings = _gate_settings(settings or self.gate_settings)
        at = datetime.now(UTC).replace(microsecond=0)
        with self.transaction():
            snapshot = self.snapshot(today)
            blocked = {b.person_id: b for b in snapshot.blocked}
            for person_id in people:
                person = self.get(person_id)
                if person is None:
                    raise PersonNotFound(
                        f"--shows {person_id}: there is no record for {person_id} in the "
                        "registry, so the photo cannot be published with them in it. Check "
                        "the id (`consent list`); nothing was approved."
                    )
                if not person.authentic:
                    raise RegistryError(_altered_person(person_id) + " Nothing was approved.")
                refusal = _record_of(person).refusal(today, scope)
                if refusal is None and person_id in blocked:
                    refusal = f"{blocked[person_id].describe()}, not given again"
                if refusal is not None:
                    raise RegistryError(
                        f"--shows {person_id} ({person.name}): {refusal}, so the photo "
                        "cannot be published with them in it. Nothing was approved."
                    )
            if faces is None:
                from face_engine.cache import FaceCache

                faces = FaceCache(settings.cache_dir).get(sha256, need_encodings=False)
            faces = list(faces or ())
            results = [match_face(face, snapshot, settings) for face in faces]
            withdrawn = withdrawal_reasons(sha256, faces, results, snapshot, settings)
            if withdrawn:
                raise BlockedImage(
                    "the image cannot be approved: "
                    + "; ".join(withdrawn)
                    + ". Nothing was approved.",
                    withdrawn,
                )
            recognised = {r.person_id for r in results if r.person_id}
            unmatched = [
                (number, face)
                for number, (face, result) in enumerate(zip(faces, results, strict=True), 1)
                if face.encoding is not None and result.person_id is None
            ]
            named_unseen = [p for p in people if p not in recognised]
            if unmatched and not not_student and len(named_unseen) < len(unmatched):
                closest = [
                    (number, face, self.closest_records(face.encoding, limit=3))
                    for number, face in unmatched
                ]
                raise UnstatedFaces(_unstated_message(closest, people), closest)
            previous = self._db.execute(
                "SELECT 1 FROM approvals WHERE sha256 = ?", (sha256,)
            ).fetchone()
            self._db.execute(
                "INSERT OR REPLACE INTO approvals "
                f"({self._APPROVAL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    sha256,
                    by,
                    reason,
                    at.isoformat(),
                    json.dumps(list(people)),
                    label,
                    not_student,
                ),
            )
            self._seal_approval(sha256)
            details = {
                "sha256": sha256,
                "reason": reason,
                "shows": list(people),
                "replaced": bool(previous),
            }
            if not_student:
                details["not_student"] = not_student
            self._audit(by, "approve", None, details)
        return Approval(sha256, by, reason, at, people, label, not_student)

    def withdraw_approval(self, sha256: str, actor: str | None = None) -> None:
        sha256 = str(sha256).strip().lower()
        with self.transaction():
            deleted = self._db.execute("DELETE FROM approvals WHERE sha256 = ?", (sha256,))
            if deleted.rowcount == 0:
                raise RegistryError(f"there is no approval for the image {sha256}")
            self._note_seal("approvals", sha256, None)
            self._audit(actor, "withdraw-approval", None, {"sha256": sha256})

    def hold_photo(self, sha256: str, *, by: str, reason: str, label: str = "") -> PhotoHold:
        """Withhold one photo whatever its consents and approval say (a family asks for one
        photo to come down and keeps its consent): every build and publish withholds it,
        so the next publish takes it down, until ``release_photo``."""
        sha256 = str(sha256).strip().lower()
        if not SHA256.match(sha256):
            raise RegistryError(f"{sha256!r} is not an image's SHA-256 (64 hex digits)")
        by, reason = " ".join(str(by).split()), " ".join(str(reason).split())
        if not by or not reason:
            raise RegistryError("say who takes the photo down and why")
        hold = PhotoHold(sha256, by, reason, _now(), " ".join(str(label).split()))
        with self.transaction():
            self._note_seal(HOLDS, sha256, hold.to_text())
            self._audit(by, "hold-photo", None, {"sha256": sha256, "reason": reason})
        return hold

    def release_photo(self, sha256: str, actor: str | None = None) -> None:
        """Undo ``hold_photo``: the photo is decided by its faces and approval again."""
        sha256 = str(sha256).strip().lower()
        with self.transaction():
            if sha256 not in self.photo_holds():
                raise RegistryError(f"the photo {sha256[:12]}… is not taken down by the office")
            self._note_seal(HOLDS, sha256, None)
            self._audit(actor, "release-photo", None, {"sha256": sha256})

    def photo_holds(self) -> dict[str, PhotoHold]:
        """The photos the office took down, by content hash."""
        seals = self._seals()
        held = seals[HOLDS] if seals is not None else {}
        return {sha256: PhotoHold.from_text(sha256, text) for sha256, text in held.items()}

    def purge_expired(self, today: date, actor: str | None = None, *, settings=None) -> list[str]:
        """Delete the templates of records whose consent expired before `today`;
        returns their ids. The records stay, so listings still show them as expired.
        Before the templates go, they and the photos that showed the person go on the
        block list (as for a revoke): renewing the consent (a new end date) lifts it."""
        with self.transaction():
            rows = self._db.execute(
                "SELECT DISTINCT p.id, p.expires, COUNT(t.id) FROM people p JOIN templates t "
                "ON t.person_id = p.id WHERE p.expires IS NOT NULL AND p.expires < ? "
                "GROUP BY p.id ORDER BY p.id",
                (today.isoformat(),),
            ).fetchall()
            for person_id, expires, count in rows:
                authentic = self.get(person_id).authentic
                photos = self._keep_to_block(
                    person_id, "expired", EXPIRED, date.fromisoformat(expires), actor, settings
                )
                self._forget_templates(person_id)
                if authentic:  # an altered row is never sealed as genuine
                    self._db.execute(
                        "UPDATE people SET version = version + 1 WHERE id = ?", (person_id,)
                    )
                    self._seal_person(person_id)
                self._audit(
                    actor,
                    "purge-expired",
                    person_id,
                    {"templates_deleted": count, "photos_blocked": len(photos)},
                )
        return [row[0] for row in rows]

    # ------------------------------------------------------------ reading

    # Every column of a people row but its MAC, in the order the MAC covers them.
    _PERSON_COLUMNS = (
        "id, name, role, grade, scopes, expires, status, never_publish, created_at, "
        "updated_at, lookalikes, version"
    )
    _PERSON_SQL = (
        "SELECT p.id, p.name, p.role, p.grade, p.scopes, p.expires, p.status, p.never_publish, "
        "p.created_at, p.updated_at, p.lookalikes, p.version, p.mac, "
        "(SELECT COUNT(*) FROM templates t WHERE t.person_id = p.id) "
        "FROM people p"
    )

    def _person(self, row: tuple, seals: dict | None) -> Person:
        return Person(
            person_id=row[0],
            name=row[1],
            role=row[2],
            grade=row[3],
            scopes=tuple(s for s in row[4].split(",") if s),
            expires=date.fromisoformat(row[5]) if row[5] else None,
            status=row[6],
            never_publish=bool(row[7]),
            templates=row[13],
            created_at=datetime.fromisoformat(row[8]),
            updated_at=datetime.fromisoformat(row[9]),
            lookalikes=tuple(s for s in (row[10] or "").split(",") if s),
            authentic=seals is not None
            and seals["people"].get(row[0]) == row[12]
            and crypto.mac_matches(self._row_key, row[12], "people", *row[:12]),
            version=int(row[11] or 0),
        )

    def get(self, person_id: str) -> Person | None:
        row = self._db.execute(self._PERSON_SQL + " WHERE p.id = ?", (person_id,)).fetchone()
        return None if row is None else self._person(row, self._seals())

    def list_people(self) -> list[Person]:
        seals = self._seals()
        rows = self._db.execute(self._PERSON_SQL + " ORDER BY p.id").fetchall()
        return [self._person(r, seals) for r in rows]

    def _approval_rows(self) -> list[tuple[Approval, bool]]:
        """Every stored approval and whether its row is authentic."""
        found = []
        seals = self._seals()
        for row in self._db.execute(
            f"SELECT {self._APPROVAL_COLUMNS}, mac FROM approvals ORDER BY sha256"
        ).fetchall():
            authentic = (
                seals is not None
                and seals["approvals"].get(row[0]) == row[7]
                and crypto.mac_matches(self._row_key, row[7], "approvals", *row[:7])
            )
            try:
                shows = None if row[4] is None else tuple(str(i) for i in json.loads(row[4]))
                at = datetime.fromisoformat(row[3])
            except (TypeError, ValueError):
                shows, at, authentic = None, datetime.fromtimestamp(0, UTC), False
            approval = Approval(row[0], row[1], row[2], at, shows, row[5] or "", row[6] or "")
            found.append((approval, authentic))
        return found

    def approvals(self) -> dict[str, Approval]:
        """The approvals that decide publishing: rows changed without the key are left out
        (and reported, see `integrity_problems`)."""
        return {a.sha256: a for a, authentic in self._approval_rows() if authentic}

    def integrity_problems(self) -> list[str]:
        """Every row that decides publishing but was added or changed without the key, in
        plain words (the gate ignores each of them)."""
        problems = [] if self._stored_seals() is not None else [SEALS_ALTERED]
        for person in self.list_people():
            if not person.authentic:
                problems.append(_altered_row("people", person.person_id))
        for template_id, person_id in self._bad_template_rows():
            problems.append(_altered_row("templates", template_id, person_id))
        for approval, authentic in self._approval_rows():
            if not authentic:
                problems.append(_altered_row("approvals", approval.sha256))
        return problems + self._bad_block_rows()

    def _bad_template_rows(self) -> list[tuple[int, str]]:
        seals = self._seals()
        return [
            (row[0], row[1])
            for row in self._db.execute(
                "SELECT id, person_id, encrypted, created_at, mac FROM templates ORDER BY id"
            ).fetchall()
            if not self._template_ok(row, seals)
        ]

    def newest_audit_at(self) -> datetime | None:
        """When the newest audit entry was written (aware, UTC); None for an empty log."""
        row = self._db.execute("SELECT at FROM audit ORDER BY id DESC LIMIT 1").fetchone()
        if row is None:
            return None
        try:
            return _aware(datetime.fromisoformat(str(row[0])))
        except ValueError:
            return None

    def audit_log(self, person_id: str | None = None) -> list[AuditEntry]:
        sql = "SELECT at, actor, action, person_id, details FROM audit"
        args: tuple = ()
        if person_id is not None:
            sql += " WHERE person_id = ?"
            args = (person_id,)
        return [
            AuditEntry(datetime.fromisoformat(r[0]), r[1], r[2], r[3], json.loads(r[4]))
            for r in self._db.execute(sql + " ORDER BY id", args)
        ]

    def _template_context(self, person_id: str) -> bytes:
        return b"template:" + person_id.encode("utf-8")

    def snapshot(self, today: date) -> RegistrySnapshot:
        """Everything the gate decides against, read in one consistent transaction, with
        the templates decrypted (in memory only). Rows changed without the key are left
        out, each with a warning: fail closed, a face they would match is unknown."""
        own_transaction = not self._db.in_transaction
        if own_transaction:
            self._db.execute("BEGIN")
        try:
            people = self.list_people()
            rows = self._db.execute(
                "SELECT id, person_id, encrypted, created_at, mac FROM templates "
                "ORDER BY person_id, id"
            ).fetchall()
            approvals = self._approval_rows()
            seals = self._seals()
            blocked = self.blocked_people(today)
            bad_block = self._bad_block_rows()
            block_keys = {
                "withdrawals": {
                    r[0] for r in self._db.execute("SELECT person_id FROM withdrawals")
                },
                "blocked_templates": {
                    str(r[0]) for r in self._db.execute("SELECT id FROM blocked_templates")
                },
            }
        finally:
            if own_transaction:
                self._db.execute("COMMIT")

        problems = [] if seals is not None else [SEALS_ALTERED]
        # Block data deleted without the key (its seal is there, its row is not) could let
        # an approval publish a withdrawn person: every approval is suspended until the
        # registry is restored.
        missing_block = (
            seals is None
            or bool(bad_block)
            or any(set(seals[table]) - keys for table, keys in block_keys.items())
        )
        digest = hashlib.sha256(f"schema {SCHEMA_VERSION}\n".encode())
        trusted = {p.person_id for p in people if p.authentic}
        templates: dict[str, list[np.ndarray]] = {}
        for template_id, person_id, blob, created, mac in rows:
            if not self._template_ok((template_id, person_id, blob, created, mac), seals):
                problems.append(_altered_row("templates", template_id, person_id))
                continue
            if person_id not in trusted:
                continue
            try:
                plain = crypto.decrypt(self._key, blob, self._template_context(person_id))
            except crypto.DecryptionError:
                raise RegistryError(
                    f"a face template of {person_id} cannot be decrypted: the registry "
                    f"{self.path} was altered or belongs to another key; {RESTORE}"
                ) from None
            templates.setdefault(person_id, []).append(np.frombuffer(plain, dtype="<f8").copy())
            digest.update(f"template {template_id} {person_id} ".encode() + blob[:12] + b"\n")
        records = []
        for p in people:
            if not p.authentic:
                problems.append(_altered_row("people", p.person_id))
                continue
            expired = p.expires is not None and p.expires < today
            digest.update(
                json.dumps(
                    [p.person_id, p.name, p.role, p.grade, list(p.scopes), str(p.expires)]
                    + [p.status, p.never_publish, expired]
                ).encode()
                + b"\n"
            )
            records.append(_record_of(p, tuple(templates.get(p.person_id, ()))))
        for person in blocked:
            digest.update(
                f"blocked {person.person_id} {person.withdrawn_on} {person.why} "
                f"{len(person.encodings)} {','.join(sorted(person.photos))}\n".encode()
            )
        if missing_block and seals is not None:
            problems.append(
                "part of the withdrawals block list was deleted or changed outside the consent "
                f"command, so no approval can be trusted (every approved photo is withheld): "
                f"{RESTORE}"
            )
        trusted_approvals = {}
        for a, authentic in approvals:
            if not authentic:
                problems.append(_altered_row("approvals", a.sha256))
                continue
            if missing_block:
                continue
            trusted_approvals[a.sha256] = a
            digest.update(
                f"approval {a.sha256} {a.by} {a.reason} {a.at.isoformat()} "
                f"{a.shows_text()}\n".encode()
            )
        held = {}
        for sha256, text in sorted((seals or {}).get(HOLDS, {}).items()):
            hold = PhotoHold.from_text(sha256, text)
            held[sha256] = hold.describe()
            digest.update(f"held {sha256} {hold.by} {hold.at}\n".encode())
        for problem in problems:
            log.warning("consent registry %s: %s", self.path, problem)
        return RegistrySnapshot(
            records=tuple(records),
            approvals=trusted_approvals,
            today=today,
            fingerprint=digest.hexdigest(),
            blocked=blocked,
            held=held,
        )


EXPIRED = "consent expired"
RECONSENT = withdrawals.RECONSENT


@dataclass(frozen=True)
class PhotoHold:
    """One photo the office took down (``Registry.hold_photo``)."""

    sha256: str
    by: str
    reason: str
    at: str  # ISO time, UTC
    label: str = ""  # the photo's name when it was taken down

    def to_text(self) -> str:
        values = {"by": self.by, "reason": self.reason, "at": self.at, "label": self.label}
        return json.dumps(values, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_text(cls, sha256: str, text: str) -> PhotoHold:
        try:
            data = json.loads(text)
            return cls(sha256, str(data["by"]), str(data["reason"]), str(data["at"]),
                       str(data.get("label", "")))  # fmt: skip
        except (ValueError, KeyError, TypeError):
            return cls(sha256, "?", "(the details of this takedown cannot be read)", "")

    def describe(self) -> str:
        """Why the gate withholds the photo, in the words the office reads."""
        return (
            f"taken down by the consent office ({self.by}, {self.at[:10]}: {self.reason}): "
            "withheld whatever its consents say until the office publishes it again"
        )


@dataclass(frozen=True)
class Withdrawal:
    """One person on the block list, as the office sees it (never the template values)."""

    person_id: str
    withdrawn_on: date
    why: str  # "consent revoked", "marked never-publish", "consent expired"
    keep_until: date  # purged by `consent purge-expired` after this date
    photos: tuple[str, ...]  # content hashes of the photos that showed them
    templates: int  # templates kept to recognise them (to block, never to publish)


class BlockedImage(RegistryError):
    """An approval refused: the image showed, or shows, a withdrawn person."""

    def __init__(self, message: str, reasons: list[str]):
        super().__init__(message)
        self.reasons = reasons


class UnstatedFaces(RegistryError):
    """An approval refused: faces match no active record and the office did not say who
    they are. `faces` holds (face number, the face, its closest records)."""

    def __init__(self, message: str, faces: list[tuple[int, DetectedFace, list[Closest]]]):
        super().__init__(message)
        self.faces = faces


def closest_text(closest: Sequence[Closest]) -> str:
    """`S1 Jamie Rivera 0.41 (withdrawn), S7 Ana Cruz 0.66`, or `no record`."""
    if not closest:
        return "no record"
    return ", ".join(
        f"{c.person.person_id} {c.person.name} {c.distance:.2f}"
        + (" (WITHDRAWN)" if c.withdrawn else "")
        for c in closest
    )


def _unstated_message(
    closest: Sequence[tuple[int, DetectedFace, list[Closest]]], people: Sequence[str]
) -> str:
    count = len(closest)
    faces = "; ".join(
        f"face {number} at ({face.box.left},{face.box.top}): closest {closest_text(near)}"
        for number, face, near in closest
    )
    named = f" (--shows names {', '.join(people)})" if people else ""
    return (
        f"the photo has {_plural(count, 'face')} matching no active record{named}: say who "
        f"{'it is' if count == 1 else 'they are'}, with --shows ID for a record, or "
        "--not-student visitor|parent|TEXT for someone who is not a student. "
        f"{faces}. Nothing was approved."
    )


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _change_summary(details: dict) -> str:
    """The audit details of a change, in short, for StaleRecord's message."""
    shown = {k: v for k, v in details.items() if k != "version" and v not in (None, "", [])}
    return ", ".join(
        f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in shown.items()
    )


def _school_day(settings) -> date:
    """The day a withdrawal is recorded for: the school's day by the clock (never a
    preview's SITE_DATE), in the settings' time zone."""
    from .clock import school_day

    return school_day(getattr(settings, "timezone", None))


def _gate_settings(settings):
    """The consent settings a withdrawal needs (face cache, tolerance, margin, retention):
    the caller's, else the defaults and environment (``GateSettings.from_mapping``)."""
    if settings is not None:
        return settings
    from .settings import GateSettings

    return GateSettings.from_mapping()


def photos_showing(encodings: Sequence[np.ndarray], cache_dir: Path, tolerance: float) -> list[str]:
    """The content hashes of the photos in the face cache (``face_engine.cache``, as the
    gate wrote it under CONSENT_CACHE_DIR) with a face within `tolerance` of any of
    `encodings`: the photos that showed a person, found without scanning any photo."""
    from face_engine.cache import FaceCache

    if not encodings:
        return []
    cache = FaceCache(cache_dir)
    templates = np.stack([np.asarray(e, dtype=np.float64) for e in encodings])
    found = []
    for entry in sorted(cache.directory.glob("*/*.json")):
        faces = cache.get(entry.stem, need_encodings=False) or ()
        for face in faces:
            views = [v for v in (face.encoding, getattr(face, "levelled", None)) if v is not None]
            if any(
                float(np.min(np.linalg.norm(templates - view, axis=1))) <= tolerance
                for view in views
            ):
                found.append(entry.stem)
                break
    return found


@dataclass(frozen=True)
class _ProbeSettings:
    """What ``match_face`` needs to measure a reference template against one record."""

    tolerance: float
    mode: str = "recognise"
    scope: str = "website"
    margin: float = 0.0
    min_face_px: int = 0
    workers: int = 1
    cache_dir: Path = Path()


def _record_of(person: Person, encodings: tuple[np.ndarray, ...] = ()) -> ConsentRecord:
    return ConsentRecord(
        person_id=person.person_id,
        name=person.name,
        role=person.role,
        scopes=frozenset(person.scopes),
        expires=person.expires,
        revoked=person.status == "revoked",
        never_publish=person.never_publish,
        encodings=encodings,
    )


def _lookalike_message(
    person_id: str, conflicts: list[tuple[str, float]], tolerance: float | None
) -> str:
    other, distance = conflicts[0]
    more = f" (and {', '.join(i for i, _ in conflicts[1:])})" if len(conflicts) > 1 else ""
    limit = "" if tolerance is None else f", within the tolerance {tolerance:.2f}"
    return (
        f"the face in the photos for {person_id} matches the record {other}{more} "
        f"(distance {distance:.2f}{limit}): one person may have only one record, or the "
        f"gate would publish them as {person_id} after {other}'s consent ends. If it is "
        f"the same person, update {other} with `consent add {other} --replace`. If they are "
        f"different people who look alike (twins), add --lookalike-of {other}. Nothing "
        "was saved."
    )
