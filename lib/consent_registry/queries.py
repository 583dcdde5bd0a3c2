"""Reading the registry: records, approvals, photo holds, integrity problems, and the
snapshot the face engine matches against (only rows whose seals hold)."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, date, datetime

import numpy as np
from face_engine.model import (
    Approval,
    RegistrySnapshot,
)

from . import crypto
from .records import RESTORE, Person, PhotoHold, RegistryError, _record_of
from .schema import SCHEMA_VERSION
from .seals import HOLDS, SEALS_ALTERED, _altered_row

log = logging.getLogger(__name__)


class QueriesMixin:
    """Reading records and the snapshot (part of ``registry.Registry``)."""

    def photo_holds(self) -> dict[str, PhotoHold]:
        """The photos the office took down, by content hash."""
        seals = self._seals()
        held = seals[HOLDS] if seals is not None else {}
        return {sha256: PhotoHold.from_text(sha256, text) for sha256, text in held.items()}

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
