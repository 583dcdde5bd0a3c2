"""The base of every error the feed intake raises (``FeedError``), in a module of its own so
that the build's date rule (``site_date``) derives from it without importing the fetcher."""

from site_common.errors import SiteError


class FeedError(SiteError, ValueError):
    """A feed or data file that cannot be used, or (``site_date.SiteDateError``) a build
    date that is not a date; the message says what is wrong."""
