"""Accounts, sessions and sign-in limits of the consent office's web workspace.

They live in their own SQLite file beside the registry (``registry-office.sqlite3`` for
``registry.sqlite3``), not in a table of the registry, because:

- sessions are written on every page view: in the registry file those writes would take
  its write lock while builds and `publish` read it, and would grow its WAL;
- a damaged registry must not lock the office out: they still sign in and read
  "damaged: restore from backup" on the home page;
- the registry's schema, seals and audit chain stay the registry package's alone.

Changes to accounts are still written to the registry's one audit log (``audit.record``).
`consent backup` copies this file beside the registry's backup.

Passwords are stored as argon2id hashes (argon2-cffi's defaults, rehashed when they
change). Session tokens are 32 random bytes; only their SHA-256 is stored, so a copy of
this file opens no session.

Sign-in cannot be turned against the office: failures are counted per (name, address), and
past FREE_FAILURES each further try of that pair waits a growing delay (1 s, 2 s, 4 s …, at
most MAX_DELAY), so someone guessing from one computer is slowed to a crawl while the officer
still signs in from theirs; a success clears the pair's count. A password is refused when
it is short, over MAX_PASSWORD_BYTES (before any hashing: argon2 would hash 10 MB), common
(``data/common-passwords.txt``) or made of the user's name.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import math
import re
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .errors import OfficeError

ROLES = ("office", "viewer")
# A session ends after this long without a request, and after MAX_SESSION in any case.
IDLE_TIMEOUT = timedelta(minutes=30)
MAX_SESSION = timedelta(hours=10)
# Sign-in limit, per (name, address): FREE_FAILURES failures within FAILURE_WINDOW cost
# nothing (typos); each one after doubles the wait before the next try of that pair, from
# FIRST_DELAY up to MAX_DELAY. 20 guesses an hour then, against ~20,000 a minute unthrottled
# (argon2 costs ~50 ms a try on 2 cores).
FREE_FAILURES = 3
FIRST_DELAY = timedelta(seconds=1)
MAX_DELAY = timedelta(minutes=5)
FAILURE_WINDOW = timedelta(hours=1)
MIN_PASSWORD = 10
# Longer passwords are refused before hashing (a pass phrase of 1 KB is already absurd).
MAX_PASSWORD_BYTES = 1024
COMMON_PASSWORDS = Path(__file__).with_name("data") / "common-passwords.txt"
USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-")

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('office', 'viewer')),
    password TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY,
    user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    csrf TEXT NOT NULL,
    created_at TEXT NOT NULL,
    seen_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS failures (
    who TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS failures_who ON failures(who, at);
CREATE TABLE IF NOT EXISTS review_notes (
    sha256 TEXT NOT NULL,
    face INTEGER NOT NULL,
    person_id TEXT,
    kept_withheld INTEGER NOT NULL DEFAULT 0,
    by TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (sha256, face)
);
CREATE TABLE IF NOT EXISTS takedown_queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    requested_by TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    picked_at TEXT,
    ran_at TEXT,
    result TEXT
);
"""

_hasher = PasswordHasher()


class AccountError(OfficeError):
    """A problem with an account or a sign-in; the message says what to do."""


class TooManyAttempts(AccountError):
    def __init__(self, message: str, wait: timedelta):
        super().__init__(message)
        self.wait = wait


@functools.cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip() for w in lines if w.strip() and not w.startswith("#"))


def _letters(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.casefold())


def password_problem(name: str, password: str) -> str | None:
    """Why a new password is refused, or None. Refused: shorter than MIN_PASSWORD, longer
    than MAX_PASSWORD_BYTES, or little more than a common password or the user's name once
    those are taken out ("password12", "m.chen2026", "qwertyuiop")."""
    size = len(password.encode("utf-8", "replace"))
    if size > MAX_PASSWORD_BYTES:
        return (
            f"the password is too long ({size:,} bytes): use at most {MAX_PASSWORD_BYTES:,}, "
            "for example three or four unrelated words"
        )
    if len(password) < MIN_PASSWORD:
        return (
            f"the password is too short ({len(password)} characters): use at least "
            f"{MIN_PASSWORD}, for example three or four unrelated words"
        )
    rest = _letters(password)
    name_parts = [_letters(name)] + [p for p in re.split(r"[._-]+", name.casefold()) if len(p) > 2]
    words = sorted((w for w in common_passwords() if len(w) >= 4), key=len, reverse=True)
    for word in [*name_parts, *words]:
        if word:
            rest = rest.replace(word, "")
    if len(rest) < 6 or len(set(rest)) < 4:
        return (
            "the password is too easy to guess (a common password, or the user name, with "
            "little added): use three or four unrelated words"
        )
    return None


