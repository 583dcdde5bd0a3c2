"""The review queue: every withheld photo of the last build with numbered face boxes and a
plain reason per face; tag faces, approve (the approval names who is in it), keep withheld,
in bulk too. Thumbnails are made in memory for signed-in users only."""

from __future__ import annotations

import hashlib

from consent_registry.registry import (
    RegistryError,
)
from face_engine.model import NOBODY
from flask import Flask, Response, abort, g, redirect, request, url_for

from . import photos as photo_lib
from .audit import record as audit_record
from .web import Workspace


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
        photo = source.read_bytes()
        if hashlib.sha256(photo).hexdigest() != sha256:  # changed since it was indexed
            abort(404)
        try:
            data = photo_lib.thumbnail(photo, [f.box for f in image.faces])
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
                    day = ws.decision_day(registry, "the approval")
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
                                today=day,
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
