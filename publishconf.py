"""Production settings: imported by `make publish` and `make s3_upload`."""

import os
import sys

sys.path.append(os.curdir)
from pelicanconf import *  # noqa: E402,F403

SITEURL = os.environ.get("SITEURL", "https://www.cedarhollow.example.org")
RELATIVE_URLS = False
FEED_DOMAIN = SITEURL
DELETE_OUTPUT_DIRECTORY = True

# Withhold hot-linked images that the gate cannot check.
CONSENT_STRICT = True
# Face-check every page as Chromium renders it; `publish` refuses a build made without it.
CONSENT_RENDER_CHECK = True
