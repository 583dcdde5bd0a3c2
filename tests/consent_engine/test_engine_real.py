"""Integration tests of the face engine and the gate with the real models and photos."""

from __future__ import annotations

import functools
import io
import itertools
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from face_engine import detectors, faces, pyramid
from face_engine.batch import check_files
from face_engine.cache import FaceCache, _face_from_json
from face_engine.decision import decide
from face_engine.faces import FaceError, detect_faces, reference_templates
from face_engine.model import PUBLISH, WITHHOLD
from PIL import Image

from bench.hardcases import _crop_head, _hog_faces, _paste, load_sources

from .conftest import png_bytes, record, snapshot


def consented(templates, *people, **changes):
    return snapshot(*(record(p, *templates[p], **changes) for p in people))


def read(shared_faces, relative: str) -> bytes:
    return (shared_faces / relative).read_bytes()


def test_reference_templates_of_different_people_are_far_apart(templates):
    # Each photo gives its own template and one per scaled-down copy (90, 60 and 45 px faces).
    assert all(len(t) == 4 and all(e.shape == (128,) for e in t) for t in templates.values())
    people = list(templates)
    for a in people:
        own = [np.linalg.norm(x - y) for x in templates[a] for y in templates[a]]
        assert max(own) < 0.4, a
    for i, a in enumerate(people):
        for b in people[i + 1 :]:
            closest = min(np.linalg.norm(x - y) for x in templates[a] for y in templates[b])
            assert closest > 0.6, (a, b)


