"""Build-time content checks: warn, with file and line, about images without alt text, and
stop the build when a page or article cannot be read (Pelican alone skips it silently)."""

from __future__ import annotations

import logging
from pathlib import Path

from pelican import signals

from .alt_text import check_file
from .unreadable import explain

logger = logging.getLogger(__name__)

# Pelican's own one-line notices for skipped files: replaced by one error per file that
# says why and what to do (see stop_on_unreadable_content).
_PELICAN_SKIP_MESSAGES = (
    "Skipping %s: could not find information about '%s'",
    "Could not process %s",
)


class _DropPelicanSkipNotices(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg not in _PELICAN_SKIP_MESSAGES


def quiet_pelican_skip_notices(pelican) -> None:
    for name in ("pelican.contents", "pelican.generators"):
        target = logging.getLogger(name)
        if not any(isinstance(f, _DropPelicanSkipNotices) for f in target.filters):
            target.addFilter(_DropPelicanSkipNotices())


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


def stop_on_unreadable_content(generators) -> None:
    """Every page or article Pelican found but could not read stops the build, naming the
    file and the reason, before anything is written."""
    from school_feeds.stop import stop_build

    if not generators:
        return
    settings = generators[0].settings
    content = Path(settings["PATH"])
    failed = sorted(
        path
        for path, obj in generators[0].context.get("generated_content", {}).items()
        if obj is None
    )
    if not failed:
        return
    article_dirs = tuple(f"{folder.strip('/')}/" for folder in settings.get("ARTICLE_PATHS", []))
    reasons = []
    for relative in failed:
        needs_date = relative.startswith(article_dirs) if article_dirs else True
        path = content / relative
        shown = Path(settings["PATH"]).name + "/" + relative
        reasons.append(f"{shown}: cannot be read: {explain(path, needs_date)}")
    stop_build(logger, reasons)


def register():
    signals.initialized.connect(quiet_pelican_skip_notices)
    signals.content_object_init.connect(check_alt_text)
    signals.all_generators_finalized.connect(stop_on_unreadable_content)
