"""The consent gate in a real Pelican build: what reaches the output, what is withheld,
what the pages show and what the build says."""

from __future__ import annotations

import base64
import io
import re
import shutil
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import ROOT, SHARED_FACES
from tests.consent_gate_build.gate_helpers import (
    Build,
    build_site,
    cache_sharing_faces,
    copy_face,
    days_from_today,
    face_path,
    jpeg_with_gps_xmp_thumbnail,
    no_face_image,
    seed_registry,
    write_article,
)

ALLOWED_JPEG_SEGMENTS = (b"JFIF\x00", b"ICC_PROFILE\x00", b"Adobe")


def make_main_site(root: Path) -> tuple[Path, Path]:
    """Content with consented, unconsented, group, corrupt, derivative, unreferenced,
    theme-written and remote images; returns (content, extra theme static folder)."""
    content = root / "content"
    images = content / "images"
    obama = SHARED_FACES / "people/obama/obama1.jpg"
    jpeg_with_gps_xmp_thumbnail(obama, images / "visit/assembly.jpg")
    copy_face(content, "people/biden/biden1.jpg", "images/visit/guest.jpg")
    copy_face(content, "groups/biden_obama_and_child.jpg", "images/visit/group.jpg")
    copy_face(content, "people/alex_lacamoire/alex1.jpg", "images/visit/crowd.jpg")
    # Derivatives of crowd.jpg without a face in them: only the name rule withholds them.
    no_face_image(images / "visit/crowd-640w.jpg", seed=1)
    no_face_image(images / "thumbnails/crowd_small.jpg", size=(160, 120), seed=2)
    (images / "visit/broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a photo")
    no_face_image(images / "visit/harington-goal.jpg", seed=3)
    no_face_image(images / "visit/field.jpg", size=(480, 320), seed=4, orientation=6)
    copy_face(content, "people/lin_manuel_miranda/lin1.png", "images/unlisted/portrait.png")
    theme_static = root / "theme-static"
    copy_face(theme_static, "people/alex_lacamoire/alex3.png", "images/staff.png")

    write_article(
        content,
        "visit",
        """
A visit to the school.

![A speaker at the assembly podium]({static}/images/visit/assembly.jpg)

![A guest at the front door]({static}/images/visit/guest.jpg)

<figure>
  <img src="{static}/images/visit/group.jpg" alt="Two guests and a pupil by the stage">
  <figcaption>After the assembly.</figcaption>
</figure>

![A sunny football pitch]({static}/images/visit/harington-goal.jpg)

![Rose Leslie scoring a goal on the field]({static}/images/visit/field.jpg)

<img src="https://cdn.example.com/kids.jpg" alt="Children at the fair">

![A damaged photo]({static}/images/visit/broken.jpg)
""",
    )
    srcset = "../../../images/visit/crowd-640w.jpg 640w, ../../../images/visit/crowd.jpg 874w"
    write_article(
        content,
        "crowd",
        f"""
The crowd at the gate.

<img src="{{static}}/images/visit/crowd.jpg" srcset="{srcset}"
 alt="People waiting at the school gate">

[Download the full-size photo]({{static}}/images/visit/crowd.jpg)

<picture><source srcset="/images/thumbnails/crowd_small.jpg">
<img src="{{static}}/images/visit/harington-goal.jpg" alt="A sunny football pitch"></picture>

The end of the article.
""",
        image="images/visit/crowd.jpg",
    )
    # Pictures the gate cannot check as files: drawn inside an SVG, or written into the page.
    face = _png_data_url("people/lin_manuel_miranda/lin1.png")
    (images / "visit/poster.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'viewBox="0 0 200 200"><rect width="200" height="200" fill="#eee"/>'
        f'<image x="40" y="40" width="120" height="120" xlink:href="{face}"/></svg>',
        encoding="utf-8",
    )
    (images / "visit/map.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">'
        '<path d="M1 1h8v8H1z" fill="#363"/></svg>',
        encoding="utf-8",
    )
    badge = (
        '<svg viewBox="0 0 200 200" role="img" aria-label="Sports day badge">'
        f'<circle r="90" cx="100" cy="100"/><image width="120" href="{face}"/></svg>'
    )
    write_article(
        content,
        "drawings",
        f"""
Drawings and pasted pictures.

![The school fair poster]({{static}}/images/visit/poster.svg)

![A map of the school grounds]({{static}}/images/visit/map.svg)

<img src="{face}" alt="A photo pasted straight into the page">

{badge}

After the pictures.
""",
    )
    return content, theme_static


