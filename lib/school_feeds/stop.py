"""Stop a build on purpose: log each reason as an error, then exit with status 1.

For input the site must not be published without (an unreadable page or alert, a bad
SITE_DATE). SystemExit, not an exception: Pelican prints a traceback for any Exception,
and a webmaster needs the file and the reason, not a stack.
"""

from __future__ import annotations

import logging
from typing import NoReturn


def stop_build(logger: logging.Logger, reasons: list[str]) -> NoReturn:
    for reason in reasons:
        logger.error("%s", reason)
    count = len(reasons)
    raise SystemExit(
        f"Build stopped: {count} problem{'s' if count != 1 else ''} above must be fixed "
        "first; the site was not written."
    )
