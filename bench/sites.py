"""Generated sites for the build benchmarks: the articles that show the photos, a temp
consent registry seeded with the real face engine, and a Pelican build measured for time,
CPU and memory.

`build` runs Pelican with the settings of a checkout (`tree`, this one by default), so the
same generated site can be built with the current code and with an older commit, and
reports the build's wall time, the CPU time of the build and of every process it waited
for (os.wait4), and its memory: each process's peak and the peak of their sum.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from PIL import ExifTags, Image

ROOT = Path(__file__).resolve().parent.parent
SHARED_FACES = ROOT.parent / "shared" / "faces"
# People with consent in the bench registry: reference photo -> (id, name).
CONSENTED = {
    "people/obama/obama2.jpg": ("S1001", "Bench Student One"),
    "people/biden/biden2.jpg": ("S1002", "Bench Student Two"),
    "people/kit_harington/kit1.jpg": ("S1003", "Bench Student Three"),
}
# The process tree's memory is sampled this often: the face workers live for seconds to
# minutes, so a 50 ms sample misses none of them, and one sample reads a few small files.
SAMPLE_SECONDS = 0.05
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


class Gate(StrEnum):
    """How a build runs the consent gate."""

    ABSENT = "absent"  # plain Pelican: the gate plugin is not loaded
    OFF = "off"  # the gate plugin with CONSENT_ENABLED = False
    ON = "on"


@dataclass(frozen=True)
class Run:
    """One measured build. Memory in bytes; RSS counts shared pages once per process."""

    output: Path
    seconds: float
    cpu_seconds: float  # user + system, of the build and of every process it waited for
    max_process_rss: int  # the largest peak of any one process (main or worker)
    main_rss: int  # the build's own process
    worker_rss: int  # the largest process it started (0 when it started none)
    total_rss: int  # the largest sum over the process tree at one sample


def camera_exif(rng: random.Random) -> Image.Exif:
    """Camera make and model, and a GPS position: metadata the gate must not publish."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "BenchCam"
    exif[ExifTags.Base.Model] = f"Model {rng.randrange(10)}"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (41.0, float(rng.randrange(60)), 0.0)
    return exif


