"""The consent office's workspace in the real Debian Chromium (Playwright), served by waitress
on a free loopback port: sign-in and refusals, adding a student by picking a face, the
review queue, revoke and takedown against a real SeaweedFS bucket, and axe-core (WCAG 2.1
AA) on every page at 1280 and 375 px."""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from consent_registry.registry import Registry
from face_engine import faces
from face_engine.model import sha256_bytes
from playwright.sync_api import expect

from tests.browser import AXE, AXE_RUN, WCAG_TAGS
from tests.conftest import SHARED_FACES
from tests.consent_office.conftest import PASSWORD, serving

pytestmark = pytest.mark.browser

KIT_AND_ROSE = SHARED_FACES / "groups" / "kit_and_rose.jpg"
# Words of letters that the layout broke across two lines (ids, hashes and paths may wrap).
BROKEN_WORDS = r"""() => {
  const broken = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const element = node.parentElement;
    if (!element || element.closest("pre, code, .log, .skip")) continue;
    const words = /\p{L}{2,24}/gu;
    let word;
    while ((word = words.exec(node.data))) {
      const range = document.createRange();
      range.setStart(node, word.index);
      range.setEnd(node, word.index + word[0].length);
      const lines = new Set(
        Array.from(range.getClientRects()).filter(r => r.width > 0).map(r => Math.round(r.top)));
      if (lines.size > 1) broken.push(`${word[0]} (in ${element.tagName.toLowerCase()})`);
    }
  }
  return broken.slice(0, 10);
}"""


def click_and_wait(page, selector: str, frame: str | None = None) -> None:
    """Click what sends a form or follows a link and wait until the document it opens (in
    the page, or in its frame named `frame`) has loaded. A read straight after a bare click
    may see the page before (whose h1 or main is there too) or a page half parsed: a
    locator's count() found 3 of the next page's 5 photos once."""
    target = page if frame is None else page.frame(name=frame)
    with target.expect_navigation():
        page.click(selector)


def sign_in(page, url: str, user: str = "m.chen", password: str = PASSWORD) -> None:
    page.goto(url + "/login")
    page.fill("#name", user)
    page.fill("#password", password)
    click_and_wait(page, "button:has-text('Sign in')")


def image_width(page) -> int:
    """The natural width of the first photo on the page, once it has loaded (0: broken)."""
    # Polled from here: a predicate run in the page would need eval, which the CSP forbids.
    deadline = time.monotonic() + 10
    while not page.evaluate("document.querySelector('section.photo img').complete"):
        assert time.monotonic() < deadline, "the photo never finished loading"
        time.sleep(0.05)
    return page.evaluate("document.querySelector('section.photo img').naturalWidth")


def status_of(url: str, data: bytes | None = None) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


def write_report(office, images: list[dict]) -> None:
    office.report.parent.mkdir(parents=True, exist_ok=True)
    office.report.write_text(
        json.dumps({"generated_at": "2026-11-26T06:00:00+00:00", "images": images}),
        encoding="utf-8",
    )


def face_entry(box, person_id=None, ok=False, reason="unknown face (no consent records)"):
    return {
        "box": {"top": box.top, "right": box.right, "bottom": box.bottom, "left": box.left},
        "person_id": person_id,
        "ok": ok,
        "reason": reason,
    }


# The fixed photos' faces, found once a module: each takes 1 to 3 s of face detection, and
# several tests enrol or show the same photos. The workspace's own uploads are not cached.
@functools.cache
def templates_of(photo: Path) -> tuple:
    return tuple(faces.reference_templates(photo.read_bytes(), photo.name))


@functools.cache
def faces_of(photo: Path) -> tuple:
    return tuple(faces.reference_faces(photo.read_bytes()))


def add_person(office, person_id: str, name: str, photo: Path, **extra) -> None:
    with Registry.open(office.registry, office.key_file) as registry:
        registry.add(person_id, name, list(templates_of(photo)), actor="test set-up", **extra)


