"""The takedown publish started from the workspace: run now, or queued for the scheduled
publish. (Consents ending soon and the audit log are in ``exports``, the student-system
import in ``imports``.)"""

from __future__ import annotations

from flask import Flask, Response, g, redirect, url_for

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
