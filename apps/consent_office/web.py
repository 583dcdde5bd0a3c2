"""What every page of the workspace shares: the per-app state (uploads kept in memory, the
takedown run, the index of the content folder, messages for the next page), the page
renderer, the office-only rule and access to the registry and the build's report.

The registry is opened for each request (``Registry.open`` checks the file, so a damaged
registry is reported on the page) and closed at its end: the workspace holds no
connection between requests, so builds, `publish` and `consent` use the file as usual.
"""

from __future__ import annotations

import copy
import os
import secrets
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import wraps
from pathlib import Path

from consent_registry.clock import ClockError, consent_today
from consent_registry.registry import Person, Registry, RegistryError
from consent_registry.snapshot import check_dated
from flask import Response, g, render_template
from site_gate.review import waiting_for_decision

from . import photos as photo_lib
from .accounts import Session
from .settings import OfficeSettings

MAX_PHOTOS = 5
MAX_UPLOAD = 40 * 1024 * 1024  # five camera photos
UPLOAD_TTL = timedelta(minutes=30)
# Uploads waiting in memory, per user: a new one beyond these drops that user's oldest, so
# one account (or a script with its session) cannot fill the server's memory.
MAX_PENDING_UPLOADS = 4
MAX_PENDING_BYTES = 2 * MAX_UPLOAD
STATE_LABELS = {
    "active": "Consent on file",
    "expired": "Expired",
    "revoked": "Revoked",
    "never-publish": "Never publish",
    "altered": "Altered: restore from backup",
}


# ---------------------------------------------------------------- uploads kept in memory


@dataclass
class Upload:
    """Photos or a CSV the office uploaded, waiting for the next step; memory only."""

    user: str
    created: datetime
    files: list[tuple[str, bytes]]
    details: dict = field(default_factory=dict)
    faces: list[list] = field(default_factory=list)  # per photo: [ReferenceFace] or a problem

    @property
    def size(self) -> int:
        """Bytes held: the files and the CSV an import keeps."""
        data = self.details.get("data")
        return sum(len(d) for _, d in self.files) + (len(data) if isinstance(data, bytes) else 0)


class UploadStore:
    def __init__(self) -> None:
        self._items: dict[str, Upload] = {}
        self._lock = threading.Lock()

    def put(self, upload: Upload) -> str:
        """Keep an upload; the user's oldest go while they hold more than
        MAX_PENDING_UPLOADS or MAX_PENDING_BYTES."""
        token = secrets.token_urlsafe(16)
        with self._lock:
            self._expire()
            self._items[token] = upload
            mine = [t for t, u in self._items.items() if u.user == upload.user]  # oldest first
            while len(mine) > 1 and (
                len(mine) > MAX_PENDING_UPLOADS
                or sum(self._items[t].size for t in mine) > MAX_PENDING_BYTES
            ):
                del self._items[mine.pop(0)]
        return token

    def pending(self, user: str) -> tuple[int, int]:
        """How many uploads `user` has waiting, and their bytes."""
        with self._lock:
            mine = [u for u in self._items.values() if u.user == user]
        return len(mine), sum(u.size for u in mine)

    def get(self, token: str, user: str) -> Upload | None:
        with self._lock:
            self._expire()
            upload = self._items.get(token)
        return upload if upload is not None and upload.user == user else None

    def drop(self, token: str) -> None:
        with self._lock:
            self._items.pop(token, None)

    def _expire(self) -> None:
        now = datetime.now(UTC)
        for token in [t for t, u in self._items.items() if now - u.created > UPLOAD_TTL]:
            del self._items[token]


# ---------------------------------------------------------------- takedown runs


@dataclass
class TakedownRun:
    started_by: str
    started_at: datetime
    lines: list[str] = field(default_factory=list)
    progress: str = ""  # the publish's latest progress bar, e.g. "hashing: 40%|…| 120/300"
    finished_at: datetime | None = None
    exit_code: int | None = None

    @property
    def running(self) -> bool:
        return self.finished_at is None


