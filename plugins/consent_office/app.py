"""The consent office's workspace: a Flask app with server-rendered pages over the consent
registry (records, reference photos, the review queue, takedowns, import, audit).

Every change goes through ``consent_registry.registry.Registry`` with the signed-in
user's name as the actor, so the workspace and the `consent` command keep one store and
one audit log. Safety: sign-in with argon2 hashes and a failure limit, server-side
sessions in an HttpOnly, SameSite=Strict cookie with idle and absolute timeouts, a CSRF
token checked on every POST, a strict Content-Security-Policy (no script, nothing from
another host), and pages and thumbnails never cached. Reference photos and thumbnails
stay in memory and are never written to disk, least of all into output/.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import wraps
from pathlib import Path
from urllib.parse import urlencode

from consent_registry import storage
from consent_registry.registry import (
    KNOWN_SCOPES,
    ROLES,
    LookalikeFound,
    Person,
    Registry,
    RegistryError,
)
from consent_registry.settings import GateSettings
from face_engine.model import NOBODY
from flask import Flask, Response, abort, g, redirect, render_template, request, url_for

from . import photos as photo_lib
from .accounts import AccountError, Accounts, Session, csrf_matches, office_db_path
from .audit import record as audit_record
from .settings import OfficeSettings

log = logging.getLogger(__name__)

SESSION_COOKIE = "office_session"
LOGIN_CSRF_COOKIE = "office_login_csrf"
MAX_PHOTOS = 5
MAX_UPLOAD = 40 * 1024 * 1024  # five camera photos
UPLOAD_TTL = timedelta(minutes=30)
CSP = (
    "default-src 'none'; img-src 'self'; style-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
PUBLIC_ENDPOINTS = {"login", "static"}


# ---------------------------------------------------------------- in-memory uploads


@dataclass
class Upload:
    """Photos or a CSV the office uploaded, waiting for the next step; memory only."""

    user: str
    created: datetime
    files: list[tuple[str, bytes]]
    details: dict = field(default_factory=dict)
    faces: list[list] = field(default_factory=list)  # per photo: [ReferenceFace] or a problem


class UploadStore:
    def __init__(self) -> None:
        self._items: dict[str, Upload] = {}
        self._lock = threading.Lock()

    def put(self, upload: Upload) -> str:
        token = secrets.token_urlsafe(16)
        with self._lock:
            self._expire()
            self._items[token] = upload
        return token

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
            "--quiet",
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
                for line in process.stdout:
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


# ---------------------------------------------------------------- the app


def create_app(settings: OfficeSettings) -> Flask:
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_UPLOAD
    app.jinja_env.autoescape = True
    uploads = UploadStore()
    takedowns = Takedowns()
    content = photo_lib.ContentIndex(settings.content_path)
    flashes: dict[str, list[str]] = {}
    gate: GateSettings = settings.gate
    accounts_path = office_db_path(gate.registry)

    # ------------------------------------------------------------ helpers

    def today() -> date:
        return date.today()

    def open_registry(create: bool = False) -> Registry | None:
        """The registry, None when there is none yet (and not `create`); RegistryError
        (damaged, full disk, wrong key) is shown on the page by the error handler."""
        if not create and not Path(gate.registry).exists():
            return None
        return Registry.open(gate.registry, gate.key_file)

    def flash(text: str) -> None:
        session: Session | None = g.get("session")
        if session is not None:
            flashes.setdefault(session.token_hash, []).append(text)

    def take_flashes() -> list[str]:
        session: Session | None = g.get("session")
        return flashes.pop(session.token_hash, []) if session is not None else []

    def page(template: str, status: int = 200, **values) -> Response:
        session: Session | None = g.get("session")
        html = render_template(
            template,
            user=session.user if session else None,
            csrf=session.csrf if session else "",
            messages=take_flashes(),
            **values,
        )
        return Response(html, status=status, mimetype="text/html")

    def office_only(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not g.session.user.can_change:
                return page(
                    "message.html",
                    403,
                    title="Not allowed",
                    text="Your account may look but not change anything: ask an office "
                    "account holder.",
                )
            return view(*args, **kwargs)

        return wrapped

    def report() -> photo_lib.Report:
        return photo_lib.read_report(gate.report_path)

    def people_by_id(registry: Registry | None) -> dict[str, Person]:
        return {p.person_id: p for p in registry.list_people()} if registry else {}

    def revoked_dates(registry: Registry | None) -> dict[str, str]:
        if registry is None:
            return {}
        return {
            e.person_id: e.at.date().isoformat()
            for e in registry.audit_log()
            if e.action == "revoke" and e.person_id
        }

    def waiting_images(registry: Registry | None, built: photo_lib.Report) -> list:
        """Withheld images no approval now publishes and the office did not keep withheld."""
        from face_engine.decision import verdict_for_faces

        snapshot = registry.snapshot(today()) if registry else None
        kept = g.accounts.kept_withheld()
        waiting = []
        for image in built.withheld:
            if image.sha256 in kept:
                continue
            if snapshot is not None and image.sha256 in snapshot.approvals:
                shows = set(snapshot.approvals[image.sha256].shows or ())
                holds = verdict_for_faces(image.sha256, [], snapshot, gate).publish
                if holds and not set(image.recognised) - shows:
                    continue
            waiting.append(image)
        return waiting

    # ------------------------------------------------------------ request lifecycle

    @app.before_request
    def before() -> Response | None:
        g.accounts = Accounts(accounts_path)
        g.session = g.accounts.session(request.cookies.get(SESSION_COOKIE))
        if request.endpoint not in PUBLIC_ENDPOINTS and g.session is None:
            if request.method == "GET" and not request.path.startswith(("/thumb", "/uploads")):
                target = request.full_path if request.query_string else request.path
                return redirect(url_for("login", next=target), 303)
            return Response("Sign in first.", 401, mimetype="text/plain")
        if request.method == "POST":
            if request.endpoint == "login":
                expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
            else:
                expected = g.session.csrf
            if not expected or not csrf_matches(expected, request.form.get("csrf_token")):
                return page(
                    "message.html",
                    403,
                    title="The form was refused",
                    text="The form has expired or did not come from this workspace, so "
                    "nothing was changed. Go back, reload the page and try again.",
                )
        return None

    @app.teardown_request
    def teardown(_exc) -> None:
        accounts = g.pop("accounts", None)
        if accounts is not None:
            accounts.close()

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        if request.endpoint != "static":
            response.headers["Cache-Control"] = "no-store, private"
        return response

    @app.errorhandler(RegistryError)
    def registry_error(exc: RegistryError) -> Response:
        text = str(exc)
        if storage.DAMAGED in text or "disk is full" in text or "key file" in text:
            return page("message.html", 503, title="The registry cannot be used", text=text)
        return page("message.html", 409, title="Nothing was changed", text=text)

    @app.errorhandler(400)
    @app.errorhandler(404)
    @app.errorhandler(405)
    def not_found(exc) -> Response:
        texts = {
            400: "The request was not understood: go back and try again.",
            404: "There is nothing here (a record removed, an old link, or a photo no longer "
            "in the last build): start again from the home page.",
            405: "This address does not take that kind of request: use the page's buttons.",
        }
        return page("message.html", exc.code, title="Not found" if exc.code == 404
                    else "Not possible", text=texts[exc.code])  # fmt: skip

    @app.errorhandler(413)
    def too_large(_exc) -> Response:
        return page(
            "message.html",
            413,
            title="Too large",
            text=f"The upload is larger than {MAX_UPLOAD // 1024 // 1024} MB: use up to "
            f"{MAX_PHOTOS} photos of a normal size.",
        )

    # ------------------------------------------------------------ sign-in

    def _safe_next(target: str | None) -> str:
        if target and target.startswith("/") and not target.startswith("//"):
            return target
        return url_for("home")

    @app.route("/login", methods=["GET", "POST"])
    def login() -> Response:
        if g.session is not None and request.method == "GET":
            return redirect(url_for("home"), 303)
        token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
        error = ""
        status = 200
        if request.method == "POST":
            try:
                cookie, session = g.accounts.sign_in(
                    request.form.get("name", ""),
                    request.form.get("password", ""),
                    request.remote_addr or "unknown",
                )
            except AccountError as exc:
                error, status = str(exc), 401
            else:
                response = redirect(_safe_next(request.form.get("next")), 303)
                response.set_cookie(
                    SESSION_COOKIE,
                    cookie,
                    httponly=True,
                    samesite="Strict",
                    secure=settings.https,
                    path="/",
                )
                response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
                log.info("%s signed in", session.user.name)
                return response
        html = render_template(
            "login.html",
            user=None,
            csrf=token,
            messages=[],
            error=error,
            next=request.values.get("next", ""),
            no_accounts=not g.accounts.users(),
        )
        response = Response(html, status=status, mimetype="text/html")
        response.set_cookie(
            LOGIN_CSRF_COOKIE, token, httponly=True, samesite="Strict", secure=settings.https
        )
        return response

    @app.post("/logout")
    def logout() -> Response:
        g.accounts.sign_out(g.session)
        response = redirect(url_for("login"), 303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    # ------------------------------------------------------------ home

    @app.get("/")
    def home() -> Response:
        problem = None
        counts: dict[str, int] = {}
        waiting = expiring = 0
        integrity: list[str] = []
        built = report()
        try:
            registry = open_registry()
        except RegistryError as exc:
            registry, problem = None, str(exc)
        if registry is not None:
            with registry:
                people = registry.list_people()
                for person in people:
                    state = person.state(today())
                    counts[state] = counts.get(state, 0) + 1
                horizon = today() + timedelta(days=settings.expiring_days)
                expiring = sum(
                    1
                    for p in people
                    if p.state(today()) == "active" and p.expires and p.expires <= horizon
                )
                integrity = registry.integrity_problems()
                waiting = len(waiting_images(registry, built))
        elif problem is None:
            waiting = len(built.withheld)
        queued = [r for r in g.accounts.takedown_requests() if r["ran_at"] is None]
        return page(
            "home.html",
            title="Consent office",
            problem=problem,
            counts=counts,
            total=sum(counts.values()),
            waiting=waiting,
            expiring=expiring,
            expiring_days=settings.expiring_days,
            integrity=integrity,
            report=built,
            queued=len(queued),
        )

    # ------------------------------------------------------------ records

    @app.get("/records")
    def records() -> Response:
        query = request.args.get("q", "").strip()
        registry = open_registry()
        people: list[Person] = []
        if registry is not None:
            with registry:
                people = registry.list_people()
        if query:
            needle = query.casefold()
            grade = needle.removeprefix("grade").strip()
            people = [
                p
                for p in people
                if needle in p.person_id.casefold()
                or needle in p.name.casefold()
                or (p.grade is not None and p.grade.casefold() == grade)
            ]
        return page("records.html", title="Records", people=people, query=query, today=today())

    def _details_from_form(existing: Person | None) -> dict:
        form = request.form
        expires_text = form.get("expires", "").strip()
        return {
            "person_id": (existing.person_id if existing else form.get("person_id", "")).strip(),
            "name": form.get("name", "").strip(),
            "role": form.get("role", "student"),
            "grade": form.get("grade", "").strip() or None,
            "scopes": form.getlist("scopes") or ["website"],
            "expires": expires_text,
            "replace": existing is not None,
        }

    def _parse_expiry(text: str) -> date | None:
        if not text:
            return None
        try:
            value = date.fromisoformat(text)
        except ValueError:
            raise RegistryError(
                f"the expiry date {text!r} is not a date: give it as YYYY-MM-DD"
            ) from None
        if value < today():
            raise RegistryError(
                f"the expiry date {value.isoformat()} is in the past: give the date the "
                "consent ends"
            )
        return value

    def _record_form(existing: Person | None, details: dict | None = None, error: str = ""):
        values = details or (
            {
                "person_id": existing.person_id,
                "name": existing.name,
                "role": existing.role,
                "grade": existing.grade or "",
                "scopes": list(existing.scopes),
                "expires": existing.expires.isoformat() if existing.expires else "",
            }
            if existing
            else {"scopes": ["website"], "role": "student"}
        )
        return page(
            "record_form.html",
            400 if error else 200,
            title=f"Edit {existing.name}" if existing else "Add a student",
            existing=existing,
            values=values,
            error=error,
            roles=ROLES,
            scopes=KNOWN_SCOPES,
            max_photos=MAX_PHOTOS,
        )

    @app.get("/records/new")
    @office_only
    def record_new() -> Response:
        return _record_form(None)

    @app.get("/records/<person_id>/edit")
    @office_only
    def record_edit(person_id: str) -> Response:
        registry = open_registry()
        existing = None
        if registry is not None:
            with registry:
                existing = registry.get(person_id)
        if existing is None:
            abort(404)
        return _record_form(existing)

    @app.post("/records/new")
    @app.post("/records/<person_id>/edit")
    @office_only
    def record_save(person_id: str | None = None) -> Response:
        from face_engine import faces

        existing = None
        if person_id is not None:
            registry = open_registry()
            if registry is not None:
                with registry:
                    existing = registry.get(person_id)
            if existing is None:
                abort(404)
        details = _details_from_form(existing)
        try:
            _parse_expiry(details["expires"])
        except RegistryError as exc:
            return _record_form(existing, details, str(exc))
        if not details["person_id"] or not details["name"]:
            return _record_form(existing, details, "Give the student's id and full name.")
        files = [f for f in request.files.getlist("photos") if f and f.filename]
        if len(files) > MAX_PHOTOS:
            return _record_form(existing, details, f"Give at most {MAX_PHOTOS} reference photos.")
        if not files and existing is None:
            return _record_form(
                existing,
                details,
                "Give at least one reference photo: a clear photo of the student alone.",
            )
        if not files:  # an update of the details only: the stored templates stay
            return _save_record(details, [], existing, lookalike_of=())
        upload = Upload(g.session.user.name, datetime.now(UTC), [], details)
        for sent in files:
            data = sent.read()
            upload.files.append((sent.filename, data))
            try:
                upload.faces.append(faces.reference_faces(data, sent.filename))
            except faces.FaceError as exc:
                upload.faces.append(str(exc))
        token = uploads.put(upload)
        return redirect(url_for("record_faces", token=token), 303)

    def _faces_page(token: str, upload: Upload, error: str = "", lookalike=None) -> Response:
        from face_engine.faces import auto_face

        items = []
        for index, ((name, _data), found) in enumerate(
            zip(upload.files, upload.faces, strict=True)
        ):
            if isinstance(found, str):
                items.append({"index": index, "name": name, "problem": found, "faces": []})
                continue
            usable = [f for f in found if f.usable]
            problem = ""
            if not found:
                problem = f"No face found in {name}: use a clear, front-facing photo."
            elif not usable:
                problem = f"{name} cannot be used: " + "; ".join(
                    f"face {f.number} is {f.problem}" for f in found
                )
            picked = auto_face(found) if found else None
            chosen = upload.details.get("chosen", {}).get(index)
            items.append(
                {
                    "index": index,
                    "name": name,
                    "problem": problem,
                    "faces": found,
                    "selected": chosen or (picked.number if picked else None),
                }
            )
        return page(
            "record_faces.html",
            400 if error or lookalike else 200,
            title="Check the faces",
            token=token,
            details=upload.details,
            items=items,
            error=error,
            lookalike=lookalike,
        )

    @app.get("/records/new/<token>")
    @office_only
    def record_faces(token: str) -> Response:
        upload = uploads.get(token, g.session.user.name)
        if upload is None:
            return _expired_upload()
        return _faces_page(token, upload)

    def _expired_upload() -> Response:
        return page(
            "message.html",
            404,
            title="Start again",
            text="These photos are no longer here (they are kept in memory for 30 minutes "
            "and never saved): add the student again.",
        )

    @app.get("/uploads/<token>/<int:index>")
    def upload_preview(token: str, index: int) -> Response:
        upload = uploads.get(token, g.session.user.name)
        if upload is None or not 0 <= index < len(upload.files):
            abort(404)
        found = upload.faces[index]
        boxes = [] if isinstance(found, str) else [vars(f.box) for f in found]
        try:
            data = photo_lib.thumbnail(upload.files[index][1], boxes)
        except Exception:  # noqa: BLE001 - an unreadable photo has its reason on the page
            abort(404)
        return Response(data, mimetype="image/jpeg")

    @app.post("/records/new/<token>")
    @office_only
    def record_faces_save(token: str) -> Response:
        from face_engine import faces

        upload = uploads.get(token, g.session.user.name)
        if upload is None:
            return _expired_upload()
        chosen: dict[int, int] = {}
        problems = []
        for index, (name, _data) in enumerate(upload.files):
            found = upload.faces[index]
            if isinstance(found, str):
                problems.append(found)
                continue
            value = request.form.get(f"face-{index}", "")
            # Without a choice, only a face that stands out (faces.auto_face) is taken.
            clear = faces.auto_face(found)
            if value.isdigit():
                chosen[index] = int(value)
            elif clear is not None:
                chosen[index] = clear.number
            else:
                problems.append(f"choose the student's face in {name}")
        upload.details["chosen"] = chosen
        if problems:
            return _faces_page(token, upload, error="; ".join(problems) + ".")
        encodings = []
        for index, (name, data) in enumerate(upload.files):
            try:
                encodings += faces.reference_templates(data, name, face=chosen[index])
            except faces.FaceError as exc:
                problems.append(str(exc))
        if problems:
            return _faces_page(token, upload, error="; ".join(problems) + ".")
        confirmed = tuple(request.form.getlist("lookalike_of"))
        existing = None
        registry = open_registry()
        if registry is not None and upload.details["replace"]:
            with registry:
                existing = registry.get(upload.details["person_id"])
        try:
            response = _save_record(upload.details, encodings, existing, confirmed)
        except LookalikeFound as exc:
            return _faces_page(token, upload, lookalike=exc)
        except RegistryError as exc:
            return _faces_page(token, upload, error=str(exc))
        uploads.drop(token)
        return response

    def _save_record(details: dict, encodings, existing: Person | None, lookalike_of):
        expires = _parse_expiry(details["expires"])
        with open_registry(create=True) as registry:
            person = registry.add(
                details["person_id"],
                details["name"],
                encodings,
                role=details["role"],
                scopes=details["scopes"],
                expires=expires,
                grade=details["grade"],
                actor=g.session.user.name,
                replace=existing is not None,
                lookalike_of=lookalike_of,
                tolerance=gate.tolerance,
            )
        verb = "Updated" if existing else "Added"
        photos_text = (
            f"{len(encodings)} face templates from the photos (the photos were not kept)"
            if encodings
            else "the stored face templates kept"
        )
        flash(f"{verb} {person.name} ({person.person_id}): {photos_text}.")
        return redirect(url_for("record", person_id=person.person_id), 303)

    @app.get("/records/<person_id>")
    def record(person_id: str) -> Response:
        registry = open_registry()
        if registry is None:
            abort(404)
        with registry:
            person = registry.get(person_id)
            if person is None:
                abort(404)
            approvals = list(registry.approvals().values())
            history = registry.audit_log(person_id)
        showing = photo_lib.photos_showing(report(), person_id, approvals)
        return page(
            "record.html",
            title=person.name,
            person=person,
            state=person.state(today()),
            showing=showing,
            history=list(reversed(history)),
            report=report(),
        )

    ACTIONS = {
        "revoke": (
            "Withdraw consent",
            "The face templates are deleted now. Every photo showing them is withheld from "
            "the next build on, approved ones included, and taken down at the next publish.",
        ),
        "never-publish": (
            "Mark never publish",
            "The record and its templates are kept so the gate recognises them; every photo "
            "showing them is withheld, approved ones included, and taken down at the next "
            "publish. Only removing the record clears it.",
        ),
        "remove": (
            "Remove the record",
            "The record and its templates are deleted for good (the audit log keeps a line). "
            "Every photo showing them is withheld and taken down at the next publish.",
        ),
    }

    @app.route("/records/<person_id>/<action>", methods=["GET", "POST"])
    @office_only
    def record_action(person_id: str, action: str) -> Response:
        if action not in ACTIONS:
            abort(404)
        registry = open_registry()
        if registry is None:
            abort(404)
        with registry:
            person = registry.get(person_id)
            if person is None:
                abort(404)
            approvals = list(registry.approvals().values())
            if request.method == "POST":
                actor = g.session.user.name
                if action == "revoke":
                    registry.revoke(person_id, actor=actor)
                elif action == "never-publish":
                    registry.set_never_publish(person_id, actor=actor)
                else:
                    registry.remove(person_id, actor=actor)
        showing = photo_lib.photos_showing(report(), person_id, approvals)
        title, effect = ACTIONS[action]
        if request.method == "POST":
            done = {
                "revoke": "Consent withdrawn",
                "never-publish": "Marked never publish",
                "remove": "Removed",
            }[action]
            flash(f"{done}: {person.name} ({person.person_id}). {effect}")
            if action == "remove":
                return page(
                    "action_done.html",
                    title=f"{done}: {person.name}",
                    person=person,
                    showing=showing,
                    report=report(),
                )
            return redirect(url_for("record", person_id=person_id), 303)
        return page(
            "record_action.html",
            title=f"{title}: {person.name}",
            heading=title,
            person=person,
            action=action,
            effect=effect,
            showing=showing,
            report=report(),
        )

    # ------------------------------------------------------------ review queue

    @app.get("/review")
    def review() -> Response:
        built = report()
        registry = open_registry()
        if registry is not None:
            with registry:
                people = people_by_id(registry)
                revoked = revoked_dates(registry)
                waiting = waiting_images(registry, built)
        else:
            people, revoked, waiting = {}, {}, list(built.withheld)
        for image in waiting:
            for face in image.faces:
                face.plain = photo_lib.plain_reason(face, people, today(), revoked)
        tags = {image.sha256: g.accounts.tags(image.sha256) for image in waiting}
        return page(
            "review.html",
            title="Photos waiting for a decision",
            report=built,
            images=waiting,
            tags=tags,
            people=sorted(people.values(), key=lambda p: p.name),
            kept=len(g.accounts.kept_withheld()),
        )

    @app.get("/thumb/<sha256>")
    def thumb(sha256: str) -> Response:
        built = report()
        image = next((i for i in built.images if i.sha256 == sha256), None)
        if image is None:
            abort(404)
        source = content.find(sha256)
        if source is None:
            abort(404)
        try:
            data = photo_lib.thumbnail(source.read_bytes(), [f.box for f in image.faces])
        except Exception:  # noqa: BLE001 - e.g. a PDF: the page says so in words
            abort(404)
        return Response(data, mimetype="image/jpeg")

    def _tags_from_form(image: photo_lib.ReportImage, people: dict) -> tuple[dict, list[str]]:
        tags, problems = {}, []
        for face in image.faces:
            value = request.form.get(f"tag-{image.sha256}-{face.number}", "").strip()
            if not value:
                continue
            person_id = value.split(" ", 1)[0]
            if person_id not in people:
                problems.append(
                    f"face {face.number} of {image.name}: there is no record {person_id!r} "
                    "(type the id, e.g. S1024)"
                )
                continue
            tags[face.number] = person_id
        return tags, problems

    @app.post("/review")
    @office_only
    def review_action() -> Response:
        built = report()
        by_hash = {i.sha256: i for i in built.withheld}
        # A photo's own buttons say "approve:<sha256>"; the bulk buttons act on the ticked ones.
        action, _, one = request.form.get("do", "").partition(":")
        selected = [one] if one else request.form.getlist("image")
        reason_field = f"reason-{one}" if one else "reason"
        reason = " ".join(request.form.get(reason_field, "").split())
        actor = g.session.user.name
        if not selected:
            flash("Select at least one photo first; nothing was changed.")
            return redirect(url_for("review"), 303)
        unknown = [s for s in selected if s not in by_hash]
        if unknown:
            flash("A photo is no longer in the last build's report: nothing was changed.")
            return redirect(url_for("review"), 303)
        messages = []
        with open_registry(create=True) as registry:
            people = people_by_id(registry)
            if action in ("tag", "approve"):
                problems = []
                all_tags = {}
                for sha256 in selected:
                    tags, found = _tags_from_form(by_hash[sha256], people)
                    problems += found
                    all_tags[sha256] = tags
                if problems:
                    flash("Nothing was changed: " + "; ".join(problems) + ".")
                    return redirect(url_for("review"), 303)
                for sha256, tags in all_tags.items():
                    for number, person_id in tags.items():
                        g.accounts.tag_face(sha256, number, person_id, actor)
                        audit_record(
                            registry,
                            actor,
                            "tag-face",
                            {"sha256": sha256, "face": number},
                            person_id=person_id,
                        )
                if action == "tag":
                    count = sum(len(t) for t in all_tags.values())
                    flash(f"Saved {count} tag(s). Approve the photo to publish it.")
                    return redirect(url_for("review"), 303)
            if action == "approve":
                if not reason:
                    flash("Give the reason for the approval; nothing was approved.")
                    return redirect(url_for("review"), 303)
                approved = []
                try:
                    with registry.transaction():
                        for sha256 in selected:
                            image = by_hash[sha256]
                            tags = g.accounts.tags(sha256)
                            shows = list(dict.fromkeys(tags.values()))
                            missing = sorted(set(image.recognised) - set(shows))
                            if missing:
                                raise RegistryError(
                                    f"{image.name}: the gate recognises "
                                    f"{', '.join(_who(people, m) for m in missing)}: tag their "
                                    "face first, so the approval ends when their consent does"
                                )
                            registry.approve(
                                sha256,
                                by=actor,
                                reason=reason,
                                shows=shows,
                                label=image.name,
                                scope=gate.scope,
                            )
                            approved.append(
                                f"{image.name} (shows "
                                f"{', '.join(_who(people, s) for s in shows) or NOBODY})"
                            )
                except RegistryError as exc:
                    flash(f"Nothing was approved: {exc}")
                    return redirect(url_for("review"), 303)
                messages.append(
                    f"Approved {len(approved)} photo(s): {'; '.join(approved)}. They are "
                    "published at the next build, while everyone they show keeps consent."
                )
            elif action == "keep":
                for sha256 in selected:
                    g.accounts.keep_withheld(sha256, actor)
                    audit_record(
                        registry, actor, "keep-withheld", {"sha256": sha256, "reason": reason}
                    )
                messages.append(f"Kept {len(selected)} photo(s) withheld.")
            elif action != "tag":
                abort(400)
        for message in messages:
            flash(message)
        return redirect(url_for("review"), 303)

    def _who(people: dict, person_id: str) -> str:
        person = people.get(person_id)
        return f"{person.name} ({person_id})" if person else person_id

    # ------------------------------------------------------------ takedown

    def takedown_mode() -> str:
        if settings.takedown != "auto":
            return settings.takedown
        return "run" if credentials_found() else "queue"

    @app.get("/takedown")
    def takedown() -> Response:
        return page(
            "takedown.html",
            title="Take photos down now",
            mode=takedown_mode(),
            run=takedowns.current,
            requests=g.accounts.takedown_requests(),
        )

    @app.post("/takedown")
    @office_only
    def takedown_start() -> Response:
        actor = g.session.user.name
        mode = takedown_mode()
        with open_registry(create=True) as registry:
            if mode == "run":
                run = takedowns.start(settings, actor)
                if run is None:
                    flash("A publish is already running: its progress is below.")
                else:
                    audit_record(
                        registry,
                        actor,
                        "takedown-run",
                        {"settings": str(settings.publish_settings)},
                    )
                    flash("The takedown publish started: its progress is below.")
            else:
                g.accounts.queue_takedown(actor)
                audit_record(registry, actor, "takedown-queued", {})
                flash(
                    "Queued: the scheduled publish takes the photos down at its next run, "
                    "and this page then shows when it ran."
                )
        return redirect(url_for("takedown"), 303)

    # ------------------------------------------------------------ expiring, audit

    def _expiring(registry: Registry | None) -> list[Person]:
        if registry is None:
            return []
        horizon = today() + timedelta(days=settings.expiring_days)
        return sorted(
            (
                p
                for p in registry.list_people()
                if p.state(today()) == "active" and p.expires and p.expires <= horizon
            ),
            key=lambda p: (p.expires, p.person_id),
        )

    def _csv(name: str, header: list[str], rows: list[list]) -> Response:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
        return Response(
            "\ufeff" + out.getvalue(),  # the BOM makes spreadsheet programs read UTF-8
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @app.get("/expiring")
    def expiring() -> Response:
        registry = open_registry()
        people = []
        if registry is not None:
            with registry:
                people = _expiring(registry)
        return page(
            "expiring.html",
            title=f"Consent ending in the next {settings.expiring_days} days",
            people=people,
        )

    @app.get("/expiring.csv")
    def expiring_csv() -> Response:
        registry = open_registry()
        people = []
        if registry is not None:
            with registry:
                people = _expiring(registry)
        rows = [[p.person_id, p.name, p.grade or "", p.expires.isoformat()] for p in people]
        return _csv("consent-expiring.csv", ["id", "name", "grade", "expires"], rows)

    def _audit_entries() -> list:
        registry = open_registry()
        if registry is None:
            return []
        with registry:
            return list(reversed(registry.audit_log()))

    @app.get("/audit")
    def audit() -> Response:
        entries = _audit_entries()
        return page("audit.html", title="Audit log", entries=entries[:500], total=len(entries))

    @app.get("/audit.csv")
    def audit_csv() -> Response:
        rows = [
            [
                e.at.isoformat(timespec="seconds"),
                e.actor,
                e.action,
                e.person_id or "",
                _details_text(e.details),
            ]
            for e in reversed(_audit_entries())
        ]
        return _csv("consent-audit-log.csv", ["at", "who", "action", "person", "details"], rows)

    # ------------------------------------------------------------ import

    @app.get("/import")
    @office_only
    def import_form() -> Response:
        return page("import.html", title="Import from the student system")

    def _run_import(upload: Upload, dry_run: bool):
        from consent_registry.sis_import import import_export
        from face_engine import faces

        text = upload.details["text"]
        with tempfile.TemporaryDirectory(prefix="consent-import-") as folder:
            path = Path(folder) / upload.details["filename"]
            path.write_text(text, encoding="utf-8")
            photos_dir = upload.details.get("photos_dir") or None
            with open_registry(create=True) as registry:
                return import_export(
                    registry,
                    path,
                    encode=lambda data, source: faces.reference_templates(data, source=source),
                    face_errors=(faces.FaceError,),
                    photos_dir=Path(photos_dir) if photos_dir else None,
                    ignore_columns=upload.details["ignored"],
                    actor=g.session.user.name,
                    dry_run=dry_run,
                    progress=False,
                    tolerance=gate.tolerance,
                )

    @app.post("/import")
    @office_only
    def import_preview() -> Response:
        from consent_registry.sis_import import ImportFailed

        file = request.files.get("csv")
        if file is None or not file.filename:
            return page(
                "import.html",
                400,
                title="Import from the student system",
                error="Choose the CSV file exported from the student system.",
            )
        raw = file.read()
        text, encoding = decode_csv(raw)
        header = next(csv.reader(io.StringIO(text)), [])
        ignored = unknown_columns(header)
        photos_dir = request.form.get("photos_dir", "").strip()
        if photos_dir and not Path(photos_dir).is_dir():
            return page(
                "import.html",
                400,
                title="Import from the student system",
                error=f"The photos folder {photos_dir} does not exist on this computer.",
            )
        upload = Upload(
            g.session.user.name,
            datetime.now(UTC),
            [],
            {
                "text": text,
                "filename": Path(file.filename).name or "export.csv",
                "encoding": encoding,
                "ignored": ignored,
                "photos_dir": photos_dir,
            },
        )
        try:
            summary = _run_import(upload, dry_run=True)
        except ImportFailed as exc:
            return page(
                "import_preview.html",
                400,
                title="Import: problems to fix",
                problems=exc.problems,
                note=exc.note,
                upload=upload,
                summary=None,
            )
        upload.details["plan"] = [(r.person_id, r.action) for r in summary.rows]
        token = uploads.put(upload)
        return page(
            "import_preview.html",
            title="Import: check the changes",
            problems=[],
            upload=upload,
            summary=summary,
            token=token,
        )

    @app.post("/import/<token>")
    @office_only
    def import_apply(token: str) -> Response:
        from consent_registry.sis_import import ImportFailed

        upload = uploads.get(token, g.session.user.name)
        if upload is None:
            return _expired_upload()
        try:
            check = _run_import(upload, dry_run=True)
            if [(r.person_id, r.action) for r in check.rows] != upload.details["plan"]:
                uploads.drop(token)
                flash(
                    "The registry changed since the preview, so nothing was imported: "
                    "upload the file again to see the changes as they are now."
                )
                return redirect(url_for("import_form"), 303)
            summary = _run_import(upload, dry_run=False)
        except ImportFailed as exc:
            return page(
                "import_preview.html",
                400,
                title="Import: problems to fix",
                problems=exc.problems,
                note=exc.note,
                upload=upload,
                summary=None,
            )
        uploads.drop(token)
        flash(" ".join(summary.lines()))
        return redirect(url_for("records"), 303)

    app.jinja_env.filters["details"] = _details_text
    app.jinja_env.globals["state_label"] = STATE_LABELS.get
    return app


STATE_LABELS = {
    "active": "Consent on file",
    "expired": "Expired",
    "revoked": "Revoked",
    "never-publish": "Never publish",
    "altered": "Altered: restore from backup",
}


def _details_text(details: dict) -> str:
    return "; ".join(f"{k}: {v}" for k, v in details.items())


def decode_csv(raw: bytes) -> tuple[str, str]:
    """The text of an uploaded CSV: UTF-8 (with or without BOM), else Windows-1252 (what
    Excel on Windows saves as "CSV"), which can decode any byte."""
    try:
        return raw.decode("utf-8-sig"), "UTF-8"
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace"), "Windows-1252"


def unknown_columns(header: list[str]) -> list[str]:
    from consent_registry.sis_import import _ALIAS_INDEX, _key

    return [title.strip() for title in header if _key(title) and _key(title) not in _ALIAS_INDEX]


def serve(settings: OfficeSettings) -> None:
    """Serve the workspace with waitress until interrupted."""
    from waitress import serve as waitress_serve

    if settings.host not in ("127.0.0.1", "localhost", "::1"):
        log.warning(
            "The workspace listens on %s, not only on this computer: put it behind HTTPS "
            "(README, 'Running the workspace behind HTTPS') and set CONSENT_OFFICE_HTTPS.",
            settings.host,
        )
    print(
        f"The consent office's workspace is at http://{settings.host}:{settings.port}/ "
        "(Ctrl-C stops it).",
        flush=True,
    )
    waitress_serve(create_app(settings), **server_options(settings))


def server_options(settings: OfficeSettings) -> dict:
    """waitress's options: behind the HTTPS proxy (CONSENT_OFFICE_HTTPS), the client address
    the proxy on 127.0.0.1 reports counts for the sign-in limit; any other such header is
    dropped, so a client cannot pick the address it is counted under."""
    options = {
        "host": settings.host,
        "port": settings.port,
        "threads": 4,
        "ident": "consent-office",
        "clear_untrusted_proxy_headers": True,
    }
    if settings.https:
        options.update(
            trusted_proxy="127.0.0.1",
            trusted_proxy_count=1,
            trusted_proxy_headers={"x-forwarded-for", "x-forwarded-proto"},
        )
    return options


def make_server(settings: OfficeSettings):
    """A waitress server not yet running (tests: ``server.run()`` in a thread, then
    ``server.close()``); port 0 picks a free port (``server.effective_port``)."""
    from waitress.server import create_server

    return create_server(create_app(settings), **server_options(settings))


def wait_for(url: str, timeout: float = 10.0) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=1)  # noqa: S310 - loopback only
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


__all__ = ["create_app", "decode_csv", "make_server", "serve", "unknown_columns", "urlencode"]
