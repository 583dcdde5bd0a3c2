"""Closest records: the review queue and the `consent` command name the same records for a
face (one rule, ``consent_registry.closest``), removed-but-withdrawn people included; and
the workspace reads the registry through public methods only."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.consent_office.conftest import sign_in
from tests.consent_office.test_review_queue import (
    near,
    registry,
    template,
    withheld,
    write_report,
)

OFFICE = Path(__file__).parents[2] / "apps" / "consent_office"


def test_the_queue_names_a_removed_withdrawn_person_as_the_registry_does(client, office):
    with registry(office) as r:
        r.add("S1", "Ana Gómez", [template(1)])
        r.add("S2", "Ben Okafor", [template(2)])
        r.set_never_publish("S2")
        r.remove("S2")  # the block list still knows Ben's face
        expected = [(c.person.person_id, c.withdrawn) for c in r.closest_records(near(2), 5)]
    assert expected[0] == ("S2", True)
    write_report(office, [withheld(office, 1, [(near(2), None)])])
    sign_in(client)
    html = client.get("/review").get_data(as_text=True)
    closest = html.split("Closest records:", 1)[1].split("</p>", 1)[0]
    assert "(record removed) (S2, <strong>consent withdrawn</strong>)" in closest
    assert closest.index("S2") < closest.index("S1")
    assert "Face 1: close to S2 (marked never-publish" in html  # never "not on file"


def test_the_workspace_uses_no_private_registry_attributes():
    used = []
    for path in OFFICE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and isinstance(node.value, ast.Name)
                and node.value.id == "registry"
            ):
                used.append(f"{path.name}:{node.lineno} registry.{node.attr}")
    assert not used, used


def test_in_transaction_says_whether_changes_are_not_yet_in_the_file(office):
    with registry(office) as r:
        assert not r.in_transaction
        with r.transaction():
            r.add("S1", "Ana Gómez", [template(1)])
            assert r.in_transaction
        assert not r.in_transaction


def test_a_missing_record_is_not_found_on_every_record_page(client, office):
    with registry(office) as r:
        r.add("S1", "Ana Gómez", [template(1)])
    sign_in(client)
    for path in ("", "/edit", "/revoke", "/never-publish", "/remove", "/consent-again"):
        assert client.get(f"/records/NOPE{path}").status_code == 404, path
    assert client.get("/records/S1/edit").status_code == 200