def _png_data_url(relative: str) -> str:
    photo = Image.open(face_path(relative)).convert("RGB")
    photo.thumbnail((160, 160))
    buffer = io.BytesIO()
    photo.save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


@pytest.fixture(scope="module")
def main_site(tmp_path_factory, encodings, face_cache):
    root = tmp_path_factory.mktemp("gate-main")
    registry = seed_registry(root / "registry", encodings)
    content, theme_static = make_main_site(root)
    extra = {"THEME_STATIC_PATHS": ["static", str(theme_static)]}
    first = build_site(content, root, "first", registry, face_cache, extra=extra)
    second = build_site(content, root, "second", registry, face_cache, extra=extra)
    return first, second


@pytest.fixture(scope="module")
def main_build(main_site) -> Build:
    return main_site[0]


def jpeg_segments(path: Path) -> list[tuple[str, bytes]]:
    with Image.open(path) as image:
        return list(image.applist)


def assert_no_metadata(path: Path) -> None:
    with Image.open(path) as image:
        assert not image.getexif(), f"{path.name} still has EXIF"
        assert "xmp" not in image.info and "photoshop" not in image.info
        assert "comment" not in image.info
    for marker, data in jpeg_segments(path):
        assert data.startswith(ALLOWED_JPEG_SEGMENTS), f"{path.name}: {marker} {data[:12]!r}"
        if data.startswith(b"JFIF\x00"):
            assert data[12] == 0 and data[13] == 0, "JFIF header with an embedded thumbnail"


def test_consented_photos_are_published_without_metadata(main_build):
    source = Image.open(main_build.output.parent / "content/images/visit/assembly.jpg")
    assert source.getexif().get_ifd(0x8825), "the test photo should carry GPS"
    assert any(data.startswith(b"JFXX") for _, data in source.applist)

    for name in ("assembly.jpg", "guest.jpg"):
        published = main_build.output / "images/visit" / name
        assert published.is_file(), f"{name} (consent on file) was not published"
        assert_no_metadata(published)
        entry = main_build.image(f"images/visit/{name}")
        assert entry["verdict"] == "publish"
        assert entry["faces"], "the report should show the matched face"
    page = main_build.page("visit")
    assert "images/visit/assembly.jpg" in page


def test_orientation_is_applied_to_the_pixels(main_build):
    with Image.open(main_build.output / "images/visit/field.jpg") as image:
        assert image.size == (320, 480)
        assert not image.getexif()


def test_unconsented_photo_and_its_derivatives_are_withheld(main_build):
    output = main_build.output
    for rel in (
        "images/visit/crowd.jpg",
        "images/visit/crowd-640w.jpg",
        "images/thumbnails/crowd_small.jpg",
    ):
        assert not (output / rel).exists(), f"{rel} reached the output"
        entry = main_build.image(rel)
        assert entry["verdict"] == "withhold"
        assert entry["reasons"]
    derived = main_build.image("images/visit/crowd-640w.jpg")["reasons"]
    assert "derived from the withheld image images/visit/crowd.jpg" in derived
    assert main_build.image("images/visit/crowd.jpg")["pages"] == ["news/2026/crowd/index.html"]

    page = main_build.page("crowd")
    assert "crowd.jpg" not in page and "crowd-640w" not in page and "crowd_small" not in page
    assert page.count('class="photo-withheld"') == 2  # the <img> and the <picture>
    assert 'aria-label="Photo withheld: consent not on file"' in page
    assert 'property="og:image"' not in page
    # Feeds carry the article HTML too.
    assert "feeds/all.atom.xml" in main_build.image("images/visit/crowd.jpg")["feeds"]
    feed = (main_build.output / "feeds/all.atom.xml").read_text(encoding="utf-8")
    assert "crowd.jpg" not in feed and "images/visit/assembly.jpg" in feed
    assert "People waiting at the school gate" not in feed
    # The text link to the withheld photo keeps its words and loses its target.
    assert "Download the full-size photo" in page
    assert "The end of the article." in page


def test_group_photo_with_an_unregistered_child_is_withheld(main_build):
    assert not (main_build.output / "images/visit/group.jpg").exists()
    entry = main_build.image("images/visit/group.jpg")
    assert entry["verdict"] == "withhold"
    assert len(entry["faces"]) >= 3
    assert sum(1 for face in entry["faces"] if not face["ok"]) >= 1
    page = main_build.page("visit")
    assert "group.jpg" not in page
    assert "After the assembly." in page  # the caption stays, beside the placeholder