def test_scaled_copies_are_made_only_of_faces_larger_than_them(shared_faces):
    original = read(shared_faces, "people/obama/obama1.jpg")
    (face,) = detect_faces(original, encode=False)
    photo = Image.open(io.BytesIO(original)).convert("RGB")
    # Scale the photo so the face is about 75 px wide: only the 60 and 45 px copies are made.
    factor = 75 / face.box.width
    photo = photo.resize((round(photo.width * factor), round(photo.height * factor)))
    buffer = io.BytesIO()
    photo.save(buffer, "PNG")
    assert len(reference_templates(buffer.getvalue(), "smaller.png")) == 3
    # A face too small for a good template is refused with what to do.
    photo = photo.resize((photo.width * 2 // 3, photo.height * 2 // 3))
    buffer = io.BytesIO()
    photo.save(buffer, "PNG")
    with pytest.raises(
        FaceError, match=r"^the face in tiny\.png is too small \(\d+ px wide, at le"
    ):
        reference_templates(buffer.getvalue(), "tiny.png")


def test_reference_photo_must_hold_exactly_one_face(shared_faces):
    with pytest.raises(FaceError, match=r"^3 faces found in group\.jpg: use a photo of the"):
        reference_templates(read(shared_faces, "groups/biden_obama_and_child.jpg"), "group.jpg")
    with pytest.raises(FaceError, match=r"^no face found in wall\.png: use a clear, front-facing"):
        reference_templates(png_bytes(size=(300, 300)), "wall.png")
    with pytest.raises(FaceError, match="could not be read"):
        reference_templates(b"\x89PNG broken", "broken.png")


def test_detector_finds_the_child_with_her_head_tilted_down(shared_faces):
    found = detect_faces(read(shared_faces, "groups/biden_obama_and_child.jpg"))
    assert len(found) == 3
    assert all(f.encoding is not None for f in found)


@pytest.mark.parametrize(
    ("relative", "person"),
    [
        ("people/obama/obama2.jpg", "obama"),
        ("people/obama/obama_partial_face.jpg", "obama"),
        ("people/biden/biden2.jpg", "biden"),
        ("people/kit_harington/kit3.jpg", "kit"),
    ],
)
def test_consented_single_photos_are_published(shared_faces, templates, settings, relative, person):
    snap = consented(templates, "obama", "biden", "kit")
    verdict = decide(read(shared_faces, relative), snap, settings, path=relative)
    assert verdict.verdict == PUBLISH, verdict.reasons
    assert [f.person_id for f in verdict.faces] == [person]


def test_person_without_consent_is_withheld(shared_faces, templates, settings):
    snap = consented(templates, "obama", "biden", "kit")
    verdict = decide(read(shared_faces, "people/lin_manuel_miranda/lin1.png"), snap, settings)
    assert verdict.verdict == WITHHOLD
    assert "unknown face" in verdict.reasons[0]


def test_revoked_consent_is_withheld_with_the_reason(shared_faces, templates, settings):
    snap = snapshot(
        record("rose", *templates["rose"], revoked=True), record("kit", *templates["kit"])
    )
    verdict = decide(read(shared_faces, "people/rose_leslie/rose2.jpg"), snap, settings)
    assert verdict.verdict == WITHHOLD
    assert verdict.faces[0].person_id == "rose"
    assert "consent revoked" in verdict.reasons[0]


def test_group_with_an_unconsented_child_is_withheld(shared_faces, templates, settings):
    snap = consented(templates, "obama", "biden")
    verdict = decide(read(shared_faces, "groups/biden_obama_and_child.jpg"), snap, settings)
    assert verdict.verdict == WITHHOLD
    assert sorted(str(f.person_id) for f in verdict.faces) == ["None", "biden", "obama"]
    assert len(verdict.reasons) == 1 and "unknown face" in verdict.reasons[0]


def test_group_of_two_consented_adults_is_published(shared_faces, templates, settings):
    snap = consented(templates, "obama", "biden")
    verdict = decide(read(shared_faces, "groups/obama_and_biden.jpg"), snap, settings)
    assert verdict.verdict == PUBLISH, verdict.reasons
    assert sorted(f.person_id for f in verdict.faces) == ["biden", "obama"]
    # Without biden's consent the same photo is withheld.
    assert (
        decide(
            read(shared_faces, "groups/obama_and_biden.jpg"),
            consented(templates, "obama"),
            settings,
        ).verdict
        == WITHHOLD
    )


def _backdrop(seed: int, width: int, height: int) -> Image.Image:
    """A noisy backdrop, as in a real photo: bench.hardcases._background (a colour gradient
    under Gaussian noise) in float32, 1.6 CPU-s for 24 megapixels instead of 7.5."""
    rng = np.random.default_rng(seed)
    base, other = (rng.integers(30, 220, size=3).astype(np.float32) for _ in range(2))
    pixels = rng.standard_normal((height, width, 3), dtype=np.float32)
    pixels *= np.float32(rng.uniform(6, 22))
    t = np.linspace(0, 1, width, dtype=np.float32)[None, :, None]
    pixels += base * (1 - t) + other * t
    return Image.fromarray(np.clip(pixels, 0, 255, out=pixels).astype(np.uint8), "RGB")


@functools.cache
def _source(shared_faces, relative, person):
    """The head of a photo's one face, cut out to paste (dlib's HOG finds it: 0.5 s each)."""
    image = Image.open(shared_faces / relative).convert("RGB")
    boxes, _ = _hog_faces(image)
    return _crop_head(image, boxes[0], person, relative)


@pytest.mark.parametrize(("side", "angle", "blur"), [(34, 25.0, 0.0), (70, -30.0, 1.0)])
def test_pasted_small_or_rotated_unconsented_face_is_withheld(
    shared_faces, templates, settings, side, angle, blur
):
    canvas = Image.new("RGB", (900, 600), (90, 120, 70))
    _paste(canvas, _source(shared_faces, "people/obama/obama2.jpg", "obama"), 150, (250, 300), 0, 0)
    stranger = _source(shared_faces, "people/lin_manuel_miranda/lin1.png", "lin")
    _paste(canvas, stranger, side, (650, 320), angle, blur)
    buffer = io.BytesIO()
    canvas.save(buffer, "JPEG", quality=90)
    verdict = decide(buffer.getvalue(), consented(templates, "obama", "biden"), settings)
    assert verdict.verdict == WITHHOLD
    assert [f.ok for f in sorted(verdict.faces, key=lambda f: f.box.left)] == [True, False]


def _edge_cut_scene(shared_faces, relative, person) -> bytes:
    """One face, 140 px wide, with about 30 % of it outside the left edge of the frame."""
    canvas = Image.new("RGB", (700, 500), (90, 120, 70))
    _paste(canvas, _source(shared_faces, relative, person), 140, (28, 250), 0, 0)
    buffer = io.BytesIO()
    canvas.save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def test_face_cut_by_the_frame_edge_is_matched_and_a_strangers_is_withheld(
    shared_faces, templates, settings
):
    snap = consented(templates, "obama", "biden", "kit")
    cut = decide(_edge_cut_scene(shared_faces, "people/obama/obama2.jpg", "obama"), snap, settings)
    assert cut.verdict == PUBLISH, cut.reasons
    assert [f.person_id for f in cut.faces] == ["obama"] and cut.faces[0].box.left == 0
    stranger = _edge_cut_scene(shared_faces, "people/lin_manuel_miranda/lin1.png", "lin")
    assert decide(stranger, snap, settings).verdict == WITHHOLD


@pytest.fixture(scope="module")
def camera_photo(shared_photos, tmp_path_factory) -> SimpleNamespace:
    """A camera's 24-megapixel photo with a 30 px face, checked by one worker (one thread, a
    fresh process): the photo, the detectors of each frame's candidates, the faces found and
    the worker's peak memory. One search serves both tests: a full-resolution search of this
    photo takes 8-10 CPU-s."""
    # A noisy backdrop, as in a real photo: on a flat one a scaled-down pass finds it too.
    canvas = _backdrop(1, 6000, 4000)
    _paste(canvas, _source(shared_photos, "people/lin_manuel_miranda/lin1.png", "lin"), 30,
           (4400, 2900), 0, 0)  # fmt: skip
    path = tmp_path_factory.mktemp("camera") / "camera.jpg"
    canvas.save(path, "JPEG", quality=90)
    code = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from face_engine import cache, detectors, faces\n"
        "detectors.set_threads(1)\n"
        "search, detectors_seen = faces.find_candidates, []\n"
        "def recorded(rgb, config):\n"
        "    candidates, views = search(rgb, config)\n"
        "    detectors_seen.append(sorted({c.detector for c in candidates}))\n"
        "    return candidates, views\n"
        "faces.find_candidates = recorded  # detect_faces calls it by this name\n"
        "found = faces.detect_faces(Path(sys.argv[1]).read_bytes())\n"
        "status = Path('/proc/self/status').read_text().splitlines()\n"
        "peak = next(int(line.split()[1]) for line in status if line.startswith('VmHWM:'))\n"
        "faces_found = [cache._face_to_json(f) for f in found]\n"
        "print(json.dumps({'peak_kb': peak, 'candidates': detectors_seen, 'faces': faces_found}))\n"
    )
    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(root / "lib"), str(root / "plugins"), str(root / "apps"), str(root)]
        ),
    }
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.splitlines()[-1])
    return SimpleNamespace(
        data=path.read_bytes(),
        candidates=result["candidates"],
        faces=[_face_from_json(item) for item in result["faces"]],
        peak_mb=result["peak_kb"] / 1024,
    )