class Takedowns:
    """The takedown publish started from the workspace: one at a time, its output kept."""

    def __init__(self) -> None:
        self.current: TakedownRun | None = None
        self._lock = threading.Lock()

    def start(self, settings: OfficeSettings, user: str) -> TakedownRun | None:
        with self._lock:
            if self.current is not None and self.current.running:
                return None
            run = TakedownRun(user, datetime.now(UTC))
            self.current = run
        command = [
            sys.executable,
            "-m",
            "s3_publish",
            "--settings",
            str(settings.publish_settings),
        ]
        env = dict(os.environ)
        env.setdefault("CONSENT_REGISTRY", str(Path(settings.gate.registry).resolve()))
        env.setdefault("CONSENT_KEY_FILE", str(Path(settings.gate.key_file).resolve()))

        def work() -> None:
            try:
                process = subprocess.Popen(
                    command,
                    cwd=settings.project,
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
                # Text mode reads tqdm's "\r" updates as lines: the latest is the progress.
                for line in process.stdout:
                    if "%|" in line or "it/s]" in line:
                        run.progress = line.strip()
                    elif line.strip():
                        run.lines.append(line.rstrip())
                run.exit_code = process.wait()
            except OSError as exc:
                run.lines.append(f"publish could not be started: {exc}")
                run.exit_code = 1
            run.finished_at = datetime.now(UTC)

        threading.Thread(target=work, name="takedown-publish", daemon=True).start()
        return run


def credentials_found() -> bool:
    """Whether this machine has S3 credentials (the standard AWS chain) for `publish`."""
    try:
        import boto3

        return boto3.session.Session().get_credentials() is not None
    except Exception:  # noqa: BLE001 - no usable chain means no credentials
        return False


# ---------------------------------------------------------------- the shared state


class Workspace:
    """One app's state and the helpers its pages share."""

    def __init__(self, settings: OfficeSettings):
        self.settings = settings
        self.gate = settings.gate
        self.uploads = UploadStore()
        self.takedowns = Takedowns()
        self.content = photo_lib.ContentIndex(settings.content_path)
        self.matcher = photo_lib.LiveMatcher(settings.gate.cache_dir)
        self.thumbnails = photo_lib.LRU(4096, photo_lib.THUMBNAILS_MAX_BYTES)
        self._flashes: dict[str, list[str]] = {}
        self._memos: dict[str, tuple] = {}
        self._memo_lock = threading.Lock()

    def today(self) -> date:
        """The day the workspace decides and shows consent for: the one consent day of the
        build, `consent` and `publish` (``consent_registry.clock.consent_today``)."""
        return consent_today(self.gate.timezone)

    def decision_day(self, registry: Registry, what: str) -> date:
        """Today for a decision on `registry`, refused (RegistryError, shown on the page,
        nothing changed) when its audit log shows the clock to be wrong."""
        today = self.today()
        try:
            check_dated(registry, today, timezone=self.gate.timezone, what=what)
        except ClockError as exc:
            raise RegistryError(str(exc)) from None
        return today

    def open_registry(self, create: bool = False) -> Registry | None:
        """The registry, None when there is none yet (and not `create`); RegistryError
        (damaged, full disk, wrong key) is shown on the page by the error handler."""
        if not create and not Path(self.gate.registry).exists():
            return None
        return Registry.open(self.gate.registry, self.gate.key_file)

    def flash(self, text: str) -> None:
        """A message for the next page this session sees."""
        session: Session | None = g.get("session")
        if session is not None:
            self._flashes.setdefault(session.token_hash, []).append(text)

    def _take_flashes(self) -> list[str]:
        session: Session | None = g.get("session")
        return self._flashes.pop(session.token_hash, []) if session is not None else []

    def page(self, template: str, status: int = 200, **values) -> Response:
        session: Session | None = g.get("session")
        html = render_template(
            template,
            user=session.user if session else None,
            csrf=session.csrf if session else "",
            messages=self._take_flashes(),
            **values,
        )
        return Response(html, status=status, mimetype="text/html")

    def office_only(self, view):
        """A view that changes something: refused to viewer accounts."""

        @wraps(view)
        def wrapped(*args, **kwargs):
            if not g.session.user.can_change:
                return self.page(
                    "message.html",
                    403,
                    title="Not allowed",
                    text="Your account may look but not change anything: ask an office "
                    "account holder.",
                )
            return view(*args, **kwargs)

        return wrapped

    def expired_upload(self) -> Response:
        return self.page(
            "message.html",
            404,
            title="Start again",
            text="These photos or this file are no longer here (uploads are kept in memory "
            "for 30 minutes and never saved): upload them again.",
        )

    def report(self) -> photo_lib.Report:
        return photo_lib.read_report(self.gate.report_path)

    def _file_state(self) -> tuple:
        """Changes with every write to the registry file, by any program (SQLite appends
        a commit to the -wal journal, and a checkpoint writes it into the file)."""
        found: list = [self.today()]
        for suffix in ("", "-wal"):
            try:
                stat = os.stat(f"{self.gate.registry}{suffix}")
            except OSError:
                found.append(None)
                continue
            # The -wal file is made anew (empty) by each opening: only its size says that
            # a commit was added to it; a checkpoint writes the file itself.
            found.append(stat.st_size if suffix else (stat.st_mtime_ns, stat.st_size))
        return tuple(found)

    def _memo(self, registry: Registry, name: str, make):
        """`make()` once while the registry file is unchanged, across requests: a snapshot
        of 3,000 records checks 12,000 seals (1.9 s measured), which no page may repeat."""
        if registry.in_transaction:  # changes not yet in the file
            return make()
        key = self._file_state()
        with self._memo_lock:
            found = self._memos.get(name)
        if found is not None and found[0] == key:
            return found[1]
        value = make()
        if self._file_state() == key:  # nothing was written meanwhile
            with self._memo_lock:
                self._memos[name] = (key, value)
        return value

    def snapshot(self, registry: Registry):
        return self._memo(registry, "snapshot", lambda: registry.snapshot(self.today()))

    def people_by_id(self, registry: Registry | None) -> dict[str, Person]:
        if registry is None:
            return {}
        return self._memo(
            registry, "people", lambda: {p.person_id: p for p in registry.list_people()}
        )

    def revoked_dates(self, registry: Registry | None) -> dict[str, str]:
        """person id -> the day consent was revoked, from the audit log."""
        if registry is None:
            return {}
        return self._memo(
            registry,
            "revoked",
            lambda: {
                e.person_id: e.at.date().isoformat()
                for e in registry.audit_log()
                if e.action == "revoke" and e.person_id
            },
        )

    def images_now(self, registry: Registry | None, built: photo_lib.Report, images=None):
        """The build's images (or `images`) as the registry is now: the build's faces from
        the face cache matched against the current records (no face is scanned)."""
        images = built.images if images is None else images
        if registry is None:
            return [photo_lib.as_of_now(i, None) for i in images]
        verdicts = self.matcher.verdicts(images, self.snapshot(registry), self.gate)
        return [photo_lib.as_of_now(i, verdicts.get(i.sha256)) for i in images]

    def report_now(self, registry: Registry | None) -> photo_lib.Report:
        """The build's report with each image's faces matched against the records now."""
        built = self.report()
        now = copy.copy(built)
        now.images = self.images_now(registry, built)
        return now

    def waiting_images(self, registry: Registry | None, built: photo_lib.Report) -> list:
        """Withheld images waiting for a decision (``review.waiting_for_decision``, the rule
        `consent review` follows too), matched against the registry now, leaving out those
        the office kept withheld."""
        kept = g.accounts.kept_withheld()
        candidates = [i for i in built.withheld if i.sha256 not in kept]
        snapshot = self.snapshot(registry) if registry is not None else None
        now = self.matcher.verdicts(candidates, snapshot, self.gate) if snapshot is not None else {}
        waiting = waiting_for_decision(candidates, snapshot, self.gate, now=now, kept=kept)
        return [photo_lib.as_of_now(i, now.get(i.sha256)) for i in waiting]


def when_text(value: str | datetime, zone: tzinfo | None = None) -> str:
    """A date-time (or its ISO text) as people read it, in the school's time zone `zone`:
    2026-11-26 07:00 CET. A time without a zone is taken as UTC (every time the project
    stores is UTC)."""
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            return str(value) or "an unknown time"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(zone or UTC)
    return moment.strftime("%Y-%m-%d %H:%M ") + (moment.tzname() or "")


def details_text(details: dict) -> str:
    """An audit entry's details on one line."""
    return "; ".join(f"{k}: {v}" for k, v in details.items())
