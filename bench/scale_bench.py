"""The consent gate at a district's scale: generated sites of N realistic photos, built with
the current code and with a baseline commit in the same run.

Photos: JPEGs 800-3000 px wide at quality 90 on textured backgrounds (about 440 KB each
on average, as a school's archive), 10 % group photos (5 to 14 faces, some too small to
match), 10 % without a face, half with camera and GPS metadata; 3 photos per article; 3
people in the registry. Generation is seeded and the photos of an index do not depend on
N, and each site is kept in the system temp folder (school-site-bench/scale-*), so a
second run does not make it again. Delete that folder to get the disk space back.

For each N and each code version, with the version's own settings and plugins (the
environment is this checkout's: the bench says whether the baseline's uv.lock differs):

- the cold build (empty face cache): its wall time and CPU-seconds per photo (user +
  system, of the build and of every worker);
- plain Pelican (no consent gate plugin), gate off (CONSENT_ENABLED = False) and the warm
  rebuild (the cache of the cold build, into the same output folder), interleaved, each
  the best of REPEATS;
- the memory of the gate builds: the peak of the process tree's summed RSS (sampled every
  50 ms), of the main process and of the largest worker; the cache's size on disk.

Targets for the current code: warm <= 1.2x gate off at every N, cold CPU-seconds per photo
<= 0.5x the baseline's, at most 1 GB in any face worker (in the main process when a build
starts no worker). main() returns 1 when one is missed.

Settings (environment):
- BENCH_SCALE: comma-separated photo counts, default "100,1000" (`python -m bench`, which
  runs every bench, sets "100" unless it is set: a cold build of 1,000 photos takes 20+
  minutes per code version on two cores). 10,000 photos:
  `BENCH_SCALE=10000 BENCH_BASELINE=none uv run --frozen python -m bench scale` needs
  about 5 GB of temp disk for the photos (made once, in about an hour on two cores) and
  15 more for the face cache and three outputs; at the baseline's 2 CPU-seconds per photo
  its cold build alone takes 3 hours or more on two cores, per code version.
- BENCH_BASELINE: the git ref of the baseline code (default 74514f4, the code before the
  scale work), or "none" to build with the current code only. It is extracted with
  `git archive` into the temp folder and removed at the end.
- BENCH_DISTINCT: at most this many distinct photos; the others repeat them (hard links to
  the photos of the BENCH_DISTINCT-photo site, each at its own path in its own article).
  Face work is done once per distinct photo, so the warm rebuild of a large site is
  measured without its hours of cold scanning: `BENCH_SCALE=10000 BENCH_DISTINCT=1000
  BENCH_BASELINE=none uv run --frozen python -m bench scale` takes about 15 minutes (its
  cold CPU-seconds per photo are then per distinct photo).
"""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from bench.hardcases import SourceFace, _paste, load_sources
from bench.sites import (
    ROOT,
    SHARED_FACES,
    Gate,
    Run,
    build,
    camera_exif,
    plugin_origin,
    seed_registry_of,
    write_articles,
)

DEFAULT_SCALES = "100,1000"
DEFAULT_BASELINE = "74514f4"
# Warm and gate-off builds of a few seconds vary by a few tenths on a shared machine: each
# figure is the best of this many.
REPEATS = 5
PER_ARTICLE = 3
TARGET_WARM_RATIO = 1.2
TARGET_COLD_CPU = 0.5  # of the baseline's CPU-seconds per photo
TARGET_WORKER_BYTES = 10**9
SEED = 2024
# Bump when the photos change, so that sites generated before are not reused.
GENERATION = 1
CACHE = Path(tempfile.gettempdir()) / "school-site-bench"
# Standard deviation of the fine colour texture and of the grain, which set the JPEG size:
# 14 and 1.5 give 435 KB per photo on average over the first 100 photos and 448 KB over the
# first 1,000 (12 and 1.5: 425 KB over the first 200). Every run prints its site's mean.
TEXTURE = 14.0
GRAIN = 1.5

_sources: list[SourceFace] = []


# ---------------------------------------------------------------- photos


