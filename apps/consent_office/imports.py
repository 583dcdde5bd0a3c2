"""The student-system import in the workspace: a CSV and its reference photos uploaded
together (several photos, or one ZIP of them), a preview of every change (each changed
field before and after, withdrawals first), then all of it applied at once.

Nothing is read from the server's disk: the CSV is read from the upload by the same reader
as `consent import` (``consent_registry.csv_files``), and the photo column is matched by
file name against the uploaded photos only (``sis_import`` with ``uploads=``). Uploads stay
in memory (``web.UploadStore``) and are never written anywhere, not even to a temp file.
"""

from __future__ import annotations

import io
import logging
import zipfile
from datetime import UTC, datetime
from pathlib import PurePosixPath, PureWindowsPath

from consent_registry.csv_files import read_table
from consent_registry.sis_import import (
    PHOTO_EXTENSIONS,
    ImportFailed,
    UploadedPhoto,
    import_export,
    unknown_columns,
)
from flask import Flask, Response, g, redirect, request, url_for

from .errors import OfficeError
from .web import MAX_UPLOAD, Upload, Workspace

log = logging.getLogger(__name__)

# A ZIP of reference photos: at most this many files and this many bytes once unpacked,
# checked from its directory before anything is unpacked (a small ZIP can unpack to GBs).
MAX_ZIP_FILES = 2_000
MAX_UNPACKED = MAX_UPLOAD
TITLE = "Import from the student system"
ACTION_ORDER = {"revoke": 0, "add": 1, "update": 2}


class PhotosRefused(OfficeError, ValueError):
    """The uploaded photos cannot be used; the message says why and what to do."""


def _is_photo(name: str) -> bool:
    pure = PurePosixPath(name.replace("\\", "/"))
    return (
        pure.suffix.lower() in PHOTO_EXTENSIONS
        and not pure.name.startswith(".")
        and "__MACOSX" not in pure.parts
    )


def uploaded_photos(files: list[tuple[str, bytes]]) -> dict[str, bytes]:
    """The photos of an upload by their name (a ZIP's by their path inside it): other
    files are left out; a ZIP over MAX_ZIP_FILES files or MAX_UNPACKED bytes is refused."""
    photos: dict[str, bytes] = {}
    for name, data in files:
        if name.lower().endswith(".zip"):
            try:
                with zipfile.ZipFile(io.BytesIO(data)) as archive:
                    members = [m for m in archive.infolist() if not m.is_dir()]
                    if len(members) > MAX_ZIP_FILES:
                        raise PhotosRefused(
                            f"{name} holds {len(members)} files, more than {MAX_ZIP_FILES}: "
                            "split it into smaller ZIPs, one import each"
                        )
                    size = sum(m.file_size for m in members if _is_photo(m.filename))
                    if size > MAX_UNPACKED:
                        raise PhotosRefused(
                            f"{name} unpacks to {size // 1024 // 1024} MB of photos, more than "
                            f"{MAX_UNPACKED // 1024 // 1024} MB: split it, or make the photos "
                            "smaller (a reference photo needs no more than 1,000 pixels a side)"
                        )
                    for member in members:
                        if _is_photo(member.filename):
                            photos[member.filename] = archive.read(member)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
                raise PhotosRefused(
                    f"{name} cannot be opened as a ZIP ({type(exc).__name__}): make it again "
                    "with the computer's 'Compress' or 'Send to ZIP' command"
                ) from None
        elif _is_photo(name):
            photos[PureWindowsPath(name).name] = data
    return photos


def register(app: Flask, ws: Workspace) -> None:
    gate = ws.gate
    uploads = ws.uploads
    open_registry = ws.open_registry
    flash = ws.flash
    page = ws.page
    office_only = ws.office_only
    expired_upload = ws.expired_upload

    @app.get("/import")
    @office_only
    def import_form() -> Response:
        return page("import.html", title=TITLE)

    def _run_import(upload: Upload, dry_run: bool):
        from face_engine import faces

        photos = {name: UploadedPhoto(name, data) for name, data in upload.files}
        with open_registry(create=True) as registry:
            return import_export(
                registry,
                upload.details["filename"],
                encode=lambda data, source: faces.reference_templates(data, source=source),
                face_errors=(faces.FaceError,),
                ignore_columns=upload.details["ignored"],
                actor=g.session.user.name,
                dry_run=dry_run,
                progress=False,
                tolerance=gate.tolerance,
                data=upload.details["data"],
                uploads=photos,
                today=ws.today(),
            )

    def _problems(upload: Upload, exc: ImportFailed) -> Response:
        return page(
            "import_preview.html",
            400,
            title="Import: problems to fix",
            problems=exc.problems,
            note=exc.note,
            upload=upload,
            summary=None,
        )

    def _plan(summary) -> list:
        return [(r.person_id, r.action, r.changes) for r in summary.rows]

    @app.post("/import")
    @office_only
    def import_preview() -> Response:
        file = request.files.get("csv")
        if file is None or not file.filename:
            return page(
                "import.html",
                400,
                title=TITLE,
                error="Choose the CSV file exported from the student system.",
            )
        raw = file.read()
        table = read_table(raw)
        filename = PureWindowsPath(file.filename).name or "export.csv"
        sent = [
            (PureWindowsPath(f.filename).name, f.read())
            for f in request.files.getlist("photos")
            if f.filename
        ]
        try:
            photos = uploaded_photos(sent)
        except PhotosRefused as exc:
            return page("import.html", 400, title=TITLE, error=f"Nothing was imported: {exc}.")
        upload = Upload(
            g.session.user.name,
            datetime.now(UTC),
            sorted(photos.items()),
            {
                "data": raw,
                "filename": filename,
                "encoding": table.encoding,
                "delimiter": {",": "commas", ";": "semicolons", "\t": "tabs"}.get(
                    table.delimiter, repr(table.delimiter)
                ),
                "ignored": unknown_columns(table.header),
                "photo_count": len(photos),
            },
        )
        try:
            summary = _run_import(upload, dry_run=True)
        except ImportFailed as exc:
            return _problems(upload, exc)
        upload.details["plan"] = _plan(summary)
        token = uploads.put(upload)
        changing = sorted(
            (r for r in summary.rows if r.action in ACTION_ORDER),
            key=lambda r: (ACTION_ORDER[r.action], r.row),
        )
        return page(
            "import_preview.html",
            title="Import: check the changes",
            problems=[],
            upload=upload,
            summary=summary,
            changing=changing,
            unchanged=[r for r in summary.rows if r.action not in ACTION_ORDER],
            token=token,
        )

    @app.post("/import/<token>")
    @office_only
    def import_apply(token: str) -> Response:
        upload = uploads.get(token, g.session.user.name)
        if upload is None:
            return expired_upload()
        try:
            check = _run_import(upload, dry_run=True)
            if _plan(check) != upload.details["plan"]:
                uploads.drop(token)
                flash(
                    "The registry changed since the preview, so nothing was imported: "
                    "upload the file again to see the changes as they are now."
                )
                return redirect(url_for("import_form"), 303)
            summary = _run_import(upload, dry_run=False)
        except ImportFailed as exc:
            return _problems(upload, exc)
        uploads.drop(token)
        flash(" ".join(summary.lines()))
        return redirect(url_for("records"), 303)
