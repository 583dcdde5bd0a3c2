"""The rendered-page face check, against the real pipeline: a Pelican build through the
gate, real face photos, real Chromium. Each test plants a route by which a page assembles
a face no single file holds, and checks that the build fails naming the page, that the
output folder keeps the last good site, and (independently of the gate's own code) that no
Chromium screenshot of a page of the output shows a face without consent."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from PIL import Image

from tests.consent_gate_build import render_helpers as rh
from tests.consent_gate_build.gate_helpers import (
    build_site,
    copy_face,
    seed_registry,
    write_article,
)

pytestmark = pytest.mark.skipif(
    not Path(rh.CHROMIUM).is_file(), reason="Debian's chromium is needed"
)


@pytest.fixture(scope="module")
def site(tmp_path_factory, encodings, face_cache):
    """A site with one consented photo; built once (the last good site)."""
    root = tmp_path_factory.mktemp("render")
    registry = seed_registry(root / "registry", encodings)
    content = root / "content"
    copy_face(content, rh.CONSENTED, "images/class.jpg")
    write_article(content, "good", "A good day.\n\n![The class](/images/class.jpg)")
    return root, content, registry


# The check is publishconf.py's (CONSENT_RENDER_CHECK); these builds turn it on, without
# the listing pages nothing here looks at (rh.LISTINGS_OFF: half of every build's renderings).
RENDER = {"CONSENT_RENDER_CHECK": True, **rh.LISTINGS_OFF}


def _build(site, face_cache, name, extra=None, env=None):
    root, content, registry = site
    extra = {**RENDER, **(extra or {})}
    return build_site(content, root, name, registry, face_cache, extra=extra, env=env, check=False)


def _rebuild_into(content, site, face_cache, output):
    """Build `content` into the existing `output` (without emptying it first)."""
    import json
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT, manifest_path

    root, _content, registry = site
    overrides = {
        "PLUGINS": ["consent_gate"],
        "CONSENT_REPORT_PATH": str(root / f"report-{output.name}-2.json"),
        "CONSENT_MANIFEST_PATH": str(manifest_path(output)),
        "CONSENT_CACHE_DIR": str(face_cache),
        **RENDER,
    }
    cmd = [sys.executable, "-m", "pelican", str(content), "-o", str(output)]
    cmd += ["-s", str(ROOT / "pelicanconf.py"), "-e"]
    cmd += [f"{key}={json.dumps(value)}" for key, value in overrides.items()]
    proc = subprocess.run(
        cmd,
        cwd=ROOT,
        env={**os.environ, **registry.env, "COLUMNS": "1000"},
        capture_output=True,
        text=True,
    )
    from tests.consent_gate_build.gate_helpers import Build

    log = " ".join((proc.stdout + "\n" + proc.stderr).split())
    return Build(output, root / "unused.json", log, proc.returncode)


@pytest.fixture(scope="module")
def baseline(site, face_cache):
    """The good site built with the check on: the last good site the attacked rebuild keeps
    too (instead of a second build of the same pages: 2-3 s, every rendering cached)."""
    return _build(site, face_cache, "baseline")


def test_a_consented_photo_passes_the_render_check(baseline, site, face_cache, encodings):
    build = baseline
    assert build.returncode == 0, build.log[-3000:]
    render = build.report["summary"]["render_check"]
    assert render["ran"] and render["pages"] > 0 and render["faces"] >= 1, render
    assert not render["problems"]
    faces = rh.screenshot_faces(build.output, ["news/2026/good/index.html"])
    assert faces and not rh.unconsented(faces, encodings)
    # A warm rebuild renders nothing new.
    again = _build(site, face_cache, "baseline")
    assert again.returncode == 0
    assert again.report["summary"]["render_check"]["rendered"] == 0, (
        sorted(str(p.relative_to(face_cache)) for p in (face_cache / "render").rglob("*.json")),
        again.log[-2000:],
    )


def _tiles_route(folder: Path) -> str:
    count = 8
    photo = rh.portrait(width=320)
    cut = rh.tiles(photo, count)
    tw, th = photo.width // count, photo.height // count
    for r, c, tile in cut:
        rh.save_jpeg(tile, folder / "images" / "grid" / f"t{(r * 13 + c * 5) % 64:02d}.jpg")
    cells = "".join(
        f'<img src="/images/grid/t{(r * 13 + c * 5) % 64:02d}.jpg" alt="" '
        f'style="grid-row:{r + 1};grid-column:{c + 1};width:{tw}px;height:{th}px;display:block">'
        for r, c, _t in reversed(cut)
    )
    return (
        f'<div style="display:grid;grid-template-columns:repeat({count},{tw}px);gap:0">'
        f"{cells}</div>"
    )


def _sprite_route(folder: Path) -> str:
    count = 10
    photo = rh.portrait(width=300)
    cut = rh.tiles(photo, count)
    tw, th = photo.width // count, photo.height // count
    order = sorted(range(len(cut)), key=lambda i: (i * 17) % len(cut))
    sheet = Image.new("RGB", (tw * len(cut), th))
    for slot, index in enumerate(order):
        sheet.paste(cut[index][2], (slot * tw, 0))
    rh.save_png(sheet, folder / "images" / "sprite.png")
    cells = []
    for slot, index in enumerate(order):
        r, c, _tile = cut[index]
        cells.append(
            f'<div style="position:absolute;left:{c * tw}px;top:{r * th}px;width:{tw}px;'
            f'height:{th}px;background:url(/images/sprite.png) -{slot * tw}px 0 no-repeat"></div>'
        )
    return (
        f'<div style="position:relative;width:{tw * count}px;height:{th * count}px">'
        + "".join(cells)
        + "</div>"
    )


def _squeeze_route(folder: Path) -> str:
    # Stretched back by a style sheet, which the gate does not read (a shape given in the
    # element itself is the gate's: test_a_squeezed_photo_shown_at_its_true_shape_...).
    photo = rh.portrait(width=320)
    squeezed = photo.resize((photo.width // 4, photo.height), Image.Resampling.LANCZOS)
    rh.save_jpeg(squeezed, folder / "images" / "thin.jpg")
    return (
        f"<style>.thin {{ width: {photo.width}px; height: {photo.height}px; "
        "max-width: none; }</style>"
        '<img class="thin" src="/images/thin.jpg" alt="">'
    )


def _svg_filter_route(folder: Path) -> str:
    stored, table = rh.scrambled_grey(rh.portrait(width=320))
    rh.save_png(stored, folder / "images" / "noise.png")
    values = " ".join(f"{v:.4f}" for v in table)
    return (
        '<svg width="0" height="0" style="position:absolute"><filter id="f" '
        'color-interpolation-filters="sRGB"><feComponentTransfer>'
        f'<feFuncR type="discrete" tableValues="{values}"/>'
        f'<feFuncG type="discrete" tableValues="{values}"/>'
        f'<feFuncB type="discrete" tableValues="{values}"/>'
        "</feComponentTransfer></filter></svg>"
        f'<img src="/images/noise.png" alt="" style="filter:url(#f);width:{stored.width}px">'
    )


def _traced_file_route(folder: Path) -> str:
    path = folder / "images" / "traced.svg"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(rh.traced_svg(rh.portrait(width=300)), encoding="utf-8")
    return '<img src="/images/traced.svg" alt="" style="width:300px">'


def _traced_inline_route(folder: Path) -> str:
    return rh.traced_svg(rh.portrait(width=300))


def _box_shadow_route(folder: Path) -> str:
    return rh.box_shadow_art(rh.portrait(width=270))


def _canvas_route(folder: Path) -> str:
    photo = rh.portrait(width=120).convert("L")
    numbers = ",".join(str(v) for v in photo.tobytes())
    return (
        f'<canvas id="c" width="{photo.width}" height="{photo.height}" '
        'style="width:360px"></canvas>'
        f"<script>const v=[{numbers}];const c=document.getElementById('c');"
        "const x=c.getContext('2d');const d=x.createImageData(c.width,c.height);"
        "for(let i=0;i<v.length;i++){d.data[4*i]=d.data[4*i+1]=d.data[4*i+2]=v[i];"
        "d.data[4*i+3]=255;}x.putImageData(d,0,0);</script>"
    )


def _blob_route(folder: Path) -> str:
    import base64
    import io

    buffer = io.BytesIO()
    rh.portrait(width=300).save(buffer, "JPEG")
    encoded = base64.b64encode(buffer.getvalue()).decode()
    pieces = ",".join(f'"{encoded[i : i + 40]}"' for i in range(0, len(encoded), 40))
    return (
        '<img id="b" alt="">'
        f"<script>const p=[{pieces}].join('');const b=Uint8Array.from(atob(p),"
        "ch=>ch.charCodeAt(0));document.getElementById('b').src=URL.createObjectURL("
        "new Blob([b],{type:'image/jpeg'}));</script>"
    )


def _font_route(folder: Path) -> str:
    path = folder / "images" / "portrait.ttf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(rh.portrait_font())
    return (
        "<style>@font-face { font-family: Portrait; src: url(/images/portrait.ttf); }</style>"
        '<p style="font-family: Portrait; font-size: 360px; line-height: 1">A</p>'
    )


ROUTES = {
    "font-glyph": _font_route,
    "tiles": _tiles_route,
    "sprite": _sprite_route,
    "squeeze": _squeeze_route,
    "svg-filter": _svg_filter_route,
    "traced-file": _traced_file_route,
    "traced-inline": _traced_inline_route,
    "box-shadow": _box_shadow_route,
    "canvas": _canvas_route,
    "blob": _blob_route,
}
# Routes taken out by the script rule (``site_gate.scripts``) before any rendering.
SCRIPT_ROUTES = {"canvas", "blob"}


@pytest.fixture(scope="module")
def attacked(site, face_cache, baseline):
    """The good site built, then every route planted (each on its own page) and the same
    output folder rebuilt."""
    root, content, _registry = site
    good = baseline
    assert good.returncode == 0, good.log[-3000:]
    # (Rebuilt since by the warm-rebuild test, which must leave the site there.)
    assert (good.output / "news" / "2026" / "good" / "index.html").is_file()
    kept = root / "kept-attacked"
    shutil.copytree(good.output, kept)
    planted = root / "content-attacked"
    shutil.copytree(content, planted)
    for slug, route in ROUTES.items():
        write_article(planted, slug, route(planted))
    result = _rebuild_into(planted, site, face_cache, good.output)
    (root / "attacked.log").write_text(result.log, encoding="utf-8")
    return result, kept, planted


@pytest.mark.parametrize("slug", sorted(set(ROUTES) - SCRIPT_ROUTES))
def test_a_face_assembled_by_a_page_fails_the_build(attacked, slug):
    result, _kept, planted = attacked
    assert result.returncode != 0, result.log[-3000:]
    page = f"news/2026/{slug}/index.html"
    named = re.findall(r"Consent gate render check: (\S+) at (\d+) px wide, ([^:]+):", result.log)
    withheld_for_page = re.search(rf"withheld \S+ \(used by [^)]*{re.escape(page)}", result.log)
    assert any(p == page for p, _w, _where in named) or withheld_for_page, (
        f"{slug}: neither the render check nor the file check named {page}:\n" + result.log[-4000:]
    )
    if slug in ("tiles", "sprite", "svg-filter", "traced-inline", "box-shadow"):
        # No single file holds the face: it is the rendering that shows it.
        assert any(p == page for p, _w, _where in named), result.log[-4000:]


@pytest.mark.parametrize("slug", sorted(SCRIPT_ROUTES))
def test_a_script_that_draws_a_picture_is_removed(attacked, slug):
    result, _kept, _planted = attacked
    page = f"news/2026/{slug}/index.html"
    assert re.search(rf"{re.escape(page)} carried \d+ script\(s\)", result.log), result.log[-3000:]


def test_the_last_good_site_stays_and_shows_no_unconsented_face(attacked, encodings):
    result, kept, _planted = attacked
    assert result.returncode != 0
    assert "rendered site shows" in result.log
    now = sorted(p.relative_to(result.output).as_posix() for p in result.output.rglob("*"))
    assert now == sorted(p.relative_to(kept).as_posix() for p in kept.rglob("*"))
    assert not any("2026/tiles" in rel for rel in now)
    # Independently of the gate's code: Chromium screenshots and the published bytes.
    pages = [rel for rel in now if rel.endswith("index.html")][:4]
    faces = rh.screenshot_faces(result.output, pages)
    assert not rh.unconsented(faces, encodings)
    for path in result.output.rglob("*.jpg"):
        assert path.name == "class.jpg" or not rh.bytes_hold_face(path)


REMOTE = "https://cdn.example.com/kid.jpg"
REMOTE_BODY = (
    "Remote pictures, every way a page can name one.\n\n"
    f'<script type="application/ld+json">{{"@type": "NewsArticle", "image": "{REMOTE}"}}'
    "</script>\n"
    f'<link rel="image_src" href="{REMOTE}">\n'
    f'<link rel="preload" as="image" href="{REMOTE}">\n'
    '<link rel="manifest" href="/extra/site.webmanifest">\n'
    f'<style>:root {{ --pic: "{REMOTE}"; }} .hero {{ background-image: image-set(var(--pic) 1x);'
    " width: 200px; height: 200px; }</style>\n"
    '<div class="hero">Hero</div>\n'
    "<script>const i = new Image(); i.src = ['https:', '', 'cdn.example.com', 'kid.jpg']"
    ".join('/'); document.body.append(i);</script>\n"
)


def _plant_squeezed(content: Path) -> None:
    """A stranger's photo stored at a quarter of its width, on a page that sets its true
    width and height (the squeeze test's article)."""
    photo = rh.portrait(width=320)
    squeezed = photo.resize((photo.width // 4, photo.height), Image.Resampling.LANCZOS)
    rh.save_jpeg(squeezed, content / "images" / "thin.jpg")
    write_article(
        content,
        "stretched",
        "Sports day.\n\n"
        f'<img src="/images/thin.jpg" alt="Sports day" width="{photo.width}" '
        f'height="{photo.height}" style="width:{photo.width}px;height:{photo.height}px;'
        'max-width:none">\n',
    )


@pytest.fixture(scope="module")
def strict_build(site, face_cache):
    """One strict build for the remote-picture tests and the squeeze test, each article on
    its own page: as two builds (the squeeze one not strict) they made 18 renderings, as
    one 12."""
    root, content, _registry = site
    planted = root / "content-remote"
    shutil.copytree(content, planted)
    manifest = planted / "extra" / "site.webmanifest"
    manifest.parent.mkdir(parents=True, exist_ok=True)
    manifest.write_text(
        '{"name": "School", "icons": [{"src": "' + REMOTE + '", "sizes": "192x192"}]}',
        encoding="utf-8",
    )
    write_article(planted, "remote", REMOTE_BODY)
    _plant_squeezed(planted)
    return build_site(
        planted,
        root,
        "remote",
        site[2],
        face_cache,
        extra={**RENDER, "CONSENT_STRICT": True, "STATIC_PATHS": ["images", "extra"]},
        check=False,
    )


def _naming_the_host(output: Path) -> list[Path]:
    return [
        path
        for path in output.rglob("*")
        if path.is_file() and b"cdn.example.com" in path.read_bytes()
    ]


def test_remote_pictures_never_reach_a_strict_build(strict_build, encodings):
    build = strict_build
    assert build.returncode == 0, build.log[-3000:]
    # Independently: no published page, script, style or manifest names the remote host,
    # and the page's policy lets pictures come only from the site. (Feeds: the next test.)
    named = [p for p in _naming_the_host(build.output) if "feeds" not in p.parts]
    assert not named, named
    page = build.page("remote")
    assert "img-src &#x27;self&#x27;;" in page
    assert "carried 1 script(s)" in build.log
    render = build.report["summary"]["render_check"]
    assert render["ran"] and not render["remote_requests"], render
    faces = rh.screenshot_faces(build.output, ["news/2026/remote/index.html"])
    assert not rh.unconsented(faces, encodings)


def test_a_content_script_is_removed_from_the_feeds_too(strict_build):
    assert strict_build.returncode == 0, strict_build.log[-3000:]
    assert not _naming_the_host(strict_build.output)
    feeds = [p for p in strict_build.output.rglob("*.xml") if "feeds" in p.parts]
    assert feeds
    for feed in feeds:
        text = feed.read_text(encoding="utf-8")
        assert "&lt;script" not in text and "<script" not in text, feed


# The face cache of the builds without a browser: never given a rendering or a drawing,
# shared so that the photos are searched once (a cold search: 1.4 CPU-seconds a build).
NO_BROWSER_CACHE = "cache-no-browser"


def test_without_chromium_a_strict_build_fails_and_a_dev_build_says_so(site, face_cache):
    root, content, registry = site
    env = {"CONSENT_CHROMIUM": str(root / "no-such-chromium")}
    # A cache no browser ever worked for: nothing rendered before, so the browser is needed.
    cache = root / NO_BROWSER_CACHE
    strict = build_site(
        content,
        root,
        "nochrome-strict",
        registry,
        cache,
        extra={**RENDER, "CONSENT_STRICT": True},
        env=env,
        check=False,
    )
    assert strict.returncode != 0
    assert "no Chromium at" in strict.log and "apt-get install chromium" in strict.log
    assert not (strict.output / "index.html").exists()
    dev = build_site(
        content, root, "nochrome-dev", registry, cache, extra=RENDER, env=env, check=False
    )
    assert dev.returncode == 0, dev.log[-2000:]
    assert "rendered pages were NOT face-checked" in dev.log
    assert dev.report["summary"]["render_check"]["ran"] is False


def test_a_squeezed_photo_shown_at_its_true_shape_is_withheld_from_that_page(
    strict_build, encodings
):
    """A stranger's photo stored at a quarter of its width holds no face the detector
    finds; a page that sets its true width and height shows one. The gate checks a copy
    at the shape the page shows and puts the placeholder there (without that, the
    rendered-page check fails the build)."""
    build = strict_build
    assert build.returncode == 0, build.log[-3000:]
    page = build.page("stretched")
    assert "thin.jpg" not in page and "photo-withheld" in page
    assert (build.output / "images" / "thin.jpg").is_file()
    assert "Consent gate withheld images/thin.jpg from news/2026/stretched/index.html" in (
        build.log
    )
    found = build.report["summary"]["stretched_withheld"]
    assert {e["image"] for e in found} == {"images/thin.jpg"}
    (entry,) = [e for e in found if e["page"] == "news/2026/stretched/index.html"]
    # The feeds carry the entry's HTML, and the placeholder with it.
    assert {e["page"] for e in found} - {entry["page"]} <= {
        p.relative_to(build.output).as_posix() for p in build.output.rglob("*.xml")
    }
    for feed in build.output.rglob("*.xml"):
        assert "thin.jpg" not in feed.read_text(encoding="utf-8"), feed
    assert "stretched to" in entry["reason"]
    assert build.report["summary"]["render_check"]["ran"]
    # Independently of the gate's code: what Chromium shows of both pages.
    faces = rh.screenshot_faces(build.output, ["news/2026/stretched/index.html"])
    assert not rh.unconsented(faces, encodings)


def test_a_drawing_that_traces_a_face_is_withheld_though_no_page_shows_it(
    site, face_cache, encodings
):
    """An SVG file of traced paths holds no picture file, and no page shows it: the gate
    draws every SVG file in Chromium and decides the drawing as a photo. It does so in a
    preview build too (the rendered-page check off), and withholds a drawing it cannot
    draw."""
    root, content, registry = site
    planted = root / "content-drawings"
    shutil.copytree(content, planted)
    (planted / "images" / "traced.svg").write_text(
        rh.traced_svg(rh.portrait(width=300)), encoding="utf-8"
    )
    (planted / "images" / "plain.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64">'
        '<circle cx="32" cy="32" r="20" fill="teal"/></svg>',
        encoding="utf-8",
    )
    build = build_site(planted, root, "drawings", registry, face_cache, check=False)
    assert build.returncode == 0, build.log[-3000:]
    assert not (build.output / "images" / "traced.svg").exists()
    assert (build.output / "images" / "plain.svg").is_file()
    assert (build.output / "theme" / "images" / "logo.svg").is_file()
    images = {image["output_path"]: image for image in build.report["images"]}
    traced = images["images/traced.svg"]
    assert traced["verdict"] == "withhold"
    assert any("drawn, the drawing shows a face" in r for r in traced["reasons"]), traced
    assert "Consent gate withheld images/traced.svg" in build.log
    assert not build.report["summary"]["render_check"]["ran"]

    # Without a browser to draw them, drawings are withheld (a cache without a browser:
    # none drawn).
    blind = build_site(
        planted,
        root,
        "drawings-blind",
        registry,
        root / NO_BROWSER_CACHE,
        env={"CONSENT_CHROMIUM": str(root / "no-such-chromium")},
        check=False,
    )
    assert blind.returncode == 0, blind.log[-3000:]
    assert not list(blind.output.rglob("*.svg"))
    reasons = {image["output_path"]: image["reasons"] for image in blind.report["images"]}
    assert any("could not be drawn" in r for r in reasons["images/plain.svg"])
    assert "apt-get install chromium" in " ".join(reasons["images/plain.svg"])
