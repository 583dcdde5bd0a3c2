"""The withdrawals journal: every withdrawal of consent (revoke, never-publish, expiry) and
every consent given again, appended to a file beside the registry
(``<registry>.withdrawals.jsonl``), so a restore of an older backup cannot bring a
withdrawn child back (``consent restore`` re-applies what the journal holds after the
backup).

Each line is one JSON object whose MAC (HMAC-SHA256 with a key derived from the registry's
key) covers its fields and the previous line's MAC: a line changed, removed or inserted
without the key breaks the chain, and ``read`` says where. The registry records the last
line it wrote (its sequence number and MAC, authenticated) in its ``meta`` table, so a
journal cut short, or a backup whose journal does not continue into this one, is noticed.

A line is written (and flushed to disk) inside the registry's transaction, before it
commits: a crash in between leaves a withdrawal in the journal that the registry does not
hold, which a restore applies (fail closed), never the other way round.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import clock, crypto
from .errors import RegistryError

log = logging.getLogger(__name__)

SUFFIX = ".withdrawals.jsonl"
HEAD_KEY = "withdrawals_head"  # meta row: "<seq> <mac> <mac of both>"
GENESIS = "genesis"
WITHDRAWALS = ("revoke", "never-publish", "expired")
RECONSENT = "reconsent"
# The office takes one photo down (``Registry.hold_photo``) or publishes it again: by photo,
# not by person (the entry's person_id is empty, its one photo the held image's hash).
HOLD, RELEASE = "hold-photo", "release-photo"
PHOTO_ACTIONS = (HOLD, RELEASE)
ACTIONS = (*WITHDRAWALS, RECONSENT, *PHOTO_ACTIONS)
_FIELDS = ("seq", "prev", "at", "action", "person_id", "on", "why", "photos", "actor")


class JournalError(RegistryError):
    """The journal cannot be used as it is; the message says what to do."""


def journal_path(registry: Path) -> Path:
    """The journal kept beside the registry file `registry` (or beside a backup)."""
    registry = Path(registry)
    return registry.with_name(registry.name + SUFFIX)


def journal_key(key: bytes) -> bytes:
    return crypto.derive_key(key, "withdrawals")


@dataclass(frozen=True)
class Entry:
    """One line of the journal."""

    seq: int
    prev: str
    at: str
    action: str  # one of ACTIONS
    person_id: str
    on: str  # the date of the withdrawal (or of the consent given again), ISO
    why: str  # "consent revoked", "marked never-publish", "consent expired", ...
    photos: tuple[str, ...]  # content hashes of the photos that showed the person
    actor: str
    mac: str = ""

    def values(self) -> tuple:
        return (
            self.seq,
            self.prev,
            self.at,
            self.action,
            self.person_id,
            self.on,
            self.why,
            list(self.photos),
            self.actor,
        )

    def to_line(self) -> str:
        data = dict(zip(_FIELDS, self.values(), strict=True))
        data["mac"] = self.mac
        return json.dumps(data, separators=(",", ":"), sort_keys=True) + "\n"

    def describe(self) -> str:
        """`2026-12-07 S1: consent revoked (by m.chen)`."""
        return f"{self.on} {self.person_id}: {self.why} (by {self.actor})"


def _entry_mac(key: bytes, entry: Entry) -> str:
    return crypto.mac(journal_key(key), "withdrawal", *entry.values())


def _parse(line: str) -> Entry:
    data = json.loads(line)
    return Entry(
        seq=int(data["seq"]),
        prev=str(data["prev"]),
        at=str(data["at"]),
        action=str(data["action"]),
        person_id=str(data["person_id"]),
        on=str(data["on"]),
        why=str(data["why"]),
        photos=tuple(str(p) for p in data["photos"]),
        actor=str(data["actor"]),
        mac=str(data["mac"]),
    )


@dataclass
class Journal:
    """A journal as read: its entries up to the first problem, and the problems."""

    path: Path
    exists: bool
    entries: list[Entry] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def last(self) -> tuple[int, str] | None:
        return (self.entries[-1].seq, self.entries[-1].mac) if self.entries else None

    def after(self, seq: int) -> list[Entry]:
        return [e for e in self.entries if e.seq > seq]


def read(path: Path, key: bytes) -> Journal:
    """Read and verify the whole journal at `path`. Entries after the first break are
    left out (they cannot be trusted), and the break is described in `problems`."""
    path = Path(path)
    journal = Journal(path, path.exists())
    if not journal.exists:
        return journal
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        journal.problems.append(f"the withdrawals journal {path} cannot be read ({exc})")
        return journal
    lines = text.split("\n")
    torn = lines.pop()  # "" when the file ends with a newline
    if torn:
        log.warning("the withdrawals journal %s ends in a half-written line: ignored", path)
    previous: Entry | None = None
    for number, line in enumerate(lines, 1):
        where = f"the withdrawals journal {path}, line {number}"
        try:
            entry = _parse(line)
        except (ValueError, KeyError, TypeError):
            journal.problems.append(f"{where} is not a journal entry (damaged)")
            break
        if not crypto.mac_matches(journal_key(key), entry.mac, "withdrawal", *entry.values()):
            journal.problems.append(
                f"{where} ({entry.person_id}) was changed outside the consent command, or "
                "belongs to another registry's key"
            )
            break
        if previous is not None and (entry.prev != previous.mac or entry.seq != previous.seq + 1):
            journal.problems.append(
                f"{where} does not follow line {number - 1}: entries were removed or inserted"
            )
            break
        if previous is None and entry.seq == 1 and entry.prev != GENESIS:
            journal.problems.append(f"{where} is not the journal's first entry")
            break
        journal.entries.append(entry)
        previous = entry
    return journal


def head_value(key: bytes, seq: int, mac: str) -> str:
    """The authenticated meta value recording the journal's last line."""
    return f"{seq} {mac} " + crypto.mac(journal_key(key), "head", seq, mac)


