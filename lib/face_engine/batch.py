"""The verdicts for many image files at once (``check_files``), the same as ``decide``
gives one by one: face work looked up in the cache, the rest done in parallel worker
processes (as many as the memory allows), and a pool that breaks falls back to this process.
Fails closed: a file that cannot be checked is withheld with a reason."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from pathlib import Path

from .cache import FaceCache
from .decision import MatchSettings, error_verdict, verdict_for_faces
from .detectors import FaceError, set_threads
from .faces import detect_faces
from .model import (
    DetectedFace,
    RegistrySnapshot,
    Verdict,
)
from .model import sha256_bytes as _sha256

log = logging.getLogger(__name__)


def _detect_job(path: str, encode: bool, source: str) -> tuple[str, list[DetectedFace] | str]:
    """Worker-side face work on one file: (the SHA-256 of the bytes read, their faces or
    an error message). The worker reads the file itself, so the main process never holds
    the photos waiting for a worker (556 MB for 1,000 photos when it did)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return "", f"could not read {source} ({exc.strerror or exc}): check the file"
    sha256 = _sha256(data)
    try:
        return sha256, detect_faces(data, encode=encode, source=source)
    except FaceError as exc:
        return sha256, str(exc)
    except Exception as exc:  # noqa: BLE001 - reported as a withholding reason
        return sha256, f"could not check {source} ({type(exc).__name__}: {exc})"


# Peak memory of one face worker on the largest photos it checks; with the memory the
# system has free, it bounds how many workers start (``default_workers``).
WORKER_PEAK_BYTES = 1 << 30
# Photos handed to the workers ahead of the one each is on: a bounded queue, so memory
# does not grow with the number of photos.
QUEUE_PER_WORKER = 2
# Fewer photos needing face work than this are examined in this process: a worker's start
# (a new interpreter and the models) cost 1.4 s of CPU and 2 s before its first photo, more
# than two small photos take (a build with two new photos: 7.6 s with the pool, 5.6 s
# without, 2 cores). A rebuild after one new article is the common case.
POOL_MIN_PHOTOS = 4


def default_workers() -> int:
    """One face worker per core this process may use, as many as free memory allows."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    available = _available_memory()
    if available is None:
        return max(1, cores)
    return max(1, min(cores, available // WORKER_PEAK_BYTES))


def _available_memory() -> int | None:
    """Bytes of memory free for new processes: the system's, or the container's limit."""
    found = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = Path("/sys/fs/cgroup/memory.current").read_text().strip()
        if limit != "max":
            found.append(max(0, int(limit) - int(used)))
    except (OSError, ValueError):
        pass
    return min(found) if found else None


def _init_worker() -> None:
    set_threads(1)
    end_with_parent()


def end_with_parent() -> None:
    """Ask Linux to kill this process when its parent dies, so a killed build leaves no
    face worker behind (each holds ~300 MB; unasked, they ran on for minutes)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent died before the request took effect
        os._exit(1)


