"""The base of every error the face engine raises (``FaceError``), in a module of its own so
that decoding, PDFs and the shared cache derive from it without importing the detectors."""

from site_common.errors import SiteError


class FaceError(SiteError):
    """A photo could not be used: the message says what happened and what to do."""
