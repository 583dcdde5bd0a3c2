"""Translations: a second language (``I18N_LANGUAGES``, Spanish in the sample site) under
``<lang>/`` in the same output folder. Pelican itself reads translated articles and pages
(``Lang: es`` with the English file's ``Slug:``) and writes them at the ``*_LANG_SAVE_AS``
paths; this plugin adds the theme's template pages and the other plugins' pages (months,
categories, teams, departments) in each language, and a note page for every article or
page that has no translation yet (``generator``). The theme's strings come from gettext
catalogues (``catalog``) through the template functions of ``jinja``.

This module only connects it to Pelican.
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def check_settings(pelican) -> None:
    """Stop the build when a language is set up without a catalogue that can be read."""
    from .catalog import CatalogError, catalog_path, messages

    theme = pelican.settings.get("THEME", "")
    for lang in pelican.settings.get("I18N_LANGUAGES") or {}:
        path = catalog_path(theme, lang)
        if not path.is_file():
            logger.warning(
                "%s: no translation catalogue for %r; the theme's strings stay in English on "
                "its pages. Create it with `uv run pybabel init -i themes/school/translations/"
                "messages.pot -d themes/school/translations -l %s` (README, 'Translations').",
                path,
                lang,
                lang,
            )
            continue
        try:
            messages(theme, lang)
        except CatalogError as exc:
            from school_feeds.stop import stop_build

            stop_build(logger, [str(exc)])


def get_generators(pelican):
    from .generator import LanguagePagesGenerator

    return LanguagePagesGenerator


def add_plugin_pages(generators) -> None:
    from .generator import LanguagePagesGenerator

    for generator in generators:
        if isinstance(generator, LanguagePagesGenerator):
            generator.add_plugin_pages()


def register():
    from pelican import signals

    signals.initialized.connect(check_settings)
    signals.get_generators.connect(get_generators)
    signals.all_generators_finalized.connect(add_plugin_pages)
