"""The pages a plugin writes from one of the theme's templates (a month of events, a team, a
department), listed in the context under ``PLUGIN_PAGES`` as each generator finds them and
written from that list. One list, so the other readers cannot miss a page: site_i18n writes
each page again under every other language's folder, and the sitemap lists them all.

Nothing here imports Pelican.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

CONTEXT_KEY = "PLUGIN_PAGES"


@dataclass(frozen=True)
class PluginPage:
    save_as: str  # "calendar/2026-11/index.html", in the default language
    template: str  # "events_month"
    values: Mapping[str, object] = field(default_factory=dict)  # {"month": MonthGrid(...)}
    # The generator that declared the page. Pelican gives each generator a Jinja
    # environment of its own; loading the template from this one compiles it and its
    # partials once for every language (0.3 s of a 4 s sample build when compiled twice).
    generator: object = field(default=None, compare=False, repr=False)

    @property
    def url(self) -> str:
        return self.save_as.removesuffix("index.html")

    def load_template(self):
        return self.generator.get_template(self.template)


def declare(generator, pages: Iterable[PluginPage]) -> list[PluginPage]:
    """Add `pages` to the context's list (from a generator's generate_context: every page
    is known before the first one is written, so links and switchers can point at it)."""
    pages = [replace(page, generator=generator) for page in pages]
    generator.context.setdefault(CONTEXT_KEY, []).extend(pages)
    return pages


def write(generator, writer, pages: Iterable[PluginPage]) -> None:
    """Write `pages` in the default language; site_i18n writes the other languages."""
    relative = generator.settings.get("RELATIVE_URLS", False)
    for page in pages:
        writer.write_file(
            page.save_as,
            page.load_template(),
            generator.context,
            relative_urls=relative,
            **page.values,
        )
