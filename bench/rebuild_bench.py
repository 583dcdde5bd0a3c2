"""Rebuild cost of the consent gate on a 200-photo site.

Builds the same generated site three ways, each into an emptied output folder (the warm
rebuilds into the cold build's, as `make html` rebuilds output/):

- gate off (CONSENT_ENABLED = False): the baseline;
- cold, with the gate and an empty face cache: every photo goes through face detection;
- warm, with the gate and the cache of the cold build: no face work, only hashing,
  matching, metadata checks and page scanning.

Target: warm rebuild / gate off <= 1.2. Photos are synthesised at bench time (faces from
the shared face photos pasted onto varied backgrounds, some without a face, half with
camera metadata) in a temp folder; the registry is a temp registry seeded with the real
face engine. Only the gate plugin runs, so the ratio measures the gate alone.

BENCH_PHOTOS=N changes the number of photos (default 200).
"""

from __future__ import annotations

import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

from PIL import Image, ImageDraw, ImageFilter

from bench.sites import ROOT, SHARED_FACES, Gate, build, camera_exif, seed_registry, write_articles

TARGET_RATIO = 1.2
# Builds of a second or so vary by a few tenths on a shared machine: each figure is the best
# of this many.
REPEATS = 5
PHOTOS_PER_ARTICLE = 4
SIZE = (640, 480)


def _background(rng: random.Random) -> Image.Image:
    top = tuple(rng.randrange(40, 230) for _ in range(3))
    bottom = tuple(rng.randrange(20, 200) for _ in range(3))
    image = Image.new("RGB", SIZE)
    draw = ImageDraw.Draw(image)
    for y in range(SIZE[1]):
        t = y / (SIZE[1] - 1)
        draw.line(
            [(0, y), (SIZE[0], y)],
            fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)),
        )
    for _ in range(rng.randrange(3, 9)):
        x, y = rng.randrange(SIZE[0]), rng.randrange(SIZE[1])
        r = rng.randrange(15, 90)
        colour = tuple(rng.randrange(256) for _ in range(3))
        if rng.random() < 0.5:
            draw.rectangle([x, y, x + 2 * r, y + r], fill=colour)
        else:
            draw.polygon([(x, y), (x + r, y + 2 * r), (x - r, y + 2 * r)], fill=colour)
    return image.filter(ImageFilter.GaussianBlur(1))


def synthesise_photos(folder: Path, count: int, seed: int = 7) -> list[Path]:
    """`count` 640x480 JPEGs: one or two pasted faces on most, none on one in four."""
    rng = random.Random(seed)
    sources = sorted((SHARED_FACES / "people").glob("*/*.*"))
    if not sources:
        raise SystemExit(f"no face photos under {SHARED_FACES / 'people'}")
    portraits = []
    for source in sources:
        with Image.open(source) as photo:
            portrait = photo.convert("RGB")
            portrait.thumbnail((260, 260))
            portraits.append(portrait)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        image = _background(rng)
        faces = 0 if index % 4 == 3 else rng.choice((1, 1, 2))
        for _ in range(faces):
            portrait = rng.choice(portraits)
            scale = rng.uniform(0.6, 1.0)
            size = (int(portrait.width * scale), int(portrait.height * scale))
            piece = portrait.resize(size)
            x = rng.randrange(0, max(1, SIZE[0] - size[0]))
            y = rng.randrange(0, max(1, SIZE[1] - size[1]))
            image.paste(piece, (x, y))
        path = folder / f"event-{index:03d}.jpg"
        extra = {"exif": camera_exif(rng)} if index % 2 == 0 else {}
        image.save(path, "JPEG", quality=88, **extra)
        paths.append(path)
    return paths


def write_site(content: Path, count: int) -> None:
    photos = synthesise_photos(content / "images" / "events", count)
    write_articles(content, photos, PHOTOS_PER_ARTICLE)


def reencoding_cost(content: Path) -> None:
    """What publishing the checked pixels costs: time, bytes and quality (PSNR against the
    decoded original), for the bench's photos, measured here in this process."""
    import io

    import numpy as np

    sys.path.insert(0, str(ROOT / "plugins"))
    from site_gate.raster import reencode

    photos = sorted(p for p in (content / "images").rglob("*") if p.is_file())
    before = after = 0
    psnr = []
    started = time.process_time()
    for photo in photos:
        data = photo.read_bytes()
        clean = reencode(data, photo.name)
        before, after = before + len(data), after + len(clean)
        a = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.float64)
        b = np.asarray(Image.open(io.BytesIO(clean)).convert("RGB"), dtype=np.float64)
        if a.shape == b.shape:
            mse = float(np.mean((a - b) ** 2)) or 1e-9
            psnr.append(10 * np.log10(255**2 / mse))
    seconds = time.process_time() - started
    print(
        f"re-encoding {len(photos)} photos: {seconds / max(1, len(photos)) * 1000:.0f} ms CPU "
        f"each (cold build only; cached after), {after / max(1, before):.2f}x the bytes, "
        f"median PSNR {median(psnr):.1f} dB against the original pixels"
    )


def main() -> int:
    count = int(os.environ.get("BENCH_PHOTOS", "200"))
    with tempfile.TemporaryDirectory(prefix="rebuild-bench-") as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        write_site(work / "content", count)
        registry, key_file = work / "registry.sqlite3", work / "consent.key"
        seed_registry(registry, key_file)
        env = {"CONSENT_REGISTRY": str(registry), "CONSENT_KEY_FILE": str(key_file)}
        print(f"site: {count} photos, registry seeded in {time.perf_counter() - started:.1f} s")

        cold = build(work, "gate", Gate.ON, env).seconds
        print(f"cold build, gate:   {cold:6.2f} s  (face work on every photo)")
        # Gate-off and warm builds alternate, so a slow spell of the machine hits both.
        offs, warms = [], []
        for _ in range(REPEATS):
            offs.append(build(work, "off", Gate.OFF, env).seconds)
            warms.append(build(work, "gate", Gate.ON, env).seconds)
        off, warm = min(offs), min(warms)
        print(f"gate off:           {off:6.2f} s  (best of {REPEATS}; median {median(offs):.2f} s)")
        print(f"warm rebuild, gate: {warm:6.2f} s  (face cache hit; median {median(warms):.2f} s)")
        report = json.loads((work / "report-gate.json").read_text(encoding="utf-8"))
        summary = report["summary"]
        print(
            f"gate verdicts: {summary['checked']} checked, {summary['published']} published, "
            f"{summary['withheld']} withheld"
        )
        ratio = warm / off
        verdict = "ok" if ratio <= TARGET_RATIO else "MISSED"
        print(f"warm rebuild / gate off = {ratio:.2f}x (target <= {TARGET_RATIO}x): {verdict}")
        print(f"cold build / gate off = {cold / off:.1f}x")
        reencoding_cost(work / "content")
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
