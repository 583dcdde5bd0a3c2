"""`publish`: upload the built site to S3 (see `publish --help`). Exit code 0 on success,
1 with a clear message on any error."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from consent_registry.clock import consent_today
from consent_registry.settings import ENVIRONMENT_OVERRIDES, GateSettings, check_plugins
from face_engine.batch import end_with_parent
from site_gate.manifest import BuildSettings

from .consent import registry_checker
from .errors import PublishError, PublishInterrupted
from .settings import PublishSettings, normalize_prefix
from .sync import PageFix, publish

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="publish",
        description=(
            "Upload the built site to S3: only what changed (MD5 against ETag), every image "
            "re-checked against the consent registry as it is now, takedowns first."
        ),
    )
    parser.add_argument(
        "--settings",
        type=Path,
        default=Path("publishconf.py"),
        help="Pelican settings file with the S3_* and CONSENT_* settings (default: %(default)s)",
    )
    parser.add_argument("--build", action="store_true", help="build the site with pelican first")
    parser.add_argument("--dry-run", action="store_true", help="list the changes, make none")
    parser.add_argument("--output", type=Path, help="the built site (default: OUTPUT_PATH)")
    parser.add_argument("--bucket", help="bucket (default: S3_BUCKET)")
    parser.add_argument("--prefix", help="key prefix inside the bucket (default: S3_PREFIX)")
    parser.add_argument("--endpoint-url", help="S3-compatible endpoint (default: S3_ENDPOINT_URL)")
    parser.add_argument(
        "--max-deletes",
        type=int,
        help="allow this many ordinary deletions for this run (default: S3_MAX_DELETES)",
    )
    parser.add_argument(
        "--force", action="store_true", help="upload every file, changed or not (new headers)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def load_settings(settings_file: Path) -> dict:
    """The Pelican settings: the file as the build's gate and `consent` read it (the one
    reader, site_common.settings), on top of Pelican's defaults, with Pelican's folders
    taken from the settings file's folder as Pelican takes them."""
    from pelican.settings import read_settings
    from site_common.settings import read_settings_file

    if not settings_file.is_file():
        raise PublishError(f"the settings file {settings_file} does not exist")
    values = read_settings_file(settings_file)
    folder = settings_file.resolve().parent
    for key in ("PATH", "OUTPUT_PATH", "THEME", "CACHE_PATH"):
        if values.get(key) is not None and (key != "THEME" or (folder / values[key]).exists()):
            values[key] = os.path.normpath(folder / values[key])  # an absolute one stays
    return read_settings(override=values)


def run_build(settings_file: Path, output: Path | None) -> None:
    """Build with Pelican; PublishError unless the build finished (exit status 0): an
    interrupted build (Ctrl-C, SIGTERM: 130, 143) or a killed one publishes nothing."""
    cmd = [sys.executable, "-m", "pelican", "-s", str(settings_file.resolve())]
    if output is not None:
        cmd += ["-o", str(output.resolve())]
    print("building:", " ".join(cmd), flush=True)
    # The build ends with publish: killed, publish takes Pelican (and its workers) with it.
    proc = subprocess.run(cmd, cwd=settings_file.resolve().parent, preexec_fn=end_with_parent)
    if proc.returncode != 0:
        how = (
            f"was stopped by {signal.Signals(-proc.returncode).name}"
            if proc.returncode < 0
            else "was interrupted"
            if proc.returncode in (130, 143)
            else f"failed (pelican exited with {proc.returncode})"
        )
        raise PublishError(
            f"the build {how}; nothing was published (the last good output was not published "
            "either: build again, then publish)"
        )


def check_built_since(manifest_path: Path, started: float) -> None:
    """`publish --build` publishes only what its own build passed: the manifest must have
    been written after the build started (else the build did not finish with the gate)."""
    try:
        written = manifest_path.stat().st_mtime
    except OSError:
        written = 0.0
    if written < started:
        raise PublishError(
            f"the build did not write a new publish manifest ({manifest_path}): it did not "
            "finish with the consent gate, so nothing was published. Build again, then publish"
        )


def page_fix_for(pelican_settings: dict, gate: GateSettings) -> PageFix:
    """How publish rewrites a page that shows a withheld picture: the site's SITEURL, the
    theme's placeholder (templates/partials/photo_withheld.html, as the build renders it)
    and the gate's page cache."""
    from site_gate.placeholders import PLACEHOLDER_HTML, PLACEHOLDER_TEMPLATE

    placeholder = PLACEHOLDER_HTML
    theme = pelican_settings.get("THEME")
    if theme:
        templates = Path(theme) / "templates"
        if (templates / PLACEHOLDER_TEMPLATE).is_file():
            from jinja2 import Environment, FileSystemLoader

            try:
                env = Environment(loader=FileSystemLoader(str(templates)), autoescape=True)
                placeholder = env.get_template(PLACEHOLDER_TEMPLATE).render().strip()
            except Exception as exc:  # noqa: BLE001 - the built-in placeholder is as safe
                log.warning("the theme's placeholder %s cannot be used (%s)", templates, exc)
    return PageFix(
        siteurl=str(pelican_settings.get("SITEURL") or ""),
        placeholder=placeholder,
        cache_dir=Path(gate.cache_dir) / "pages",
    )


