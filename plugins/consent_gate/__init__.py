"""Consent gate: after every writer has run, check every file of the new site (default
deny); withhold photos without consent, re-encode the rest; then the checked site replaces
the output folder and the publish manifest is written. The site is built in a staging
folder (``staging``), so a failed build leaves the last good output as it was.

The work happens in `gate.run_gate`; this module only connects it to Pelican. The
placeholder for a withheld photo comes from the theme's
``templates/partials/photo_withheld.html`` when it has one.
"""

from __future__ import annotations

import logging
from pathlib import Path

from consent_registry.clock import consent_today
from consent_registry.settings import GateSettings, check_plugins
from site_gate import cache_upkeep, staging
from site_gate.manifest import clear_stale_temps, remove_manifest
from site_gate.placeholders import (
    MISSING_HTML,
    MISSING_TEMPLATE,
    PLACEHOLDER_HTML,
    PLACEHOLDER_TEMPLATE,
    SITE_ROOT,
)

logger = logging.getLogger(__name__)

_template_env = {}
_write_failures = staging.WriteFailures()
# Output path -> the content file Pelican copied it from (its static files), this build.
_static_sources: dict[str, Path] = {}
# The output paths of photos Pelican is told not to copy (``skip_unchanged_photos``).
_uncopied: set[str] = set()
# The output folder of the build under way (it is built in a staging folder).
_build: dict[str, Path] = {}


def remember_template_env(generator) -> None:
    env = getattr(generator, "env", None)
    if env is not None:
        _template_env["env"] = env


def remember_static_sources(generators) -> None:
    """Which content file each copied file came from: a rebuild reads a photo again only
    when its content file changed (``inventory.BuiltPhotos``)."""
    _static_sources.clear()
    for generator in generators:
        for static in getattr(generator, "staticfiles", ()):
            save_as, source = getattr(static, "save_as", ""), getattr(static, "source_path", "")
            if save_as and source:
                _static_sources[Path(save_as).as_posix()] = Path(source)
    skip_unchanged_photos(generators)


def skip_unchanged_photos(generators) -> None:
    """Tell Pelican not to copy the photos whose content file is as the last build
    recorded: the gate publishes their cached re-encodings, and copies one itself only
    when it needs its bytes (``inventory``)."""
    _uncopied.clear()
    static = [g for g in generators if hasattr(g, "staticfiles")]
    if not static or not _build.get("final"):
        return
    try:
        settings = GateSettings.from_mapping(static[0].settings)
    except Exception:  # noqa: BLE001 - check_output refuses the settings, saying why
        return
    if not settings.enabled:
        return
    from site_gate.inventory import BuiltPhotos

    built = BuiltPhotos(
        cache_upkeep.site_folder(settings.cache_dir, _build["final"]), _static_sources
    )
    unchanged = built.unchanged_photos()
    for generator in static:
        required = getattr(generator, "_file_update_required", None)
        if required is None:  # another Pelican: it copies every file, as it always did
            continue

        def copy_unless_unchanged(staticfile, required=required) -> bool:
            return Path(staticfile.save_as).as_posix() not in unchanged and required(staticfile)

        generator._file_update_required = copy_unless_unchanged
    _uncopied.update(unchanged)


def placeholder_html(template: str = PLACEHOLDER_TEMPLATE, fallback: str = PLACEHOLDER_HTML) -> str:
    env = _template_env.get("env")
    if env is not None:
        from jinja2 import TemplateNotFound

        try:
            # SITEURL differs per page under RELATIVE_URLS: the gate puts it in per page.
            return env.get_template(template).render(SITEURL=SITE_ROOT).strip()
        except TemplateNotFound:
            pass
    return fallback


def _label(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _settings(pelican) -> GateSettings:
    """The gate's settings, refused when unsafe (see consent_registry.settings)."""
    settings = GateSettings.from_mapping(pelican.settings)
    check_plugins(pelican.settings.get("PLUGINS"))
    settings.check_outside(Path(_published_output(pelican)))
    return settings


def _published_output(pelican) -> Path:
    return Path(getattr(pelican, "_published_output", None) or pelican.output_path)


def prepare(pelican) -> None:
    """Before anything is written: refuse unsafe settings, and watch for the write
    failures Pelican only warns about; Ctrl-C and SIGTERM fail the build (exit 130 / 143)."""
    _settings(pelican)
    logging.getLogger("pelican").addHandler(_write_failures)
    staging.watch_interrupts()


def stage(pelican) -> None:
    """At the start of every run: the site is written into a staging folder."""
    final = _published_output(pelican)
    pelican._published_output = final
    _build["final"] = final
    pelican.output_path = str(staging.start(final))
    _write_failures.failures.clear()


def check_output(pelican) -> None:
    """After every writer: check the staging folder, then let it replace the output."""
    from site_gate.gate import GateError, remove_unverified, run_gate

    final = _published_output(pelican)
    folder = Path(pelican.output_path)
    try:
        _write_failures.check()
        try:
            settings = _settings(pelican)
        except Exception as exc:
            removed = remove_unverified(folder, set())
            raise GateError(
                f"the consent gate settings are wrong ({exc}); {removed} file(s) that were not "
                "checked have been deleted. Fix the setting and rebuild."
            ) from exc
        if not settings.enabled:
            remove_manifest(settings.manifest_path)
            staging.promote(folder, final, tuple(pelican.settings.get("OUTPUT_RETENTION", ())))
            logger.warning(
                "CONSENT GATE IS OFF (CONSENT_ENABLED = False): no photo in %s was checked for "
                "consent and no publish manifest was written, so `publish` refuses this "
                "output. Use this only for benchmarks; never publish this output.",
                final,
            )
            return
        outcome = run_gate(
            folder,
            settings,
            siteurl=pelican.settings.get("SITEURL", ""),
            placeholder=placeholder_html(),
            missing_placeholder=placeholder_html(MISSING_TEMPLATE, MISSING_HTML),
            today=consent_today(settings.timezone),
            site=final,
            static_sources=_static_sources,
            uncopied=_uncopied,
            theme=pelican.settings.get("THEME"),
        )
        # Everything that can fail on a full disk is written before the swap: the cache's
        # ledger, then the new manifest (as a temp file, renamed into place after it).
        clear_stale_temps(settings.manifest_path.parent)
        cache_upkeep.after_build(settings.cache_dir, final, outcome.sources, settings)
        new_manifest = outcome.write_manifest(settings.manifest_path, final, staged=True)
        try:
            if staging.interrupted():
                raise staging.BuildInterrupted(staging.interrupted())
            staging.promote(
                folder,
                final,
                tuple(pelican.settings.get("OUTPUT_RETENTION", ())),
                manifest=(new_manifest, settings.manifest_path),
            )
        finally:
            Path(new_manifest).unlink(missing_ok=True)
    except BaseException:
        staging.discard(folder)
        staging.recover(final)
        raise
    finally:
        pelican.output_path = str(final)
    from pelican.log import console

    console.print(
        outcome.summary_line(_label(outcome.report_path)),
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


def register():
    # Imported here so that the plain modules of this package never pull in Pelican.
    from pelican import signals

    signals.initialized.connect(prepare)
    signals.get_generators.connect(stage)
    signals.generator_init.connect(remember_template_env)
    signals.all_generators_finalized.connect(remember_static_sources)
    signals.finalized.connect(check_output)
