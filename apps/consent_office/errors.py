"""The base of every error the consent office's workspace raises (``OfficeError``)."""

from site_common.errors import SiteError


class OfficeError(SiteError):
    """The workspace refused a request; the message says what to do."""
