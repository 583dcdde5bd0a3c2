"""The review queue: the withheld photos of the last build that the registry as it is now
still withholds (the build's faces from the face cache, matched against today's records),
24 a page, filtered by person, article and reason, with numbered face boxes and a plain
reason per face. The office tags faces, approves (naming who every face is: a record, or
"not a student"), or keeps a photo withheld. Thumbnails are made in memory for signed-in
users only, and kept in a bounded in-memory cache keyed by the photo's SHA-256.

Each photo is its own form, posting that photo's answers only, into a frame under its
buttons (``review_outcome.html``): the page around it never reloads, so what the officer
typed for the other photos stays, and a mistake in one photo's answers never holds up
another's (the workspace runs no script). The selected photos' bulk actions are one more
form, which the photos' checkboxes join by their `form` attribute."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from consent_registry.registry import Registry, RegistryError
from face_engine.model import NOBODY
from flask import Flask, Response, abort, g, redirect, request, url_for

from . import photos as photo_lib
from .audit import record as audit_record
from .web import Workspace

log = logging.getLogger(__name__)

PAGE_SIZE = 24
CLOSEST = 5
# How a "not a student" answer is kept among the review notes (a record id has no spaces).
NOT_STUDENT = "not a student: "
FILTERS = ("person", "article", "reason")


def register(app: Flask, ws: Workspace) -> None:
    gate = ws.gate
    content = ws.content
    today = ws.today
    open_registry = ws.open_registry
    flash = ws.flash
    page = ws.page
    report = ws.report
    office_only = ws.office_only
    people_by_id = ws.people_by_id
    revoked_dates = ws.revoked_dates
    waiting_images = ws.waiting_images
    thumbnails = ws.thumbnails

    def _filters(source) -> dict[str, str]:
        return {name: " ".join(source.get(name, "").split()) for name in FILTERS}

    def _page_number(source) -> int:
        text = source.get("page", "1")
        return max(1, int(text)) if text.isdigit() else 1

    def _queue_url(filters: dict, number: int, anchor: str = "") -> str:
        query = {k: v for k, v in filters.items() if v}
        if number > 1:
            query["page"] = number
        url = url_for("review") + (f"?{urlencode(query)}" if query else "")
        return url + (f"#{anchor}" if anchor else "")

    def _matches(image, filters: dict, tags: dict) -> bool:
        person = filters["person"].split(" ", 1)[0].casefold()
        if person:
            ids = {f.person_id for f in image.faces} | {f.built_person_id for f in image.faces}
            ids |= set(tags.get(image.sha256, {}).values())
            if person not in {i.casefold() for i in ids if i}:
                return False
        if filters["article"] and filters["article"] not in image.pages:
            return False
        if filters["reason"]:
            kinds = {f.kind for f in image.faces} or {"other"}
            if filters["reason"] not in kinds:
                return False
        return True

    def _queue(filters: dict, number: int, typed: dict | None = None, problems=(), status=200):
        """The queue page; `typed` holds the values a refused form sent, shown again."""
        built = report()
        registry = open_registry()
        if registry is not None:
            with registry:
                people = people_by_id(registry)
                revoked = revoked_dates(registry)
                waiting = waiting_images(registry, built)
                all_tags = g.accounts.all_tags()
                for image in waiting:
                    photo_lib.describe_faces(image, people, today(), revoked, built.built_at)
                shown, pages_total, number = _paged(waiting, filters, number, all_tags)
                snapshot = ws.snapshot(registry) if shown else None
                for image in shown:
                    detected = ws.matcher.faces(image.sha256) or []
                    for face in image.faces:
                        if face.person_id and face.ok:
                            continue
                        encoding = None
                        if face.number <= len(detected):
                            encoding = detected[face.number - 1].encoding
                        face.closest = ws.matcher.closest(snapshot, people, encoding, CLOSEST)
                        _withdrawn_lookalike(face, gate.tolerance)
        else:
            people, all_tags = {}, {}
            waiting = [photo_lib.as_of_now(i, None) for i in built.withheld]
            for image in waiting:
                photo_lib.describe_faces(image, {}, today(), {}, built.built_at)
            shown, pages_total, number = _paged(waiting, filters, number, all_tags)
        values = dict(typed or {})
        for image in shown:
            saved = all_tags.get(image.sha256, {})
            for face in image.faces:
                answer = saved.get(face.number) or face.person_id or ""
                other = answer.startswith(NOT_STUDENT)
                values.setdefault(f"tag-{image.sha256}-{face.number}", "" if other else answer)
                values.setdefault(
                    f"who-{image.sha256}-{face.number}", answer.removeprefix(NOT_STUDENT) * other
                )
        articles = sorted({p for image in waiting for p in image.pages})
        built_at = built.built_at
        later = [p for p in people.values() if built_at is not None and p.updated_at > built_at]
        return page(
            "review.html",
            status,
            title="Photos waiting for a decision",
            report=built,
            images=shown,
            total=len(waiting),
            matching=sum(1 for i in waiting if _matches(i, filters, all_tags)),
            tags={i.sha256: all_tags.get(i.sha256, {}) for i in shown},
            values=values,
            problems=list(problems),
            people=sorted(people.values(), key=lambda p: p.name),
            articles=articles,
            reasons=photo_lib.REASON_KINDS,
            filters=filters,
            page_number=number,
            pages_total=pages_total,
            queue_url=lambda n: _queue_url(filters, n),
            changed_since=later,
            kept=len(g.accounts.kept_withheld()),
            not_student=NOT_STUDENT,
        )

    def _paged(waiting: list, filters: dict, number: int, tags: dict):
        chosen = [i for i in waiting if _matches(i, filters, tags)]
        pages_total = max(1, -(-len(chosen) // PAGE_SIZE))
        number = min(number, pages_total)
        return chosen[(number - 1) * PAGE_SIZE : number * PAGE_SIZE], pages_total, number

    def _withdrawn_lookalike(face: photo_lib.Face, tolerance: float) -> None:
        """A face close to a withdrawn person reads as withdrawn, never as "not on file"."""
        for person, distance, withdrawn in face.closest:
            if withdrawn and distance <= tolerance and face.kind in ("not-on-file", "other"):
                face.plain = (
                    f"looks like {person.name} ({person.person_id}), whose consent was "
                    f"withdrawn (distance {distance:.2f})"
                )
                face.kind = "withdrawn"
                return

    # ------------------------------------------------------------ review queue

    @app.get("/review")
    def review() -> Response:
        return _queue(_filters(request.args), _page_number(request.args))

    @app.get("/thumb/<sha256>")
    def thumb(sha256: str) -> Response:
        try:  # the boxes come from the report: a new report, new thumbnails
            stat = gate.report_path.stat()
        except OSError:
            abort(404)
        key = (sha256, stat.st_mtime_ns, stat.st_size)
        data = thumbnails.get(key)
        if data is None:
            built = report()
            image = next((i for i in built.images if i.sha256 == sha256), None)
            if image is None:
                abort(404)
            boxes = [f.box for f in image.faces]
            photo = content.read(sha256)
            if photo is None:
                abort(404)
            try:
                data = photo_lib.thumbnail(photo, boxes)
            except Exception:  # noqa: BLE001 - e.g. a PDF: the page says so in words
                abort(404)
            thumbnails.put(key, data, len(data))
        return Response(data, mimetype="image/jpeg")

    def _typed_answers(images: dict, people: dict) -> tuple[dict, dict, list[str]]:
        """(typed values as sent, answers per photo {face: id or NOT_STUDENT text},
        problems) for every photo of the page."""
        typed: dict[str, str] = {}
        answers: dict[str, dict[int, str]] = {}
        problems = []
        for sha256, image in images.items():
            for face in image.faces:
                tag_field = f"tag-{sha256}-{face.number}"
                who_field = f"who-{sha256}-{face.number}"
                if tag_field not in request.form and who_field not in request.form:
                    continue
                value = request.form.get(tag_field, "").strip()
                who = " ".join(request.form.get(who_field, "").split())
                typed[tag_field], typed[who_field] = value, who
                if value and who:
                    problems.append(
                        f"face {face.number} of {image.name}: give a record or 'not a "
                        "student', not both"
                    )
                elif who:
                    answers.setdefault(sha256, {})[face.number] = NOT_STUDENT + who[:200]
                elif value:
                    person_id = value.split(" ", 1)[0]
                    if person_id not in people:
                        problems.append(
                            f"face {face.number} of {image.name}: there is no record "
                            f"{person_id!r} (type the id, e.g. S1024)"
                        )
                    else:
                        answers.setdefault(sha256, {})[face.number] = person_id
        return typed, answers, problems

    def _shows(image, answers: dict[int, str], people: dict) -> tuple[list, list, list]:
        """(records shown, not-a-student descriptions, problems) of one photo to approve:
        every face is a record or "not a student"; a face the gate recognises now is that
        person unless the office says otherwise."""
        shows, others, problems = [], [], []
        for face in image.faces:
            answer = answers.get(face.number)
            if answer is None and face.person_id:
                answer = face.person_id
            if answer is None:
                near = ", ".join(
                    f"{p.name} ({p.person_id}{', consent withdrawn' if w else ''}) at {d:.2f}"
                    for p, d, w in face.closest[:3]
                )
                problems.append(
                    f"{image.name}: face {face.number} ({face.plain}) matches no record with "
                    "consent: say who it is (a record, or 'not a student' with who they are)"
                    + (f"; the closest records are {near}" if near else "")
                )
            elif answer.startswith(NOT_STUDENT):
                others.append(f"face {face.number}: {answer.removeprefix(NOT_STUDENT)}")
            else:
                shows.append(answer)
        return list(dict.fromkeys(shows)), others, problems

    def _done(filters: dict, number: int, message: str) -> Response:
        """After an action: the photo's frame says what was done; the bulk form goes back
        to the queue with the message."""
        if _framed():
            return page(
                "review_outcome.html",
                title="Done",
                message=message,
                done=True,
                queue_url=_queue_url(filters, number),
            )
        flash(message)
        return redirect(_queue_url(filters, number), 303)

    def _framed() -> bool:
        framed = request.form.get("frame") == "1"
        if framed:
            g.framed_page = True  # its own frame-ancestors (app.headers)
        return framed

    @app.post("/review")
    @office_only
    def review_action() -> Response:
        filters = _filters(request.form)
        number = _page_number(request.form)
        # A photo's own buttons say "approve:<sha256>"; the bulk buttons act on the ticked ones.
        action, _, one = request.form.get("do", "").partition(":")
        if action not in ("tag", "approve", "keep"):
            abort(400)
        selected = [one] if one else request.form.getlist("image")
        reason_field = f"reason-{one}" if one else "reason"
        reason = " ".join(request.form.get(reason_field, "").split())
        actor = g.session.user.name
        built = report()
        with open_registry(create=True) as registry:
            people = people_by_id(registry)
            revoked = revoked_dates(registry)
            waiting = {i.sha256: i for i in waiting_images(registry, built)}
            for image in waiting.values():
                photo_lib.describe_faces(image, people, today(), revoked, built.built_at)
            typed, answers, problems = _typed_answers(waiting, people)
            for sha256 in waiting:
                if f"reason-{sha256}" in request.form:
                    typed[f"reason-{sha256}"] = request.form[f"reason-{sha256}"]
            unknown = [s for s in selected if s not in waiting]
            if not selected and action != "tag":
                problems.append("select at least one photo first")
            if unknown:
                problems.append(
                    "a photo is no longer waiting (decided meanwhile, or not in the last "
                    "build's report)"
                )
            if action == "approve" and not reason:
                problems.append("give the reason for the approval")
            if problems:
                return _refused(filters, number, typed, problems)
            saved = _save_tags(registry, answers, actor)
            if action == "tag":
                return _done(
                    filters, number, f"Saved {saved} tag(s). Approve the photo to publish it."
                )
            if action == "keep":
                for sha256 in selected:
                    g.accounts.keep_withheld(sha256, actor)
                    audit_record(
                        registry, actor, "keep-withheld", {"sha256": sha256, "reason": reason}
                    )
                return _done(
                    filters,
                    number,
                    f"Kept {len(selected)} photo(s) withheld"
                    + (f"; {saved} tag(s) saved" if saved else "")
                    + ". Decisions lists them, with undo.",
                )
            snapshot = ws.snapshot(registry)
            plans = []
            for sha256 in selected:
                image = waiting[sha256]
                detected = ws.matcher.faces(sha256) or []
                for face in image.faces:
                    if not (face.person_id and face.ok) and face.number <= len(detected):
                        face.closest = ws.matcher.closest(
                            snapshot, people, detected[face.number - 1].encoding, CLOSEST
                        )
                stored = {**g.accounts.tags(sha256)}
                shows, others, found = _shows(image, stored, people)
                problems += found
                plans.append((image, shows, others))
            if problems:
                return _refused(filters, number, typed, ["nothing was approved"] + problems)
            approved = []
            try:
                with registry.transaction():
                    for image, shows, others in plans:
                        registry.approve(
                            image.sha256,
                            by=actor,
                            reason=reason,
                            shows=shows,
                            not_student="; ".join(others),
                            label=image.name,
                            scope=gate.scope,
                        )
                        who = [_who(people, s) for s in shows] + [
                            f"not a student ({o})" for o in others
                        ]
                        approved.append(f"{image.name} (shows {', '.join(who) or NOBODY})")
            except RegistryError as exc:
                return _refused(filters, number, typed, [f"nothing was approved: {exc}"])
        return _done(
            filters,
            number,
            f"Approved {len(approved)} photo(s): {'; '.join(approved)}. They are published at "
            "the next build, while everyone they show keeps consent; Decisions lists them, "
            "with withdraw.",
        )

    def _refused(filters: dict, number: int, typed: dict, problems: list[str]) -> Response:
        text = ["Nothing was changed: " + "; ".join(problems) + "."]
        if _framed():  # what was typed is still in the page around the frame
            return page("review_outcome.html", 400, title="Nothing was changed", problems=text)
        return _queue(filters, number, typed, text, status=400)

    def _save_tags(registry: Registry, answers: dict, actor: str) -> int:
        saved = 0
        for sha256, faces in answers.items():
            stored = g.accounts.tags(sha256)
            for number, answer in faces.items():
                if stored.get(number) == answer:
                    continue
                g.accounts.tag_face(sha256, number, answer, actor)
                person_id = None if answer.startswith(NOT_STUDENT) else answer
                details = {"sha256": sha256, "face": number}
                if person_id is None:
                    details["not_student"] = answer.removeprefix(NOT_STUDENT)
                audit_record(registry, actor, "tag-face", details, person_id=person_id)
                saved += 1
        return saved

    def _who(people: dict, person_id: str) -> str:
        person = people.get(person_id)
        return f"{person.name} ({person_id})" if person else person_id
