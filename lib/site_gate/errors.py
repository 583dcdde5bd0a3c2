"""The base of every error the gate's checks raise (``GateError``), in a module of its own
so that the report, the manifest, re-encoding, page rewriting and the rendered-page check
derive from it without importing the gate that runs them.

``GateError`` is a RuntimeError, as it has always been, so every error derived from it is
one too; the report's missing file stays a FileNotFoundError (that base comes first, so it
keeps OSError's arguments)."""

from site_common.errors import SiteError


class GateError(SiteError, RuntimeError):
    """The gate refused or could not finish; the message says which file and what to do.
    Raised as itself when the gate could not finish: unchecked files have been removed
    from the output."""