def test_small_face_in_a_camera_sized_photo_is_found_at_full_resolution(camera_photo, settings):
    # Only the full-resolution tiles see it; the scaled-down passes do not.
    assert camera_photo.candidates == [["centerface"]]
    (found,) = camera_photo.faces
    assert found.detector == "centerface" and 4380 < found.box.left < 4400
    # The rule on the faces just found: another full-resolution search would take 10 s.
    verdict = decide(camera_photo.data, snapshot(), settings, faces=[found])
    assert verdict.verdict == WITHHOLD and "too small" in verdict.faces[0].reason


@pytest.mark.parametrize(
    ("width", "height"), [(2048, 1000), (2049, 1200), (3000, 2000), (6000, 4000), (20000, 90)]
)
def test_tiles_cover_the_photo_overlap_and_bound_the_pixels(width, height):
    config = faces.DEFAULT_CONFIG
    limit, overlap = config.centerface_max_pixels, config.centerface_overlap
    tiles = pyramid.tiles(width, height, limit, overlap)
    assert all(w * h <= limit or len(tiles) == 1 for _, _, w, h in tiles)
    covered = np.zeros((height, width), dtype=bool)
    for x, y, w, h in tiles:
        assert x + w <= width and y + h <= height
        covered[y : y + h, x : x + w] = True
    assert covered.all()
    (w, h) = tiles[0][2:]
    xs, ys = sorted({x for x, *_ in tiles}), sorted({y for _, y, *_ in tiles})
    for starts, side in ((xs, w), (ys, h)):
        # Neighbours overlap by at least `overlap` (less one pixel of rounding).
        assert all(side - (b - a) >= overlap - 1 for a, b in itertools.pairwise(starts))
        # Tile sides are multiples of the network's stride unless a tile spans the photo.
        assert len(starts) == 1 or side % 32 == 0


