"""Every decision the office made on a photo, listed and reversible: approvals (who, when,
why, who is shown, and whether it still holds) with withdraw, photos kept withheld with
undo, and photos the office took down one by one (``tasks.takedown_start_one``: from here
or from a record's page, also a photo published by consent) with "publish it again"."""

from __future__ import annotations

import logging
from types import SimpleNamespace

from consent_registry.registry import RegistryError
from flask import Flask, Response, abort, g, redirect, url_for

from .audit import record as audit_record
from .web import Workspace

log = logging.getLogger(__name__)


def register(app: Flask, ws: Workspace) -> None:
    open_registry = ws.open_registry
    flash = ws.flash
    page = ws.page
    office_only = ws.office_only

    @app.get("/decisions")
    def decisions() -> Response:
        from face_engine.decision import verdict_for_faces

        built = ws.report()
        names = {i.sha256: i.name for i in built.images}
        pages = {i.sha256: i.pages for i in built.images}
        approvals, people, holds = [], {}, []
        registry = open_registry()
        if registry is not None:
            with registry:
                holds = sorted(registry.photo_holds().values(), key=lambda h: h.at, reverse=True)
                people = ws.people_by_id(registry)
                snapshot = ws.snapshot(registry)
                given = sorted(registry.approvals().values(), key=lambda a: a.at, reverse=True)
                # The photos' faces from the face cache, matched as the review queue does.
                now = ws.matcher.verdicts(
                    [SimpleNamespace(sha256=a.sha256) for a in given], snapshot, ws.gate
                )
                for approval in given:
                    verdict = now.get(approval.sha256) or verdict_for_faces(
                        approval.sha256, [], snapshot, ws.gate
                    )
                    approvals.append(
                        {
                            "approval": approval,
                            "name": approval.label or names.get(approval.sha256, ""),
                            "pages": pages.get(approval.sha256, []),
                            "shows": [
                                f"{people[s].name} ({s})" if s in people else s
                                for s in approval.shows or ()
                            ],
                            "not_student": [f"not a student ({approval.not_student})"]
                            if approval.not_student
                            else [],
                            "holds": verdict.publish,
                            "why_not": "; ".join(verdict.reasons),
                        }
                    )
        kept = [
            {"sha256": sha, "name": names.get(sha, ""), "by": by, "at": at}
            for sha, (by, at) in sorted(
                g.accounts.kept_withheld().items(), key=lambda item: item[1][1], reverse=True
            )
        ]
        return page(
            "decisions.html",
            title="Decisions on photos",
            approvals=approvals,
            kept=kept,
            holds=holds,
            names=names,
        )

    def _sha(value: str) -> str:
        value = value.strip().lower()
        if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
            abort(404)
        return value

    @app.post("/decisions/approvals/<sha256>/withdraw")
    @office_only
    def approval_withdraw(sha256: str) -> Response:
        sha256 = _sha(sha256)
        with open_registry(create=True) as registry:
            label = getattr(registry.approvals().get(sha256), "label", "") or sha256[:12]
            try:
                registry.withdraw_approval(sha256, actor=g.session.user.name)
            except RegistryError as exc:
                flash(f"Nothing was changed: {exc}.")
                return redirect(url_for("decisions"), 303)
        flash(
            f"The approval of {label} was withdrawn: the photo is withheld from the next "
            "build on and taken down at the next publish (or take it down now)."
        )
        return redirect(url_for("decisions"), 303)

    @app.post("/decisions/held/<sha256>/release")
    @office_only
    def held_release(sha256: str) -> Response:
        """Undo a takedown of one photo: it is decided by its faces and approval again."""
        sha256 = _sha(sha256)
        with open_registry(create=True) as registry:
            try:
                registry.release_photo(sha256, actor=g.session.user.name)
            except RegistryError as exc:
                flash(f"Nothing was changed: {exc}.")
                return redirect(url_for("decisions"), 303)
        flash(
            "The photo is no longer held by the office: the next build publishes it again "
            "if everyone in it has consent (or its approval holds)."
        )
        return redirect(url_for("decisions"), 303)

    @app.post("/decisions/kept/<sha256>/undo")
    @office_only
    def kept_undo(sha256: str) -> Response:
        sha256 = _sha(sha256)
        actor = g.session.user.name
        if not g.accounts.undo_keep_withheld(sha256):
            flash("That photo is not kept withheld (undone meanwhile?): nothing was changed.")
            return redirect(url_for("decisions"), 303)
        with open_registry(create=True) as registry:
            audit_record(registry, actor, "undo-keep-withheld", {"sha256": sha256})
        flash("The photo is back in the review queue, waiting for a decision.")
        return redirect(url_for("decisions"), 303)
