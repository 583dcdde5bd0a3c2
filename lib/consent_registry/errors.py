"""The base of every error the consent registry raises (``RegistryError``), in a module of
its own so that the registry's lowest modules (the clock, the key file, the storage checks,
the withdrawals journal) can derive from it without importing the records."""

from site_common.errors import SiteError


class RegistryError(SiteError):
    """A problem the consent office can fix; the message says what to do."""
