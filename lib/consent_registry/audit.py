"""The registry's audit log: an append-only hash chain (each entry's MAC covers the one
before, the first covers every entry written before the chain began), never holding
template values or names, and refusing an entry dated before the newest one."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from datetime import datetime

from . import crypto
from .records import RESTORE, AuditEntry, RegistryError, _aware, _now, default_actor

log = logging.getLogger(__name__)


def _genesis(rows: Sequence[tuple]) -> str:
    """What the first chained audit entry covers: every entry written before the chain."""
    digest = hashlib.sha256(b"cedar-hollow consent audit log\n")
    for row in rows:
        digest.update(crypto.canonical(tuple(row)) + b"\n")
    return digest.hexdigest()


# Changes that only ever publish less: never refused because the clock is behind (a
# withdrawal must not wait for a clock to be fixed); see Registry._audit.
NEVER_WAITS = frozenset({"revoke", "never-publish", "remove", "withdraw-approval", "hold-photo"})


class AuditMixin:
    """Writing and checking the audit log (part of ``registry.Registry``)."""

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