def test_corrupt_image_is_withheld_with_a_clear_message(main_build):
    assert not (main_build.output / "images/visit/broken.jpg").exists()
    entry = main_build.image("images/visit/broken.jpg")
    assert entry["verdict"] == "withhold"
    assert "broken.jpg" in " ".join(entry["reasons"])
    assert "Consent gate withheld images/visit/broken.jpg" in main_build.log


def test_images_no_article_references_are_checked_too(main_build):
    output = main_build.output
    for rel in ("images/unlisted/portrait.png", "theme/images/staff.png"):
        assert not (output / rel).exists(), f"{rel} was published unchecked"
        assert main_build.image(rel)["verdict"] == "withhold"
        assert f"Consent gate withheld {rel} (used by no page)" in main_build.log
    og_default = main_build.image("theme/images/og-default.png")
    assert og_default["verdict"] == "publish"
    assert (output / "theme/images/og-default.png").is_file()


def test_withheld_images_are_reported_with_pages_reasons_and_what_to_do(main_build):
    log = main_build.log
    summary = main_build.report["summary"]
    images = main_build.report["images"]
    assert summary["checked"] == len(images)
    assert summary["withheld"] == sum(1 for e in images if e["verdict"] == "withhold")
    assert summary["published"] + summary["withheld"] == summary["checked"]
    expected = (
        f"Consent gate: {summary['checked']} files that can show a picture checked — "
        f"{summary['published']} "
        f"published, {summary['withheld']} withheld (see {main_build.report_path})"
    )
    assert expected in log
    crowd = main_build.image("images/visit/crowd.jpg")
    assert re.search(
        r"Consent gate withheld images/visit/crowd\.jpg \(used by news/2026/crowd/index\.html\)",
        log,
    )
    # The short hash: whole on one line however the log wraps (test_wrapped_advice.py).
    assert f"consent approve {crowd['sha256'][:12]} " in log
    assert "ask the consent office to check consent" in log
    assert main_build.report["registry_fingerprint"]


def test_pictures_the_gate_cannot_check_as_files_are_withheld(main_build):
    output = main_build.output
    assert not (output / "images/visit/poster.svg").exists()
    entry = main_build.image("images/visit/poster.svg")
    assert entry["verdict"] == "withhold"
    assert "the drawing holds 1 picture(s) the gate cannot check" in entry["reasons"][0]
    assert (output / "images/visit/map.svg").exists()  # a drawing without pictures stays
    page = main_build.page("drawings")
    assert "poster.svg" not in page and "map.svg" in page
    assert "data:image/png" not in page
    assert page.count('class="photo-withheld"') == 3 and "After the pictures." in page
    assert "Sports day badge" not in page  # the inline drawing went whole
    assert "has 2 picture(s) written into the page itself (a data: URL)" in main_build.log
    feed = (output / "feeds/all.atom.xml").read_text(encoding="utf-8")
    assert "data:image/png" not in feed and "poster.svg" not in feed


def test_remote_images_are_named_in_a_warning(main_build):
    assert "news/2026/visit/index.html shows 1 image(s) from another site" in main_build.log
    assert "https://cdn.example.com/kids.jpg" in main_build.page("visit")  # not strict


def test_student_names_in_file_names_and_alt_text_are_warned_about(main_build):
    log = main_build.log
    assert (
        "The image file name images/visit/harington-goal.jpg contains a registered "
        "student's name (harington)" in log
    )
    assert (
        "The alt text of images/visit/field.jpg on news/2026/visit/index.html contains a "
        "registered student's name (leslie, rose)" in log
    )
    kinds = {(w["image"], w["where"]) for w in main_build.report["name_warnings"]}
    assert ("images/visit/assembly.jpg", "alt text") not in kinds


def test_two_builds_publish_identical_image_bytes(main_site):
    first, second = main_site
    first_files = sorted(
        p.relative_to(first.output)
        for p in first.output.rglob("*")
        if p.suffix.lower() in (".jpg", ".png")
    )
    second_files = sorted(
        p.relative_to(second.output)
        for p in second.output.rglob("*")
        if p.suffix.lower() in (".jpg", ".png")
    )
    assert first_files == second_files
    assert Path("images/visit/assembly.jpg") in first_files
    for rel in first_files:
        assert (first.output / rel).read_bytes() == (second.output / rel).read_bytes(), rel


