"""Shared test helpers: project paths and a real Pelican build in a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_FACES = ROOT.parent / "shared" / "faces"

# Compiled modules for every Python process of the run (the Pelican builds, `consent`,
# `publish`, the face workers), kept outside the checkout. With PYTHONDONTWRITEBYTECODE set
# (as on this project's CI machines) each of them compiled ~800 modules from source again:
# 1.4 s of a 4.4 s build of one page, measured.
_PYCACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "school-site"
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
os.environ.setdefault("PYTHONPYCACHEPREFIX", str(_PYCACHE / "pycache"))
sys.pycache_prefix = os.environ["PYTHONPYCACHEPREFIX"]
sys.dont_write_bytecode = False


FEED_CACHE_SETTINGS = ("LUNCH_CACHE_PATH", "ATHLETICS_CACHE_PATH", "EVENTS_CACHE_PATH")
# One face cache for every build of a test session (set by `_session_face_cache`): the same
# photo is examined once per session, and nothing is written into the checkout's .cache/.
_FACE_CACHE: list[Path] = []


def _face_cache_dir(output: Path) -> Path:
    return _FACE_CACHE[0] if _FACE_CACHE else output.parent / f"{output.name}.face-cache"


def session_root(tmp_path_factory) -> Path:
    """The temporary folder of the whole test run: under pytest-xdist (`make test` runs two
    workers) the folder every worker's own temporary folder sits in, so the workers can
    share what a session builds once; without xdist, this process's own."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def built_once(tmp_path_factory, name: str, make) -> Path:
    """`make(folder)` run once for the whole test run, however many workers ask: the first
    builds into an empty folder under a file lock while the others wait, then every worker
    gets the same folder to read. A build that failed is not marked done, so the next
    worker that asks builds again (and shows the failure itself)."""
    from filelock import FileLock

    folder = session_root(tmp_path_factory) / f"once-{name}"
    with FileLock(f"{folder}.lock"):
        if not (folder / ".done").exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            make(folder)
            (folder / ".done").touch()
    return folder


@pytest.fixture(scope="session", autouse=True)
def _session_face_cache(tmp_path_factory) -> Path:
    # Shared by the workers too: the cache's files are written whole (write-then-rename).
    folder = session_root(tmp_path_factory) / "session-face-cache"
    folder.mkdir(exist_ok=True)
    _FACE_CACHE[:] = [folder]
    return folder


def share_drawings(cache_dir: Path, env: dict | None = None) -> None:
    """Give a build's face cache the run's drawn SVGs (``<cache>/drawn``, kept by each SVG's
    hash, so a shared drawing is the same drawing): the theme's logo is drawn once per run,
    not by a Chromium started in every build with a cache of its own (1.2 CPU-seconds a
    build, measured). Left alone: a cache that has its own drawings already, and a build
    that chooses its browser (CONSENT_CHROMIUM: the tests of a missing one), and a relative
    folder, which the build takes from its project (CONSENT_ROOT), not from here."""
    if not _FACE_CACHE or "CONSENT_CHROMIUM" in {**os.environ, **(env or {})}:
        return
    if not Path(cache_dir).is_absolute():
        return
    drawn = Path(cache_dir) / "drawn"
    if drawn.exists() or drawn.is_symlink() or Path(cache_dir).resolve() == _FACE_CACHE[0]:
        return
    shared = _FACE_CACHE[0] / "drawn"
    shared.mkdir(parents=True, exist_ok=True)
    drawn.parent.mkdir(parents=True, exist_ok=True)
    drawn.symlink_to(shared, target_is_directory=True)


def manifest_path(output: Path) -> Path:
    """Where a test build into `output` writes its publish manifest."""
    return output.parent / f"{output.name}.manifest.json"


