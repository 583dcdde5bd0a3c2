"""Changes to the consent records: adding, replacing, revoking, removing, never-publish,
consent given again, approvals of photos and photo holds, and purging expired records.
Each is checked against the record's version, sealed and audited."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np
from face_engine.model import (
    ConsentRecord,
    RegistrySnapshot,
)

from . import crypto
from .clock import consent_today
from .records import (
    EXPIRED,
    RECONSENT,
    ROLES,
    LookalikeFound,
    Person,
    PersonExists,
    PersonNotFound,
    RegistryError,
    StaleRecord,
    _check_encoding,
    _check_scopes,
    _now,
    check_person_id,
)
from .seals import _altered_person

log = logging.getLogger(__name__)


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


class ChangesMixin:
    """The changes the consent office makes to the records (part of ``registry.Registry``)."""

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
