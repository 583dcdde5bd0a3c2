"""Test plugin: copies the search bundle out of the gate's staging folder at ``finalized``,
between site_search and consent_gate, so a test sees exactly what the gate was given."""

from __future__ import annotations

import shutil
from pathlib import Path


def snapshot(pelican) -> None:
    target = pelican.settings.get("SEARCH_SNAPSHOT_DIR")
    bundle = Path(pelican.output_path) / "pagefind"
    if target and bundle.is_dir():
        shutil.copytree(bundle, target, dirs_exist_ok=True)


def register():
    from pelican import signals

    signals.finalized.connect(snapshot)