def test_a_rebuild_copies_no_unchanged_photo_and_publishes_the_same_bytes(
    tmp_path, encodings, face_cache
):
    registry = seed_registry(tmp_path / "registry", encodings, people=("kit",))
    # Its own re-encoded copies (deleted below), the run's face results (72 s -> 17 s).
    content, cache = tmp_path / "content", cache_sharing_faces(tmp_path / "cache", face_cache)
    copy_face(content, "people/kit_harington/kit2.jpg", "images/club/kit.jpg")
    copy_face(content, "people/alex_lacamoire/alex2.jpg", "images/club/alex.jpg")
    meadow = no_face_image(content / "images/club/meadow.jpg", seed=3)
    write_article(
        content,
        "club",
        "\n\n".join(
            f"![Club photo]({{static}}/images/club/{n}.jpg)" for n in ("kit", "alex", "meadow")
        ),
    )
    photos = ("images/club/kit.jpg", "images/club/meadow.jpg")

    def build() -> tuple:
        done = build_site(content, tmp_path, "site", registry, cache, debug=True)
        published = {rel: (done.output / rel).read_bytes() for rel in photos}
        assert not (done.output / "images/club/alex.jpg").exists()
        return done, published

    def not_copied(done, name: str) -> bool:
        return f"images/club/{name}.jpg is up to date, not copying" in done.log

    first, published = build()
    assert not any(not_copied(first, n) for n in ("kit", "alex", "meadow"))
    # Unchanged content files: Pelican copies none of them; the same bytes are published.
    again, republished = build()
    assert all(not_copied(again, n) for n in ("kit", "alex", "meadow"))
    assert republished == published
    assert again.report["summary"] == first.report["summary"]
    # No re-encoded copy cached: the photo is copied after all, re-encoded, the same bytes.
    shutil.rmtree(cache / "published")
    redone, republished = build()
    assert republished == published and redone.report["summary"] == first.report["summary"]
    # A photo edited since: copied and checked again; the others still not copied.
    no_face_image(meadow, seed=4)
    edited, republished = build()
    assert not not_copied(edited, "meadow") and not_copied(edited, "kit")
    assert republished["images/club/meadow.jpg"] != published["images/club/meadow.jpg"]
    assert republished["images/club/kit.jpg"] == published["images/club/kit.jpg"]


def test_without_a_registry_faces_are_withheld_and_strict_replaces_remote_images(
    tmp_path, face_cache
):
    content = tmp_path / "content"
    copy_face(content, "people/obama/obama3.jpg", "images/news/speaker.jpg")
    no_face_image(content / "images/news/meadow.jpg", seed=5)
    write_article(
        content,
        "no-registry",
        """
![A speaker at the podium]({static}/images/news/speaker.jpg)

![A meadow]({static}/images/news/meadow.jpg)

<p><img src="https://cdn.example.com/kids.jpg" alt="Children at the fair"></p>
""",
    )
    build = build_site(
        content, tmp_path, "no-registry", None, face_cache, extra={"CONSENT_STRICT": True}
    )
    assert re.search(
        r"no consent registry at \S+registry\.sqlite3: every photo with a face is withheld; "
        r"see consent/README\.md",
        build.log,
    )
    assert not (build.output / "images/news/speaker.jpg").exists()
    assert (build.output / "images/news/meadow.jpg").is_file()
    assert build.report["summary"]["registry"] == "missing"
    page = build.page("no-registry")
    assert "cdn.example.com" not in page
    assert page.count('class="photo-withheld"') == 2
    assert "replaced by the placeholder (CONSENT_STRICT)" in build.log


def test_registry_changes_take_effect_on_the_next_build(tmp_path, encodings, face_cache):
    registry = seed_registry(
        tmp_path / "registry",
        encodings,
        people=("kit", "rose"),
        expires={"rose": days_from_today(30)},
    )
    content = tmp_path / "content"
    copy_face(content, "people/kit_harington/kit2.jpg", "images/club/a.jpg")
    copy_face(content, "people/rose_leslie/rose2.jpg", "images/club/b.jpg")
    copy_face(content, "people/alex_lacamoire/alex2.jpg", "images/club/c.jpg")
    write_article(
        content,
        "club",
        "\n\n".join(f"![Club photo {n}]({{static}}/images/club/{n}.jpg)" for n in "abc"),
    )
    club = "images/club/{}.jpg".format

    before = build_site(content, tmp_path, "before", registry, face_cache)
    assert (before.output / club("a")).is_file()
    assert (before.output / club("b")).is_file()
    assert not (before.output / club("c")).exists()

    with registry.open() as reg:
        reg.revoke("S1002", actor="test")
    later = {"SITE_DATE": days_from_today(60).isoformat()}  # after rose's consent expires
    after = build_site(content, tmp_path, "after", registry, face_cache, env=later)
    assert not (after.output / club("a")).exists()
    # Revoking deletes the face templates: the face is now unknown.
    revoked_reasons = " ".join(after.image(club("a"))["reasons"])
    assert "unknown face" in revoked_reasons or "revoked" in revoked_reasons
    assert not (after.output / club("b")).exists()
    assert "expired" in " ".join(after.image(club("b"))["reasons"])
    assert after.page("club").count('class="photo-withheld"') == 3

    withheld = after.image(club("c"))
    with registry.open() as reg:
        reg.approve(
            withheld["sha256"], by="consent office", reason="family agreed by phone", shows=()
        )
    approved = build_site(content, tmp_path, "approved", registry, face_cache, env=later)
    assert (approved.output / club("c")).is_file()
    assert approved.image(club("c"))["verdict"] == "publish"
    assert approved.image(club("c"))["approved_by"]
    assert not (approved.output / club("a")).exists()


