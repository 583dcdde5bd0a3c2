"""Search as a setting: on (the default) every page's header has the search form pointing
at the search page of its language; SEARCH_ENABLED = False leaves out the box, the page
and the index; a bundle folder outside the output is refused."""

from __future__ import annotations

import sys

import pytest

from tests.conftest import ROOT
from tests.site.helpers import build, parse

for _folder in ("lib", "plugins"):
    sys.path.insert(0, str(ROOT / _folder))

from site_search.settings import SearchSettings  # noqa: E402


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    work = tmp_path_factory.mktemp("search-settings")
    on, off = work / "on" / "output", work / "off" / "output"
    build(on, CONSENT_ENABLED=False)
    build(off, CONSENT_ENABLED=False, SEARCH_ENABLED=False)
    return on, off


def test_every_page_has_the_search_form_of_its_language(sites):
    on, _off = sites
    for path, action in {
        "about/index.html": "../search/",
        "news/2026/harvest-supper-2026/index.html": "../../../search/",
        "es/about/index.html": "../../es/search/",
        "es/index.html": "../es/search/",
    }.items():
        forms = parse(on / path).find("form", role="search")
        assert forms and forms[0]["action"] == action and forms[0]["method"] == "get", path
    assert (on / "search/index.html").is_file() and (on / "es/search/index.html").is_file()
    assert (on / "pagefind/pagefind.js").is_file()


def test_search_off_leaves_out_the_box_the_page_and_the_index(sites):
    _on, off = sites
    assert not parse(off / "about/index.html").find("form", role="search")
    assert not (off / "search").exists() and not (off / "es/search").exists()
    assert not (off / "pagefind").exists()


@pytest.mark.parametrize("bundle", ["", "../elsewhere", "/"])
def test_a_bundle_folder_outside_the_output_is_refused(bundle):
    with pytest.raises(ValueError, match="SEARCH_BUNDLE_DIR"):
        SearchSettings.from_mapping({"SEARCH_BUNDLE_DIR": bundle})
