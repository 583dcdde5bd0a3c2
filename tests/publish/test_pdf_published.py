"""PDFs published as checked, end to end: newsletters hiding an unconsented face by every
PDF route (an earlier revision, a thumbnail, an undrawn image, a print-only stamp or layer,
a button's rollover, an attachment, an image under a private key) are built through the
real gate and published to the local SeaweedFS server; every PDF in output/ and in the
bucket is then taken apart independently (every JPEG in any revision, every stream, every
image object, every page rendered for screen and print) and the face must be in none."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from PIL import Image
from s3_publish.consent import registry_checker
from s3_publish.sync import publish
from site_gate.manifest import read_manifest

from tests.conftest import SHARED_FACES, manifest_path
from tests.consent_engine import pdf_routes
from tests.consent_gate_build.gate_helpers import build_site, seed_registry, write_article
from tests.leak_check import SAME_PERSON, FaceMatcher
from tests.publish.publish_helpers import reference_templates_of, settings_for

pytestmark = pytest.mark.s3

STRANGER = SHARED_FACES / "people/lin_manuel_miranda/lin1.png"
CONSENTED = SHARED_FACES / "people/obama/obama3.jpg"


def _slug(route: str) -> str:
    return route.replace(" ", "-").replace("/", "-")


def _shows(matcher: FaceMatcher, data: bytes) -> bool:
    return any(
        matcher.distance(np.asarray(p.convert("RGB"))) <= SAME_PERSON
        for p in pdf_routes.pictures_in(data)
    )


@pytest.fixture(scope="module")
def matcher() -> FaceMatcher:
    return FaceMatcher(STRANGER)


@pytest.fixture(scope="module")
def pdf_site(tmp_path_factory):
    work = tmp_path_factory.mktemp("pdfs")
    registry = seed_registry(
        work / "registry",
        {"obama": reference_templates_of(SHARED_FACES / "people/obama/obama1.jpg")},
        people=("obama",),
    )
    content = work / "content"
    stranger = Image.open(STRANGER)
    files = {
        f"images/news/{_slug(r)}.pdf": build(stranger) for r, build in pdf_routes.ROUTES.items()
    }
    # A consented newsletter: the photo drawn on the page is published.
    pdf = pdf_routes.faceless_pdf()
    data, size = pdf_routes.jpeg(Image.open(CONSENTED))
    page = pdf.pages[0].obj
    page.Contents = pdf_routes.Stream(pdf, pdf_routes.FACE_DRAWN)
    page.Resources = pdf_routes.Dictionary(
        XObject=pdf_routes.Dictionary(Im0=pdf_routes.image_stream(pdf, data, size))
    )
    files["images/news/consented.pdf"] = pdf_routes.saved(pdf)
    links = []
    for name, body in files.items():
        (content / name).parent.mkdir(parents=True, exist_ok=True)
        (content / name).write_bytes(body)
        links.append(f"- [{name}]({{static}}/{name})")
    write_article(content, "newsletters", "The newsletters:\n\n" + "\n".join(links))
    # The PDFs are what is tested here, taken apart byte by byte below: the build's rendered-page
    # check (pages in Chromium, tested in its own tests) is left out of this development build.
    build = build_site(
        content,
        work,
        "site",
        registry,
        work / "cache",
        extra={"CONSENT_WORKERS": 1},
        env={"CONSENT_CHROMIUM": str(work / "no-browser")},
    )
    return build, files, registry


def test_every_route_file_really_carries_the_face(pdf_site, matcher):
    _, files, _ = pdf_site
    blind = [name for name, data in files.items() if "consented" not in name]
    blind = [name for name in blind if not _shows(matcher, files[name])]
    assert blind == [], f"the independent check cannot see the face in {blind}"


def test_no_pdf_route_leaks_to_output_or_the_bucket(
    pdf_site, matcher, local_s3, s3_bucket, monkeypatch
):
    build, files, registry = pdf_site
    report = {entry["output_path"]: entry for entry in build.report["images"]}
    published_here = {name for name in files if (build.output / name).exists()}
    # Routes whose face the rewrite removes are published (rewritten); the rest withheld.
    assert "images/news/consented.pdf" in published_here
    assert "images/news/incremental-save.pdf" in published_here
    for name in files:
        assert report[name]["verdict"] == ("publish" if name in published_here else "withhold")
    for name in published_here:
        data = (build.output / name).read_bytes()
        assert data != files[name], f"{name} was published byte for byte, not rewritten"
        assert not _shows(matcher, data), f"unconsented face in output/{name}"
    manifest = read_manifest(manifest_path(build.output), build.output)
    for name in published_here:
        digest = hashlib.sha256((build.output / name).read_bytes()).hexdigest()
        assert manifest.entries[name].sha256 == digest

    for key, value in local_s3.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    from consent_registry.settings import GateSettings

    gate = GateSettings.from_mapping(
        {
            "CONSENT_REGISTRY": str(registry.path),
            "CONSENT_KEY_FILE": str(registry.key_file),
            "CONSENT_CACHE_DIR": str(build.output.parent / "cache"),
            "CONSENT_WORKERS": 1,
        }
    )
    settings = settings_for(s3_bucket, local_s3.endpoint_url)
    publish(build.output, settings, registry_checker(gate), manifest_path(build.output))
    client = local_s3.client()
    keys = {o["Key"] for o in client.list_objects_v2(Bucket=s3_bucket).get("Contents", [])}
    assert "images/news/consented.pdf" in keys
    for key in sorted(k for k in keys if k.endswith(".pdf")):
        data = client.get_object(Bucket=s3_bucket, Key=key)["Body"].read()
        assert data == (build.output / key).read_bytes()
        assert not _shows(matcher, data), f"unconsented face in the bucket: {key}"
