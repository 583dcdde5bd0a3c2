"""Template functions for a site in several languages, all reading the language of the page
being rendered from the template context, so one Jinja environment renders every language:

- ``_``/``gettext``/``ngettext``: the theme's strings from its catalogues (``catalog``);
- ``current_lang()``: the page's language (``page_lang`` passed by the writer, else the
  article's or page's ``Lang:``, else ``DEFAULT_LANG``);
- ``language_switch()``: where the language switcher points, ``lang_alternates()``: the
  real translations of this page (for ``hreflang``), ``lang_link(link)``: a navigation link
  in the page's language when that page exists in it;
- filters ``localdate`` (Babel's ``format_date`` for other languages; the English text as
  it was for English), ``in_lang`` (an article's translation in the page's language) and
  ``untranslated`` (text from the data, marked with its language on other languages' pages).

They are set in pelicanconf.py through ``JINJA_GLOBALS``/``JINJA_FILTERS`` (so the theme
renders with or without the plugin); the plugin's generator fills ``I18N_OUTPUTS``, the
pages that exist in each other language. Nothing here imports Pelican.
"""

from __future__ import annotations

from datetime import date, datetime

from jinja2 import pass_context
from markupsafe import Markup, escape

from . import catalog


def _default(context) -> str:
    return context.get("DEFAULT_LANG") or "en"


@pass_context
def current_lang(context) -> str:
    lang = context.get("page_lang")
    if lang:
        return lang
    for key in ("article", "page"):
        item = context.get(key)
        if item is not None and getattr(item, "lang", None):
            return item.lang
    return _default(context)


@pass_context
def gettext(context, message: str) -> str:
    lang = current_lang(context)
    if lang == _default(context):
        return message
    return catalog.gettext(context.get("THEME", ""), lang, message)


@pass_context
def ngettext(context, singular: str, plural: str, n: int) -> str:
    lang = current_lang(context)
    if lang == _default(context):
        return singular if n == 1 else plural
    return catalog.ngettext(context.get("THEME", ""), lang, singular, plural, n)


@pass_context
def lang_prefix(context) -> str:
    """The folder of the page's language in the site: "" for the default, else "es/"."""
    lang = current_lang(context)
    return "" if lang == _default(context) else f"{lang}/"


def _languages(context) -> dict[str, str]:
    return dict(context.get("I18N_LANGUAGES") or {})


def _outputs(context) -> dict[str, dict[str, str]]:
    return context.get("I18N_OUTPUTS") or {}


def _base_path(context, path: str) -> str:
    """The path of the default-language page a page of any language mirrors."""
    lang = current_lang(context)
    prefix = f"{lang}/"
    if lang != _default(context) and path.startswith(prefix):
        return path[len(prefix) :]
    return path


def _url(path: str) -> str:
    return path.removesuffix("index.html")


def _version(context, item, lang: str):
    """`item` in `lang` (itself, or one of its translations), or None."""
    if getattr(item, "lang", None) == lang:
        return item
    group = (context.get("I18N_TRANSLATIONS") or {}).get(getattr(item, "save_as", None))
    if group and lang in group:
        return group[lang]
    for other in getattr(item, "translations", ()) or ():
        if other.lang == lang:
            return other
    return None


def _translation_of(context, lang: str):
    for key in ("article", "page"):
        item = context.get(key)
        if item is not None:
            return _version(context, item, lang)
    return None


def _counterpart(context, lang: str) -> tuple[str, str] | None:
    """(path, "translation" | "stub" | "page") of this page in `lang`, or None."""
    found = _translation_of(context, lang)
    if found is not None:
        return found.save_as, "translation"
    base = _base_path(context, context.get("output_file") or "")
    if lang == _default(context):
        return base, "page"
    kind = _outputs(context).get(lang, {}).get(base)
    return (f"{lang}/{base}", kind) if kind else None


@pass_context
def lang_alternates(context) -> list[dict[str, str]]:
    """This page in every language it really exists in (stubs are not translations)."""
    if not _outputs(context):
        return []
    found = []
    for lang in [_default(context), *_languages(context)]:
        other = _counterpart(context, lang)
        if other and other[1] != "stub":
            found.append({"lang": lang, "url": _url(other[0])})
    return found if len(found) > 1 else []


