"""Decisions that hold over time and people, through Flask's test client and a real
registry: a save from an older form is refused (409) with what changed and the officer's
values shown again; consent given again is its own form; every approval and every "keep
withheld" is listed and can be undone; one approved photo can be taken down now."""

from __future__ import annotations

import io
import re
from datetime import date

import numpy as np
import pytest
from consent_office.accounts import Accounts, office_db_path
from consent_office.app import create_app
from consent_registry.registry import Registry

from tests.consent_office.conftest import csrf_of, sign_in
from tests.consent_office.test_records import one_face  # noqa: F401 - a fixture
from tests.consent_office.test_review_queue import template, withheld, write_report


def registry(office) -> Registry:
    return Registry.open(office.registry, office.key_file)


def edit_form(client, person_id: str) -> tuple[str, str]:
    """(CSRF token, version) of the record's edit form as the officer opens it."""
    html = client.get(f"/records/{person_id}/edit").get_data(as_text=True)
    return csrf_of(html), re.search(r'name="version" value="(\d+)"', html).group(1)


def details(token: str, version: str, **changes) -> dict:
    form = {
        "csrf_token": token,
        "version": version,
        "name": "Ana Gómez",
        "role": "student",
        "grade": "4",
        "scopes": ["website", "print", "social"],
        "expires": "",
    }
    form.update(changes)
    return form


def test_a_save_from_an_older_form_is_refused_and_the_narrowing_survives(client, office):
    with registry(office) as r:
        r.add("S1", "Ana Gómez", [template(1)], grade="4", scopes=["website", "print", "social"])
    other = create_app(office.settings).test_client()
    sign_in(client)
    sign_in(other)
    mine = edit_form(client, "S1")
    theirs = edit_form(other, "S1")
    assert mine[1] == theirs[1]
    # The colleague narrows the scopes to the website (the family withdrew print and social).
    narrowed = other.post("/records/S1/edit", data=details(*theirs, scopes=["website"]),
                          content_type="multipart/form-data")  # fmt: skip
    assert narrowed.status_code == 303
    # The older form, saved with a new end date, would put print and social back: refused.
    stale = client.post("/records/S1/edit", data=details(*mine, expires="2099-06-30"),
                        content_type="multipart/form-data")  # fmt: skip
    html = stale.get_data(as_text=True)
    assert stale.status_code == 409, html
    assert "changed since you opened it" in html and "m.chen" in html
    assert "2099-06-30" in html  # what the officer typed is shown again
    assert "website, print, social" in html  # ... beside the record as it is now
    with registry(office) as r:
        person = r.get("S1")
    assert person.scopes == ("website",) and person.expires is None
    # The form on the 409 page holds the record as it is now: saving it keeps the narrowing.
    token, version = csrf_of(html), re.search(r'name="version" value="(\d+)"', html).group(1)
    assert int(version) == person.version
    again = client.post("/records/S1/edit",
                        data=details(token, version, scopes=["website"], expires="2099-06-30"),
                        content_type="multipart/form-data")  # fmt: skip
    assert again.status_code == 303
    with registry(office) as r:
        assert r.get("S1").scopes == ("website",) and r.get("S1").expires == date(2099, 6, 30)


def test_withdrawing_from_an_older_page_is_refused(client, office):
    with registry(office) as r:
        r.add("S1", "Ana Gómez", [template(1)])
    sign_in(client)
    page = client.get("/records/S1/never-publish").get_data(as_text=True)
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    with registry(office) as r:
        r.add("S1", "Ana Gómez-Ruiz", [], replace=True, actor="k.lee")
    refused = client.post("/records/S1/never-publish",
                          data={"csrf_token": csrf_of(page), "version": version})  # fmt: skip
    assert refused.status_code == 409 and "k.lee" in refused.get_data(as_text=True)
    with registry(office) as r:
        assert not r.get("S1").never_publish


