"""What a page shows where the gate withheld a picture, or where a picture is missing: the
theme's partial templates, and the markup used when the theme has none.

The templates are rendered once, with `SITE_ROOT` as their SITEURL; `for_page` then puts
in each page's own way to the site's root (SITEURL, or the path up from the page under
RELATIVE_URLS), so the placeholder's links work in a subfolder and on any host, as the
theme's other links do."""

import posixpath

# Stands for SITEURL in the rendered placeholder until it is put into a page.
SITE_ROOT = "@@consent-gate-site-root@@"

PLACEHOLDER_TEMPLATE = "partials/photo_withheld.html"
# Used when the theme has no placeholder template.
PLACEHOLDER_HTML = (
    '<figure class="photo-withheld" role="img" aria-label="Photo withheld: consent not on file">'
    "<figcaption>Photo withheld: consent not on file</figcaption></figure>"
)
# Where a page shows a picture that is not in the site at all (a mistyped path): parents
# are not told a consent story about it.
MISSING_TEMPLATE = "partials/photo_missing.html"
MISSING_HTML = (
    '<figure class="photo-withheld photo-missing" role="img" aria-label="Photo not available">'
    "<figcaption>Photo not available</figcaption></figure>"
)


def for_page(placeholder: str, rel: str, siteurl: str) -> str:
    """The placeholder as the document at `rel` (relative to the output folder) shows it:
    the site's own links start with `siteurl` when the build has one, otherwise with the
    relative path from the document's folder up to the site's root."""
    if SITE_ROOT not in placeholder:
        return placeholder
    if siteurl:
        root = siteurl.rstrip("/")
    else:
        folder = posixpath.dirname(rel)
        root = posixpath.relpath(".", folder) if folder else "."
    return placeholder.replace(SITE_ROOT, root)
