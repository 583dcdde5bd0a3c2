"""The office's other tasks: the takedown publish (run now, or queued for the scheduled
publish), consents ending soon and the audit log (both as CSV), and the student-system
import with a preview of every change before it is applied all at once."""

from __future__ import annotations

import csv
import io
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from consent_registry.registry import (
    Person,
    Registry,
)
from flask import Flask, Response, g, redirect, request, url_for

from .audit import record as audit_record
from .web import Upload, Workspace, credentials_found, details_text


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


def register(app: Flask, ws: Workspace) -> None:
    settings = ws.settings
    gate = ws.gate
    uploads = ws.uploads
    takedowns = ws.takedowns
    today = ws.today
    open_registry = ws.open_registry
    flash = ws.flash
    page = ws.page
    office_only = ws.office_only
    expired_upload = ws.expired_upload

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
                details_text(e.details),
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
            return expired_upload()
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
