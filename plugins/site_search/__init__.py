"""Site search: a Pagefind index of the built site, written into the output before the
consent gate checks it, so the gate checks the search bundle like every other file.

Runs at Pelican's ``finalized`` signal, before ``consent_gate`` (which must stay last in
PLUGINS and runs at the same signal): the pages are in the gate's staging folder then, and
the index is built from their text only (``indexer``: no picture, file name or alt text
reaches it), so the gate's later rewrite of withheld photos cannot change what the index
holds. When the gate would withhold Pagefind's files (its compressed index fragments), the
bundle is removed with one warning instead of some hundred "withheld" lines, and the search
page says that search is unavailable; the rest of the build is unchanged.

The work happens in ``indexer``; this module only connects it to Pelican.
"""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

from .settings import SearchSettings

logger = logging.getLogger(__name__)


def _gate_active(pelican) -> bool:
    if "consent_gate" not in [str(p) for p in pelican.settings.get("PLUGINS") or ()]:
        return False
    try:
        from consent_registry.settings import GateSettings

        return GateSettings.from_mapping(pelican.settings).enabled
    except Exception:  # noqa: BLE001 - the gate reports bad settings itself; assume it runs
        return True


def index_site(pelican) -> None:
    """Index the pages in the folder being built (the gate's staging folder)."""
    from .gate_check import gate_refusals
    from .indexer import build_index

    settings = SearchSettings.from_mapping(pelican.settings)
    if not settings.enabled:
        return
    folder = Path(pelican.output_path)
    started = time.perf_counter()
    try:
        try:
            result = build_index(folder, settings, pelican.settings.get("DEFAULT_LANG", "en"))
        except Exception as exc:  # noqa: BLE001 - Pagefind's service talks over a pipe
            # Once, on a clean clone under load, an index came out missing and the same build
            # run again had it: a second try costs a second, a build without search more.
            logger.warning("Pagefind could not index %s (%s: %s); trying once more.",
                           folder, exc.__class__.__name__, exc)  # fmt: skip
            result = build_index(folder, settings, pelican.settings.get("DEFAULT_LANG", "en"))
    except Exception as exc:  # noqa: BLE001 - search is not worth failing the build for
        shutil.rmtree(folder / settings.bundle_dir, ignore_errors=True)
        logger.warning(
            "Site search is off for this build: Pagefind could not index %s (%s: %s). The "
            "search page says search is unavailable; check that `pagefind[bin]` is installed "
            "(uv sync) and rebuild.",
            folder,
            exc.__class__.__name__,
            exc,
        )
        return
    if settings.gate_check and _gate_active(pelican):
        refused = gate_refusals(result.bundle, folder)
        if refused:
            shutil.rmtree(result.bundle, ignore_errors=True)
            rel, reason = refused[0]
            logger.warning(
                "Site search is off for this build: the consent gate would withhold %d of "
                "the search index's files (%s: %s), so the index was removed and the search "
                "page says search is unavailable. The gate needs a rule for Pagefind's "
                "files (docs/webmaster.md, 'Site search'); everything else is published as usual.",
                len(refused),
                rel,
                reason,
            )
            return
    logger.info(
        "site_search: indexed %d page(s) (%s) into %s in %.1f s",
        result.pages,
        ", ".join(f"{lang}: {n}" for lang, n in sorted(result.languages.items())),
        settings.bundle_dir,
        time.perf_counter() - started,
    )


SEARCH_TEMPLATE = "search.html"
SEARCH_SAVE_AS = "search/index.html"


def add_search_page(pelican) -> None:
    """The search page (in every language) and ``SEARCH_URL`` for the header's search box:
    only in builds that index the site."""
    settings = SearchSettings.from_mapping(pelican.settings)
    if not settings.enabled:
        return
    for key in ("TEMPLATE_PAGES", "I18N_TEMPLATE_PAGES"):
        if key == "TEMPLATE_PAGES" or pelican.settings.get("I18N_LANGUAGES"):
            pages = dict(pelican.settings.get(key) or {})
            pages.setdefault(SEARCH_TEMPLATE, SEARCH_SAVE_AS)
            pelican.settings[key] = pages
    pelican.settings["SEARCH_URL"] = SEARCH_SAVE_AS.removesuffix("index.html")


def register():
    from pelican import signals

    signals.initialized.connect(add_search_page)
    signals.finalized.connect(index_site)
