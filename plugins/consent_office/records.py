"""The records pages: search, add or edit a student with 1-5 reference photos (each face
boxed, the office picks the student's), the look-alike warning, and revoke, never publish
and remove, each listing the photos it takes down."""

from __future__ import annotations

from datetime import UTC, date, datetime

from consent_registry.registry import (
    KNOWN_SCOPES,
    ROLES,
    LookalikeFound,
    Person,
    RegistryError,
)
from flask import Flask, Response, abort, g, redirect, request, url_for

from . import photos as photo_lib
from .search import search
from .web import MAX_PHOTOS, Upload, Workspace


def register(app: Flask, ws: Workspace) -> None:
    gate = ws.gate
    uploads = ws.uploads
    today = ws.today
    open_registry = ws.open_registry
    flash = ws.flash
    page = ws.page
    report = ws.report
    office_only = ws.office_only
    expired_upload = ws.expired_upload

    # ------------------------------------------------------------ records

    @app.get("/records")
    def records() -> Response:
        query = request.args.get("q", "").strip()
        registry = open_registry()
        people: list[Person] = []
        if registry is not None:
            with registry:
                people = registry.list_people()
        people = search(people, query)
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
        if existing is None:
            registry = open_registry()
            taken = None
            if registry is not None:
                with registry:
                    taken = registry.get(details["person_id"])
            if taken is not None:
                return _record_form(
                    None,
                    details,
                    f"{taken.person_id} is already in the registry ({taken.name}): open their "
                    "record and press Edit to change it, or check the id.",
                )
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
            return expired_upload()
        return _faces_page(token, upload)

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
            return expired_upload()
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
            with open_registry(create=True) as registry:
                matches = [(registry.get(other), distance) for other, distance in exc.matches]
            return _faces_page(token, upload, lookalike=[m for m in matches if m[0]])
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
