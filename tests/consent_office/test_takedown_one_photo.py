"""Take one photo down now, also one published because everyone in it has consent (no
approval to withdraw): from a record's page the office holds the photo, every verdict
withholds it (so the next publish takes it down) until the office publishes it again, and
the takedown publish runs now or is queued, its state followed on the takedown page."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from dataclasses import replace
from datetime import date

import numpy as np
import pytest
from consent_office.app import create_app
from face_engine import faces
from face_engine.decision import verdict_for_faces
from face_engine.model import sha256_bytes

from tests.conftest import SHARED_FACES
from tests.consent_office.conftest import csrf_of, sign_in
from tests.consent_office.test_review_queue import registry, template, withheld, write_report

REASON = "the family asked for this one photo to come down"


def published(office, n: int, encoding) -> dict:
    """Photo n as the last build published it: its one face matched S1, with consent."""
    entry = withheld(office, n, [(encoding, "S1")], built="publish")
    entry["faces"][0].update(ok=True, reason="matched S1 (consent on file)")
    return entry


def test_a_photo_published_by_consent_comes_down_from_the_record_page(client, office):
    with registry(office) as r:
        r.add("S1", "Ana Gómez", [template(1)])
    photo = published(office, 1, template(1) + np.full(128, 0.001))
    sha = photo["sha256"]
    write_report(office, [photo])
    sign_in(client)
    page = client.get("/records/S1").get_data(as_text=True)
    assert f'action="/takedown/photo/{sha}"' in page and "Take this photo down now" in page
    token = csrf_of(page)
    refused = client.post(f"/takedown/photo/{sha}", data={"csrf_token": token})
    assert refused.status_code == 303
    with registry(office) as r:
        assert r.photo_holds() == {}  # no reason given: nothing changed
    done = client.post(f"/takedown/photo/{sha}", data={"csrf_token": token, "reason": REASON})
    assert done.headers["Location"].endswith("/takedown?follow=1")
    follow = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "images/p1.png is taken down by the office" in follow and "Queued" in follow
    assert "waiting for the scheduled publish" in client.get("/takedown/status?follow=1").get_data(
        as_text=True
    )

    settings = office.settings.gate
    with registry(office) as r:
        snapshot = r.snapshot(date.today())
        assert r.approvals() == {}  # nothing to withdraw: the hold alone takes it down
        actions = [(e.action, e.actor) for e in r.audit_log()]
    verdict = verdict_for_faces(sha, [], snapshot, settings)
    assert not verdict.publish and "taken down by the consent office" in verdict.reasons[0]
    assert REASON in verdict.reasons[0]
    assert ("hold-photo", "m.chen") in actions and ("takedown-queued", "m.chen") in actions

    decisions = client.get("/decisions").get_data(as_text=True)
    assert "Taken down by the office (1)" in decisions and REASON in decisions
    undo = client.post(f"/decisions/held/{sha}/release", data={"csrf_token": token})
    assert undo.status_code == 303
    with registry(office) as r:
        assert r.photo_holds() == {}
        assert verdict_for_faces(sha, [], r.snapshot(date.today()), settings).publish


def test_a_hold_cannot_be_dropped_without_the_key(office):
    import sqlite3

    with registry(office) as r:
        r.hold_photo("a" * 64, by="m.chen", reason="one photo")
    with sqlite3.connect(office.registry) as db:  # the office's list edited by hand
        (value,) = db.execute("SELECT value FROM meta WHERE key = 'row_seals'").fetchone()
        db.execute(
            "UPDATE meta SET value = ? WHERE key = 'row_seals'",
            (value.replace('"' + "a" * 64 + '"', '"' + "b" * 64 + '"'),),
        )
    with registry(office) as r:
        assert r.photo_holds() == {}  # the list no longer authenticates: nothing is trusted
        assert r.snapshot(date.today()).records == ()


@pytest.mark.s3
def test_take_down_one_consented_photo_from_the_bucket_now(
    office, local_s3, s3_bucket, monkeypatch
):
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
    reference = (SHARED_FACES / "people/obama/obama1.jpg").read_bytes()
    with registry(office) as r:
        r.add("S1001", "Sam Student", faces.reference_templates(reference, "obama1.jpg"))
    data = (output / photo).read_bytes()
    (box,) = [f.box for f in faces.reference_faces(data)]
    sha = sha256_bytes(data)
    face = {"top": box.top, "right": box.right, "bottom": box.bottom, "left": box.left}
    write_report(office, [{
        "path": photo, "output_path": photo, "sha256": sha, "verdict": "publish",
        "kind": "raster", "reasons": ["all 1 face(s) have consent on file"],
        "pages": ["news/2026/garden-beds/index.html"],
        "faces": [{"box": face, "person_id": "S1001", "ok": True, "reason": "matched S1001"}],
    }])  # fmt: skip
    publish = [sys.executable, "-m", "s3_publish", "--settings", str(conf), "--quiet"]
    first = subprocess.run(publish, cwd=office.root, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert photo in keys(local_s3, s3_bucket)

    settings = replace(office.settings, takedown="run", publish_settings=conf)
    client = create_app(settings).test_client()
    sign_in(client)
    token = csrf_of(client.get("/records/S1001").get_data(as_text=True))
    done = client.post(f"/takedown/photo/{sha}", data={"csrf_token": token, "reason": REASON})
    assert done.headers["Location"].endswith("/takedown?follow=1")
    assert "The takedown publish started" in client.get(done.headers["Location"]).get_data(
        as_text=True
    )
    deadline = time.monotonic() + 180
    while "Still running" in (status := client.get("/takedown/status?follow=1").get_data(
        as_text=True
    )):  # fmt: skip
        assert time.monotonic() < deadline, status
        time.sleep(1)
    assert "Finished" in status, status
    assert f"takedown {photo}" in status
    assert photo not in keys(local_s3, s3_bucket)
    assert "index.html" in keys(local_s3, s3_bucket)  # only the photo came down
    with registry(office) as r:
        assert r.get("S1001").status == "active"  # consent kept: one photo came down
        actions = {(e.action, e.actor) for e in r.audit_log()}
    assert {("hold-photo", "m.chen"), ("takedown-run", "m.chen")} <= actions


def keys(local_s3, bucket: str) -> set[str]:
    pages = local_s3.client().get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {o["Key"] for p in pages for o in p.get("Contents", [])}