def write_articles(content: Path, photos: list[Path], per_article: int) -> None:
    """One article per `per_article` photos (which must be under content/images/)."""
    articles = content / "articles"
    articles.mkdir(parents=True, exist_ok=True)
    for number, start in enumerate(range(0, len(photos), per_article)):
        body = "\n\n".join(
            f"![Photo {i + 1} from the event]({{static}}/{photo.relative_to(content).as_posix()})"
            for i, photo in enumerate(photos[start : start + per_article])
        )
        day = 1 + number % 28
        month = 1 + (number // 28) % 12
        (articles / f"event-{number:03d}.md").write_text(
            f"Title: Event {number}\nDate: 2026-{month:02d}-{day:02d} 10:00\n"
            f"Category: Events\nSlug: event-{number:03d}\nSummary: Photos from event {number}.\n\n"
            f"Photos from the event.\n\n{body}\n",
            encoding="utf-8",
        )


def seed_registry(registry: Path, key_file: Path, plugins: Path = ROOT / "lib") -> None:
    """A registry of the CONSENTED people, made by the registry and face engine in `plugins`
    (a checkout's lib/, or plugins/ in a checkout from before the layout by layer).

    Imports them into this process: for another checkout use seed_registry_of."""
    sys.path.insert(0, str(plugins))
    from consent_registry.registry import Registry
    from face_engine.faces import reference_templates

    imported = Path(sys.modules[Registry.__module__].__file__ or "")
    if not imported.is_relative_to(plugins):
        raise SystemExit(
            f"the registry code came from {imported}, not from {plugins}: seed another "
            "checkout's registry with seed_registry_of"
        )
    with Registry.open(registry, key_file) as reg:
        for rel, (person_id, name) in CONSENTED.items():
            templates = reference_templates((SHARED_FACES / rel).read_bytes(), source=rel)
            reg.add(person_id, name, templates, role="student", actor="bench")


def seed_registry_of(tree: Path, registry: Path, key_file: Path) -> None:
    """seed_registry with the code of the checkout at `tree`, in a child process so that
    its modules never mix with this process's."""
    code = (
        "import sys; from pathlib import Path; from bench.sites import seed_registry; "
        "seed_registry(*map(Path, sys.argv[1:]))"
    )
    packages = tree / "lib" if (tree / "lib").is_dir() else tree / "plugins"
    args = [str(registry), str(key_file), str(packages)]
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise SystemExit(f"seeding the registry of {tree} failed:\n{proc.stderr}")


def plugin_origin(tree: Path, module: str = "face_engine.decision") -> Path:
    """Where a build with `tree`'s settings imports `module` from (its settings put its own
    plugins first on the path; the environment's editable install points at this checkout)."""
    code = (
        "import importlib, runpy, sys; runpy.run_path(sys.argv[1]); "
        "print(importlib.import_module(sys.argv[2]).__file__)"
    )
    settings = str(tree / "pelicanconf.py")
    proc = subprocess.run(
        [sys.executable, "-c", code, settings, module],
        cwd=tree,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise SystemExit(f"reading the settings of {tree} failed:\n{proc.stderr}")
    return Path(proc.stdout.strip())


def _status_kb(pid: int) -> tuple[int, int]:
    """VmRSS and VmHWM (the process's peak) of a live process, in KB; (0, 0) once gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0, 0
    values = {}
    for line in text.splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            key, value = line.split(":", 1)
            values[key] = int(value.split()[0])
    return values.get("VmRSS", 0), values.get("VmHWM", 0)


class TreeMemory:
    """Samples the RSS of a process and of all its descendants from /proc (the kernel has
    no children list here, so parents are read from each new process's stat once)."""

    def __init__(self, root: int):
        self.root = root
        self.parents: dict[int, int] = {}
        self.peaks: dict[int, int] = {}  # pid -> VmHWM, bytes
        self.total = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while True:
            self.sample()
            if self._stop.wait(SAMPLE_SECONDS):
                return

    def _descendants(self) -> list[int]:
        for entry in os.scandir("/proc"):
            if entry.name.isdigit() and int(entry.name) not in self.parents:
                try:
                    stat = Path(f"/proc/{entry.name}/stat").read_bytes()
                except OSError:
                    continue
                # The name field may hold spaces and parentheses: the parent pid is the
                # second field after its last ')'.
                self.parents[int(entry.name)] = int(stat.rsplit(b")", 1)[1].split()[1])
        children: dict[int, list[int]] = {}
        for pid, parent in self.parents.items():
            children.setdefault(parent, []).append(pid)
        found, queue = [], [self.root]
        while queue:
            pid = queue.pop()
            found.append(pid)
            queue.extend(children.get(pid, ()))
        return found

    def sample(self) -> None:
        total = 0
        for pid in self._descendants():
            rss, hwm = _status_kb(pid)
            total += rss * 1024
            if hwm:
                self.peaks[pid] = max(self.peaks.get(pid, 0), hwm * 1024)
        self.total = max(self.total, total)


def build(
    work: Path,
    name: str,
    gate: Gate,
    env: dict,
    *,
    content: Path | None = None,
    tree: Path = ROOT,
) -> Run:
    """Build `content` (work/content by default) with the settings of the checkout at
    `tree` into work/out-<name>, emptied first; the face cache is work/cache, shared by
    every build. A rebuild uses the name of the build it repeats: the gate keeps what a
    rebuild reuses per output folder."""
    output = work / f"out-{name}"
    if output.exists():
        shutil.rmtree(output)
    overrides: dict[str, object] = {"PLUGINS": [] if gate is Gate.ABSENT else ["consent_gate"]}
    if gate is not Gate.ABSENT:
        overrides |= {
            "CONSENT_ENABLED": gate is Gate.ON,
            "CONSENT_CACHE_DIR": str(work / "cache"),
            "CONSENT_REPORT_PATH": str(work / f"report-{name}.json"),
            "CONSENT_MANIFEST_PATH": str(work / f"manifest-{name}.json"),
        }
    content = content or work / "content"
    cmd = [sys.executable, "-m", "pelican", str(content), "-o", str(output)]
    cmd += ["-s", str(tree / "pelicanconf.py"), "-q", "-e"]
    cmd += [f"{key}={json.dumps(value)}" for key, value in overrides.items()]
    # Byte-compiled modules are cached (in the temp folder) as in any installed site, so
    # the builds do not spend their time compiling numpy's sources again and again.
    full_env = {**os.environ, **env, "PYTHONPYCACHEPREFIX": str(work / "pycache")}
    full_env.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        # In a session of its own, so that a stopped bench stops the build's workers too.
        proc = subprocess.Popen(
            cmd, cwd=tree, env=full_env, stdout=out, stderr=err, text=True, start_new_session=True
        )
        try:
            with TreeMemory(proc.pid) as memory:
                # wait4 rather than Popen.wait: its usage covers the build and every worker
                # it reaped, and its maxrss is the largest peak of any one of them.
                _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        elapsed = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            out.seek(0)
            err.seek(0)
            raise SystemExit(
                f"build {name} with {tree} failed ({proc.returncode}):\n{out.read()}\n{err.read()}"
            )
    main_rss = memory.peaks.get(proc.pid, 0)
    worker_rss = max((v for pid, v in memory.peaks.items() if pid != proc.pid), default=0)
    return Run(
        output=output,
        seconds=elapsed,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        max_process_rss=max(usage.ru_maxrss * 1024, main_rss, worker_rss),
        main_rss=main_rss,
        worker_rss=worker_rss,
        total_rss=memory.total,
    )