def run_pelican(
    output: Path,
    content: Path | None = None,
    settings_file: Path | None = None,
    extra: dict | None = None,
    env: dict | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess:
    """Build a site with the project's settings into `output` and return the finished process.

    `extra` values are passed to Pelican as JSON (`-e KEY=value`), so they override
    pelicanconf.py exactly as a school's own settings would.
    """
    cmd = [
        sys.executable,
        "-m",
        "pelican",
        str(content or ROOT / "content"),
        "-o",
        str(output),
        "-s",
        str(settings_file or ROOT / "pelicanconf.py"),
    ]
    # The gate's report and publish manifest beside the output, never in the project's
    # reports/ folder, which parallel builds would share; the face cache in the session's
    # temporary folder, never the project's .cache/ (CONSENT_ROOT is the checkout).
    defaults = {
        "CONSENT_REPORT_PATH": str(output.parent / f"{output.name}.report.json"),
        "CONSENT_MANIFEST_PATH": str(manifest_path(output)),
        "CONSENT_CACHE_DIR": str(_face_cache_dir(output)),
    }
    if content is None:
        # The feed plugins keep fetched feeds and the athletics revisions next to the
        # content folder: for the project's own content/, beside the output instead.
        feeds = str(output.parent / f"{output.name}.feeds")
        defaults |= {key: feeds for key in FEED_CACHE_SETTINGS}
    extra = {**defaults, **(extra or {})}
    share_drawings(Path(extra["CONSENT_CACHE_DIR"]), env)
    # One -e with every pair: Pelican keeps only the last -e option given.
    cmd += ["-e", *(f"{key}={json.dumps(value)}" for key, value in extra.items())]
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run(cmd, cwd=ROOT, env=full_env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"pelican failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def fresh_copy(dest: Path) -> Path:
    """The checkout's files as a clone would have them (tracked and new, none of the ignored:
    no output, registries, caches or server data), mtimes kept so make sees the environment
    as synced, with the checkout's environment linked in. For the programs that write into
    the project they run in (`make demo` seeds consent/ and content/images/gallery/)."""
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, files):
        source = ROOT / name.decode()
        if source.is_file():
            target = dest / name.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    (dest / ".venv").symlink_to(ROOT / ".venv")
    return dest


def copy_env(copy: Path) -> dict[str, str]:
    """The environment for a program run in `copy`: its own packages first on the path, and
    no consent registry of the caller's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONSENT_")}
    env["PYTHONPATH"] = os.pathsep.join(str(copy / f) for f in ("lib", "plugins", "apps", "."))
    return env


@pytest.fixture(scope="session")
def project_copy(tmp_path_factory) -> Path:
    """One fresh copy of the project for the session's `make demo` runs (they write its
    demo registry and gallery photos there, never into the checkout); its face cache is the
    session's, so the demo's photos are examined once."""
    return share_session_faces(fresh_copy(tmp_path_factory.mktemp("project") / "site"))


def share_session_faces(copy: Path) -> Path:
    """Give a fresh copy's builds the session's face cache (its default `.cache/consent`),
    for the tests of a program's path, not of a cold cache: the sample photos are examined
    once a run."""
    (copy / ".cache").mkdir()
    (copy / ".cache" / "consent").symlink_to(_face_cache_dir(copy / "output"))
    return copy


@pytest.fixture(scope="session")
def local_s3(tmp_path_factory):
    """A real SeaweedFS server on 127.0.0.1, one for the whole test session."""
    from s3_publish.local_s3 import LocalS3

    server = LocalS3(tmp_path_factory.mktemp("s3data"), public_buckets=["public-site"])
    with server:
        yield server


@pytest.fixture
def s3_bucket(local_s3) -> str:
    """A fresh, empty bucket on the session's local S3 server."""
    import uuid

    name = f"site-{uuid.uuid4().hex[:12]}"
    local_s3.create_bucket(name)
    return name


@pytest.fixture
def shared_faces() -> Path:
    if not SHARED_FACES.is_dir():
        pytest.fail(f"the shared face photos are missing: expected them at {SHARED_FACES}")
    return SHARED_FACES


@pytest.fixture(scope="module")
def browser():
    """The real Debian chromium for the tests of a module (each test opens its own context,
    so cookies, viewports and routes never carry over). Per module, not per session:
    Playwright's sync API keeps an event loop running while it is open, and asyncio.run()
    (Pagefind's indexer) or another sync_playwright() in a later test would refuse to run."""
    from tests.browser import CHROMIUM, CHROMIUM_ARGS, missing_tools

    problem = missing_tools()
    if problem:
        pytest.fail(problem)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def sample_site(tmp_path_factory):
    """The sample site built on a school day, once per day for the whole session:
    `sample_site("2026-11-30T07:30")` is the output folder (SITE_DATE; no argument: the
    site tests' day), and Pelican's console output is beside it in build.log. Shared by
    every test that asks for that day, so read it only."""
    import re

    from tests.site.helpers import SAMPLE_DATE, build

    def make(folder: Path, site_date: str) -> None:
        proc = build(folder / "output", site_date=site_date)
        (folder / "build.log").write_text(proc.stdout + proc.stderr)

    def build_sample(site_date: str = SAMPLE_DATE) -> Path:
        name = "sample-site-" + re.sub(r"\W", "-", site_date)
        return built_once(tmp_path_factory, name, lambda f: make(f, site_date)) / "output"

    return build_sample


# What a test reaches, read from the source of the test and of every fixture it uses
# (transitively), so a new test is sorted without anyone remembering to mark it.
# `make test-fast` leaves out the first three; `make test` runs everything. Patterns are
# regular expressions (a build started as `python -m pelican` too).
REACHES = {
    "build": (
        r"run_pelican",
        r"build_site",
        r"build_sample",
        r"pelican\.Pelican",
        r"tools\.demo",
        r'"-m",\s*"pelican"',
        r"\bmake\(",
    ),
    "browser": (r"chromium", r"playwright"),
    "s3": (r"LocalS3", r"local_s3", r"s3_server", r"seaweed"),
    "face": (r"face_engine", r"face_recognition", r"encodings"),
}


def _names(code) -> set[str]:
    """The global and attribute names `code` uses, nested functions and lambdas included."""
    names = set(code.co_names)
    for const in code.co_consts:
        if hasattr(const, "co_names"):
            names |= _names(const)
    return names


def _in_tests(obj) -> bool:
    code = getattr(obj, "__code__", None)
    return code is not None and Path(code.co_filename).is_relative_to(ROOT / "tests")


