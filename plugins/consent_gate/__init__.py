"""Consent gate: after every writer has run, check every file in the output folder (default
deny); withhold photos without consent, re-encode the rest, and write the publish manifest.

The work happens in `gate.run_gate`; this module only connects it to Pelican. The
placeholder for a withheld photo comes from the theme's
``templates/partials/photo_withheld.html`` when it has one.
"""

from __future__ import annotations

import logging
from pathlib import Path

from consent_registry.settings import GateSettings, check_plugins, gate_today

from .manifest import remove_manifest

logger = logging.getLogger(__name__)

PLACEHOLDER_TEMPLATE = "partials/photo_withheld.html"
# Used when the theme has no placeholder template.
PLACEHOLDER_HTML = (
    '<figure class="photo-withheld" role="img" aria-label="Photo withheld: consent not on file">'
    "<figcaption>Photo withheld: consent not on file</figcaption></figure>"
)

_template_env = {}


def remember_template_env(generator) -> None:
    env = getattr(generator, "env", None)
    if env is not None:
        _template_env["env"] = env


def placeholder_html() -> str:
    env = _template_env.get("env")
    if env is not None:
        from jinja2 import TemplateNotFound

        try:
            return env.get_template(PLACEHOLDER_TEMPLATE).render().strip()
        except TemplateNotFound:
            pass
    return PLACEHOLDER_HTML


def _label(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _settings(pelican) -> GateSettings:
    """The gate's settings, refused when unsafe (see consent_registry.settings)."""
    settings = GateSettings.from_mapping(pelican.settings)
    check_plugins(pelican.settings.get("PLUGINS"))
    settings.check_outside(Path(pelican.output_path))
    return settings


def prepare(pelican) -> None:
    """Before anything is written: refuse unsafe settings, and delete the last build's
    manifest, so a build that does not finish leaves nothing `publish` would upload."""
    settings = _settings(pelican)
    remove_manifest(settings.manifest_path)


def check_output(pelican) -> None:
    from .gate import GateError, remove_unverified, run_gate

    output = Path(pelican.output_path)
    try:
        settings = _settings(pelican)
    except Exception as exc:
        removed = remove_unverified(output, set())
        raise GateError(
            f"the consent gate settings are wrong ({exc}); {removed} file(s) that were not "
            "checked have been deleted from the output. Fix the setting and rebuild."
        ) from exc
    if not settings.enabled:
        remove_manifest(settings.manifest_path)
        logger.warning(
            "CONSENT GATE IS OFF (CONSENT_ENABLED = False): no photo in %s was checked for "
            "consent and no publish manifest was written, so `publish` refuses this output. "
            "Use this only for benchmarks; never publish this output.",
            output,
        )
        return
    outcome = run_gate(
        output,
        settings,
        siteurl=pelican.settings.get("SITEURL", ""),
        placeholder=placeholder_html(),
        today=gate_today(pelican.settings.get("TIMEZONE")),
    )
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
    signals.generator_init.connect(remember_template_env)
    signals.finalized.connect(check_output)