@pytest.mark.usefixtures("one_face")
def test_consent_given_again_is_its_own_form_never_an_edit(client, office):
    with registry(office) as r:
        r.add("S1", "Ana Gómez", [template(1)], grade="4", scopes=["website"])
        r.revoke("S1")
    sign_in(client)
    record = client.get("/records/S1").get_data(as_text=True)
    assert "Give consent again" in record
    edit = client.get("/records/S1/edit").get_data(as_text=True)
    assert "keeps it withdrawn" in edit
    # Saving the record with a new reference photo keeps the withdrawal.
    token, version = edit_form(client, "S1")
    form = details(token, version, scopes=["website"], photos=(io.BytesIO(b"1"), "new.jpg"))
    step = client.post("/records/S1/edit", data=form, content_type="multipart/form-data")
    assert step.status_code == 303, step.get_data(as_text=True)
    saved = client.post(step.headers["Location"], data={"csrf_token": token, "face-0": "1"})
    assert saved.status_code == 303
    with registry(office) as r:
        assert r.get("S1").status == "revoked" and r.get("S1").templates == 1
    form = client.get("/records/S1/consent-again").get_data(as_text=True)
    token = csrf_of(form)
    version = re.search(r'name="version" value="(\d+)"', form).group(1)
    form = {"csrf_token": token, "version": version, "given_on": "2026-12-01", "by": "Eva Gómez"}
    missing = client.post("/records/S1/consent-again", data=form)
    assert missing.status_code == 400 and 'value="Eva Gómez"' in missing.get_data(as_text=True)
    done = client.post(
        "/records/S1/consent-again", data={**form, "evidence": "signed form, office file 2026/14"}
    )
    assert done.status_code == 303
    with registry(office) as r:
        assert r.get("S1").status == "active"
        (entry,) = [e for e in r.audit_log("S1") if e.action == "reconsent"]
    assert entry.actor == "m.chen" and entry.details["given_by"] == "Eva Gómez"
    assert entry.details["evidence"] == "signed form, office file 2026/14"


def test_every_decision_is_listed_and_can_be_undone(client, office):
    with registry(office) as r:
        r.add("S1", "Ana Gómez", [template(1)])
    approved = withheld(office, 1, [(template(1), "S1"), (template(99), None)])
    kept = withheld(office, 2, [(template(98), None)])
    write_report(office, [approved, kept])
    with registry(office) as r:
        r.approve(approved["sha256"], by="k.lee", reason="family agreed by phone",
                  shows=["S1"], label="images/p1.png")  # fmt: skip
    with Accounts(office_db_path(office.registry)) as accounts:
        accounts.keep_withheld(kept["sha256"], "k.lee")
    sign_in(client)
    page = client.get("/decisions").get_data(as_text=True)
    row = page.split(f'id="approval-{approved["sha256"]}"')[1].split("</tr>")[0]
    assert "images/p1.png" in row and "k.lee" in row and "family agreed by phone" in row
    assert "Ana Gómez (S1)" in row and "published while everyone shown keeps consent" in row
    assert f'id="kept-{kept["sha256"]}"' in page
    token = csrf_of(page)
    # Undo "keep withheld": the photo waits in the review queue again.
    assert client.post(f"/decisions/kept/{kept['sha256']}/undo",
                       data={"csrf_token": token}).status_code == 303  # fmt: skip
    assert kept["sha256"] in client.get("/review").get_data(as_text=True)
    # Withdraw the approval: it is gone, audited with the officer's name.
    assert client.post(f"/decisions/approvals/{approved['sha256']}/withdraw",
                       data={"csrf_token": token}).status_code == 303  # fmt: skip
    with registry(office) as r:
        assert r.approvals() == {}
        actions = [(e.action, e.actor) for e in r.audit_log()]
    assert ("withdraw-approval", "m.chen") in actions
    assert ("undo-keep-withheld", "m.chen") in actions
    assert "No photo is approved" in client.get("/decisions").get_data(as_text=True)


def test_take_one_photo_down_now_queues_it_and_shows_its_state(client, office):
    with registry(office) as r:
        r.add("S1", "Ana Gómez", [template(1)])
    photo = withheld(office, 1, [(template(1) + np.full(128, 0.001), None)])
    write_report(office, [photo])
    with registry(office) as r:
        r.approve(photo["sha256"], by="k.lee", reason="ok", shows=["S1"], label="images/p1.png")
    sign_in(client)
    token = csrf_of(client.get("/decisions").get_data(as_text=True))
    form = {"csrf_token": token, "reason": "the family asked"}
    done = client.post(f"/takedown/photo/{photo['sha256']}", data=form)
    assert done.status_code == 303 and done.headers["Location"].endswith("/takedown?follow=1")
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "images/p1.png is taken down by the office" in page and "Queued" in page
    assert 'src="/takedown/status?follow=1"' in page
    # The framed state follows the request by itself, and can be stopped.
    status = client.get("/takedown/status?follow=1")
    html = status.get_data(as_text=True)
    assert "waiting for the scheduled publish" in html and 'http-equiv="refresh"' in html
    assert "Stop following" in html
    stopped = client.get("/takedown/status").get_data(as_text=True)
    assert 'http-equiv="refresh"' not in stopped and "Follow the progress here" in stopped
    assert "frame-ancestors 'self'" in status.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in client.get("/takedown").headers["Content-Security-Policy"]
    with registry(office) as r:
        assert list(r.photo_holds()) == [photo["sha256"]]  # held; the approval stays
        (queued,) = [e for e in r.audit_log() if e.action == "takedown-queued"]
    assert queued.details == {"sha256": photo["sha256"]}
