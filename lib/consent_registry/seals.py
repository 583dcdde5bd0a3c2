"""Row seals: every row that decides publishing carries an HMAC, and an authenticated list
in ``meta`` holds each row's current MAC, so a row changed without the key, or a genuine
older row copied back, is found and ignored."""

from __future__ import annotations

import json
import logging

from . import crypto
from .records import RESTORE, RegistryError

log = logging.getLogger(__name__)


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


class SealsMixin:
    """Sealing rows and checking their seals (part of ``registry.Registry``)."""

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
