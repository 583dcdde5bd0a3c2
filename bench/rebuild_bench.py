"""Rebuild cost of the consent gate on a 200-photo site.

Builds the same generated site three ways, each into a fresh output folder:

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
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

from PIL import ExifTags, Image, ImageDraw, ImageFilter

ROOT = Path(__file__).resolve().parent.parent
SHARED_FACES = ROOT.parent / "shared" / "faces"
TARGET_RATIO = 1.2
# Builds of a second or so vary by a few tenths on a shared machine: each figure is the best
# of this many.
REPEATS = 5
PHOTOS_PER_ARTICLE = 4
SIZE = (640, 480)
# People with consent in the bench registry: reference photo -> (id, name).
CONSENTED = {
    "people/obama/obama2.jpg": ("S1001", "Bench Student One"),
    "people/biden/biden2.jpg": ("S1002", "Bench Student Two"),
    "people/kit_harington/kit1.jpg": ("S1003", "Bench Student Three"),
}


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


def _camera_exif(rng: random.Random) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "BenchCam"
    exif[ExifTags.Base.Model] = f"Model {rng.randrange(10)}"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (41.0, float(rng.randrange(60)), 0.0)
    return exif


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
        extra = {"exif": _camera_exif(rng)} if index % 2 == 0 else {}
        image.save(path, "JPEG", quality=88, **extra)
        paths.append(path)
    return paths


def write_site(content: Path, count: int) -> None:
    photos = synthesise_photos(content / "images" / "events", count)
    articles = content / "articles"
    articles.mkdir(parents=True, exist_ok=True)
    for number, start in enumerate(range(0, len(photos), PHOTOS_PER_ARTICLE)):
        body = "\n\n".join(
            f"![Photo {i + 1} from the event]({{static}}/images/events/{photo.name})"
            for i, photo in enumerate(photos[start : start + PHOTOS_PER_ARTICLE])
        )
        day = 1 + number % 28
        month = 1 + (number // 28) % 12
        (articles / f"event-{number:03d}.md").write_text(
            f"Title: Event {number}\nDate: 2026-{month:02d}-{day:02d} 10:00\n"
            f"Category: Events\nSlug: event-{number:03d}\nSummary: Photos from event {number}.\n\n"
            f"Photos from the event.\n\n{body}\n",
            encoding="utf-8",
        )


def seed_registry(registry: Path, key_file: Path) -> None:
    sys.path.insert(0, str(ROOT / "plugins"))
    from consent_registry.registry import Registry
    from face_engine.faces import reference_templates

    with Registry.open(registry, key_file) as reg:
        for rel, (person_id, name) in CONSENTED.items():
            templates = reference_templates((SHARED_FACES / rel).read_bytes(), source=rel)
            reg.add(person_id, name, templates, role="student", actor="bench")


def build(
    work: Path, name: str, gate: bool, env: dict
) -> tuple[float, subprocess.CompletedProcess]:
    output = work / f"out-{name}"
    if output.exists():
        shutil.rmtree(output)
    overrides = {
        "PLUGINS": ["consent_gate"],
        "CONSENT_ENABLED": gate,
        "CONSENT_CACHE_DIR": str(work / "cache"),
        "CONSENT_REPORT_PATH": str(work / f"report-{name}.json"),
        "CONSENT_MANIFEST_PATH": str(work / f"manifest-{name}.json"),
    }
    cmd = [sys.executable, "-m", "pelican", str(work / "content"), "-o", str(output)]
    cmd += ["-s", str(ROOT / "pelicanconf.py"), "-q", "-e"]
    cmd += [f"{key}={json.dumps(value)}" for key, value in overrides.items()]
    # Byte-compiled modules are cached (in the temp folder) as in any installed site, so
    # the builds do not spend their time compiling numpy's sources again and again.
    full_env = {**os.environ, **env, "PYTHONPYCACHEPREFIX": str(work / "pycache")}
    full_env.pop("PYTHONDONTWRITEBYTECODE", None)
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=full_env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"build {name} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return elapsed, proc


def reencoding_cost(content: Path) -> None:
    """What publishing the checked pixels costs: time, bytes and quality (PSNR against the
    decoded original), for the bench's photos, measured here in this process."""
    import io

    import numpy as np

    sys.path.insert(0, str(ROOT / "plugins"))
    from consent_gate.raster import reencode

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

        cold, _ = build(work, "cold", True, env)
        print(f"cold build, gate:   {cold:6.2f} s  (face work on every photo)")
        # Gate-off and warm builds alternate, so a slow spell of the machine hits both.
        offs, warms = [], []
        for i in range(REPEATS):
            offs.append(build(work, f"off-{i}", False, env)[0])
            warms.append(build(work, f"warm-{i}", True, env)[0])
        off, warm = min(offs), min(warms)
        print(f"gate off:           {off:6.2f} s  (best of {REPEATS}; median {median(offs):.2f} s)")
        print(f"warm rebuild, gate: {warm:6.2f} s  (face cache hit; median {median(warms):.2f} s)")
        report = json.loads((work / f"report-warm-{REPEATS - 1}.json").read_text(encoding="utf-8"))
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
