"""The base of every error publishing raises (``PublishError``): its message says what
happened and what to do."""

from site_common.errors import SiteError


class PublishError(SiteError):
    """Publishing stopped; the message is meant for the person running `publish`."""


class PublishInterrupted(PublishError):
    """Ctrl-C stopped publishing; the message says how much went out and what to do."""
