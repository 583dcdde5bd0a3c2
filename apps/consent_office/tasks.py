"""The takedown publish started from the workspace: run now, or queued for the scheduled
publish. (Consents ending soon and the audit log are in ``exports``, the student-system
import in ``imports``.)"""

from __future__ import annotations

from consent_registry.registry import RegistryError
from flask import Flask, Response, g, redirect, request, url_for

from .audit import record as audit_record
from .web import Workspace, credentials_found


def register(app: Flask, ws: Workspace) -> None:
    settings = ws.settings
    takedowns = ws.takedowns
    open_registry = ws.open_registry
    flash = ws.flash
    page = ws.page
    office_only = ws.office_only

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
            follow=request.args.get("follow") == "1",
        )

    def _start(actor: str, details: dict) -> str:
        """Run the takedown publish now, or queue it for the scheduled publish; the
        message for the office."""
        with open_registry(create=True) as registry:
            if takedown_mode() == "run":
                run = takedowns.start(settings, actor)
                if run is None:
                    return "A publish is already running: its progress is below."
                audit_record(
                    registry,
                    actor,
                    "takedown-run",
                    {"settings": str(settings.publish_settings), **details},
                )
                return "The takedown publish started: its progress is below."
            g.accounts.queue_takedown(actor)
            audit_record(registry, actor, "takedown-queued", details)
            return (
                "Queued: the scheduled publish takes the photos down at its next run, "
                "and this page then shows when it ran."
            )

    @app.post("/takedown")
    @office_only
    def takedown_start() -> Response:
        flash(_start(g.session.user.name, {}))
        return redirect(url_for("takedown", follow=1), 303)

    @app.post("/takedown/photo/<sha256>")
    @office_only
    def takedown_start_one(sha256: str) -> Response:
        """Take one photo down now, published by an approval or because everyone in it
        has consent: the office's hold (``Registry.hold_photo``) withholds it from every
        build and publish whatever its consents say, then the takedown publish runs or is
        queued, and the takedown page follows its state in its frame."""
        sha256 = sha256.strip().lower()
        actor = g.session.user.name
        reason = " ".join(request.form.get("reason", "").split())
        if not reason:
            flash("Say why the photo comes down (for the audit log): nothing was changed.")
            return redirect(request.referrer or url_for("decisions"), 303)
        names = {i.sha256: i.name for i in ws.report().images}
        with open_registry(create=True) as registry:
            approval = registry.approvals().get(sha256)
            label = names.get(sha256) or (approval.label if approval else "") or sha256[:12]
            try:
                registry.hold_photo(sha256, by=actor, reason=reason, label=label)
            except RegistryError as exc:
                flash(f"Nothing was changed: {exc}.")
                return redirect(url_for("decisions"), 303)
        flash(
            f"{label} is taken down by the office: every build and publish withholds it "
            "until you publish it again (Decisions). " + _start(actor, {"sha256": sha256})
        )
        return redirect(url_for("takedown", follow=1), 303)

    @app.get("/takedown/status")
    def takedown_status() -> Response:
        """The takedown's state, framed in the takedown page. Followed (`follow=1`: after
        the officer starts a takedown, or asks to), it refreshes itself while a publish
        runs or a request waits, so the page around it never reloads; a link stops it
        (WCAG 2.2.2: updates the reader did not start can be stopped)."""
        requests = g.accounts.takedown_requests()
        run = takedowns.current
        busy = (run is not None and run.running) or any(r["ran_at"] is None for r in requests)
        follow = request.args.get("follow") == "1"
        return page(
            "takedown_status.html",
            title="Takedown progress",
            run=run,
            requests=requests,
            busy=busy,
            refresh=follow and busy,
        )