def test_pass_scales_go_down_to_a_side_where_the_largest_faces_are_found():
    config = faces.DEFAULT_CONFIG
    # Small photos are searched at 2x (for faces of 6-10 px), large ones at full size; then
    # every pass is 4x smaller until the short side is at most 640 px.
    assert pyramid.pass_scales(800, 533, config) == [2.0, 0.5]
    assert pyramid.pass_scales(900, 500, config) == [2.0, 0.5]
    assert pyramid.pass_scales(1000, 600, config) == [1.0]
    assert pyramid.pass_scales(1600, 1067, config) == [1.0, 0.25]
    assert pyramid.pass_scales(6000, 4000, config) == [1.0, 0.25, 0.0625]


def test_a_face_filling_most_of_a_large_photo_is_found_by_a_smaller_pass(shared_faces):
    # 1400 px: too large for CenterFace at full size, 350 px in the 1/4 pass.
    canvas = _backdrop(2, 3000, 2000)
    _paste(canvas, _source(shared_faces, "people/kit_harington/kit3.jpg", "kit"), 1400,
           (1500, 1100), 0, 0)  # fmt: skip
    buffer = io.BytesIO()
    canvas.save(buffer, "JPEG", quality=90)
    (found,) = faces.detect_faces(buffer.getvalue(), encode=False)
    assert found.detector == "centerface-coarse"
    assert 700 < found.box.left < 900 and 1100 < found.box.width < 1700


@pytest.fixture(scope="module")
def bench_sources(shared_photos):
    """The benches' faces to paste, cut out of the shared photos once (HOG on nine photos)."""
    return load_sources(shared_photos)


def _background_draws(rng: np.random.Generator, width: int, height: int) -> None:
    """What bench.hardcases._background draws from `rng`, without making the picture."""
    rng.integers(30, 220, size=3)
    rng.integers(30, 220, size=3)
    rng.normal(0, rng.uniform(6, 22), size=(height, width, 3))