@dataclass(frozen=True)
class User:
    name: str
    role: str

    @property
    def can_change(self) -> bool:
        return self.role == "office"


@dataclass(frozen=True)
class Session:
    user: User
    csrf: str
    token_hash: str


def office_db_path(registry: Path) -> Path:
    """The accounts file beside the registry: registry.sqlite3 -> registry-office.sqlite3."""
    registry = Path(registry)
    return registry.with_name(f"{registry.stem}-office{registry.suffix or '.sqlite3'}")


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


class Accounts:
    """The accounts file; open one per request (``Accounts(path)`` then ``close``)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self.db.execute("PRAGMA foreign_keys = ON")
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.executescript(SCHEMA)
        with contextlib.suppress(OSError):
            self.path.chmod(0o600)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Accounts:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------ users

    def add_user(self, name: str, role: str, password: str, replace: bool = False) -> User:
        name = name.strip().lower()
        if not name or not set(name) <= USERNAME_CHARS or len(name) > 64:
            raise AccountError(
                f"'{name}' cannot be a user name: use lower-case letters, digits, '.', '_' "
                "or '-' (for example m.chen)"
            )
        if role not in ROLES:
            raise AccountError(f"the role must be office or viewer, not '{role}'")
        problem = password_problem(name, password)
        if problem:
            raise AccountError(problem)
        exists = self.db.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone()
        if exists and not replace:
            raise AccountError(
                f"the user {name} already exists: add --replace to set a new password or role"
            )
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.execute(
                "INSERT OR REPLACE INTO users (name, role, password, created_at) "
                "VALUES (?, ?, ?, ?)",
                (name, role, _hasher.hash(password), _now().isoformat()),
            )
            self.db.execute("DELETE FROM sessions WHERE user = ?", (name,))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return User(name, role)

    def remove_user(self, name: str) -> None:
        """Delete an account and end its sessions (someone left the office)."""
        name = name.strip().lower()
        deleted = self.db.execute("DELETE FROM users WHERE name = ?", (name,))
        if deleted.rowcount == 0:
            raise AccountError(
                f"there is no account {name}: `consent user list` shows the accounts"
            )

    def users(self) -> list[User]:
        return [User(*r) for r in self.db.execute("SELECT name, role FROM users ORDER BY name")]

    # ------------------------------------------------------------ sign-in

    def _recent_failures(self, who: str, now: datetime) -> tuple[int, datetime | None]:
        """How many times `who` failed within the window, and when last."""
        since = (now - FAILURE_WINDOW).isoformat()
        count, last = self.db.execute(
            "SELECT COUNT(*), MAX(at) FROM failures WHERE who = ? AND at > ?", (who, since)
        ).fetchone()
        return count, datetime.fromisoformat(last) if last else None

    @staticmethod
    def delay_after(failures: int) -> timedelta:
        """The wait before the next try after `failures` recent failures of one pair."""
        if failures < FREE_FAILURES:
            return timedelta(0)
        doublings = min(failures - FREE_FAILURES, 30)
        return min(FIRST_DELAY * 2**doublings, MAX_DELAY)

    def sign_in(self, name: str, password: str, address: str) -> tuple[str, Session]:
        """A new session (token for the cookie, session) or AccountError. While the
        (name, address) pair must wait (``delay_after`` its recent failures), TooManyAttempts
        without checking the password; a password over MAX_PASSWORD_BYTES is a failure
        without being hashed."""
        name = name.strip().lower()[:200]
        now = _now()
        who = f"pair:{name}\x00{address}"
        count, last = self._recent_failures(who, now)
        wait = self.delay_after(count)
        if last is not None and now < last + wait:
            seconds = math.ceil((last + wait - now).total_seconds())
            raise TooManyAttempts(
                f"Too many failed sign-ins for this name from this computer: wait {seconds} "
                "seconds and try again. If you forgot your password, ask the administrator to "
                "set a new one (consent user add NAME --replace).",
                last + wait - now,
            )
        row = self.db.execute("SELECT role, password FROM users WHERE name = ?", (name,)).fetchone()
        try:
            if len(password.encode("utf-8", "replace")) > MAX_PASSWORD_BYTES:
                raise VerificationError
            if row is None:
                _hasher.verify(_DUMMY_HASH, password)  # the same time as a real check
                raise VerificationError
            _hasher.verify(row[1], password)
        except (VerificationError, InvalidHashError):
            self.db.execute("INSERT INTO failures (who, at) VALUES (?, ?)", (who, now.isoformat()))
            raise AccountError("The name or the password is not right: try again.") from None
        if _hasher.check_needs_rehash(row[1]):
            self.db.execute(
                "UPDATE users SET password = ? WHERE name = ?", (_hasher.hash(password), name)
            )
        self.db.execute("DELETE FROM failures WHERE who = ?", (who,))
        self.db.execute("DELETE FROM failures WHERE at < ?", ((now - FAILURE_WINDOW).isoformat(),))
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        self.db.execute(
            "INSERT INTO sessions (token_hash, user, csrf, created_at, seen_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (_hash_token(token), name, csrf, now.isoformat(), now.isoformat()),
        )
        return token, Session(User(name, row[0]), csrf, _hash_token(token))

    def session(self, token: str | None) -> Session | None:
        """The live session of a cookie token (and note the request), or None."""
        if not token:
            return None
        token_hash = _hash_token(token)
        row = self.db.execute(
            "SELECT s.user, u.role, s.csrf, s.created_at, s.seen_at FROM sessions s "
            "JOIN users u ON u.name = s.user WHERE s.token_hash = ?",
            (token_hash,),
        ).fetchone()
        if row is None:
            return None
        now = _now()
        created, seen = datetime.fromisoformat(row[3]), datetime.fromisoformat(row[4])
        if now - seen > IDLE_TIMEOUT or now - created > MAX_SESSION:
            self.db.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash,))
            return None
        if (now - seen).total_seconds() >= 30:
            self.db.execute(
                "UPDATE sessions SET seen_at = ? WHERE token_hash = ?",
                (now.isoformat(), token_hash),
            )
        return Session(User(row[0], row[1]), row[2], token_hash)

    def sign_out(self, session: Session) -> None:
        self.db.execute("DELETE FROM sessions WHERE token_hash = ?", (session.token_hash,))

    # ------------------------------------------------------------ review notes

    def tag_face(self, sha256: str, face: int, person_id: str | None, by: str) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO review_notes (sha256, face, person_id, kept_withheld, by, at) "
            "VALUES (?, ?, ?, 0, ?, ?)",
            (sha256, face, person_id, by, _now().isoformat()),
        )

    def keep_withheld(self, sha256: str, by: str) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO review_notes (sha256, face, person_id, kept_withheld, by, at) "
            "VALUES (?, 0, NULL, 1, ?, ?)",
            (sha256, by, _now().isoformat()),
        )

    def tags(self, sha256: str) -> dict[int, str]:
        return {
            face: person
            for face, person in self.db.execute(
                "SELECT face, person_id FROM review_notes WHERE sha256 = ? AND face > 0 "
                "AND person_id IS NOT NULL",
                (sha256,),
            )
        }

    def all_tags(self) -> dict[str, dict[int, str]]:
        """sha256 -> {face: person id or "not a student: …"} of every tagged photo."""
        found: dict[str, dict[int, str]] = {}
        for sha256, face, person in self.db.execute(
            "SELECT sha256, face, person_id FROM review_notes WHERE face > 0 "
            "AND person_id IS NOT NULL"
        ):
            found.setdefault(sha256, {})[face] = person
        return found

    def undo_keep_withheld(self, sha256: str) -> bool:
        """The photo goes back to the review queue; False when it was not kept withheld."""
        cursor = self.db.execute(
            "DELETE FROM review_notes WHERE sha256 = ? AND face = 0 AND kept_withheld = 1",
            (sha256,),
        )
        return cursor.rowcount > 0

    def kept_withheld(self) -> dict[str, tuple[str, str]]:
        """sha256 -> (who, when) of images the office decided to keep withheld."""
        return {
            r[0]: (r[1], r[2])
            for r in self.db.execute(
                "SELECT sha256, by, at FROM review_notes WHERE kept_withheld = 1"
            )
        }

    # ------------------------------------------------------------ takedown queue

    def queue_takedown(self, by: str) -> None:
        self.db.execute(
            "INSERT INTO takedown_queue (requested_by, requested_at) VALUES (?, ?)",
            (by, _now().isoformat()),
        )

    def takedown_requests(self, limit: int = 10) -> list[dict]:
        rows = self.db.execute(
            "SELECT id, requested_by, requested_at, ran_at, result FROM takedown_queue "
            "ORDER BY id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        keys = ("id", "requested_by", "requested_at", "ran_at", "result")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def pick_takedowns(self) -> int:
        """The scheduled publish starts: the requests waiting now are the ones it answers
        (a request made while it runs waits for the next one)."""
        cursor = self.db.execute(
            "UPDATE takedown_queue SET picked_at = ? WHERE picked_at IS NULL",
            (_now().isoformat(),),
        )
        return cursor.rowcount

    def mark_takedowns_ran(self, result: str) -> int:
        """The scheduled publish finished: the requests it picked up are answered."""
        cursor = self.db.execute(
            "UPDATE takedown_queue SET ran_at = ?, result = ? "
            "WHERE picked_at IS NOT NULL AND ran_at IS NULL",
            (_now().isoformat(), result),
        )
        return cursor.rowcount


_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def csrf_matches(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), str(given).encode())
