"""The pages the plugins write (months and categories of the calendar, teams and home/away
lists, departments, months of menus) in Spanish: each has its counterpart under es/ with
the right lang, hreflang and switcher, links to the other Spanish pages, Spanish words,
dates and weekday names, Spanish subscription steps, and the lunch menu's allergen key and
USDA statement in Spanish. The sitemap lists them all."""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import ROOT
from tests.i18n.conftest import html_lang
from tests.site.helpers import parse

for _folder in ("lib", "plugins"):
    sys.path.insert(0, str(ROOT / _folder))

FAMILIES = ("calendar", "athletics", "staff-directory", "lunch")
PUBLIC = "www.cedarhollow.example.org"


def plugin_pages(site: Path) -> list[Path]:
    """Every English page a plugin wrote: the pages one folder below a family's page."""
    return sorted(p for family in FAMILIES for p in (site / family).glob("*/index.html"))


def spanish(site: Path, page: Path) -> Path:
    return site / "es" / page.relative_to(site)


def target(page: Path, href: str) -> Path | None:
    """The file a relative link of `page` leads to (None for other schemes and hosts)."""
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or not parts.path:
        return None
    path = (page.parent / parts.path).resolve()
    return path / "index.html" if parts.path.endswith("/") else path


def test_the_plugins_write_every_kind_of_page(site):
    folders = {p.relative_to(site).parts[0] for p in plugin_pages(site)}
    assert folders == set(FAMILIES)
    assert len(plugin_pages(site)) >= 35  # 12 months, 5 categories, 12 team lists, 8 departments


@pytest.mark.parametrize("family", FAMILIES)
def test_every_plugin_page_has_a_spanish_counterpart_linked_both_ways(site, family):
    pages = [p for p in plugin_pages(site) if p.relative_to(site).parts[0] == family]
    for english in pages:
        es = spanish(site, english)
        assert es.is_file(), f"{es.relative_to(site)} is missing"
        assert (html_lang(english), html_lang(es)) == ("en", "es")
        for page, other, lang in ((english, es, "es"), (es, english, "en")):
            tags = parse(page)
            alternates = {
                link["hreflang"]: target(page, link["href"])
                for link in tags.find("link", rel="alternate")
                if "hreflang" in link
            }
            assert alternates == {"en": english.resolve(), "es": es.resolve()}, page
            switch = [a for a in tags.find("a") if a.get("hreflang") == lang and a.get("lang")]
            assert [target(page, a["href"]) for a in switch] == [other.resolve()], page
            (canonical,) = tags.find("link", rel="canonical")
            assert target(page, canonical["href"]) == page.resolve()
        assert "esta página no está traducida" not in parse(english).text


def test_spanish_pages_link_to_spanish_pages_and_every_link_resolves(site):
    english_pages = {p.resolve() for p in plugin_pages(site)}
    english_pages |= {(site / family / "index.html").resolve() for family in FAMILIES}
    for english in plugin_pages(site):
        es = spanish(site, english)
        for a in parse(es).find("a"):
            found = target(es, a.get("href", ""))
            if found is None:
                continue
            assert found.is_file(), f"{es.relative_to(site)}: {a['href']} leads nowhere"
            if a.get("hreflang") != "en":
                assert found not in english_pages, f"{es.relative_to(site)}: {a['href']}"


def test_the_month_grid_and_lists_are_in_spanish(site):
    html = (site / "es/calendar/2026-12/index.html").read_text(encoding="utf-8")
    page = parse(site / "es/calendar/2026-12/index.html")
    assert "<caption>diciembre de 2026</caption>" in html
    assert [(a["title"]) for a in page.find("abbr")][:7] == [
        "domingo", "lunes", "martes", "miércoles", "jueves", "viernes", "sábado",
    ]  # fmt: skip
    assert '<abbr title="domingo">dom</abbr>' in html
    assert page.find("h3", class_="events-day-heading", id="day-2026-12-15")
    for spanish_text in (
        "Eventos de diciembre de 2026",
        "martes, 15 de diciembre",
        "18:30 – 20:00",  # the PTA meeting, on a 24-hour clock
        "Hasta el viernes, 11 de diciembre",  # the book fair, all week
        "Cancelado",  # the movie night
        "Todos los eventos",
        "Toda la escuela",
        "Días sin clases",
        "Agregar al calendario",
        "Día por día",
    ):
        assert spanish_text in page.text, spanish_text
    previous = [a for a in page.find("a") if a.get("rel") == "prev"]
    assert previous and previous[0]["href"] == "../../../es/calendar/2026-11/"
    english = parse(site / "calendar/2026-12/index.html")
    assert "Through Friday, December 11" in english.text and "Hasta el" not in english.text
    # What the office wrote stays in English, and says so to screen readers.
    assert '<span class="events-name"><span lang="en">PTA book fair</span></span>' in html
    assert '<span lang="en">' not in (site / "calendar/2026-12/index.html").read_text("utf-8")


def test_subscription_steps_are_in_spanish(site):
    subscriptions = {
        "es/calendar/pta/index.html": ("los eventos de la categoría «PTA»", "events-pta.ics"),
        "es/athletics/varsity-football/index.html": (
            "los partidos de Varsity Football",
            "athletics-varsity-football.ics",
        ),
        "es/lunch/index.html": ("los menús del almuerzo", "lunch.ics"),
        "es/calendar/index.html": ("todos los eventos de la escuela", "events.ics"),
    }
    for path, (name, calendar) in subscriptions.items():
        page = parse(site / path)
        (link,) = page.find("a", class_="calendar-subscribe-link")
        assert link["href"] == f"webcal://{PUBLIC}/calendars/{calendar}", path
        for spanish_text in (
            f"Suscribirse a {name}",
            "Cómo suscribirse en iPhone, Android u Outlook",
            "Configuración › Calendario › Cuentas › Agregar cuenta",
            f"abra {name} en Google Calendar",
            "Otros calendarios › + › Desde URL",
            "Suscribirse desde la web",
        ):
            assert spanish_text in page.text, (path, spanish_text)
        assert "How to subscribe" not in page.text, path
    english = parse(site / "calendar/pta/index.html")
    assert "Subscribe to the PTA calendar" in english.text


