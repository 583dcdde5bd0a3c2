"""The search index holds the text of pages and nothing of their pictures: a photo the
consent gate withholds is never named in it (file name or alt text), before or after the
gate; and the index is in the output exactly when the gate passes every file of it."""

from __future__ import annotations

import asyncio
import gzip
import shutil
import sys

import pytest

from tests.conftest import ROOT
from tests.consent_gate_build.gate_helpers import (
    build_site,
    copy_face,
    seed_registry,
    write_article,
)
from tests.search.search_helpers import bundle_bytes, search_plugins

for _folder in ("lib", "plugins"):
    sys.path.insert(0, str(ROOT / _folder))

from site_search.indexer import build_index, excluded, page_text  # noqa: E402
from site_search.settings import SearchSettings  # noqa: E402

ALT = "Zanzibarine pupils crowding the quokkaberry stall"
PHOTO = "images/gallery/festival-crowd-unconsented.jpg"
WORD = "marmalisk"  # only in the article's text
PAGE = f"""<!DOCTYPE html><html lang="en"><head><title>Fair</title>
<meta property="og:image" content="/{PHOTO}"></head><body>
<header><nav><a href="/">Home</a></nav></header>
<main id="main"><h1>Autumn fair</h1><p>The {WORD} stall sold out.</p>
<figure><img src="/{PHOTO}" alt="{ALT}" srcset="/{PHOTO} 2x">
<figcaption>Fair day</figcaption></figure>
<picture><source srcset="/{PHOTO}"><img src="/{PHOTO}" alt="{ALT}"></picture>
<svg><image href="/{PHOTO}"/></svg><script>var photo = "/{PHOTO}";</script>
</main><footer>Footer words</footer></body></html>"""


def test_page_text_keeps_words_and_drops_every_picture_reference():
    text = page_text("news/2026/fair/index.html", PAGE, "en")
    assert text.lang == "en" and text.title == "Fair" and text.url == "/news/2026/fair/"
    assert WORD in text.body and "Fair day" in text.body
    for leaked in ("festival-crowd", "Zanzibarine", "quokkaberry", "<img", "src", "Footer"):
        assert leaked not in text.body, leaked
    assert "Home" not in text.body  # navigation is not content


def test_listing_and_noindex_pages_are_left_out():
    settings = SearchSettings(languages=("es",))
    assert excluded("news/tag/garden/index.html", settings)
    assert excluded("es/search/index.html", settings)
    assert excluded("pagefind/pagefind-ui.js", settings)
    assert not excluded("news/2026/fair/index.html", settings)
    assert not excluded("es/news/2026/fair/index.html", settings)
    noindex = PAGE.replace("<head>", '<head><meta name="robots" content="noindex">')
    assert page_text("x/index.html", noindex, "en").noindex


def test_pagefind_alone_would_index_the_photo_but_our_index_does_not(tmp_path):
    """The control shows why the page is rebuilt: Pagefind indexes alt text and keeps the
    first picture as the result's image."""
    from pagefind.index import IndexConfig, PagefindIndex

    raw = tmp_path / "raw"

    async def index_raw():
        async with PagefindIndex(config=IndexConfig(output_path=str(raw))) as index:
            await index.add_html_file(content=PAGE, url="/fair/", source_path="fair/index.html")

    asyncio.run(index_raw())
    assert b"festival-crowd" in bundle_bytes(raw) and b"zanzibarine" in bundle_bytes(raw).lower()

    site = tmp_path / "site"
    (site / "fair").mkdir(parents=True)
    (site / "fair" / "index.html").write_text(PAGE, encoding="utf-8")
    result = build_index(site, SearchSettings(), "en")
    ours = bundle_bytes(result.bundle).lower()
    assert result.pages == 1 and WORD.encode() in ours
    for leaked in (b"festival-crowd", b"zanzibarine", b"quokkaberry", b".jpg"):
        assert leaked not in ours, leaked


