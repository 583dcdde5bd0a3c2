"""The records pages: search, add or edit a student with 1-5 reference photos (each face
boxed, the office picks the student's), the look-alike warning, and revoke, never publish
and remove, each listing the photos it takes down."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

from consent_registry.registry import (
    KNOWN_SCOPES,
    ROLES,
    LookalikeFound,
    Person,
    Registry,
    RegistryError,
    StaleRecord,
)
from flask import Flask, Response, abort, g, redirect, request, url_for
from site_gate.review import photos_showing

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
    office_only = ws.office_only
    expired_upload = ws.expired_upload

    @contextmanager
    def registry_with_person(person_id: str) -> Iterator[tuple[Registry, Person]]:
        """The registry, open, and the record `person_id` in it: 404 when either is
        missing (a workspace with no registry yet has no records to show)."""
        registry = open_registry()
        if registry is None:
            abort(404)
        with registry:
            person = registry.get(person_id)
            if person is None:
                abort(404)
            yield registry, person

    def person_or_404(person_id: str) -> Person:
        with registry_with_person(person_id) as (_registry, person):
            return person

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
            # The version of the record the form was opened with: a save from an older
            # form is refused (StaleRecord) instead of undoing a colleague's change.
            "version": _form_version(existing),
        }

    def _form_version(existing: Person | None) -> int | None:
        if existing is None:
            return None
        text = request.form.get("version", "")
        return int(text) if text.isdigit() else 0  # no version: older than any record

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

    def _stale(existing: Person, details: dict, exc: StaleRecord) -> Response:
        """409: the record changed since the form was opened. The officer's values are
        shown beside the record as it is now, and the form holds the record as it is now,
        so nothing typed is lost and nothing a colleague saved is undone by a second click."""
        with open_registry(create=True) as registry:
            current = registry.get(existing.person_id) or existing
        now = _values_of(current)
        rows = [
            (label, _shown(details.get(key)), _shown(now.get(key)))
            for key, label in (
                ("name", "Full name"),
                ("role", "Role"),
                ("grade", "Grade"),
                ("scopes", "Where the photos may be used"),
                ("expires", "Consent ends on"),
            )
        ]
        return _record_form(current, None, str(exc), status=409, conflict=rows)

    def _shown(value) -> str:
        if isinstance(value, list | tuple):
            return ", ".join(value) or "none"
        return str(value) if value not in (None, "") else "(empty)"

    def _values_of(person: Person) -> dict:
        return {
            "person_id": person.person_id,
            "name": person.name,
            "role": person.role,
            "grade": person.grade or "",
            "scopes": list(person.scopes),
            "expires": person.expires.isoformat() if person.expires else "",
        }

    def _record_form(
        existing: Person | None,
        details: dict | None = None,
        error: str = "",
        status: int | None = None,
        conflict: list | None = None,
    ):
        values = details or (
            _values_of(existing) if existing else {"scopes": ["website"], "role": "student"}
        )
        return page(
            "record_form.html",
            status or (400 if error else 200),
            title=f"Edit {existing.name}" if existing else "Add a student",
            existing=existing,
            values=values,
            error=error,
            roles=ROLES,
            scopes=KNOWN_SCOPES,
            max_photos=MAX_PHOTOS,
            version=(details or {}).get("version", existing.version if existing else None),
            conflict=conflict or [],
        )

    @app.get("/records/new")
    @office_only
    def record_new() -> Response:
        return _record_form(None)

    @app.get("/records/<person_id>/edit")
    @office_only
    def record_edit(person_id: str) -> Response:
        return _record_form(person_or_404(person_id))

    @app.post("/records/new")
    @app.post("/records/<person_id>/edit")
    @office_only
    def record_save(person_id: str | None = None) -> Response:
        from face_engine import faces

        existing = None if person_id is None else person_or_404(person_id)
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
            try:
                return _save_record(details, [], existing, lookalike_of=())
            except StaleRecord as exc:
                return _stale(existing, details, exc)
            except RegistryError as exc:  # e.g. a withdrawn record has no templates left
                return _record_form(existing, details, str(exc))
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
        except StaleRecord as exc:
            uploads.drop(token)
            return _stale(existing, upload.details, exc)
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
                expected_version=details.get("version") if existing else None,
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
        with registry_with_person(person_id) as (registry, person):
            approvals = list(registry.approvals().values())
            history = registry.audit_log(person_id)
            now = ws.report_now(registry)  # the build's faces against the records now
        showing = photos_showing(now.images, person_id, approvals, now=now.current_verdicts)
        return page(
            "record.html",
            title=person.name,
            person=person,
            state=person.state(today()),
            showing=showing,
            history=list(reversed(history)),
            report=now,
            takedown_form=True,  # a published photo of theirs can come down on its own
        )

    @app.route("/records/<person_id>/consent-again", methods=["GET", "POST"])
    @office_only
    def record_consent_again(person_id: str) -> Response:
        """Consent given again to a withdrawn record: its own form (the date, who gave it,
        where the evidence is kept), never a side effect of an edit or a new photo."""
        person = person_or_404(person_id)
        form = request.form
        values = {
            "given_on": form.get("given_on", today().isoformat()).strip(),
            "by": " ".join(form.get("by", "").split()),
            "evidence": " ".join(form.get("evidence", "").split()),
            "version": form.get("version", str(person.version)),
        }
        error, status = "", 200
        if request.method == "POST":
            try:
                given_on = date.fromisoformat(values["given_on"])
            except ValueError:
                error = f"{values['given_on']!r} is not a date: give it as YYYY-MM-DD."
            else:
                version = values["version"]
                try:
                    with open_registry(create=True) as registry:
                        person = registry.give_consent_again(
                            person_id,
                            given_on=given_on,
                            by=values["by"],
                            evidence=values["evidence"],
                            actor=g.session.user.name,
                            expected_version=int(version) if version.isdigit() else 0,
                        )
                except StaleRecord as exc:
                    error, status = str(exc), 409
                    with open_registry(create=True) as registry:
                        person = registry.get(person_id) or person
                    values["version"] = str(person.version)
                except RegistryError as exc:
                    error = str(exc)
                else:
                    flash(
                        f"Consent given again: {person.name} ({person.person_id}), on "
                        f"{given_on.isoformat()} by {values['by']} ({values['evidence']}). "
                        "Their photos are published again from the next build on."
                    )
                    return redirect(url_for("record", person_id=person_id), 303)
            status = status if status != 200 else 400
        return page(
            "record_consent.html",
            status,
            title=f"Give consent again: {person.name}",
            person=person,
            state=person.state(today()),
            values=values,
            error=error,
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
        with registry_with_person(person_id) as (registry, person):
            approvals = list(registry.approvals().values())
            now = ws.report_now(registry)  # before the change: the photos it affects
            if request.method == "POST":
                actor = g.session.user.name
                text = request.form.get("version", "")
                seen = int(text) if text.isdigit() else 0
                change = {
                    "revoke": registry.revoke,
                    "never-publish": registry.set_never_publish,
                    "remove": registry.remove,
                }[action]
                try:
                    change(person_id, actor=actor, expected_version=seen)
                except StaleRecord as exc:
                    return page(
                        "message.html",
                        409,
                        title="Nothing was changed: the record changed meanwhile",
                        text=f"{exc}",
                    )
        showing = photos_showing(now.images, person_id, approvals, now=now.current_verdicts)
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
                    report=now,
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
            report=now,
        )