def test_boxes_along_a_cut_between_tiles_are_looked_at_again(
    shared_faces, bench_sources, tmp_path, monkeypatch
):
    # The detector bench's 3000x2000 portrait: two faces of 380-480 px near the line between
    # the upper and lower tiles. Along the top of the lower tiles CenterFace scores half
    # faces and the painting behind one of them 0.49-0.67.
    from bench import detector_bench, hardcases

    monkeypatch.setattr(detector_bench, "SHARED_FACES", shared_faces)
    monkeypatch.setattr(detector_bench, "SIZES", detector_bench.SIZES[:4])
    monkeypatch.setattr(detector_bench, "load_sources", lambda root: bench_sources)
    # Of the bench's photos only this one is searched: those before it get a flat backdrop
    # after the same draws from the bench's generator, so that this one comes out the same,
    # byte for byte, and those after it a flat one: 1.8 CPU-s instead of 4.6.
    same, twin = np.random.default_rng(5), np.random.default_rng(5)
    hardcases._background(same, 40, 30)
    _background_draws(twin, 40, 30)
    assert same.bit_generator.state == twin.bit_generator.state, "update _background_draws"
    searched: list[bool] = []

    def background(rng, width, height):
        if (width, height) == (3000, 2000) and not searched:
            searched.append(True)
            return hardcases._background(rng, width, height)
        if not searched:
            _background_draws(rng, width, height)
        return Image.new("RGB", (width, height))

    monkeypatch.setattr(detector_bench, "_background", background)
    photo = detector_bench.build_photos(tmp_path)[(3000, "portrait")].read_bytes()
    (rgb,) = faces.load_frames(photo)
    assert len(pyramid.tiles(3000, 2000, faces.DEFAULT_CONFIG.centerface_max_pixels, 128)) == 4
    unchecked = replace(faces.DEFAULT_CONFIG, centerface_edge_margin=-(10**6))
    # Without the second look the painting is taken for a third face (so this scene still
    # shows what the rule is for).
    assert len(faces.detect_faces(photo, encode=False, config=unchecked)) == 3
    found = faces.detect_faces(photo, encode=False)
    assert len(found) == 2 and all(350 < f.box.width < 520 for f in found)


def test_part_of_a_face_seen_along_a_cut_is_that_face_not_another(bench_sources):
    # The scale bench's photo 418 (2135x1601): the cut between its two tiles runs through
    # the left side of a consented face; the left tile took that side for a face of its own.
    from bench import scale_bench

    scale_bench._init_worker(bench_sources)
    photo, kind = scale_bench._photo(418)
    assert kind == "portrait"
    assert len(pyramid.tiles(2135, 1601, faces.DEFAULT_CONFIG.centerface_max_pixels, 128)) == 2
    unmerged = replace(faces.DEFAULT_CONFIG, cut_share=1.01)
    assert len(faces.detect_faces(photo, encode=False, config=unmerged)) == 2
    (face,) = faces.detect_faces(photo, encode=False)
    assert 1050 < face.box.left < 1100 and face.box.width > 250


def test_small_boxes_of_a_smaller_pass_are_looked_at_again(shared_faces):
    # The 1/4 pass scores a 14 px patch of the chandelier behind him 0.355, over
    # `centerface_sure`; seen again in the full-size pixels it is no face.
    (face,) = detect_faces(read(shared_faces, "people/obama/obama4.jpg"), encode=False)
    assert face.box.left > 600


def test_one_thread_per_worker_reaches_onnx_runtime_and_opencv():
    import cv2

    before = detectors._threads, cv2.getNumThreads()
    detectors.set_threads(1)
    try:
        assert cv2.getNumThreads() == 1
        session = detectors.centerface_session(detectors._threads)
        assert session.get_session_options().intra_op_num_threads == 1
    finally:
        detectors._threads = before[0]
        cv2.setNumThreads(before[1])


def test_a_24_megapixel_photo_is_checked_within_1_gb(camera_photo):
    """One worker (one thread, a fresh process) detecting and encoding the faces of a
    camera's photo peaks at ~575 MB; the earlier detector took 1.4 GB."""
    assert camera_photo.peak_mb <= 1024, f"{camera_photo.peak_mb:.0f} MB"


def test_chip_padding_repeats_edge_pixels_only_when_a_chip_leaves_the_frame():
    image = np.zeros((100, 120, 3), dtype=np.uint8)
    image[:, 0] = (200, 10, 10)
    inside = np.array([40.0, 30.0, 80.0, 70.0])
    same, pad = faces._pad_for_chips(image, [inside])
    assert same is image and pad == 0
    cut = np.array([-20.0, 30.0, 40.0, 90.0])  # 60 px box, chip reaches 15 px further out
    padded, pad = faces._pad_for_chips(image, [inside, cut])
    assert pad >= 35 and padded.shape == (100 + 2 * pad, 120 + 2 * pad, 3)
    assert (padded[pad:-pad, :pad] == (200, 10, 10)).all()
    assert (padded[pad:-pad, pad:-pad] == image).all()


