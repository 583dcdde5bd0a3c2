"""Revisions of the subscribed games: a calendar app updates an event it already has only
when its SEQUENCE goes up (and reads DTSTAMP for when), so a game whose published time,
place, title or status changed gets SEQUENCE + 1 and DTSTAMP = the build's time; a game
that did not change keeps both, build after build.

What was published is remembered as a content hash per event in a small JSON file beside
the feed cache (`athletics-revisions.json`). Without that file (a fresh checkout) the
feed's own SEQUENCE is kept and DTSTAMP is the build's time.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import icalendar
from site_common.files import write_atomic

logger = logging.getLogger(__name__)

FILE_NAME = "athletics-revisions.json"
# What a family sees of a game; a change in any of them is a new revision.
WATCHED = (
    "DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE",
    "SUMMARY", "LOCATION", "DESCRIPTION", "STATUS",
)  # fmt: skip


def event_key(event: icalendar.Event) -> str:
    recurrence = event.get("RECURRENCE-ID")
    return f"{event.get('UID')}|{recurrence.to_ical().decode() if recurrence else ''}"


def content_hash(event: icalendar.Event) -> str:
    digest = hashlib.sha256()
    for name in WATCHED:
        values = event.get(name)
        for value in values if isinstance(values, list) else [values]:
            if value is not None:
                raw = value.to_ical() if hasattr(value, "to_ical") else str(value).encode()
                digest.update(name.encode() + b"=" + raw + b"\n")
    return digest.hexdigest()[:32]


class Revisions:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.known: dict[str, dict] = {}
        try:
            data = json.loads(self.path.read_text())
            if isinstance(data, dict):
                self.known = {k: v for k, v in data.items() if isinstance(v, dict)}
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as exc:
            logger.warning(
                "athletics: %s cannot be read (%s); calendar revisions start over from the "
                "feeds' own SEQUENCE",
                self.path,
                exc,
            )
        self.changed = 0

    def apply(self, event: icalendar.Event, now: datetime) -> None:
        """Set SEQUENCE and DTSTAMP of one event from what was published before."""
        key, digest = event_key(event), content_hash(event)
        source_sequence = int(event.get("SEQUENCE") or 0)
        known = self.known.get(key)
        if known and known.get("hash") == digest:
            sequence = max(int(known.get("sequence", 0)), source_sequence)
            stamp = datetime.fromisoformat(known["stamp"])
        else:
            sequence = source_sequence
            if known:
                sequence = max(sequence, int(known.get("sequence", 0)) + 1)
                self.changed += 1
            stamp = now.astimezone(UTC).replace(microsecond=0)
        self.known[key] = {"hash": digest, "sequence": sequence, "stamp": stamp.isoformat()}
        event.pop("SEQUENCE", None)
        event.pop("DTSTAMP", None)
        event.add("sequence", sequence)
        event.add("dtstamp", stamp)

    def save(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.path, json.dumps(self.known, indent=1, sort_keys=True))
        except OSError as exc:
            logger.warning(
                "athletics: calendar revisions not saved to %s (%s): the next build cannot "
                "tell changed games from unchanged ones; check that folder can be written",
                self.path,
                exc,
            )