@pass_context
def language_switch(context) -> list[dict[str, object]]:
    """One link per other language: to this page in it, or to that language's home page
    with a note when this page does not exist in it."""
    if not _outputs(context):
        return []
    names = {_default(context): context.get("I18N_DEFAULT_NAME") or "English"}
    names.update(_languages(context))
    here = current_lang(context)
    links = []
    for lang, name in names.items():
        if lang == here:
            continue
        other = _counterpart(context, lang)
        home = "" if lang == _default(context) else f"{lang}/"
        links.append(
            {
                "lang": lang,
                "name": name,
                "url": _url(other[0]) if other else home,
                "found": bool(other),
                "note": ""
                if other
                else catalog.gettext(
                    context.get("THEME", ""), lang, "This page is not translated: home page"
                ),
            }
        )
    return links


@pass_context
def lang_link(context, link: str) -> str:
    """A site link (``lunch/``) in the page's language when that page exists in it."""
    lang = current_lang(context)
    if lang == _default(context):
        return link
    path = link + "index.html" if link.endswith("/") or not link else link
    return f"{lang}/{link}" if path in _outputs(context).get(lang, {}) else link


# Named CLDR skeletons: each language orders and spells them its own way
# ("short" is "Mon, Nov 30" in English, "lun, 30 nov" in Spanish).
_SKELETONS = {"short": "MMMEd", "month": "yMMMM"}


@pass_context
def localdate(context, value, english: str = "", pattern: str = "long") -> str:
    """`english` (the text the English page always had) on English pages; elsewhere the
    date in the page's language: ``weekday`` ("lunes, 30 de noviembre"), ``time``
    ("16:30"), ``datetime`` (a date and time), a named skeleton (``short``, ``month``),
    a Babel format name (``long``, ``medium``, ``full``) or a Babel pattern."""
    lang = current_lang(context)
    if lang == _default(context) and english:
        return english
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    from babel.dates import format_date, format_skeleton, format_time

    if pattern == "time" and isinstance(value, datetime):
        return format_time(value, "short", locale=lang)  # "16:30"
    if pattern == "datetime" and isinstance(value, datetime):
        # "26 de noviembre de 2026, 16:07": the date long, the time as the language writes it.
        return (
            f"{format_date(value, 'long', locale=lang)}, {format_time(value, 'short', locale=lang)}"
        )
    if isinstance(value, datetime):
        value = value.date()
    if pattern == "weekday":
        # The weekday in full ("lunes"): CLDR's skeletons shorten it in some languages.
        weekday = format_date(value, "EEEE", locale=lang)
        return f"{weekday}, {format_skeleton('MMMMd', value, locale=lang)}"
    if pattern in _SKELETONS:
        return format_skeleton(_SKELETONS[pattern], value, locale=lang)
    return format_date(value, pattern, locale=lang)


@pass_context
def in_lang(context, item, lang: str = ""):
    """`item` (an article or page) in `lang` (default: the page's language) when a
    translation exists, else the item itself."""
    return _version(context, item, lang or current_lang(context)) or item


@pass_context
def untranslated(context, text):
    """Text from the data (an event's title, a dish, a role), written in the default
    language: on a page in another language, in a span that says so, so that screen readers
    read it in its own language (WCAG 3.1.2, language of parts); elsewhere as it is."""
    lang = _default(context)
    if not text or current_lang(context) == lang:
        return text
    # An f-string of escaped parts: Markup.format takes 3x as long (3,400 calls a build).
    return Markup(f'<span lang="{escape(lang)}">{escape(text)}</span>')


JINJA_GLOBALS = {
    "_": gettext,
    "gettext": gettext,
    "ngettext": ngettext,
    "current_lang": current_lang,
    "lang_prefix": lang_prefix,
    "lang_alternates": lang_alternates,
    "language_switch": language_switch,
    "lang_link": lang_link,
}
JINJA_FILTERS = {"localdate": localdate, "in_lang": in_lang, "untranslated": untranslated}
