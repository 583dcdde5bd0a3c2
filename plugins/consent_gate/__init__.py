"""Consent gate: after every writer has run, check each image in the output folder against
the consent registry; withhold photos without consent, strip metadata from the rest.

The work happens in `gate.run_gate`; this module only connects it to Pelican. The
placeholder for a withheld photo comes from the theme's
``templates/partials/photo_withheld.html`` when it has one.
"""

from __future__ import annotations

import logging
from pathlib import Path

from consent_registry.settings import GateSettings, gate_today

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


def check_output(pelican) -> None:
    from .gate import LEGACY_IMAGE_SUFFIXES, GateError, remove_unverified, run_gate

    try:
        settings = GateSettings.from_mapping(pelican.settings)
    except Exception as exc:
        removed = remove_unverified(Path(pelican.output_path), LEGACY_IMAGE_SUFFIXES, set())
        raise GateError(
            f"the consent gate settings are wrong ({exc}); {removed} image(s) that were not "
            "checked have been deleted from the output. Fix the setting and rebuild."
        ) from exc
    if not settings.enabled:
        logger.warning(
            "CONSENT GATE IS OFF (CONSENT_ENABLED = False): no photo in %s was checked for "
            "consent. Use this only for benchmarks; never publish this output.",
            pelican.output_path,
        )
        return
    outcome = run_gate(
        Path(pelican.output_path),
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

    signals.generator_init.connect(remember_template_env)
    signals.finalized.connect(check_output)