@pytest.mark.parametrize("path", ["es/lunch/index.html", "es/lunch/2026-12/index.html"])
def test_the_allergen_key_and_the_usda_statement_are_in_spanish(site, path):
    page = parse(site / path)
    html = (site / path).read_text(encoding="utf-8")
    names = "Leche, Huevos, Pescado, Mariscos, Nueces de árbol, Cacahuates (maní), Trigo, Soya"
    assert f"tiene un plato: {names}, Ajonjolí (sésamo)." in page.text
    assert '<span class="lunch-allergens">Contiene: Leche' in html  # a dish, not the key
    assert '<span class="lunch-diets">Vegetariano</span>' in html
    assert '<span class="lunch-item"><span lang="en">Fresh Fruit</span></span>' in html
    for official in (
        "Esta institución ofrece igualdad de oportunidades.",
        "esta institución tiene prohibido discriminar por motivos de raza, color, origen "
        "nacional, sexo, discapacidad, edad o represalias por actividades previas "
        "relacionadas con los derechos civiles.",
        "Centro TARGET del USDA en el (202) 720-2600 (voz y TTY)",
        "El formulario AD-3027 cumplimentado o la carta deben enviarse al USDA por:",
        "fax:(833) 256-1665 o (202) 690-7442; o",  # a line break after "fax:"
    ):
        assert official in page.text, official
    # The USDA's mailing address is the same in every language, and says it is English.
    assert '<span lang="en">U.S. Department of Agriculture<br>' in html
    assert "prohibited from discriminating" not in page.text and "Contains:" not in page.text


def test_the_english_lunch_page_keeps_the_english_statement(site):
    page = parse(site / "lunch/index.html")
    assert "This institution is an equal opportunity provider." in page.text
    assert "this institution is prohibited from discriminating on the basis of race" in page.text
    assert "Milk, Eggs, Fish, Shellfish, Tree nuts, Peanuts, Wheat, Soybeans, Sesame." in page.text


def test_team_and_department_pages_are_in_spanish(site):
    team = parse(site / "es/athletics/varsity-football/index.html")
    for spanish_text in ("Deportes › Varsity Football", "Resultados", "Buscar un equipo", "Ver:"):
        assert spanish_text in team.text, spanish_text
    assert '<time datetime="2026-11-06">vie, 6 nov</time>' in (
        site / "es/athletics/varsity-football/index.html"
    ).read_text(encoding="utf-8")
    away = parse(site / "es/athletics/away-games/index.html")
    assert "Partidos fuera" in away.text and "Próximos partidos fuera" in away.text
    department = parse(site / "es/staff-directory/student-support/index.html")
    assert "Directorio del personal › Student support" in department.text
    assert "La oficina principal puede pasar un mensaje a cualquier persona" in department.text
    current = [a for a in department.find("a") if a.get("aria-current") == "page"]
    assert [a["href"] for a in current] == ["../../../es/staff-directory/student-support/"]
    directory = parse(site / "es/staff-directory/index.html")
    assert "Directorio del personal" in directory.text and "Todos" in directory.text
    roles = directory.find("span", lang="en")
    assert len(roles) >= 17, "the roles and department names are marked as English"


def test_the_sitemap_lists_every_plugin_page_in_both_languages(site):
    sitemap = (site / "sitemap.xml").read_text(encoding="utf-8")
    for english in plugin_pages(site):
        url = english.relative_to(site).as_posix().removesuffix("index.html")
        assert f"/{url}</loc>" in sitemap and f"/es/{url}</loc>" in sitemap, url
    assert "/es/calendar/</loc>" in sitemap and "/es/staff-directory/</loc>" in sitemap


def test_every_label_the_plugins_give_the_theme_has_a_spanish_translation():
    """The allergen, diet and category names live in the plugins; the catalogue finds them
    through themes/school/translations/site_strings.py, which must list every one."""
    from lunch_menu.allergens import DIET_LABELS, MAJOR_ALLERGENS
    from school_events.settings import CATEGORIES
    from site_i18n.catalog import messages

    spanish_messages = messages(ROOT / "themes" / "school", "es")
    labels = {*MAJOR_ALLERGENS, *DIET_LABELS.values(), *(label for _, label in CATEGORIES)}
    assert labels - spanish_messages.keys() == set()


def test_pages_that_repeat_other_pages_are_left_out_of_site_search(site):
    """A search for an event, a game or a person lands on its month, team or the
    directory, not also on the category, home/away or department page repeating it."""
    from site_search.indexer import page_text

    def indexed(path: str) -> bool:
        return page_text(path, (site / path).read_text(encoding="utf-8"), "en").has_words

    for lang in ("", "es/"):
        for repeats in (
            "calendar/pta/index.html",
            "athletics/home-games/index.html",
            "staff-directory/student-support/index.html",
        ):
            assert not indexed(lang + repeats), lang + repeats
        for source in (
            "calendar/2026-12/index.html",
            "athletics/varsity-football/index.html",
            "staff-directory/index.html",
        ):
            assert indexed(lang + source), lang + source