def parse_head(key: bytes, value: str | None) -> tuple[int, str] | None:
    """(seq, mac) from a meta value; None when absent or not authentic."""
    if value is None:
        return None
    try:
        seq_text, mac, check = str(value).split()
        seq = int(seq_text)
    except ValueError:
        return None
    if not crypto.mac_matches(journal_key(key), check, "head", seq, mac):
        return None
    return seq, mac


def read_head(database: Path, key: bytes) -> tuple[int, str] | None:
    """The journal head recorded in a registry or backup file, without opening it as a
    registry: (0, GENESIS) when it records no withdrawal; None when it cannot be read or
    its head is not authentic."""
    if not Path(database).is_file():
        return None
    try:
        db = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        try:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (HEAD_KEY,)).fetchone()
        finally:
            db.close()
    except sqlite3.Error:
        return None
    if row is None:
        return 0, GENESIS
    return parse_head(key, row[0])


def append(
    path: Path,
    key: bytes,
    head: tuple[int, str] | None,
    *,
    action: str,
    person_id: str,
    on: str,
    why: str,
    photos: tuple[str, ...],
    actor: str,
) -> Entry:
    """Append one entry after `head` (the registry's record of the last line; None: none
    written) and flush it to disk. A journal that does not end where the registry says
    (missing, cut short, changed) is set aside as ``*.damaged-<time>`` with a warning and
    a new one continues from the registry's head: a withdrawal is never refused."""
    if action not in ACTIONS:
        raise ValueError(f"unknown journal action {action!r}")
    path = Path(path)
    seq, prev = head or (0, GENESIS)
    if path.exists() or seq:
        journal = read(path, key)
        if journal.problems or journal.last != (head if seq else journal.last):
            _set_aside(path, journal)
        elif journal.last is not None and not seq:
            seq, prev = journal.last  # a registry that never recorded a head (restored)
    entry = Entry(
        seq=seq + 1,
        prev=prev,
        at=clock.now_utc().isoformat(timespec="seconds"),
        action=action,
        person_id=person_id,
        on=on,
        why=why,
        photos=tuple(sorted(set(photos))),
        actor=actor,
    )
    entry = replace(entry, mac=_entry_mac(key, entry))
    path.parent.mkdir(parents=True, exist_ok=True)
    _drop_torn_tail(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, entry.to_line().encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    return entry


def _drop_torn_tail(path: Path) -> None:
    """Cut a half-written last line (a crash mid-write) so the next entry starts clean."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return
    if data and not data.endswith(b"\n"):
        with open(path, "r+b") as handle:
            handle.truncate(data.rfind(b"\n") + 1)


def _set_aside(path: Path, journal: Journal) -> None:
    if not path.exists():
        if journal.entries or journal.exists:
            return
        log.warning(
            "the withdrawals journal %s is missing: a new one starts here. Restore it from "
            "the last backup (%s beside the backup file) so restores keep every withdrawal",
            path,
            SUFFIX,
        )
        return
    stamp = clock.now_utc().strftime("%Y%m%dT%H%M%SZ")
    aside = path.with_name(f"{path.name}.damaged-{stamp}")
    os.replace(path, aside)
    why = "; ".join(journal.problems) or "it does not end where the registry recorded"
    log.warning(
        "the withdrawals journal %s was damaged (%s): kept as %s, and a new journal starts. "
        "Take a backup now (`consent backup`) so later restores keep every withdrawal",
        path,
        why,
        aside,
    )


def copy_for_backup(registry: Path, backup_file: Path) -> Path | None:
    """Copy the registry's journal beside a backup file; None when there is none."""
    source = journal_path(registry)
    if not source.exists():
        return None
    dest = journal_path(backup_file)
    partial = dest.with_name(dest.name + ".partial")
    partial.write_bytes(source.read_bytes())
    os.chmod(partial, 0o600)
    os.replace(partial, dest)
    return dest


@dataclass
class RestorePlan:
    """What a restore of `backup` must re-apply, and why it cannot when it cannot."""

    journal: Journal
    backup_head: tuple[int, str] | None
    live_head: tuple[int, str] | None
    to_apply: list[Entry] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # With problems: the withdrawals the restore could undo (read before it replaces the
    # registry), for the office to make again.
    would_come_back: list[str] = field(default_factory=list)
    new_place: bool = False  # no registry and no journal where the backup is restored
    copy_journal: bool = False  # the journal beside the backup goes in place


def plan_restore(registry: Path, backup_file: Path, key: bytes) -> RestorePlan:
    """The withdrawals recorded after `backup_file` was taken, from the journal beside
    `registry`, and every reason they cannot all be known (journal missing, damaged, cut
    short, or not continuing the backup's). Restored into a new place (no registry, no
    journal there), the journal copied beside the backup is used and put in place."""
    journal = read(journal_path(registry), key)
    copied = journal_path(backup_file)
    moved = not journal.exists and not Path(registry).exists() and copied.exists()
    if moved:
        journal = read(copied, key)
    backup_head = read_head(backup_file, key)
    live_head = read_head(registry, key)
    plan = RestorePlan(journal, backup_head, live_head)
    plan.copy_journal = moved
    plan.problems += journal.problems
    if backup_head is None:
        plan.problems.append(
            f"the backup {backup_file} does not record its withdrawals journal position "
            "authentically (another key, or changed)"
        )
        return plan
    start = backup_head[0]
    plan.to_apply = journal.after(start)
    if not journal.exists:
        if not Path(registry).exists():
            # A restore into a new place (no registry, no journal there): nothing here to
            # keep; the office is told that withdrawals made elsewhere are not known.
            plan.new_place = True
        elif live_head is None or live_head[0] > start:
            plan.problems.append(f"the withdrawals journal {journal.path} is missing")
        return plan
    at_backup = next((e for e in journal.entries if e.seq == start), None)
    if start and journal.entries and journal.entries[0].seq <= start and at_backup is None:
        plan.problems.append("the journal does not reach the backup's last withdrawal")
    if at_backup is not None and at_backup.mac != backup_head[1]:
        plan.problems.append(
            "the journal does not continue the backup's: it belongs to another registry"
        )
    if plan.to_apply and plan.to_apply[0].seq != start + 1:
        plan.problems.append(
            f"the journal lacks withdrawals {start + 1} to {plan.to_apply[0].seq - 1} "
            "(recorded after the backup)"
        )
    if live_head is not None and live_head[0] > (journal.last or (0, ""))[0]:
        plan.problems.append(
            f"the registry recorded {live_head[0]} withdrawal(s) but the journal holds "
            f"{len(journal.entries)} readable ones: the last were removed or damaged"
        )
    return plan


def _states(database: Path) -> dict[str, str] | None:
    """{person id: "withdrawn" or "active"} as a registry file holds them (read-only, for
    messages only); None when it cannot be read."""
    if not Path(database).is_file():
        return None
    try:
        db = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        try:
            rows = db.execute("SELECT id, status, never_publish FROM people").fetchall()
        finally:
            db.close()
    except sqlite3.Error:
        return None
    return {str(r[0]): "withdrawn" if r[1] == "revoked" or r[2] else "active" for r in rows}


def would_come_back(registry: Path, backup_file: Path, plan: RestorePlan) -> list[str]:
    """The withdrawals a restore of `backup_file` would undo, as far as can be told: the
    journal's readable entries after the backup, and every person withdrawn in the
    registry now but not in the backup."""
    found = {
        e.person_id or e.photos[0]: (
            f"photo {e.photos[0][:12]}: taken down on {e.on} ({e.why})"
            if e.action == HOLD
            else f"{e.person_id}: {e.why} on {e.on}"
        )
        for e in plan.to_apply
        if e.action != RELEASE
    }
    live, backup = _states(registry), _states(backup_file) or {}
    if live is None:
        found.setdefault(
            "?",
            f"(the registry {registry} cannot be read, so withdrawals the journal lost "
            "cannot be listed)",
        )
    else:
        for person_id, state in sorted(live.items()):
            if state == "withdrawn" and backup.get(person_id) != "withdrawn":
                found.setdefault(person_id, f"{person_id}: withdrawn now, not in the backup")
    return [found[k] for k in sorted(found)]


def check_restore(registry: Path, backup_file: Path, key: bytes, forced: bool) -> RestorePlan:
    """Plan a restore; JournalError when withdrawals made after the backup cannot all be
    known and the office did not say to restore anyway (`forced`), naming those that
    would come back."""
    plan = plan_restore(registry, backup_file, key)
    if plan.problems:
        plan.would_come_back = would_come_back(registry, backup_file, plan)
    if plan.problems and not forced:
        back = plan.would_come_back
        listed = "; ".join(back) if back else "none that the registry shows"
        raise JournalError(
            "the restore was refused, so no withdrawal comes back: "
            + "; ".join(plan.problems)
            + f". Withdrawals that the restore could undo: {listed}. Put the journal back "
            f"(a copy is beside each backup: *{SUFFIX}), or restore anyway with "
            "--without-withdrawals-journal and make those withdrawals again at once. "
            "Nothing was restored."
        )
    return plan


def apply_restore(opened, plan: RestorePlan, backup_file: Path, actor: str) -> list[str]:
    """After the backup is in place (`opened`, a ``Registry``): apply again the journal's
    withdrawals made after the backup and record where the journal ends; lines for the
    office to read."""
    lines: list[str] = []
    if plan.copy_journal and not plan.problems:  # later withdrawals continue this journal
        dest = journal_path(opened.path)
        dest.write_bytes(plan.journal.path.read_bytes())
        os.chmod(dest, 0o600)
    if plan.to_apply:
        done = opened.reapply_withdrawals(plan.to_apply, actor=actor)
        lines.append(
            f"Withdrawals made after the backup, applied again from the withdrawals journal "
            f"({len(done)}):"
        )
        lines += [f"  {line}" for line in done]
    elif plan.new_place:
        lines.append(
            f"There was no registry and no withdrawals journal at {opened.path}: if this "
            "replaces a registry that was lost with its journal, withdrawals made after the "
            "backup are not known here; check them and make them again."
        )
    elif not plan.problems:
        lines.append("No withdrawal was made after the backup (the withdrawals journal says so).")
    if plan.problems:
        back = plan.would_come_back
        if plan.journal.exists and not plan.copy_journal:
            _set_aside(plan.journal.path, plan.journal)
        lines.append(
            "Restored WITHOUT a usable withdrawals journal (--without-withdrawals-journal): "
            + "; ".join(plan.problems)
            + ". Check every withdrawal made after the backup and make it again: "
            + ("; ".join(back) if back else "none is known")
            + "."
        )
        if plan.to_apply:  # a new journal continues from the last entry applied
            last = plan.to_apply[-1]
            opened.set_journal_position(last.seq, last.mac, actor=actor)
    elif plan.journal.last is not None and plan.journal.last[0] > plan.backup_head[0]:
        opened.set_journal_position(*plan.journal.last, actor=actor)
    return lines