@pytest.fixture(scope="module")
def gated_build(tmp_path_factory, encodings, face_cache):
    """A small site whose photo shows someone without consent, built through the gate with
    the search index; the bundle the gate was given is copied aside."""
    work = tmp_path_factory.mktemp("search-gate")
    content = work / "content"
    copy_face(content, "people/obama/obama1.jpg", PHOTO)
    write_article(
        content,
        "autumn-fair",
        f"The {WORD} stall sold out by noon.\n\n![{ALT}]({{static}}/{PHOTO})",
    )
    registry = seed_registry(work / "registry", encodings, people=("biden",))
    snapshot = work / "snapshot"
    build = build_site(
        content,
        work,
        "search",
        registry,
        face_cache,
        extra={
            "PLUGINS": ["site_search", "search_snapshot", "consent_gate"],
            "PLUGIN_PATHS": [str(ROOT / "plugins"), str(ROOT / "tests" / "search" / "plugins")],
            "SEARCH_GATE_CHECK": False,
            "SEARCH_SNAPSHOT_DIR": str(snapshot),
            "I18N_LANGUAGES": {},
        },
    )
    return build, snapshot


def test_a_withheld_photo_is_never_in_the_search_index(gated_build):
    build, snapshot = gated_build
    assert build.image(PHOTO)["verdict"] == "withhold", "the photo should have been withheld"
    assert "photo-withheld" in build.page("autumn-fair") and PHOTO not in build.page("autumn-fair")
    given = bundle_bytes(snapshot).lower()
    assert WORD.encode() in given, "the article's words should be in the index"
    published = build.output / "pagefind"
    kept = bundle_bytes(published).lower() if published.is_dir() else b""
    for index in (given, kept):
        for leaked in (b"festival-crowd-unconsented", b"zanzibarine", b"quokkaberry"):
            assert leaked not in index, leaked


def test_the_index_is_published_exactly_when_the_gate_passes_all_of_it(
    gated_build, tmp_path, sample_site
):
    """With the default SEARCH_GATE_CHECK the build asks the gate's rules first: all of the
    bundle goes out, or none of it with one warning (never a half index)."""
    from site_search.gate_check import gate_refusals

    _build, snapshot = gated_build
    site = tmp_path / "site"
    shutil.copytree(snapshot, site / "pagefind")
    refused = gate_refusals(site / "pagefind", site)
    gzipped = [
        p
        for p in (site / "pagefind").rglob("*")
        if p.is_file() and p.read_bytes()[:2] == b"\x1f\x8b"
    ]
    assert gzipped, "Pagefind writes its index as gzip files"
    assert all(gzip.decompress(p.read_bytes()).startswith(b"pagefind_dcd") for p in gzipped)

    import pelicanconf

    # The sample site as built: its PLUGINS have search on and the gate last.
    assert search_plugins() == pelicanconf.PLUGINS, "build here with PLUGINS=search_plugins()"
    out = sample_site()
    log = " ".join((out.parent / "build.log").read_text().split())
    if refused:
        assert not (out / "pagefind").exists()
        assert log.count("Site search is off for this build") == 1, log[-3000:]
        assert "pagefind/" in log and "Consent gate withheld pagefind" not in log
    else:
        assert (out / "pagefind" / "pagefind.js").is_file(), log[-3000:]
        assert "Site search is off" not in log
    assert (out / "search" / "index.html").is_file()


def test_a_pagefind_failure_is_tried_once_more_before_search_is_turned_off(
    tmp_path, monkeypatch, caplog
):
    import logging
    from types import SimpleNamespace

    import site_search
    from site_search import indexer

    site = tmp_path / "site"
    (site / "fair").mkdir(parents=True)
    (site / "fair" / "index.html").write_text(PAGE, encoding="utf-8")
    pelican = SimpleNamespace(output_path=str(site), settings={"PLUGINS": ["site_search"]})
    real = indexer.build_index
    calls = []

    def flaky(*args, fail=1):
        calls.append(args)
        if len(calls) <= fail:
            raise OSError("pipe closed")
        return real(*args)

    monkeypatch.setattr(indexer, "build_index", flaky)
    with caplog.at_level(logging.WARNING):
        site_search.index_site(pelican)
    assert len(calls) == 2 and (site / "pagefind" / "pagefind.js").is_file()
    assert "trying once more" in caplog.text and "Site search is off" not in caplog.text

    # Failing twice: no half-written bundle, and the build says search is off.
    calls.clear()
    caplog.clear()
    monkeypatch.setattr(indexer, "build_index", lambda *a: flaky(*a, fail=2))
    with caplog.at_level(logging.WARNING):
        site_search.index_site(pelican)
    assert len(calls) == 2 and not (site / "pagefind").exists()
    assert "Site search is off for this build" in caplog.text
