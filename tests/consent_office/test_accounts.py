"""Accounts and sessions of the workspace (Flask's test client: no browser needed): the
sign-in delays, session timeouts, CSRF on the sign-in form, the viewer role, `consent user
add`, import decoding and the scheduled takedown queue."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from consent_cli.cli import main
from consent_office.accounts import FREE_FAILURES, Accounts, office_db_path
from consent_registry.csv_files import decode
from consent_registry.registry import Registry
from consent_registry.sis_import import unknown_columns

from tests.consent_office.conftest import PASSWORD, VIEWER_PASSWORD, csrf_of, sign_in


def test_sign_in_waits_after_repeated_failures(client, office, monkeypatch):
    frozen = datetime.now(UTC).replace(microsecond=0)  # no second passes while it runs
    monkeypatch.setattr("consent_office.accounts._now", lambda: frozen)
    for _ in range(FREE_FAILURES):  # typos cost nothing...
        assert sign_in(client, password="wrong password!").status_code == 401
    refused = sign_in(client)  # ...then the next try waits, even with the right password
    assert refused.status_code == 429
    assert "Too many failed sign-ins" in refused.get_data(as_text=True)
    # Once the wait has passed, the right password works again.
    with Accounts(office_db_path(office.registry)) as accounts:
        old = (frozen - timedelta(hours=2)).isoformat()
        accounts.db.execute("UPDATE failures SET at = ?", (old,))
    assert sign_in(client).status_code == 303


def test_sign_in_form_needs_its_csrf_token_and_sessions_time_out(client, office):
    page = client.get("/login")
    csrf_of(page.get_data(as_text=True))
    refused = client.post("/login", data={"name": "m.chen", "password": PASSWORD})
    assert refused.status_code == 403
    assert sign_in(client).status_code == 303
    assert client.get("/records").status_code == 200
    with Accounts(office_db_path(office.registry)) as accounts:
        idle = (datetime.now(UTC) - timedelta(minutes=31)).isoformat()
        accounts.db.execute("UPDATE sessions SET seen_at = ?", (idle,))
    expired = client.get("/records")
    assert expired.status_code == 303 and "/login" in expired.headers["Location"]


def test_pages_are_never_cached_and_allow_no_script(client, office):
    sign_in(client)
    response = client.get("/")
    assert response.headers["Cache-Control"] == "no-store, private"
    assert "script-src" not in response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert "<script" not in response.get_data(as_text=True)


def test_a_viewer_may_look_but_not_change(client, office):
    assert sign_in(client, "v.iewer", VIEWER_PASSWORD).status_code == 303
    assert client.get("/records").status_code == 200
    form = client.get("/records").get_data(as_text=True)
    token = csrf_of(form)
    refused = client.post(
        "/records/new", data={"csrf_token": token, "person_id": "S1", "name": "A B"}
    )
    assert refused.status_code == 403
    assert "may look but not change" in refused.get_data(as_text=True)


def test_consent_user_add_hashes_the_password_and_audits(office, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough secret\n"))
    code = main(["user", "add", "j.doe", "--role", "viewer", "--password-stdin", "--by", "Ms Lee"])
    assert code == 0, capsys.readouterr().err
    with Accounts(office_db_path(office.registry)) as accounts:
        (stored,) = accounts.db.execute(
            "SELECT password FROM users WHERE name = 'j.doe'"
        ).fetchone()
    assert stored.startswith("$argon2id$") and "a long enough secret" not in stored
    with Registry.open(office.registry, office.key_file) as registry:
        entry = registry.audit_log()[-1]
    assert (entry.action, entry.actor, entry.details["user"]) == (
        "office-user-add",
        "Ms Lee",
        "j.doe",
    )
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["user", "add", "k.doe", "--role", "office", "--password-stdin"]) == 1
    assert "too short" in capsys.readouterr().err


def test_a_removed_account_is_signed_out_at_once(client, office, capsys):
    assert sign_in(client).status_code == 303
    assert client.get("/records").status_code == 200
    assert main(["user", "remove", "m.chen", "--by", "Ms Lee"]) == 0
    gone = client.get("/records")
    assert gone.status_code == 303 and "/login" in gone.headers["Location"]
    assert sign_in(client).status_code == 401
    assert main(["user", "remove", "m.chen"]) == 1
    assert "there is no account m.chen" in capsys.readouterr().err
    with Registry.open(office.registry, office.key_file) as registry:
        (entry,) = [e for e in registry.audit_log() if e.action == "office-user-remove"]
    assert (entry.action, entry.actor, entry.details) == (
        "office-user-remove",
        "Ms Lee",
        {"user": "m.chen"},
    )


def test_import_reads_every_spreadsheet_encoding_and_names_unknown_columns():
    text = 'Student_Number,LastFirst,Photo Release,Homeroom\nS1,"Gómez, Ana",Y,12B\n'
    for raw, expected in (
        (text.encode("utf-8"), "UTF-8"),
        (b"\xef\xbb\xbf" + text.encode("utf-8"), "UTF-8"),
        (text.encode("cp1252"), "Windows-1252"),
    ):
        decoded, encoding = decode(raw)
        assert decoded == text and encoding == expected
    assert unknown_columns(["Student_Number", "LastFirst", "Photo Release", "Homeroom"]) == [
        "Homeroom"
    ]


def test_import_preview_then_apply_all_at_once(client, office):
    import numpy as np

    with Registry.open(office.registry, office.key_file) as registry:
        registry.add("S1", "Ana Gómez", [np.random.default_rng(3).normal(0, 0.1, 128)])
    sign_in(client)
    token = csrf_of(client.get("/import").get_data(as_text=True))
    export = 'Student_Number,LastFirst,Photo Release,Homeroom\r\nS1,"Gómez, Ana",N,12B\r\n'
    preview = client.post(
        "/import",
        data={"csrf_token": token, "csv": (io.BytesIO(export.encode("cp1252")), "sis.csv")},
        content_type="multipart/form-data",
    )
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200, html
    assert "Windows-1252" in html and "Homeroom" in html and "withdraw consent" in html
    with Registry.open(office.registry, office.key_file) as registry:
        assert registry.get("S1").status == "active"  # nothing saved by the preview
    apply_url = html.split('action="/import/', 1)[1].split('"', 1)[0]
    applied = client.post(f"/import/{apply_url}", data={"csrf_token": token})
    assert applied.status_code == 303
    with Registry.open(office.registry, office.key_file) as registry:
        assert registry.get("S1").status == "revoked"
        assert registry.audit_log()[-1].actor == "m.chen"


def test_a_queued_takedown_shows_when_the_scheduled_publish_ran(client, office, capsys):
    sign_in(client)
    token = csrf_of(client.get("/takedown").get_data(as_text=True))
    assert client.post("/takedown", data={"csrf_token": token}).status_code == 303
    status = client.get("/takedown/status?follow=1").get_data(as_text=True)  # in /takedown
    assert "waiting for the scheduled publish" in status
    assert '<meta http-equiv="refresh"' in status  # it follows the request by itself
    assert "Stop following" in status
    assert main(["takedowns-ran", "--starting"]) == 0  # the scheduled publish starts
    # A request made while it runs waits for the next publish.
    assert client.post("/takedown", data={"csrf_token": token}).status_code == 303
    assert main(["takedowns-ran"]) == 0  # ... and finishes
    page = client.get("/takedown/status").get_data(as_text=True)
    assert page.count("published by the scheduled publish") == 1
    assert page.count("waiting for the scheduled publish") == 1


def test_the_workspace_hashes_with_argon2id_at_rfc_9106_strength():
    """The tests sign in with cheap hashes (conftest.QUICK_HASHER); the workspace does not:
    argon2id with argon2-cffi's defaults, at least RFC 9106's second recommended choice
    (64 MiB, 3 passes, 4 lanes)."""
    from argon2 import PasswordHasher, Type

    from tests.consent_office.conftest import WORKSPACE_HASHER

    defaults = PasswordHasher()
    assert WORKSPACE_HASHER.type is Type.ID
    assert (WORKSPACE_HASHER.memory_cost, WORKSPACE_HASHER.time_cost) == (
        defaults.memory_cost,
        defaults.time_cost,
    )
    assert WORKSPACE_HASHER.memory_cost >= 64 * 1024 and WORKSPACE_HASHER.time_cost >= 3
    assert WORKSPACE_HASHER.parallelism >= 4
