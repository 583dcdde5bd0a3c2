"""Which files of the search bundle the consent gate would withhold, asked of the gate's
own rules (``site_gate.sniff`` and ``site_gate.policy``), so this plugin never keeps
a second copy of them. Nothing here imports Pelican."""

from __future__ import annotations

from pathlib import Path


def gate_refusals(bundle: Path, site: Path) -> list[tuple[str, str]]:
    """(path in the site, the gate's reason) for every bundle file the gate would withhold."""
    from site_gate.policy import FACE_KINDS, file_problem
    from site_gate.sniff import sniff

    refused = []
    for path in sorted(p for p in bundle.rglob("*") if p.is_file()):
        rel = path.relative_to(site).as_posix()
        data = path.read_bytes()
        found = sniff(data, rel)
        if found.kind in FACE_KINDS:
            refused.append((rel, f"{found.detail}: a picture in the search bundle"))
            continue
        problem = file_problem(found, data)
        if problem:
            refused.append((rel, problem))
    return refused
