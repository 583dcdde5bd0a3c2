"""The pages a language other than the default gets besides its translated articles and
pages (which Pelican writes itself, through ``Lang:`` and the ``*_LANG_SAVE_AS``
settings): the theme's template pages again in that language (home, search), the pages
the other plugins write from templates again in that language (``PLUGIN_PAGES``: months
of events and menus, categories, teams, departments; their words come from the
catalogue, their dates from Babel), and for every article or page without a translation a
short page in that language saying so, with a link to the English one. Every page goes
under ``<lang>/`` in the same output folder, so the consent gate checks every language's
pages.
"""

from __future__ import annotations

import logging

from pelican.generators import Generator
from school_feeds.pages import CONTEXT_KEY as PLUGIN_PAGES

logger = logging.getLogger(__name__)

UNTRANSLATED_TEMPLATE = "untranslated"


class LanguagePagesGenerator(Generator):
    """Fills ``I18N_OUTPUTS`` ({lang: {default-language path: "translation" | "stub"}})
    and writes the template pages and the untranslated-page notes of each language."""

    def _items(self):
        seen = []
        for key in ("articles", "pages", "hidden_pages"):
            for item in self.context.get(key) or ():
                if item.save_as and item not in seen:
                    seen.append(item)
        return seen

    def _detach_article_translations(self) -> None:
        """Keep each article's translations in ``I18N_TRANSLATIONS`` (save_as -> {lang:
        article}) instead of on the article: Pelican puts an article's translations into
        the site-wide feeds, and the English feeds stay English."""
        groups: dict[str, dict[str, object]] = {}
        for article in self.context.get("articles") or ():
            group = [article, *getattr(article, "translations", ())]
            by_lang = {item.lang: item for item in group}
            for item in group:
                groups[item.save_as] = by_lang
                item.translations = []
        self.context["I18N_TRANSLATIONS"] = groups

    def generate_context(self) -> None:
        languages = dict(self.settings.get("I18N_LANGUAGES") or {})
        self._detach_article_translations()
        outputs: dict[str, dict[str, str]] = {lang: {} for lang in languages}
        self.stubs: list[tuple[str, object]] = []
        template_pages = dict(self.settings.get("I18N_TEMPLATE_PAGES") or {})
        for lang in languages:
            for save_as in template_pages.values():
                outputs[lang][save_as] = "translation"
            for item in self._items():
                group = self.context["I18N_TRANSLATIONS"].get(item.save_as, {})
                translated = lang in group or any(
                    t.lang == lang for t in getattr(item, "translations", ())
                )
                if translated:
                    outputs[lang][item.save_as] = "translation"
                else:
                    outputs[lang][item.save_as] = "stub"
                    self.stubs.append((lang, item))
        self.context["I18N_OUTPUTS"] = outputs

    def add_plugin_pages(self) -> None:
        """Every page the other plugins declared exists in every language too. Called once
        all generators have their context (whatever their order in PLUGINS), before the
        first page is written."""
        outputs = self.context["I18N_OUTPUTS"]
        for lang in outputs:
            for page in self.context.get(PLUGIN_PAGES) or ():
                outputs[lang][page.save_as] = "translation"
        translated = {
            lang: sum(v == "translation" for v in o.values()) for lang, o in outputs.items()
        }
        logger.info("site_i18n: pages in each language besides the default: %s", translated)

    def generate_output(self, writer) -> None:
        relative = self.settings.get("RELATIVE_URLS", False)
        languages = dict(self.settings.get("I18N_LANGUAGES") or {})
        for lang in languages:
            for source, save_as in (self.settings.get("I18N_TEMPLATE_PAGES") or {}).items():
                template = self.env.get_template(source)
                writer.write_file(
                    f"{lang}/{save_as}", template, self.context, relative, page_lang=lang
                )
        for lang in languages:
            for page in self.context.get(PLUGIN_PAGES) or ():
                writer.write_file(
                    f"{lang}/{page.save_as}",
                    page.load_template(),
                    self.context,
                    relative,
                    page_lang=lang,
                    **page.values,
                )
        stub_template = self.get_template(UNTRANSLATED_TEMPLATE)
        for lang, item in self.stubs:
            writer.write_file(
                f"{lang}/{item.save_as}",
                stub_template,
                self.context,
                relative,
                page_lang=lang,
                original=item,
            )