def _called_helpers(function) -> list:
    """The functions of the test tree that `function` calls by name, directly, as an
    attribute of a test helper module (`rh.screenshot_faces`) or imported inside it; one
    level."""
    import types

    code = getattr(function, "__code__", None)
    if code is None:
        return []
    names = _names(code)
    scope = getattr(function, "__globals__", {})
    found = []
    for name in names:
        # A name imported inside the function (`from tests.feeds.conftest import build`)
        # shows only its module's name among the globals: take the module then.
        value = scope.get(name, sys.modules.get(name) if name.startswith("tests.") else None)
        if _in_tests(value):
            found.append(value)
        elif isinstance(value, types.ModuleType) and str(getattr(value, "__file__", "")).startswith(
            str(ROOT / "tests")
        ):
            found += [
                getattr(value, attr) for attr in names if _in_tests(getattr(value, attr, None))
            ]
    return found


def _reached_source(item: pytest.Item) -> str:
    import inspect

    roots = [getattr(item, "function", None)]
    info = getattr(item, "_fixtureinfo", None)
    for definitions in info.name2fixturedefs.values() if info else ():
        roots += [definition.func for definition in definitions]
    seen, parts, todo = set(), [], [f for f in roots if f is not None]
    while todo:
        function = inspect.unwrap(todo.pop())
        if id(function) in seen:
            continue
        seen.add(id(function))
        try:
            parts.append(inspect.getsource(function))
        except (OSError, TypeError):
            continue
        todo += _called_helpers(function)
    return "\n".join(parts)


def pytest_collection_modifyitems(config, items):
    import re

    patterns = {marker: re.compile("|".join(words)) for marker, words in REACHES.items()}
    for item in items:
        text = _reached_source(item)
        for marker, pattern in patterns.items():
            if marker not in item.keywords and pattern.search(text):
                item.add_marker(getattr(pytest.mark, marker))
    # Modules that build, open a browser or start a server first, the quick ones after:
    # `make test` hands whole modules to its workers in this order (--dist loadscope,
    # --no-loadscope-reorder), so the quick ones fill the end of the run instead of one
    # worker finishing a long module alone (the last 20 s of a run, before).
    heavy = {
        item.module.__name__
        for item in items
        if any(marker in item.keywords for marker in REACHES) and item.module is not None
    }
    items.sort(key=lambda item: item.module is None or item.module.__name__ not in heavy)


# The same three, as a started program's command line shows them: a test that starts one
# without its marker fails, so `make test-fast` cannot quietly grow builds, browsers or
# servers again (the markers above are read from the source, and source can hide a call).
STARTS = {
    "build": r"(-m\s+|/)pelican\b|tools\.demo",
    "browser": r"chromium|playwright",
    "s3": r"\bweed\b|seaweedfs",
}
_STARTED: list[list[str]] = []


def _audit(event: str, args: tuple) -> None:
    if event == "subprocess.Popen" and _STARTED:
        command = args[1] if isinstance(args[1], (list, tuple)) else [args[1]]
        _STARTED[-1].append(" ".join(str(part) for part in (args[0], *command)))


sys.addaudithook(_audit)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    _STARTED.append([])
    try:
        yield
    finally:
        _STARTED.pop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A test that started a build, browser or server without its marker fails at its
    teardown (a report, so pytest-xdist's workers carry it to the run's result too)."""
    import re

    outcome = yield
    report = outcome.get_result()
    if call.when != "teardown" or not _STARTED:
        return
    for marker, pattern in STARTS.items():
        unmarked = [c for c in _STARTED[-1] if re.search(pattern, c)]
        if unmarked and marker not in item.keywords:
            report.outcome = "failed"
            report.longrepr = (
                f"{item.nodeid} started `{unmarked[0][:200]}` but is not marked {marker}: add "
                f"the word that starts it to REACHES[{marker!r}] in tests/conftest.py (or mark "
                "the test)"
            )
            return


# Nothing a test run does may land in the checkout (a school runs `make test` in its own
# site folder): what git does not track is listed before and after, and a run that added
# to it fails, naming what appeared. The tools' own folders are left out.
_OWN_FOLDERS = ("!! .venv/", "!! node_modules/", "!! .mypy_cache/", "!! .ruff_cache/")


def _untracked_in_checkout() -> set[str] | None:
    try:
        listed = subprocess.run(
            ["git", "status", "--porcelain", "--ignored"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None  # not a git checkout: nothing to compare
    return {line for line in listed.splitlines() if line and line not in _OWN_FOLDERS}


def pytest_sessionstart(session):
    if not hasattr(session.config, "workerinput"):  # the run itself, not an xdist worker
        session.config._checkout_before = _untracked_in_checkout()


def pytest_sessionfinish(session, exitstatus):
    before = getattr(session.config, "_checkout_before", None)
    after = _untracked_in_checkout() if before is not None else None
    if before is None or after is None or not after - before:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(
            "The test run wrote into the checkout: "
            + ", ".join(sorted(after - before))
            + ". Tests must write into their temporary folders only.",
            red=True,
        )
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