def test_an_unreadable_registry_fails_the_build_and_leaves_no_image(tmp_path, face_cache):
    content = tmp_path / "content"
    copy_face(content, "people/obama/obama3.jpg", "images/news/speaker.jpg")
    no_face_image(content / "images/news/meadow.jpg", seed=6)
    write_article(content, "broken-registry", "![A meadow]({static}/images/news/meadow.jpg)")
    bad = tmp_path / "bad-registry"
    bad.mkdir()
    (bad / "registry.sqlite3").write_bytes(b"this is not a database" * 100)
    (bad / "consent.key").write_bytes(b"not a key")
    build = build_site(
        content,
        tmp_path,
        "bad",
        None,
        face_cache,
        check=False,
        env={
            "CONSENT_REGISTRY": str(bad / "registry.sqlite3"),
            "CONSENT_KEY_FILE": str(bad / "consent.key"),
        },
    )
    assert build.returncode != 0
    assert "the consent gate failed" in build.log
    leftovers = [p for p in build.output.rglob("*") if p.suffix.lower() in (".jpg", ".png")]
    assert leftovers == []


def test_a_report_inside_the_output_folder_is_refused(tmp_path, face_cache):
    content = tmp_path / "content"
    no_face_image(content / "images/news/meadow.jpg", seed=7)
    write_article(content, "report-inside", "![A meadow]({static}/images/news/meadow.jpg)")
    output = tmp_path / "out-inside"
    build = build_site(
        content,
        tmp_path,
        "inside",
        None,
        face_cache,
        check=False,
        extra={"CONSENT_REPORT_PATH": str(output / "consent-report.json")},
    )
    assert build.returncode != 0
    assert "is inside the output folder" in build.log
    assert not (output / "consent-report.json").exists()
    assert not (output / "images/news/meadow.jpg").exists()


def test_demo_gallery_publishes_the_consented_photo_only(tmp_path, face_cache):
    from consent_registry.demo import prepare_demo

    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content, ignore=shutil.ignore_patterns("gallery"))
    slug = "fall-festival-photos"

    # A fresh clone: the gallery photos are not there, the site still builds.
    bare = build_site(content, tmp_path, "bare", None, face_cache)
    # Not in the site at all: parents are told it is not available, not a consent story.
    assert bare.page(slug).count('class="photo-withheld photo-missing"') == 2
    assert "consent not on file" not in bare.page(slug)
    assert "images/gallery/astronaut.png is used by news/2026/fall-festival-photos" in bare.log

    registry = tmp_path / "demo-registry" / "registry.sqlite3"
    key_file = tmp_path / "demo-registry" / "consent.key"
    prepare_demo(content, registry, key_file)
    demo = build_site(
        content,
        tmp_path,
        "demo",
        None,
        face_cache,
        env={"CONSENT_REGISTRY": str(registry), "CONSENT_KEY_FILE": str(key_file)},
    )
    assert (demo.output / "images/gallery/astronaut.png").is_file()
    assert not (demo.output / "images/gallery/grace_hopper.jpg").exists()
    page = demo.page(slug)
    assert "images/gallery/astronaut.png" in page
    assert page.count('class="photo-withheld"') == 1
    assert demo.image("images/gallery/grace_hopper.jpg")["verdict"] == "withhold"


def test_turning_the_gate_off_is_loud(tmp_path, face_cache):
    content = tmp_path / "content"
    copy_face(content, "people/obama/obama3.jpg", "images/news/speaker.jpg")
    write_article(content, "gate-off", "![A speaker]({static}/images/news/speaker.jpg)")
    build = build_site(content, tmp_path, "off", None, face_cache, extra={"CONSENT_ENABLED": False})
    assert "CONSENT GATE IS OFF (CONSENT_ENABLED = False)" in build.log
    assert "never publish this output" in build.log
    assert (build.output / "images/news/speaker.jpg").is_file()
    assert not build.report_path.exists()