def _field(
    rng: np.random.Generator, width: int, height: int, cell: int, sigma: float
) -> np.ndarray:
    """Smooth colour noise with blobs of about `cell` pixels, centred on 0."""
    small = rng.normal(128, sigma, size=(max(2, height // cell), max(2, width // cell), 3))
    image = Image.fromarray(np.clip(small, 0, 255).astype(np.uint8))
    return np.asarray(image.resize((width, height), Image.BICUBIC), dtype=np.int16) - 128


def _background(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """A defocused scene: a vertical gradient, large soft blotches, fine colour texture and
    flat shapes, with sensor grain over everything."""
    top, bottom = rng.uniform(60, 220, 3), rng.uniform(30, 180, 3)
    t = np.linspace(0, 1, height)[:, None, None]
    pixels = (top * (1 - t) + bottom * t).astype(np.int16) + np.zeros((1, width, 3), np.int16)
    pixels += _field(rng, width, height, int(rng.integers(60, 200)), 30)
    pixels += _field(rng, width, height, 6, TEXTURE)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(4, 14))):
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        r = rng.uniform(0.03, 0.2) * width
        colour = tuple(int(v) for v in rng.integers(20, 236, 3))
        shape = int(rng.integers(3))
        if shape == 0:
            draw.rectangle([x, y, x + 2 * r, y + r * rng.uniform(0.3, 1.5)], fill=colour)
        elif shape == 1:
            draw.ellipse([x - r, y - r, x + r, y + r * rng.uniform(0.5, 1.2)], fill=colour)
        else:
            draw.polygon([(x, y), (x + r, y + 2 * r), (x - r, y + 2 * r)], fill=colour)
    return image


def _grain(rng: np.random.Generator, image: Image.Image) -> Image.Image:
    noise = rng.normal(0, GRAIN, size=(image.height, image.width, 1)).astype(np.int16)
    pixels = np.asarray(image, dtype=np.int16) + noise
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def _kind(index: int) -> str:
    """10 % groups and 10 % without a face, each half with GPS (even indexes have it)."""
    return {3: "group", 14: "group", 6: "none", 17: "none"}.get(index % 20, "portrait")


def _place_faces(
    rng: np.random.Generator, canvas: Image.Image, count: int, rows: int, sizes: tuple
) -> None:
    """`count` faces in `rows` rows of equal cells, each face's side a fraction in `sizes`
    of the largest its cell holds (a head is about 2 face sides wide and 2.4 tall)."""
    per_row = -(-count // rows)
    cell_w, cell_h = canvas.width / per_row, canvas.height / rows
    limit = min(cell_w / 2.1, cell_h / 2.5)
    for n in range(count):
        row, col = divmod(n, per_row)
        side = max(12.0, limit * rng.uniform(*sizes))
        center = (
            (col + 0.5) * cell_w + rng.uniform(-0.1, 0.1) * cell_w,
            (row + 0.55) * cell_h + rng.uniform(-0.05, 0.05) * cell_h,
        )
        source = _sources[int(rng.integers(len(_sources)))]
        _paste(canvas, source, side, center, rng.uniform(-10, 10), rng.uniform(0, 0.5))


def _init_worker(sources: list[SourceFace]) -> None:
    _sources[:] = sources


def _photo(index: int) -> tuple[bytes, str]:
    """Photo `index` (the same whatever the site's size) and its kind."""
    rng = np.random.default_rng([SEED, index])
    width = int(rng.integers(800, 3001))
    height = round(width * (2 / 3 if rng.random() < 0.5 else 3 / 4))
    image = _background(rng, width, height)
    kind = _kind(index)
    if kind == "portrait":
        _place_faces(rng, image, 1 if rng.random() < 0.7 else 2, 1, (0.3, 0.8))
    elif kind == "group":
        count = int(rng.integers(5, 15))
        _place_faces(rng, image, count, 1 if count <= 6 else 2 if count <= 10 else 3, (0.35, 1))
    image = _grain(rng, image)
    extra = {"exif": camera_exif(random.Random(index))} if index % 2 == 0 else {}
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90, **extra)
    return buffer.getvalue(), kind


def generated_site(count: int, distinct: int | None = None) -> tuple[Path, dict]:
    """The content folder of the `count`-photo site, made once and kept in CACHE; with
    `distinct`, its photos repeat those of the `distinct`-photo site (BENCH_DISTINCT)."""
    repeats = distinct is not None and distinct < count
    folder = CACHE / (
        f"scale-{GENERATION}-{count}-of-{distinct}" if repeats else f"scale-{GENERATION}-{count}"
    )
    done = folder / "site.json"
    if done.exists():
        return folder / "content", json.loads(done.read_text(encoding="utf-8"))
    started = time.perf_counter()
    # Made beside the final folder and renamed when complete: a stopped run leaves no half
    # site to be taken for a whole one.
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    images = partial / "content" / "images" / "events"
    images.mkdir(parents=True)
    if repeats:
        originals, stats = generated_site(distinct)
        paths = []
        for index in range(count):
            path = images / f"photo-{index:05d}.jpg"
            os.link(originals / "images" / "events" / f"photo-{index % distinct:05d}.jpg", path)
            paths.append(path)
        write_articles(partial / "content", paths, PER_ARTICLE)
        stats = {**stats, "photos": count, "distinct": distinct}
        stats["seconds"] = time.perf_counter() - started
        (partial / "site.json").write_text(json.dumps(stats), encoding="utf-8")
        shutil.rmtree(folder, ignore_errors=True)
        partial.rename(folder)
        return folder / "content", stats
    sources = load_sources(SHARED_FACES)
    paths, sizes, kinds = [], [], {"portrait": 0, "group": 0, "none": 0}
    try:
        with ProcessPoolExecutor(initializer=_init_worker, initargs=(sources,)) as pool:
            for index, (data, kind) in enumerate(pool.map(_photo, range(count), chunksize=4)):
                path = images / f"photo-{index:05d}.jpg"
                path.write_bytes(data)
                paths.append(path)
                sizes.append(len(data))
                kinds[kind] += 1
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    write_articles(partial / "content", paths, PER_ARTICLE)
    stats = {
        "photos": count,
        "mean_kb": sum(sizes) / len(sizes) / 1024,
        "kinds": kinds,
        "gps": (count + 1) // 2,
        "seconds": time.perf_counter() - started,
    }
    (partial / "site.json").write_text(json.dumps(stats), encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    return folder / "content", stats


# ---------------------------------------------------------------- code versions


def _git(*args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} failed in {ROOT}: {proc.stderr.strip()}")
    return proc.stdout


def checkout(ref: str, folder: Path) -> Path:
    """The files of commit `ref`, extracted into `folder` (the repository is not touched)."""
    folder.mkdir(parents=True)
    with (
        subprocess.Popen(["git", "archive", ref], cwd=ROOT, stdout=subprocess.PIPE) as proc,
        tarfile.open(fileobj=proc.stdout, mode="r|") as archive,
    ):
        archive.extractall(folder, filter="data")
    if proc.returncode != 0:
        raise SystemExit(f"git archive {ref} failed in {ROOT}: is {ref} a commit of this repo?")
    return folder


def _describe(ref: str) -> None:
    lock = _git("show", f"{ref}:uv.lock")
    same = lock == (ROOT / "uv.lock").read_text(encoding="utf-8")
    print(
        f"baseline {ref}: uv.lock "
        + ("the same as this checkout's" if same else "DIFFERS from this checkout's")
        + (" (both run in this checkout's environment)")
    )
    changed = _git("diff", "--shortstat", ref, "--", "plugins", "pelicanconf.py").strip()
    where = "tracked files of plugins/ and pelicanconf.py"
    print(f"working tree against {ref} ({where}): {changed or 'no change'}")


def _check_origin(label: str, tree: Path) -> None:
    origin = plugin_origin(tree)
    if not origin.is_relative_to(tree):
        raise SystemExit(f"{label}: a build would import {origin}, not the plugins of {tree}")


# ---------------------------------------------------------------- measure


@dataclass
class Row:
    photos: int
    code: str
    cold: Run
    warm: float
    off: float
    plain: float
    main_rss: int
    worker_rss: int
    total_rss: int
    cache_bytes: int
    verdicts: dict
    distinct: int  # distinct photos among `photos` (BENCH_DISTINCT): the ones scanned

    @property
    def cpu_per_photo(self) -> float:
        """Cold CPU-seconds per distinct photo (each is scanned once)."""
        return self.cold.cpu_seconds / self.distinct

    @property
    def worker_peak(self) -> int:
        """The largest face worker; the main process when the build started none."""
        return self.worker_rss or self.main_rss


def _disk_bytes(folder: Path) -> int:
    return sum(p.stat().st_blocks * 512 for p in folder.rglob("*") if p.is_file())


def measure(
    code: str, tree: Path, content: Path, count: int, work: Path, env: dict, distinct: int
) -> Row:
    work.mkdir(parents=True)

    def run(gate: Gate) -> Run:
        # Each kind of build has its own output folder, the same at every build, as
        # `make html` has output/: the gate keeps what a rebuild reuses (the photos it
        # built, its verdicts) per output folder.
        return build(work, str(gate), gate, env, content=content, tree=tree)

    # Not measured: compiles the modules (into the bench's pycache) and reads the photos
    # into the page cache, as for any build after the first.
    run(Gate.OFF)
    cold = run(Gate.ON)
    print(f"  {code}: cold build {cold.seconds:.1f} s, {cold.cpu_seconds:.0f} CPU-s", flush=True)
    times: dict[Gate, list[float]] = {gate: [] for gate in Gate}
    warm_runs = []
    for _ in range(REPEATS):
        # Interleaved, so that a slow spell of the machine hits every kind of build.
        for gate in (Gate.ABSENT, Gate.OFF, Gate.ON):
            result = run(gate)
            times[gate].append(result.seconds)
            if gate is Gate.ON:
                warm_runs.append(result)
    report = json.loads((work / "report-on.json").read_text(encoding="utf-8"))
    gate_runs = [cold, *warm_runs]
    return Row(
        photos=count,
        distinct=distinct,
        code=code,
        cold=cold,
        warm=min(times[Gate.ON]),
        off=min(times[Gate.OFF]),
        plain=min(times[Gate.ABSENT]),
        main_rss=max(r.main_rss for r in gate_runs),
        worker_rss=max(r.worker_rss for r in gate_runs),
        total_rss=max(r.total_rss for r in gate_runs),
        cache_bytes=_disk_bytes(work / "cache"),
        verdicts=report.get("summary", {}),
    )


def _gb(n: int) -> str:
    return f"{n / 1e9:.2f}"


def print_table(rows: list[Row]) -> None:
    header = [
        "photos",
        "code",
        "cold build (s)",
        "cold CPU-s/photo",
        "warm gate on / off / plain (s)",
        "ratio on/off",
        "ratio on/plain",
        "peak memory all / main / one worker (GB)",
        "cache MB",
    ]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in rows:
        cells = [
            f"{r.photos}" + (f" ({r.distinct} distinct)" if r.distinct < r.photos else ""),
            r.code,
            f"{r.cold.seconds:.0f}",
            f"{r.cpu_per_photo:.2f}",
            f"{r.warm:.2f} / {r.off:.2f} / {r.plain:.2f}",
            f"{r.warm / r.off:.2f}x",
            f"{r.warm / r.plain:.2f}x",
            f"{_gb(r.total_rss)} / {_gb(r.main_rss)} / {_gb(r.worker_rss)}",
            f"{r.cache_bytes / 1e6:.0f}",
        ]
        print("| " + " | ".join(cells) + " |")


def check_targets(rows: list[Row], new: str, baseline: str | None) -> bool:
    """Print each target of the current code with its measure; True when all are met."""
    met = True

    def verdict(ok: bool) -> str:
        nonlocal met
        met = met and ok
        return "ok" if ok else "MISSED"

    by_key = {(r.photos, r.code): r for r in rows}
    for r in (r for r in rows if r.code == new):
        ratio = r.warm / r.off
        print(
            f"{r.photos} photos: warm / gate off = {ratio:.2f}x "
            f"(target <= {TARGET_WARM_RATIO}x): {verdict(ratio <= TARGET_WARM_RATIO)}"
        )
        peak = r.worker_peak
        print(
            f"{r.photos} photos: peak of one face worker {_gb(peak)} GB (target <= "
            f"{_gb(TARGET_WORKER_BYTES)} GB): {verdict(peak <= TARGET_WORKER_BYTES)}"
        )
        base = by_key.get((r.photos, baseline)) if baseline else None
        if base:
            cold = r.cpu_per_photo / base.cpu_per_photo
            print(
                f"{r.photos} photos: cold CPU-s per photo, new / {baseline} = {cold:.2f}x "
                f"(target <= {TARGET_COLD_CPU}x): {verdict(cold <= TARGET_COLD_CPU)}"
            )
    return met


def _scales() -> list[int]:
    text = os.environ.get("BENCH_SCALE", DEFAULT_SCALES)
    try:
        scales = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        scales = []
    if not scales or min(scales) < PER_ARTICLE:
        raise SystemExit(
            f"BENCH_SCALE={text!r} is not a list of photo counts: use for example "
            f"BENCH_SCALE=100,1000 (each at least {PER_ARTICLE})"
        )
    return scales


def _distinct() -> int | None:
    text = os.environ.get("BENCH_DISTINCT", "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) < PER_ARTICLE:
        raise SystemExit(
            f"BENCH_DISTINCT={text!r} is not a photo count: use for example BENCH_DISTINCT=1000"
        )
    return int(text)


def _stop(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def main() -> int:
    # Stopped by SIGTERM as by Ctrl-C, the bench still stops its build and removes its
    # temp folder (Python's default for SIGTERM ends the process at once, leaving both).
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        return _run()
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run() -> int:
    scales = _scales()
    ref = os.environ.get("BENCH_BASELINE", DEFAULT_BASELINE)
    baseline = None if ref.lower() == "none" else ref
    new = "working tree"
    with tempfile.TemporaryDirectory(prefix="scale-bench-") as tmp:
        work = Path(tmp)
        trees = {new: ROOT}
        if baseline:
            found = subprocess.run(
                ["git", "rev-parse", "--short", f"{baseline}^{{commit}}"],
                cwd=ROOT,
                capture_output=True,
                text=True,
            )
            if found.returncode != 0:
                raise SystemExit(
                    f"BENCH_BASELINE={baseline} is not a commit of {ROOT}: use a git ref (the "
                    f"default is {DEFAULT_BASELINE}) or none to build the current code only"
                )
            baseline = found.stdout.strip()
            trees[baseline] = checkout(baseline, work / "baseline-tree")
            _describe(baseline)
        envs = {}
        for number, (code, tree) in enumerate(trees.items()):
            _check_origin(code, tree)
            folder = work / f"code-{number}"
            folder.mkdir()
            registry, key_file = folder / "registry.sqlite3", folder / "consent.key"
            seed_registry_of(tree, registry, key_file)
            envs[code] = {"CONSENT_REGISTRY": str(registry), "CONSENT_KEY_FILE": str(key_file)}
        rows = []
        for count in scales:
            content, stats = generated_site(count, _distinct())
            kinds = stats["kinds"]
            repeated, of = "", ""
            if "distinct" in stats:
                repeated = f" repeating {stats['distinct']} distinct ones"
                of = " (of the distinct photos)"
            print(
                f"\n{count} photos{repeated} ({content.parent}, made in {stats['seconds']:.0f} "
                f"s): mean {stats['mean_kb']:.0f} KB, {kinds['group']} groups, {kinds['none']} "
                f"without a face, {stats['gps']} with GPS{of}",
                flush=True,
            )
            for number, (code, tree) in enumerate(trees.items()):
                folder = work / f"code-{number}" / f"site-{count}"
                distinct = stats.get("distinct", count)
                row = measure(code, tree, content, count, folder, envs[code], distinct)
                shutil.rmtree(folder)
                keys = ("checked", "published", "withheld")
                summary = ", ".join(f"{row.verdicts.get(k, '?')} {k}" for k in keys)
                print(f"  {code}: verdicts {summary}", flush=True)
                rows.append(row)
        print()
        print_table(rows)
        print()
        met = check_targets(rows, new, baseline)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