def required_settings(pelican_settings: dict, gate: GateSettings) -> BuildSettings:
    """The consent settings a build must have run with to be published: the settings
    file's. The environment may make them stronger (CONSENT_RENDER_CHECK=1 with a file
    that leaves the check off), never weaker: CONSENT_RENDER_CHECK=0 in a shell must not
    let a build without the rendered-page check through publishconf.py."""
    from_file = GateSettings.from_mapping(pelican_settings, environ={})
    return BuildSettings.of(from_file, render_check=from_file.render_check or gate.render_check)


def weakening_environment(pelican_settings: dict, gate: GateSettings) -> list[str]:
    """The environment variables (NAME=value) that make `gate` weaker than its settings
    file asks for; empty when the environment weakens nothing."""
    wanted = required_settings(pelican_settings, gate)
    if not BuildSettings.of(gate, render_check=gate.render_check).weaker_than(wanted):
        return []
    fields = set(BuildSettings.__dataclass_fields__)
    return [
        f"{key}={os.environ[key]}"
        for key in ENVIRONMENT_OVERRIDES
        if key in os.environ and key.removeprefix("CONSENT_").lower() in fields
    ]


def _unset_advice(names: list[str]) -> str:
    keys = " ".join(name.split("=", 1)[0] for name in names)
    return (
        f"the environment sets {', '.join(names)}, which turns off what the settings file "
        f"asks for. Unset it (`unset {keys}`), then build again (make publish, or publish "
        "--build) and publish"
    )


def check_environment(settings_file: Path, pelican_settings: dict, gate: GateSettings) -> None:
    """Refuse before a build (`publish --build`) that the environment would weaken: the
    build would take it, and publish would refuse its manifest afterwards."""
    names = weakening_environment(pelican_settings, gate)
    if names:
        raise PublishError(
            f"not building with {settings_file}: {_unset_advice(names)}. Nothing was changed."
        )


def check_built_with(pelican_settings: dict, gate: GateSettings, output: Path) -> None:
    """Refuse an output whose manifest was built with weaker consent settings than the
    settings file asks for (a `make html` preview published with publishconf.py; a build
    whose environment turned a check off): nothing is changed."""
    from site_gate.manifest import ManifestError, read_manifest

    try:
        # Its rendered pages face-checked (site_gate.render_check) when these settings
        # ask for it, as publishconf.py does.
        read_manifest(gate.manifest_path, output, wanted=required_settings(pelican_settings, gate))
    except ManifestError as exc:
        names = weakening_environment(pelican_settings, gate)
        advice = f" ({_unset_advice(names)})" if names else ""
        raise PublishError(f"{exc}{advice}. Nothing was changed.") from exc


def apply_options(settings: PublishSettings, args: argparse.Namespace) -> PublishSettings:
    """Command-line options win over the environment and the settings file."""
    changes = {}
    if args.bucket:
        changes["bucket"] = args.bucket
    if args.prefix is not None:
        changes["prefix"] = normalize_prefix(args.prefix)
    if args.endpoint_url:
        changes["endpoint_url"] = args.endpoint_url
    if args.max_deletes is not None:
        changes["max_deletes"] = args.max_deletes
    return replace(settings, **changes)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        started = time.time()
        if args.build:
            early = load_settings(args.settings)
            check_environment(args.settings, early, GateSettings.from_mapping(early))
            run_build(args.settings, args.output)
        pelican_settings = load_settings(args.settings)
        settings = apply_options(PublishSettings.from_mapping(pelican_settings), args)
        gate = GateSettings.from_mapping(pelican_settings)
        check_plugins(pelican_settings.get("PLUGINS"))
        output = args.output or Path(pelican_settings["OUTPUT_PATH"])
        gate.check_outside(output)
        if args.build:
            check_built_since(Path(gate.manifest_path), started - 1)
        check_built_with(pelican_settings, gate, output)
        result = publish(
            output,
            settings,
            registry_checker(gate, today=consent_today(gate.timezone), progress=not args.quiet),
            gate.manifest_path,
            dry_run=args.dry_run,
            force=args.force,
            progress=not args.quiet,
            page_fix=page_fix_for(pelican_settings, gate),
        )
    except PublishInterrupted as exc:
        print(f"publish: {exc}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print(
            "publish: interrupted before anything was uploaded or deleted; nothing was changed",
            file=sys.stderr,
        )
        return 130
    except PublishError as exc:
        print(f"publish: error: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"publish: error in the settings: {exc}", file=sys.stderr)
        return 1
    print(result.summary())
    return 0
