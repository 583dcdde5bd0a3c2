"""The registry file's schema (``PRAGMA user_version``) and its upgrades: schema 1 to 2
adds the row seals, 2 to 3 record versions and what a withdrawal keeps to block."""

from __future__ import annotations

import logging

from . import crypto
from .seals import SEAL_TABLES

log = logging.getLogger(__name__)


SCHEMA_VERSION = 3


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


class SchemaMixin:
    """The schema upgrades of an open registry (part of ``registry.Registry``)."""

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
