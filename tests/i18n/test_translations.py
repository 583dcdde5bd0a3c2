"""Spanish beside English: translated articles and pages under es/ at the English paths
(English URLs unchanged), the theme's strings from the catalogue, lang and hreflang, the
switcher, a Spanish note for pages without a translation, localised lunch and game dates,
English-only feeds, and a catalogue that matches the templates."""

from __future__ import annotations

import re
import sys

import pytest

from tests.conftest import ROOT
from tests.i18n.conftest import html_lang
from tests.site.helpers import parse

for _folder in ("lib", "plugins"):
    sys.path.insert(0, str(ROOT / _folder))

TRANSLATIONS = ROOT / "themes" / "school" / "translations"


def test_translated_article_is_under_es_at_the_english_path(site):
    english = site / "news/2026/how-we-decide-snow-days/index.html"
    spanish = site / "es/news/2026/how-we-decide-snow-days/index.html"
    assert html_lang(english) == "en" and html_lang(spanish) == "es"
    page = parse(spanish)
    assert "Cómo decidimos los días de nieve" in page.text
    assert "Publicado el" in page.text and "27 de enero de 2026" in page.text
    hreflang = {
        a["hreflang"]: a["href"] for a in page.find("link", rel="alternate") if "hreflang" in a
    }
    assert hreflang == {"en": "../../../../news/2026/how-we-decide-snow-days/",
                        "es": "../../../../es/news/2026/how-we-decide-snow-days/"}  # fmt: skip
    switch = [a for a in page.find("a") if a.get("hreflang") == "en" and a.get("lang") == "en"]
    assert switch and switch[0]["href"] == "../../../../news/2026/how-we-decide-snow-days/"
    back = [a for a in parse(english).find("a") if a.get("hreflang") == "es"]
    assert back and back[0]["href"] == "../../../es/news/2026/how-we-decide-snow-days/"


def test_theme_strings_come_from_the_catalogue(site):
    page = parse(site / "es/about/index.html")
    expected = [
        "Saltar al contenido principal",
        "Noticias",
        "Acerca de este sitio",
        "Declaración de accesibilidad",
        "es una escuela pública del Distrito",
    ]
    for spanish in expected:
        assert spanish in page.text, spanish
    assert "Skip to main content" not in page.text
    english = parse(site / "about/index.html")
    assert "Skip to main content" in english.text and "Noticias" not in english.text
    # Navigation goes to the Spanish page where one exists, else to the English one.
    nav = {a["href"] for a in page.find("a")}
    assert "../../es/lunch/" in nav and "../../staff-directory/" in nav


def test_an_untranslated_page_says_so_in_spanish_and_links_to_the_english_one(site):
    note = site / "es/contact/index.html"
    page = parse(note)
    assert html_lang(note) == "es"
    assert "Esta página todavía no está traducida al español." in page.text
    assert page.meta("robots") == "noindex"
    english = [a for a in page.find("a") if a.get("hreflang") == "en"]
    assert {a["href"] for a in english} == {"../../contact/"}
    # Not a translation: the English page names no Spanish alternate.
    assert not [a for a in parse(site / "contact/index.html").find("link") if "hreflang" in a]


def test_a_page_with_no_spanish_version_switches_to_the_spanish_home_with_a_note(site):
    page = parse(site / "news/tags/index.html")
    links = [a for a in page.find("a") if a.get("hreflang") == "es"]
    assert [a["href"] for a in links] == ["../../es/"]
    assert "(esta página no está traducida: página de inicio)" in page.text


def test_lunch_and_games_are_dated_in_spanish(site):
    spanish = (site / "es/lunch/index.html").read_text(encoding="utf-8")
    english = (site / "lunch/index.html").read_text(encoding="utf-8")
    assert '<time datetime="2026-11-30">lunes, 30 de noviembre</time>' in spanish
    assert "Semana del 30 de noviembre de 2026" in spanish and "Esta semana" in spanish
    assert '<time datetime="2026-11-30">Monday, November 30</time>' in english
    games = (site / "es/athletics/index.html").read_text(encoding="utf-8")
    assert re.search(
        r'<time datetime="2026-12-\d\d">(lun|mar|mié|jue|vie|sáb|dom), \d+ dic</time>', games
    )
    home = parse(site / "es/index.html")
    assert "Bienvenidos a Cedar Hollow School" in home.text and "Últimas noticias" in home.text
    cards = home.find("article", class_="card")
    assert {card.get("lang") for card in cards} >= {None, "en"}, "English cards are marked"


def test_feeds_and_english_urls_stay_english(site):
    feed = (site / "feeds/all.atom.xml").read_text(encoding="utf-8")
    assert "how-we-decide-snow-days" in feed and "/es/" not in feed
    assert (site / "news/2026/harvest-supper-2026/index.html").is_file()
    assert not list(site.glob("news/**/*-es.html"))


def test_the_catalogue_matches_the_templates_and_is_complete():
    """A new theme string without a Spanish translation fails here: run the commands in
    the README's "Translations" section."""
    from babel.messages.extract import extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg
    from babel.messages.pofile import read_po

    with open(TRANSLATIONS / "babel.cfg", encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found = {
        (message[2] if isinstance(message[2], str) else message[2][0])
        for message in extract_from_dir(ROOT / "themes" / "school", method_map, options_map)
    }
    with open(TRANSLATIONS / "es" / "LC_MESSAGES" / "messages.po", "rb") as handle:
        catalog = read_po(handle)
    # A plural message's id and string are tuples: (singular, plural), one form per number.
    translated = {
        m.id if isinstance(m.id, str) else m.id[0]
        for m in catalog
        if m.id and m.string and all(m.string) and not m.fuzzy
    }
    assert found - translated == set(), "strings without a Spanish translation"


def test_a_broken_catalogue_stops_the_build_with_its_path(tmp_path):
    from site_i18n.catalog import CatalogError, gettext

    po = tmp_path / "translations" / "es" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    broken = {
        'msgid "Search"\nmsgstr "Buscar\n': "line 2",  # Babel alone reads "Busca"
        '#, python-format\nmsgid "Welcome to %(school)s"\nmsgstr "Bienvenidos"\n': "school",
    }
    for text, named in broken.items():
        po.write_text(text, encoding="utf-8")
        with pytest.raises(CatalogError, match=re.escape(str(po))) as raised:
            gettext(tmp_path, "es", "Search")
        assert named in str(raised.value)
    po.write_text('msgid "Search"\nmsgstr "Buscar"\n', encoding="utf-8")
    assert gettext(tmp_path, "es", "Search") == "Buscar"
    assert gettext(tmp_path, "es", "Not there") == "Not there"


def test_the_sitemap_lists_the_spanish_pages_but_not_the_notes(site):
    sitemap = (site / "sitemap.xml").read_text(encoding="utf-8")
    assert "/es/news/2026/how-we-decide-snow-days/</loc>" in sitemap
    assert "/es/about/</loc>" in sitemap and "/es/</loc>" in sitemap
    assert "/es/contact/</loc>" not in sitemap  # a "not translated yet" note
