"""The consent registry: who may appear on the website, their face templates and the
consent office's decisions, in one SQLite file (WAL mode).

Face templates are encrypted with the key in the key file (see ``crypto``); reference
photos are never stored. Every change is written to an append-only audit log that never
holds template values or names, only person ids.

Adding an id that is already in the registry is an error unless ``replace=True``, which
updates the record (and its templates when new ones are given). The never-publish flag
survives a replace: only ``remove`` clears it, and that is audited.
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
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
from face_engine.model import Approval, ConsentRecord, RegistrySnapshot

from . import crypto

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
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
    updated_at TEXT NOT NULL
);
CREATE TABLE templates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    encrypted BLOB NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX templates_person ON templates(person_id);
CREATE TABLE approvals (
    sha256 TEXT PRIMARY KEY,
    approved_by TEXT NOT NULL,
    reason TEXT NOT NULL,
    approved_at TEXT NOT NULL
);
CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    person_id TEXT,
    details TEXT NOT NULL
);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""


class RegistryError(Exception):
    """A problem the consent office can fix; the message says what to do."""


class PersonNotFound(RegistryError):
    pass


class PersonExists(RegistryError):
    pass


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

    def state(self, today: date) -> str:
        """One word for listings: never-publish, revoked, expired or active."""
        if self.never_publish:
            return "never-publish"
        if self.status == "revoked":
            return "revoked"
        if self.expires is not None and self.expires < today:
            return "expired"
        return "active"

    def to_json(self, today: date | None = None) -> dict:
        return {
            "id": self.person_id,
            "name": self.name,
            "role": self.role,
            "grade": self.grade,
            "scopes": list(self.scopes),
            "expires": self.expires.isoformat() if self.expires else None,
            "status": self.state(today or date.today()),
            "never_publish": self.never_publish,
            "templates": self.templates,
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


def default_actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


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
        self.created = False
        self.created_key = False

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
            raise RegistryError(
                f"{path} is not a consent registry ({exc}): check --registry / CONSENT_REGISTRY"
            ) from None
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
            db.execute(
                "INSERT INTO audit (at, actor, action, person_id, details) VALUES (?,?,?,?,?)",
                (_now(), default_actor(), "create-registry", None, "{}"),
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        registry = cls(db, path, key_file, key)
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

    @contextmanager
    def transaction(self) -> Iterator[Registry]:
        """Group changes: all of them are saved, or none (an exception rolls back)."""
        if self._db.in_transaction:
            yield self
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _audit(self, actor: str | None, action: str, person_id: str | None, details: dict) -> None:
        self._db.execute(
            "INSERT INTO audit (at, actor, action, person_id, details) VALUES (?, ?, ?, ?, ?)",
            (_now(), actor or default_actor(), action, person_id, json.dumps(details)),
        )

    def _require(self, person_id: str) -> Person:
        person = self.get(person_id)
        if person is None:
            raise PersonNotFound(
                f"there is no record for {person_id} in the registry: check the id "
                "(`consent list` shows them all)"
            )
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
    ) -> Person:
        """Record consent with face templates. An existing id is an error unless `replace`,
        which updates the record, sets it active again and replaces its templates (or keeps
        the stored ones when `encodings` is empty)."""
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
        now = _now()
        with self.transaction():
            existing = self.get(person_id)
            if existing is not None and not replace:
                raise PersonExists(
                    f"{person_id} ({existing.name}) is already in the registry: use "
                    "--replace to update the record, or choose another id"
                )
            if not blobs and (existing is None or existing.templates == 0):
                raise RegistryError(
                    f"{person_id} needs at least one reference photo with the face clearly "
                    "visible (the gate recognises people by it)"
                )
            values = (name, role, grade, ",".join(scopes), expires and expires.isoformat())
            if existing is None:
                self._db.execute(
                    "INSERT INTO people (id, name, role, grade, scopes, expires, status, "
                    "never_publish, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, 'active', 0, ?, ?)",
                    (person_id, *values, now, now),
                )
            else:
                self._db.execute(
                    "UPDATE people SET name = ?, role = ?, grade = ?, scopes = ?, expires = ?, "
                    "status = 'active', updated_at = ? WHERE id = ?",
                    (*values, now, person_id),
                )
            if blobs:
                self._db.execute("DELETE FROM templates WHERE person_id = ?", (person_id,))
                context = self._template_context(person_id)
                self._db.executemany(
                    "INSERT INTO templates (person_id, encrypted, created_at) VALUES (?, ?, ?)",
                    [(person_id, crypto.encrypt(self._key, b, context), now) for b in blobs],
                )
            self._audit(
                actor,
                "update" if existing else "add",
                person_id,
                {
                    "role": role,
                    "grade": grade,
                    "scopes": list(scopes),
                    "expires": expires and expires.isoformat(),
                    "templates": len(blobs) if blobs else f"kept {existing.templates}",
                },
            )
            return self._require(person_id)

    def revoke(self, person_id: str, actor: str | None = None) -> Person:
        """Consent withdrawn: the record stays (as revoked) and its templates are deleted."""
        person_id = check_person_id(person_id)
        with self.transaction():
            person = self._require(person_id)
            if person.status == "revoked":
                raise RegistryError(f"consent for {person_id} ({person.name}) is already revoked")
            self._db.execute("DELETE FROM templates WHERE person_id = ?", (person_id,))
            self._db.execute(
                "UPDATE people SET status = 'revoked', updated_at = ? WHERE id = ?",
                (_now(), person_id),
            )
            self._audit(actor, "revoke", person_id, {"templates_deleted": person.templates})
            return self._require(person_id)

    def remove(self, person_id: str, actor: str | None = None) -> Person:
        """Delete the record and its templates for good (a student leaves the school)."""
        person_id = check_person_id(person_id)
        with self.transaction():
            person = self._require(person_id)
            self._db.execute("DELETE FROM templates WHERE person_id = ?", (person_id,))
            self._db.execute("DELETE FROM people WHERE id = ?", (person_id,))
            self._audit(actor, "remove", person_id, {"templates_deleted": person.templates})
            return person

    def set_never_publish(self, person_id: str, actor: str | None = None) -> Person:
        """Safeguarding flag: never publish this person. The templates are kept so the
        gate can recognise them and say why a photo is withheld."""
        person_id = check_person_id(person_id)
        with self.transaction():
            person = self._require(person_id)
            if person.never_publish:
                raise RegistryError(f"{person_id} ({person.name}) is already marked never-publish")
            self._db.execute(
                "UPDATE people SET never_publish = 1, updated_at = ? WHERE id = ?",
                (_now(), person_id),
            )
            self._audit(actor, "never-publish", person_id, {})
            return self._require(person_id)

    def approve(self, sha256: str, by: str, reason: str) -> Approval:
        """The consent office's decision to publish one exact image (by content hash)."""
        sha256 = str(sha256).strip().lower()
        if not SHA256.match(sha256):
            raise RegistryError(f"'{sha256}' is not an image hash (64 hexadecimal characters)")
        by = " ".join(str(by).split())
        reason = " ".join(str(reason).split())
        if not by:
            raise RegistryError("say who approves the image (--by NAME)")
        if not reason:
            raise RegistryError("give the reason for the approval (--reason TEXT)")
        at = datetime.now(UTC).replace(microsecond=0)
        with self.transaction():
            previous = self._db.execute(
                "SELECT 1 FROM approvals WHERE sha256 = ?", (sha256,)
            ).fetchone()
            self._db.execute(
                "INSERT OR REPLACE INTO approvals (sha256, approved_by, reason, approved_at) "
                "VALUES (?, ?, ?, ?)",
                (sha256, by, reason, at.isoformat()),
            )
            self._audit(
                by,
                "approve",
                None,
                {"sha256": sha256, "reason": reason, "replaced": bool(previous)},
            )
        return Approval(sha256, by, reason, at)

    def withdraw_approval(self, sha256: str, actor: str | None = None) -> None:
        sha256 = str(sha256).strip().lower()
        with self.transaction():
            deleted = self._db.execute("DELETE FROM approvals WHERE sha256 = ?", (sha256,))
            if deleted.rowcount == 0:
                raise RegistryError(f"there is no approval for the image {sha256}")
            self._audit(actor, "withdraw-approval", None, {"sha256": sha256})

    def purge_expired(self, today: date, actor: str | None = None) -> list[str]:
        """Delete the templates of records whose consent expired before `today`;
        returns their ids. The records stay, so listings still show them as expired."""
        with self.transaction():
            rows = self._db.execute(
                "SELECT DISTINCT p.id, COUNT(t.id) FROM people p JOIN templates t "
                "ON t.person_id = p.id WHERE p.expires IS NOT NULL AND p.expires < ? "
                "GROUP BY p.id ORDER BY p.id",
                (today.isoformat(),),
            ).fetchall()
            for person_id, count in rows:
                self._db.execute("DELETE FROM templates WHERE person_id = ?", (person_id,))
                self._audit(actor, "purge-expired", person_id, {"templates_deleted": count})
        return [row[0] for row in rows]

    # ------------------------------------------------------------ reading

    _PERSON_SQL = (
        "SELECT p.id, p.name, p.role, p.grade, p.scopes, p.expires, p.status, p.never_publish, "
        "(SELECT COUNT(*) FROM templates t WHERE t.person_id = p.id), p.created_at, p.updated_at "
        "FROM people p"
    )

    @staticmethod
    def _person(row: tuple) -> Person:
        return Person(
            person_id=row[0],
            name=row[1],
            role=row[2],
            grade=row[3],
            scopes=tuple(s for s in row[4].split(",") if s),
            expires=date.fromisoformat(row[5]) if row[5] else None,
            status=row[6],
            never_publish=bool(row[7]),
            templates=row[8],
            created_at=datetime.fromisoformat(row[9]),
            updated_at=datetime.fromisoformat(row[10]),
        )

    def get(self, person_id: str) -> Person | None:
        row = self._db.execute(self._PERSON_SQL + " WHERE p.id = ?", (person_id,)).fetchone()
        return None if row is None else self._person(row)

    def list_people(self) -> list[Person]:
        return [self._person(r) for r in self._db.execute(self._PERSON_SQL + " ORDER BY p.id")]

    def approvals(self) -> dict[str, Approval]:
        return {
            row[0]: Approval(row[0], row[1], row[2], datetime.fromisoformat(row[3]))
            for row in self._db.execute(
                "SELECT sha256, approved_by, reason, approved_at FROM approvals ORDER BY sha256"
            )
        }

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
        the templates decrypted (in memory only)."""
        own_transaction = not self._db.in_transaction
        if own_transaction:
            self._db.execute("BEGIN")
        try:
            people = self.list_people()
            rows = self._db.execute(
                "SELECT id, person_id, encrypted FROM templates ORDER BY person_id, id"
            ).fetchall()
            approvals = self.approvals()
        finally:
            if own_transaction:
                self._db.execute("COMMIT")

        digest = hashlib.sha256(f"schema {SCHEMA_VERSION}\n".encode())
        templates: dict[str, list[np.ndarray]] = {}
        for template_id, person_id, blob in rows:
            try:
                plain = crypto.decrypt(self._key, blob, self._template_context(person_id))
            except crypto.DecryptionError:
                raise RegistryError(
                    f"a face template of {person_id} cannot be decrypted: the registry "
                    f"{self.path} was altered or belongs to another key; restore a backup"
                ) from None
            templates.setdefault(person_id, []).append(np.frombuffer(plain, dtype="<f8").copy())
            digest.update(f"template {template_id} {person_id} ".encode() + blob[:12] + b"\n")
        records = []
        for p in people:
            expired = p.expires is not None and p.expires < today
            digest.update(
                json.dumps(
                    [p.person_id, p.name, p.role, p.grade, list(p.scopes), str(p.expires)]
                    + [p.status, p.never_publish, expired]
                ).encode()
                + b"\n"
            )
            records.append(
                ConsentRecord(
                    person_id=p.person_id,
                    name=p.name,
                    role=p.role,
                    scopes=frozenset(p.scopes),
                    expires=p.expires,
                    revoked=p.status == "revoked",
                    never_publish=p.never_publish,
                    encodings=tuple(templates.get(p.person_id, ())),
                )
            )
        for a in approvals.values():
            digest.update(f"approval {a.sha256} {a.by} {a.reason} {a.at.isoformat()}\n".encode())
        return RegistrySnapshot(
            records=tuple(records),
            approvals=approvals,
            today=today,
            fingerprint=digest.hexdigest(),
        )