def check_files(
    paths: Sequence[Path],
    snapshot: RegistrySnapshot,
    settings: MatchSettings,
    progress: bool = True,
    display_names: Sequence[str] | None = None,
    cache: FaceCache | None = None,
    hashes: Sequence[str] | None = None,
) -> list[Verdict]:
    """Verdicts for many image files (same rules as `decide`), in the order given.

    `hashes` gives each file's identity: the SHA-256 of its bytes as built, which its face
    results are cached under and the office approves. A cached file goes unread. A file
    read anyway (its faces not cached, as when publishing from another machine) is
    examined as it is now, cached under its own bytes' hash, and still decided as the
    identity it was given: the publisher has checked that the file is the gate's
    re-encoded copy of those bytes."""
    from tqdm import tqdm

    names = [str(p) for p in paths] if display_names is None else [str(n) for n in display_names]
    if len(names) != len(paths):
        raise ValueError("display_names must name every path")
    if cache is None:
        cache = FaceCache.for_settings(settings)
    encode = settings.mode == "recognise"
    verdicts: list[Verdict | None] = [None] * len(paths)
    hashes_out: list[str] = [""] * len(paths)
    known: dict[str, list[DetectedFace] | str] = {}  # sha256 -> faces, or an error message
    todo: dict[str, int] = {}  # sha256 -> index of the first file needing face work

    bar = tqdm(
        total=len(paths), desc="consent gate", unit="image", file=sys.stderr, disable=not progress
    )
    for i, path in enumerate(paths):
        if hashes is not None:
            sha256 = hashes_out[i] = hashes[i]
        else:
            try:
                sha256 = hashes_out[i] = _sha256(Path(path).read_bytes())
            except OSError as exc:
                verdicts[i] = error_verdict(
                    names[i],
                    "",
                    f"could not read {names[i]} ({exc.strerror or exc}): check the file",
                )
                bar.update()
                continue
        if sha256 in known or sha256 in todo:
            bar.update()
            continue
        cached = cache.get(sha256, need_encodings=encode)
        if cached is None:
            todo[sha256] = i
            continue
        known[sha256] = cached
        bar.update()
    if todo and cache.fetch_shared(list(todo)):
        # Another machine of the district scanned some of them.
        for sha256 in [s for s in todo if cache.path_for(s).exists()]:
            cached = cache.get(sha256, need_encodings=encode)
            if cached is not None:
                known[sha256] = cached
                del todo[sha256]
                bar.update()

    def finished(sha256: str, result: tuple[str, list[DetectedFace] | str]) -> None:
        read_sha256, found = result
        if hashes is None and read_sha256 and read_sha256 != sha256:
            found = f"{names[todo[sha256]]} changed while it was being checked: rebuild"
        elif read_sha256 and not isinstance(found, str):
            # Cached under the bytes read (the publisher's re-encoded copy is examined as
            # it is), and decided as the identity it was given.
            cache.put(read_sha256, found, encoded=encode)
        known[sha256] = found
        bar.update()

    workers = min(settings.workers or default_workers(), len(todo))
    if len(todo) < POOL_MIN_PHOTOS:
        workers = 1
    retry: list[str] = list(todo) if workers <= 1 else []
    if workers > 1:
        try:
            _run_pool(todo, paths, names, encode, workers, finished, retry)
        except (BrokenProcessPool, OSError, RuntimeError) as exc:
            log.warning("parallel face work failed (%s); continuing in this process", exc)
            retry = [sha256 for sha256 in todo if sha256 not in known]
    for sha256 in retry:
        i = todo[sha256]
        finished(sha256, _detect_job(str(paths[i]), encode, names[i]))
    bar.close()

    results: list[Verdict] = []
    for i, verdict in enumerate(verdicts):
        if verdict is not None:
            results.append(verdict)
            continue
        found = known.get(hashes_out[i])
        sha256 = hashes[i] if hashes is not None else hashes_out[i]
        if isinstance(found, str):
            results.append(error_verdict(names[i], sha256, found))
        elif found is None:
            results.append(error_verdict(names[i], sha256, f"{names[i]} was not checked"))
        else:
            try:
                results.append(verdict_for_faces(sha256, found, snapshot, settings, names[i]))
            except Exception as exc:  # noqa: BLE001 - fail closed
                results.append(
                    error_verdict(names[i], sha256, f"could not check {names[i]} ({exc})")
                )
    return results


def _run_pool(todo, paths, names, encode, workers, finished, retry) -> None:
    """Face work in `workers` processes, fed through a bounded queue; photos whose worker
    died go to `retry`."""
    pending = iter(todo)
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=get_context("spawn"), initializer=_init_worker
    ) as pool:
        running: dict = {}

        def feed() -> None:
            while len(running) < workers * QUEUE_PER_WORKER:
                sha256 = next(pending, None)
                if sha256 is None:
                    return
                i = todo[sha256]
                running[pool.submit(_detect_job, str(paths[i]), encode, names[i])] = sha256

        feed()
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                sha256 = running.pop(future)
                try:
                    result = future.result()
                except BrokenProcessPool:
                    retry.append(sha256)
                    continue
                except Exception as exc:  # noqa: BLE001 - withholds this image only
                    result = ("", f"could not check {names[todo[sha256]]} ({exc})")
                finished(sha256, result)
            feed()
