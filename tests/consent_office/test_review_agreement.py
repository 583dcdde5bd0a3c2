"""`consent review` and the workspace's review queue list the same photos for the same build
report, registry and face cache: both follow ``site_gate.review.waiting_for_decision``."""

from __future__ import annotations

import re

from consent_cli.cli import main
from consent_office.accounts import Accounts, office_db_path
from face_engine.cache import FaceCache

from tests.consent_office.conftest import sign_in
from tests.consent_office.test_review_queue import (
    near,
    registry,
    sections,
    template,
    withheld,
    write_report,
)


def _cli_waiting(office, capsys) -> set[str]:
    where = ["--registry", str(office.registry), "--key-file", str(office.key_file)]
    assert main(["review", "--report", str(office.report), *where]) == 0
    out = capsys.readouterr().out
    return set(re.findall(r"^images/(p\d+)\.png$", out, re.M))


def _workspace_waiting(client, images: dict) -> set[str]:
    by_hash = {image["sha256"]: name for name, image in images.items()}
    return {by_hash[sha] for sha in sections(client.get("/review").get_data(as_text=True))}


def test_the_command_and_the_workspace_list_the_same_photos(client, office, capsys):
    # The command reads the build's settings, as the workspace's were made.
    (office.root / "pelicanconf.py").write_text(
        f'PLUGINS = ["consent_gate"]\nCONSENT_CACHE_DIR = {str(office.settings.gate.cache_dir)!r}\n'
    )
    with registry(office) as r:
        r.add("S2", "Ben Okafor", [template(2)])
    images = {
        # Nobody the build knew; Ana's record is added since: the registry now publishes it.
        "p1": withheld(office, 1, [(near(1), None)]),
        # Ben recognised, his consent withdrawn since: waits.
        "p2": withheld(office, 2, [(near(2), "S2")]),
        # A visitor nobody registers: approved since, so it no longer waits.
        "p3": withheld(office, 3, [(template(77), None)]),
        # An unknown face: waits.
        "p4": withheld(office, 4, [(template(78), None)]),
        # Kept withheld by the office: decided, so it no longer waits.
        "p5": withheld(office, 5, [(template(79), None)]),
    }
    # p6: the face cache no longer holds its faces; approved since, naming everyone the
    # build recognised in it (decided on the build's faces).
    images["p6"] = withheld(office, 6, [(near(2), "S1")])
    FaceCache(office.settings.gate.cache_dir).path_for(images["p6"]["sha256"]).unlink()
    write_report(office, list(images.values()))
    with registry(office) as r:
        r.add("S1", "Ana Gómez", [template(1)])
        r.revoke("S2")
        r.approve(
            images["p3"]["sha256"], by="Ms Lee", reason="visitor", shows=(), not_student="visitor"
        )
        r.approve(images["p6"]["sha256"], by="Ms Lee", reason="ok", shows=["S1"])
    with Accounts(office_db_path(office.registry)) as accounts:
        accounts.keep_withheld(images["p5"]["sha256"], "m.chen")

    sign_in(client)
    in_workspace = _workspace_waiting(client, images)
    assert in_workspace == {"p2", "p4"}
    assert _cli_waiting(office, capsys) == in_workspace
