"""What a page shows where the gate withheld a picture, or where a picture is missing: the
theme's partial templates, and the markup used when the theme has none."""

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