def test_exif_orientation_is_applied_before_detection(shared_faces, templates, settings):
    upright = Image.open(shared_faces / "people/obama/obama2.jpg").convert("RGB")
    stored = upright.rotate(90, expand=True)  # as a camera held sideways stores it
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    buffer = io.BytesIO()
    stored.save(buffer, "JPEG", exif=exif)
    found = detect_faces(buffer.getvalue())
    assert len(found) == 1
    assert found[0].box.height <= upright.height and found[0].box.right <= upright.width
    assert decide(buffer.getvalue(), consented(templates, "obama"), settings).publish


def test_every_frame_of_an_animation_is_checked(shared_faces, templates, settings):
    rose = Image.open(shared_faces / "people/rose_leslie/rose2.jpg").convert("RGB")
    rose.thumbnail((400, 400))
    blank = Image.new("RGB", rose.size, (20, 40, 160))
    buffer = io.BytesIO()
    blank.save(buffer, "GIF", save_all=True, append_images=[rose], duration=200)
    assert len(faces.load_frames(buffer.getvalue())) == 2
    verdict = decide(buffer.getvalue(), consented(templates, "obama"), settings)
    assert verdict.verdict == WITHHOLD


def test_check_files_caches_face_work_and_rematches_on_registry_change(
    shared_faces, templates, settings, tmp_path
):
    paths = [
        shared_faces / "groups/obama_and_biden.jpg",
        shared_faces / "people/kit_harington/kit2.jpg",
    ]
    names = ["gallery/a.jpg", "gallery/b.jpg"]
    snap = consented(templates, "obama", "biden", "kit")
    parallel = replace(settings, workers=2)

    first_cache = FaceCache(settings.cache_dir)
    first = check_files(
        paths, snap, parallel, progress=False, display_names=names, cache=first_cache
    )
    assert [v.verdict for v in first] == [PUBLISH, PUBLISH]
    assert [v.path for v in first] == names
    assert (first_cache.misses, first_cache.writes) == (2, 2)
    # Same verdicts as the single-image function.
    assert decide(paths[0].read_bytes(), snap, settings).faces == first[0].faces

    # A rebuild with no new photos does no face work: both come from the cache.
    second_cache = FaceCache(settings.cache_dir)
    second = check_files(paths, snap, settings, progress=False, cache=second_cache)
    assert (second_cache.hits, second_cache.misses, second_cache.writes) == (2, 0, 0)
    assert [v.verdict for v in second] == [PUBLISH, PUBLISH]

    # A registry change only re-matches the cached encodings.
    revoked = snapshot(
        record("obama", *templates["obama"], revoked=True),
        record("biden", *templates["biden"]),
        record("kit", *templates["kit"]),
    )
    third_cache = FaceCache(settings.cache_dir)
    third = check_files(paths, revoked, settings, progress=False, cache=third_cache)
    assert (third_cache.hits, third_cache.misses) == (2, 0)
    assert [v.verdict for v in third] == [WITHHOLD, PUBLISH]
    assert any("obama: consent revoked" in r for r in third[0].reasons)


def test_detect_only_batch_withholds_faces_without_encoding_them(shared_faces, settings):
    detect_only = replace(settings, mode="detect-only")
    cache = FaceCache(settings.cache_dir)
    paths = [shared_faces / "people/kit_harington/kit2.jpg"]
    verdicts = check_files(paths, snapshot(), detect_only, progress=False, cache=cache)
    assert verdicts[0].verdict == WITHHOLD
    assert cache.get(verdicts[0].sha256, need_encodings=True) is None
    assert cache.get(verdicts[0].sha256, need_encodings=False)[0].encoding is None


def test_corrupt_file_in_a_batch_is_withheld(settings, tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 truncated jpeg")
    verdicts = check_files([bad], snapshot(), settings, progress=False)
    assert verdicts[0].verdict == WITHHOLD
    assert "broken.jpg could not be read as an image" in verdicts[0].reasons[0]
