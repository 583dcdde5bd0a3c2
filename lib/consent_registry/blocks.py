"""Withdrawals in the registry: the templates a withdrawal keeps to block (encrypted,
sealed), the withdrawals journal written with each change and replayed from a backup, and
the people closest to a face."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import date, timedelta

import numpy as np
from face_engine.model import (
    BlockedPerson,
)

from . import crypto, withdrawals
from .changes import _gate_settings, _plural, _school_day, photos_showing
from .clock import consent_today
from .closest import Closest, ClosestIndex
from .records import (
    EXPIRED,
    RECONSENT,
    PhotoHold,
    RegistryError,
    Withdrawal,
    _check_encoding,
    _now,
    default_actor,
)
from .seals import HOLDS, _altered_row

log = logging.getLogger(__name__)


class BlocksMixin:
    """Withdrawals: the block list and the journal (part of ``registry.Registry``)."""

    # Journal entries of the current transaction (set in ``Registry.__init__``).
    _pending_journal: list[dict]

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
        held: dict[str, withdrawals.Entry] = {}  # photo hash -> its last hold or release
        for entry in sorted(entries, key=lambda e: e.seq):
            if entry.action in withdrawals.PHOTO_ACTIONS:
                held[entry.photos[0]] = entry
                continue
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
        done += self._reapply_holds(held, actor)
        return done

    def _reapply_holds(self, held: dict[str, withdrawals.Entry], actor: str | None) -> list[str]:
        """Photos the office took down after the backup are taken down again; one it
        published again after the backup stays as the backup has it (a release is never
        re-applied: the office releases it again if it still wants to)."""
        done = []
        current = self.photo_holds()
        for sha256, entry in sorted(held.items()):
            if entry.action == withdrawals.RELEASE:
                if sha256 in current:
                    done.append(
                        f"photo {sha256[:12]}: published again on {entry.on} after the backup; "
                        "still taken down as the backup has it (publish it again if wanted)"
                    )
                continue
            if sha256 not in current:
                # Not journalled again: the entry is the journal's own, re-applied.
                hold = PhotoHold(sha256, entry.actor, entry.why, _now())
                with self.transaction():
                    self._note_seal(HOLDS, sha256, hold.to_text())
                    self._audit(
                        actor,
                        "reapply-hold",
                        None,
                        {"sha256": sha256, "on": entry.on, "journal_entry": entry.seq},
                    )
            done.append(
                f"photo {sha256[:12]}: taken down on {entry.on} (by {entry.actor}, {entry.why}), "
                "after the backup: taken down again"
            )
        return done

    def set_journal_position(self, seq: int, mac: str, actor: str | None = None) -> None:
        """Record where the withdrawals journal ends (after a restore re-applied it)."""
        with self.transaction():
            self._set_journal_head(seq, mac)
            self._audit(actor, "journal-position", None, {"journal_entry": seq})
