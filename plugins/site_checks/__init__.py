"""Build-time content checks: warn, with file and line, about images without alt text."""

from __future__ import annotations

import logging
from pathlib import Path

from pelican import signals

from .alt_text import check_file

logger = logging.getLogger(__name__)


def check_alt_text(instance) -> None:
    source = getattr(instance, "source_path", None)
    if not source or not Path(source).is_file():
        return
    path = Path(source)
    try:
        relative = path.relative_to(Path(instance.settings["PATH"]).resolve().parent)
    except ValueError:
        relative = path
    for finding in check_file(path):
        logger.warning(finding.describe(relative))


def register():
    signals.content_object_init.connect(check_alt_text)
