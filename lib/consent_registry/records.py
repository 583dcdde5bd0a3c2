"""What the consent registry hands out and checks: its records (people, audit entries,
withdrawals, photo holds), its errors, and the rules for a person id, a scope and a face
template."""

from __future__ import annotations

import getpass
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
from face_engine.model import ConsentRecord, DetectedFace

from . import clock, withdrawals
from .closest import Closest
from .errors import RegistryError

log = logging.getLogger(__name__)


ROLES = ("student", "staff")


# Where a photo may be used; a record's scopes are checked against CONSENT_SCOPE.
KNOWN_SCOPES = ("website", "social", "newsletter", "print")


ENCODING_SIZE = 128


PERSON_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


SHA256 = re.compile(r"^[0-9a-f]{64}$")


RESTORE = "restore from backup (your last good copy of the registry file)"


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


def default_actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _now() -> str:
    return clock.now_utc().isoformat(timespec="seconds")


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
