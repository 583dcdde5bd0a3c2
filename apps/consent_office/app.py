"""The consent office's workspace: a Flask app with server-rendered pages over the consent
registry (records, reference photos, the review queue, takedowns, import, audit).

The pages live in ``records``, ``review`` and ``tasks``; what they share in ``web``;
this module holds sign-in, sessions, CSRF, the security headers, the home page and the
server. Every change goes through ``consent_registry.registry.Registry`` with the signed-in
user's name as the actor, so the workspace and the `consent` command keep one store and
one audit log. Safety: sign-in with argon2 hashes and growing delays per (name, address),
audited with the address (sign-in, failed sign-in, sign-out); a sign-in ends the browser's
previous session; server-side sessions in an HttpOnly, SameSite=Strict cookie with idle
and absolute timeouts, a CSRF token checked on every POST, a strict Content-Security-Policy
(no script, nothing from another host), only the allowed Host names
(CONSENT_OFFICE_ALLOWED_HOSTS), HSTS over HTTPS, and pages and thumbnails never cached.
Reference photos and thumbnails stay in memory and are never written to disk, least of all
into output/.
"""

from __future__ import annotations

import logging
import secrets
import time
from datetime import timedelta
from urllib.parse import urlsplit

from consent_registry import storage
from consent_registry.registry import RegistryError
from flask import Flask, Response, g, redirect, render_template, request, url_for
from werkzeug.exceptions import SecurityError

from . import crops, decisions, exports, imports, records, review, tasks
from .accounts import AccountError, Accounts, TooManyAttempts, csrf_matches, office_db_path
from .audit import record_event
from .settings import OfficeSettings
from .web import MAX_PHOTOS, MAX_UPLOAD, STATE_LABELS, Workspace, details_text, when_text

log = logging.getLogger(__name__)

SESSION_COOKIE = "office_session"
LOGIN_CSRF_COOKIE = "office_login_csrf"
CSP = (
    "default-src 'none'; img-src 'self'; style-src 'self'; form-action 'self'; "
    "frame-src 'self'; frame-ancestors 'none'; base-uri 'none'"
)
PUBLIC_ENDPOINTS = {"login", "static"}
HSTS = "max-age=31536000"


# ---------------------------------------------------------------- the app


def create_app(settings: OfficeSettings) -> Flask:
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_UPLOAD
    # Any other Host header is refused (400) before a view runs.
    app.config["TRUSTED_HOSTS"] = list(settings.allowed_hosts)
    app.jinja_env.autoescape = True
    app.jinja_env.filters["details"] = details_text
    app.jinja_env.filters["when"] = lambda value: when_text(value, settings.zone)
    app.jinja_env.globals["state_label"] = STATE_LABELS.get
    ws = Workspace(settings)
    accounts_path = office_db_path(settings.gate.registry)
    today, open_registry, page, report = ws.today, ws.open_registry, ws.page, ws.report
    waiting_images = ws.waiting_images

    # ------------------------------------------------------------ request lifecycle

    @app.before_request
    def before() -> Response | None:
        if isinstance(request.routing_exception, SecurityError):  # a Host not allowed
            log.warning("refused a request for the host %r", request.environ.get("HTTP_HOST"))
            return Response(
                "This workspace does not answer to that host name: use the address the "
                "office was given (CONSENT_OFFICE_ALLOWED_HOSTS).",
                400,
                mimetype="text/plain",
            )
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
        # Framed by the workspace's own pages only: the takedown progress, a photo's outcome.
        if request.endpoint == "takedown_status" or g.get("framed_page"):
            response.headers["Content-Security-Policy"] = CSP.replace(
                "frame-ancestors 'none'", "frame-ancestors 'self'"
            )
            response.headers["X-Frame-Options"] = "SAMEORIGIN"
        if settings.https or request.is_secure:
            response.headers["Strict-Transport-Security"] = HSTS
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
        """A page of this workspace to go to after signing in, else the home page. Browsers
        drop tabs and new lines from addresses and read a backslash as a slash, so
        "/\t/evil.example" or "/\\evil.example" would leave the site: any such character
        refuses the target."""
        if (
            not target
            or not target.startswith("/")
            or any(c.isspace() or ord(c) < 0x20 or c in "\\\x7f" for c in target)
        ):
            return url_for("home")
        parts = urlsplit(target)
        if parts.scheme or parts.netloc or target.startswith("//"):
            return url_for("home")
        return target

    def _audit(actor: str, action: str) -> None:
        """A sign-in event in the registry's audit log, with the address (no registry yet:
        only the server's log)."""
        try:
            registry = open_registry()
            if registry is None:
                log.info("%s: %s from %s", action, actor, request.remote_addr)
                return
            with registry:
                record_event(registry, actor, action, {}, request=request)
        except RegistryError as exc:
            log.warning("%s of %s was not audited: %s", action, actor, exc)

    @app.route("/login", methods=["GET", "POST"])
    def login() -> Response:
        if g.session is not None and request.method == "GET":
            return redirect(url_for("home"), 303)
        token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
        error = ""
        status = 200
        if request.method == "POST":
            typed = request.form.get("name", "").strip().lower()[:64] or "(no name)"
            try:
                cookie, session = g.accounts.sign_in(
                    request.form.get("name", ""),
                    request.form.get("password", ""),
                    request.remote_addr or "unknown",
                )
            except TooManyAttempts as exc:
                error, status = str(exc), 429
                log.warning("sign-in of %s from %s refused: waiting", typed, request.remote_addr)
            except AccountError as exc:
                error, status = str(exc), 401
                _audit(typed, "sign-in-failed")
            else:
                if g.session is not None:  # the browser's previous session ends here
                    g.accounts.sign_out(g.session)
                _audit(session.user.name, "sign-in")
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
        _audit(g.session.user.name, "sign-out")
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
        audit_problems: list[str] = []
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
                audit_problems = registry.verify_audit()
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
            audit_problems=audit_problems,
            audit_checked=registry is not None,
            report=built,
            queued=len(queued),
        )

    decisions.register(app, ws)
    records.register(app, ws)
    review.register(app, ws)
    tasks.register(app, ws)
    exports.register(app, ws)
    imports.register(app, ws)
    crops.register(app, ws)
    return app


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
    """waitress's options: only the proxy at CONSENT_OFFICE_TRUSTED_PROXY may say, in
    X-Forwarded-For, the client address the sign-in limit and the audit log count; from
    anyone else such headers are dropped, so a client cannot pick the address it is
    counted under."""
    options = {
        "host": settings.host,
        "port": settings.port,
        "threads": 4,
        "ident": "consent-office",
        "clear_untrusted_proxy_headers": True,
    }
    if settings.trusted_proxy:
        options.update(
            trusted_proxy=settings.trusted_proxy,
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


__all__ = ["create_app", "make_server", "serve", "server_options", "wait_for"]