def withheld_photo(office, source: Path, name: str) -> dict:
    """A photo in the content folder, withheld by the last build (its report entry)."""
    target = office.content / "images" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    data = target.read_bytes()
    boxes = [f.box for f in faces_of(source)]
    return {
        "path": f"images/{name}",
        "output_path": f"images/{name}",
        "sha256": sha256_bytes(data),
        "verdict": "withhold",
        "kind": "raster",
        "reasons": ["face at (0,0): unknown face"],
        "pages": ["news/2026/field-day/index.html"],
        "faces": [face_entry(b) for b in boxes],
    }


def test_sign_in_csrf_and_refusals(served, browser, office):
    # Without a session: pages send to the sign-in, everything else is refused.
    assert status_of(served + "/thumb/" + "a" * 64) == 401
    assert status_of(served + "/uploads/x/0") == 401
    assert status_of(served + "/records/new", data=b"person_id=S9&name=X") == 401
    context = browser.new_context()
    page = context.new_page()
    page.goto(served + "/records")
    assert page.url.startswith(served + "/login")
    page.fill("#name", "m.chen")
    page.fill("#password", "not the password")
    click_and_wait(page, "button:has-text('Sign in')")
    assert "not right" in page.inner_text(".problem")
    page.fill("#name", "m.chen")
    page.fill("#password", PASSWORD)
    click_and_wait(page, "button:has-text('Sign in')")
    assert page.url == served + "/records"  # back where they were going
    (cookie,) = [c for c in context.cookies() if c["name"] == "office_session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    # A form whose CSRF token was taken out is refused and changes nothing.
    page.goto(served + "/records/new")
    page.evaluate(
        "document.querySelectorAll('main input[name=csrf_token]').forEach(e => e.remove())"
    )
    page.fill("#person_id", "S9")
    page.fill("#name", "Nobody Here")
    page.set_input_files("#photos", str(SHARED_FACES / "people" / "obama" / "obama1.jpg"))
    click_and_wait(page, "button[type=submit]:has-text('Next')")
    assert page.inner_text("h1") == "The form was refused"
    with Registry.open(office.registry, office.key_file) as registry:
        assert registry.get("S9") is None
    # Signing out ends the session on the server, not only in the browser.
    page.goto(served + "/")
    click_and_wait(page, "button:has-text('Sign out')")
    context.add_cookies([{"name": cookie["name"], "value": cookie["value"], "url": served}])
    page.goto(served + "/records")
    assert page.url.startswith(served + "/login")
    context.close()


@functools.cache
def kit_face_number() -> int:
    """Which of the two faces of kit_and_rose.jpg is Kit's (closest to his portrait)."""
    found = faces_of(KIT_AND_ROSE)
    usable = [f.number for f in found if f.usable]
    assert len(usable) == 2
    kit = kit_templates()
    distance = {
        n: min(
            float(np.linalg.norm(a - b))
            for a in faces.reference_templates(KIT_AND_ROSE.read_bytes(), face=n)
            for b in kit
        )
        for n in usable
    }
    return min(distance, key=distance.get)


def kit_templates() -> tuple:
    return templates_of(SHARED_FACES / "people" / "kit_harington" / "kit1.jpg")


def test_add_a_student_by_picking_one_of_two_faces(served, browser, office):
    kits_face = kit_face_number()
    kit = kit_templates()

    page = browser.new_page()
    sign_in(page, served)
    click_and_wait(page, "text=Add a student")
    page.fill("#person_id", "S1001")
    page.fill("#name", "Kit Harington")
    page.fill("#grade", "5")
    page.set_input_files("#photos", str(KIT_AND_ROSE))
    click_and_wait(page, "button:has-text('Next: check the faces')")
    assert page.inner_text("h1") == "Check the faces"
    # Both faces are offered, neither is chosen for the office: saving without a choice asks.
    radios = page.locator("input[type=radio]:not([disabled])")
    assert radios.count() == 2
    assert page.locator("input[type=radio]:checked").count() == 0
    assert image_width(page) > 0
    click_and_wait(page, "button:has-text('Save Kit Harington')")
    assert "choose the student's face" in page.inner_text(".problem")
    page.check(f"#face-0-{kits_face}")
    click_and_wait(page, "button:has-text('Save Kit Harington')")
    assert "Added Kit Harington (S1001)" in page.inner_text(".notice")
    with Registry.open(office.registry, office.key_file) as registry:
        person = registry.get("S1001")
        assert person.grade == "5" and person.templates >= 1
        (entry,) = [e for e in registry.audit_log("S1001") if e.action == "add"]
        assert entry.actor == "m.chen"
        (record,) = registry.snapshot(registry_today()).records
    closest = min(float(np.linalg.norm(a - b)) for a in record.encodings for b in kit)
    assert closest < 0.5  # Kit's face was enrolled, not Rose's
    # The search finds the record by grade.
    page.goto(served + "/records?q=grade+5")
    assert page.locator("td a:has-text('S1001')").count() == 1
    page.close()


def registry_today():
    from datetime import date

    return date.today()


def test_review_a_withheld_photo_and_tag_its_face(served, browser, office):
    add_person(office, "S2002", "Rose Leslie", SHARED_FACES / "people/rose_leslie/rose2.jpg")
    image = withheld_photo(office, SHARED_FACES / "people/rose_leslie/rose1.jpg", "rose.jpg")
    write_report(office, [image])
    thumb = f"{served}/thumb/{image['sha256']}"
    assert status_of(thumb) == 401

    page = browser.new_page()
    sign_in(page, served)
    assert page.inner_text(".cards li:first-child .count") == "1"  # waiting on the home page
    click_and_wait(page, "nav >> text=Photos to review")
    assert "Face 1: not on file" in page.inner_text("section.photo")
    assert image_width(page) > 0
    assert status_of(thumb) == 401  # still refused without the session
    sha = image["sha256"]
    page.fill(f"[id='tag-{sha}-1']", "S2002")
    page.fill(f"[id='reason-{sha}']", "Rose's family agreed by phone")
    click_and_wait(page, "button:has-text('Approve and publish')", frame=f"outcome-{sha}")
    outcome = page.frame_locator(f"iframe[name='outcome-{sha}']").locator(".notice")
    assert "Approved 1 photo(s): images/rose.jpg (shows Rose Leslie (S2002))" in (
        outcome.inner_text()
    )
    with page.expect_navigation():  # the frame's link opens the queue in the whole page
        page.frame_locator(f"iframe[name='outcome-{sha}']").locator("text=Reload the queue").click()
    assert "No" not in page.inner_text("main h1")
    assert page.locator("section.photo").count() == 0  # no longer waiting
    with Registry.open(office.registry, office.key_file) as registry:
        approval = registry.approvals()[sha]
        actions = [(e.action, e.actor) for e in registry.audit_log()]
        assert not registry.verify_audit()
    assert approval.shows == ("S2002",) and approval.by == "m.chen"
    assert ("tag-face", "m.chen") in actions and ("approve", "m.chen") in actions
    assert not (office.root / "output").exists()  # no thumbnail was written anywhere
    page.close()


@pytest.mark.s3
def test_revoke_then_take_down_from_the_bucket(office, browser, local_s3, s3_bucket, monkeypatch):
    from tests.publish.publish_helpers import PAGES_AND_ASSETS, gate_manifest, write_site

    for key, value in local_s3.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    photo = "images/gallery/obama2.jpg"
    output = write_site(office.root / "output", PAGES_AND_ASSETS)
    (output / photo).parent.mkdir(parents=True)
    shutil.copyfile(SHARED_FACES / "people/obama/obama2.jpg", output / photo)
    manifest = gate_manifest(output)
    conf = office.root / "publishconf.py"
    conf.write_text(
        f"S3_BUCKET = {s3_bucket!r}\nOUTPUT_PATH = {str(output)!r}\n"
        f"CONSENT_MANIFEST_PATH = {str(manifest)!r}\n"
        f"CONSENT_CACHE_DIR = {str(office.root / 'cache')!r}\nPLUGINS = ['consent_gate']\n"
    )
    add_person(office, "S1001", "Sam Student", SHARED_FACES / "people/obama/obama1.jpg")
    data = (output / photo).read_bytes()
    (box,) = [f.box for f in faces_of(SHARED_FACES / "people/obama/obama2.jpg")]
    published = {
        "path": photo,
        "output_path": photo,
        "sha256": sha256_bytes(data),
        "verdict": "publish",
        "kind": "raster",
        "reasons": ["all 1 face(s) have consent on file"],
        "pages": ["news/2026/garden-beds/index.html"],
        "faces": [face_entry(box, "S1001", True, "matched S1001 (consent on file)")],
    }
    write_report(office, [published])
    publish = [sys.executable, "-m", "s3_publish", "--settings", str(conf), "--quiet"]
    first = subprocess.run(publish, cwd=office.root, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert photo in keys(local_s3, s3_bucket)

    settings = replace(office.settings, takedown="run", publish_settings=conf)
    with serving(settings) as served:
        page = browser.new_page()
        sign_in(page, served)
        page.goto(served + "/records/S1001")
        click_and_wait(page, "a:has-text('Withdraw consent')")
        affected = page.inner_text("ul.showing")
        assert f"{photo}, on news/2026/garden-beds/index.html" in affected
        assert "taken down from the website at the next publish" in affected
        click_and_wait(page, "button:has-text('Withdraw consent')")
        assert "Consent withdrawn: Sam Student (S1001)" in page.inner_text(".notice")
        page.goto(served + "/takedown")
        click_and_wait(page, "button:has-text('Run the takedown publish now')")
        # The progress follows the publish in its frame, without reloading the page. The
        # frame reloads itself every 3 s until the run ends: read its end state, retried,
        # never a reload half parsed.
        status = page.frame_locator("iframe.status-frame").locator("main")
        expect(status).to_contain_text(re.compile(r"Finished at|Failed \(code"), timeout=180_000)
        text = status.inner_text()
        assert "Finished" in text, text
        assert f"takedown {photo}" in status.locator("pre.log").inner_text()
        page.close()
    assert photo not in keys(local_s3, s3_bucket)
    assert "index.html" in keys(local_s3, s3_bucket)  # only the photo came down
    with Registry.open(office.registry, office.key_file) as registry:
        actions = {(e.action, e.actor) for e in registry.audit_log()}
    assert {("revoke", "m.chen"), ("takedown-run", "m.chen")} <= actions


def keys(local_s3, bucket: str) -> set[str]:
    pages = local_s3.client().get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {o["Key"] for p in pages for o in p.get("Contents", [])}


def test_every_page_passes_axe_at_1280_and_375(served, browser, office, tmp_path):
    from datetime import date, timedelta

    add_person(
        office,
        "S2002",
        "Rose Leslie",
        SHARED_FACES / "people/rose_leslie/rose2.jpg",
        grade="7",
        expires=date.today() + timedelta(days=10),
    )
    image = withheld_photo(office, KIT_AND_ROSE, "group.jpg")
    write_report(office, [image])
    csv_file = tmp_path / "students.csv"
    csv_file.write_bytes(
        (
            "Student_Number,LastFirst,Photo Release,Homeroom\n"
            'S2002,"Leslie, Rose",N,12B\nS9999,"Núñez, Inés",N,3A\n'
        ).encode("cp1252")
    )
    # Kit on file already, so saving Kit's face from the group photo shows the look-alike page.
    add_person(office, "S4004", "Kit Harington", SHARED_FACES / "people/kit_harington/kit1.jpg")
    kits_face = kit_face_number()
    with Registry.open(office.registry, office.key_file) as registry:
        registry.add("R1", "Leaving Student", [np.random.default_rng(1).normal(0, 0.1, 128)])
        # Long words in a table at 375 px: wrapped between words, never inside one.
        registry.add(
            "S5005",
            "Maximiliana Featherstonehaugh-Worthington",
            [np.random.default_rng(3).normal(0, 0.1, 128)],
            grade="Kindergarten",
            expires=date.today() + timedelta(days=20),
        )

    def visit(path):
        return lambda p: p.goto(served + path)

    def upload_faces(p):
        p.goto(served + "/records/new")
        p.fill("#person_id", "S3003")
        p.fill("#name", "Kit Harington")
        p.set_input_files("#photos", str(KIT_AND_ROSE))
        click_and_wait(p, "button:has-text('Next')")

    def import_preview(p):
        p.goto(served + "/import")
        p.set_input_files("#csv", str(csv_file))
        click_and_wait(p, "button:has-text('Show the changes')")

    def look_alike(p):
        p.check(f"#face-0-{kits_face}")
        click_and_wait(p, "button:has-text('Save Kit Harington')")
        assert "Kit Harington (S4004)" in p.inner_text(".problem")

    def queue_takedown(p):
        p.goto(served + "/takedown")
        click_and_wait(p, "button:has-text('Queue a takedown')")
        # The frame follows the queued takedown, reloading itself every 3 s: a retried read.
        frame = p.frame_locator("iframe.status-frame")
        expect(frame.locator("table")).to_contain_text("waiting for the scheduled publish")

    def remove_record(p):
        p.goto(f"{served}/records/R1/remove")
        click_and_wait(p, "button:has-text('Remove the record')")
        assert p.inner_text("h1") == "Removed: Leaving Student"

    def refused(p):
        p.goto(served + "/records/new")
        p.evaluate(
            "document.querySelectorAll('main input[name=csrf_token]').forEach(e => e.remove())"
        )
        p.fill("#person_id", "S9")
        p.fill("#name", "X")
        # A photo, or the browser itself stops the form (the field is required) and axe
        # would check the blank form again.
        p.set_input_files("#photos", str(SHARED_FACES / "people" / "obama" / "obama1.jpg"))
        click_and_wait(p, "button[type=submit]:has-text('Next')")
        assert p.inner_text("h1") == "The form was refused"

    # Each page is opened once and checked at both widths, resized in between (the CSS's
    # media queries apply on a resize): one pass through the flows instead of one a width
    # halves the workspace's face detection (the group photo's upload and save). Each page
    # is opened at the width the one before ended on, so half the pages are opened at
    # 375 px and half resized to it. Run alone on a busy two-core machine, the test took
    # 90 and 108 s (26 and 28 CPU-s) with a pass a width, 44 and 56 s (17 and 19) so.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = context.new_page()
    widths = (1280, 375)
    problems = []
    for name, go in (
        ("login", visit("/login")),
        ("sign in", lambda p: sign_in(p, served)),
        ("home", visit("/")),
        ("records", visit("/records")),
        ("search", visit("/records?q=zzz")),
        ("search by name", visit("/records?q=leslie+rose")),
        ("record", visit("/records/S2002")),
        ("edit", visit("/records/S2002/edit")),
        ("revoke", visit("/records/S2002/revoke")),
        ("never publish", visit("/records/S2002/never-publish")),
        ("remove", visit("/records/S2002/remove")),
        ("new", visit("/records/new")),
        ("faces", upload_faces),
        ("look-alike", look_alike),
        ("review", visit("/review")),
        ("decisions", visit("/decisions")),
        ("takedown progress", visit("/takedown/status")),
        ("takedown", visit("/takedown")),
        ("expiring", visit("/expiring")),
        ("audit", visit("/audit")),
        ("import", visit("/import")),
        ("import preview", import_preview),
        ("refused form", refused),
        ("not found", visit("/records/NOPE")),
        ("takedown queued", queue_takedown),
        ("removed", remove_record),
    ):
        go(page)
        if name == "sign in":
            continue
        page.add_script_tag(path=str(AXE))
        for width in widths:
            page.set_viewport_size({"width": width, "height": 900})
            for violation in page.evaluate(AXE_RUN, WCAG_TAGS):
                problems.append((width, name, page.url, violation))
            scroll = page.evaluate("document.documentElement.scrollWidth")
            if scroll > width + 1:
                problems.append((width, name, page.url, f"scrolls sideways ({scroll} px)"))
            broken = page.evaluate(BROKEN_WORDS)
            if broken:
                problems.append((width, name, page.url, f"words broken mid-word: {broken}"))
        widths = widths[::-1]
    context.close()
    assert not problems, json.dumps(problems, indent=1, default=str)


def test_consent_serve_starts_on_loopback_and_stops(office):
    """`consent serve` as the office starts it: 127.0.0.1 unless told otherwise."""
    import re
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "consent_cli.cli", "serve", "--port", str(port)],
        cwd=office.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        line = server.stdout.readline()
        assert re.search(rf"http://127\.0\.0\.1:{port}/", line), line
        from consent_office.app import wait_for

        wait_for(f"http://127.0.0.1:{port}/login")
        assert status_of(f"http://127.0.0.1:{port}/login") == 200
        assert status_of(f"http://127.0.0.1:{port}/") == 200  # the sign-in page, redirected
        assert status_of(f"http://127.0.0.1:{port}/audit.csv", data=b"") == 401
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_two_officers_an_older_form_is_refused_and_the_narrowing_survives(served, browser, office):
    from consent_office.accounts import Accounts, office_db_path

    from tests.consent_office.test_review_queue import template

    with Registry.open(office.registry, office.key_file) as registry:
        registry.add("S1", "Ana Gómez", [template(1)], scopes=["website", "print", "social"])
    with Accounts(office_db_path(office.registry)) as accounts:
        accounts.add_user("k.lee", "office", "quiet orange harbour lantern")
    first, second = browser.new_context(), browser.new_context()
    mine, theirs = first.new_page(), second.new_page()
    sign_in(mine, served)
    sign_in(theirs, served, "k.lee", "quiet orange harbour lantern")
    mine.goto(served + "/records/S1/edit")
    theirs.goto(served + "/records/S1/edit")
    # k.lee narrows the scopes to the website: the family withdrew print and social.
    theirs.uncheck("#scope-print")
    theirs.uncheck("#scope-social")
    click_and_wait(theirs, "button:has-text('Save')")
    assert "Updated Ana Gómez (S1)" in theirs.inner_text(".notice")
    # m.chen saves the form opened earlier, with a new end date: refused with what changed.
    mine.fill("#expires", "2099-06-30")
    with mine.expect_navigation() as saved:
        mine.click("button:has-text('Save')")
    assert saved.value.status == 409
    alert = mine.inner_text("[role=alert]")
    assert "changed since you opened it" in alert and "k.lee" in alert
    typed = mine.inner_text("table")  # nothing typed is lost: shown beside the record now
    assert "Consent ends on\t2099-06-30\t(empty)" in typed
    assert "Where the photos may be used\twebsite, social, print\twebsite" in typed
    assert not mine.is_checked("#scope-print")  # the form holds the record as it is now
    with Registry.open(office.registry, office.key_file) as registry:
        person = registry.get("S1")
    assert person.scopes == ("website",) and person.expires is None
    first.close()
    second.close()


def test_the_review_queue_in_pages_one_form_per_photo(served, browser, office):
    """Each photo is its own form: pressing photo B's button sends B's answers only, and
    what the officer typed for photo A stays in the page (nothing reloads it), even a
    mistake in A, which never holds up B."""
    from consent_office.accounts import Accounts, office_db_path

    from tests.consent_office.test_review_queue import template, withheld
    from tests.consent_office.test_review_queue import write_report as write_queue

    with Registry.open(office.registry, office.key_file) as registry:
        registry.add("S1", "Ana Gómez", [template(1)])
    images = [withheld(office, n, [(template(500 + n), None)]) for n in range(30)]
    write_queue(office, images)
    context = browser.new_context(bypass_csp=True)  # axe is injected as an inline script
    page = context.new_page()
    sign_in(page, served)
    page.goto(served + "/review")
    assert page.locator("section.photo").count() == 24
    assert page.locator("section.photo img[loading=lazy]").count() == 24
    assert image_width(page) > 0
    a, b, c = (page.locator("section.photo").nth(i).get_attribute("id")[6:] for i in (0, 1, 2))
    page.fill(f"[id='tag-{a}-1']", "S1")
    page.fill(f"[id='reason-{a}']", "Ana's mother agreed")
    page.fill(f"[id='tag-{c}-1']", "S99")  # a typo in photo C
    page.fill(f"[id='reason-{b}']", "a stock photo")
    click_and_wait(page, f"#photo-{b} button:has-text('Keep withheld')", frame=f"outcome-{b}")
    outcome = page.frame_locator(f"iframe[name='outcome-{b}']").locator(".notice")
    assert outcome.inner_text() == "Kept 1 photo(s) withheld. Decisions lists them, with undo."
    for width in (1280, 375):  # the page with its answered frame, and the frame itself
        page.set_viewport_size({"width": width, "height": 900})
        for document in (page, page.frame(name=f"outcome-{b}")):
            document.add_script_tag(path=str(AXE))
            assert document.evaluate(AXE_RUN, WCAG_TAGS) == [], (width, document.url)
            scroll = document.evaluate("document.documentElement.scrollWidth")
            assert scroll <= document.evaluate("window.innerWidth"), (width, document.url)
    # Everything typed for A and C is still there, and was not sent with B's form.
    assert page.input_value(f"[id='tag-{a}-1']") == "S1"
    assert page.input_value(f"[id='reason-{a}']") == "Ana's mother agreed"
    assert page.input_value(f"[id='tag-{c}-1']") == "S99"
    with Accounts(office_db_path(office.registry)) as accounts:
        assert accounts.tags(a) == {} and set(accounts.kept_withheld()) == {b}
    # A's own button: A's answers, from the page as typed.
    click_and_wait(page, f"#photo-{a} button:has-text('Save the tags')", frame=f"outcome-{a}")
    saved = page.frame_locator(f"iframe[name='outcome-{a}']").locator(".notice")
    assert saved.inner_text().startswith("Saved 1 tag(s).")
    with Accounts(office_db_path(office.registry)) as accounts:
        assert accounts.tags(a) == {1: "S1"}
    page.goto(served + "/review")
    assert page.locator(f"#photo-{b}").count() == 0
    click_and_wait(page, "text=Next page")
    assert page.locator("section.photo").count() == 5  # 29 waiting, 24 on the first page
    context.close()


def test_take_one_consented_photo_down_from_its_record_page(served, browser, office):
    """A photo published because everyone in it has consent comes down on its own, from
    the record page; its state follows on the takedown page without a reload, Decisions
    lists it with undo, and both pages pass axe at 1280 and 375 px."""
    from tests.consent_office.test_review_queue import template
    from tests.consent_office.test_review_queue import write_report as write_queue
    from tests.consent_office.test_takedown_one_photo import published

    with Registry.open(office.registry, office.key_file) as registry:
        registry.add("S1", "Ana Gómez", [template(1)])
    photo = published(office, 1, template(1) + np.full(128, 0.001))
    write_queue(office, [photo])
    context = browser.new_context(bypass_csp=True)  # axe is injected as an inline script
    page = context.new_page()
    sign_in(page, served)

    def axe_clean(path: str) -> None:
        page.goto(served + path)  # once: the same document, resized, at each width
        page.add_script_tag(path=str(AXE))
        for width in (1280, 375):
            page.set_viewport_size({"width": width, "height": 900})
            assert page.evaluate(AXE_RUN, WCAG_TAGS) == [], (width, path)
            scroll = page.evaluate("document.documentElement.scrollWidth")
            assert scroll <= width + 1, (width, path, scroll)

    axe_clean("/records/S1")
    page.fill(f"[id='why-{photo['sha256']}']", "the family asked for this photo")
    click_and_wait(page, "button:has-text('Take this photo down now')")
    assert "images/p1.png is taken down by the office" in page.inner_text(".notice")
    # The frame follows the queued takedown, reloading itself every 3 s: retried reads.
    frame = page.frame_locator("iframe.status-frame")
    expect(frame.locator("table")).to_contain_text("waiting for the scheduled publish")
    axe_clean("/decisions")
    held = page.inner_text(f"#held-{photo['sha256']}")
    assert "images/p1.png" in held and "the family asked for this photo" in held
    click_and_wait(page, "button:has-text('Publish it again')")
    assert "No photo is taken down by the office." in page.inner_text("main")
    context.close()
