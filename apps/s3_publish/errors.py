"""The one error type publishing raises: its message says what happened and what to do."""


class PublishError(Exception):
    """Publishing stopped; the message is meant for the person running `publish`."""


class PublishInterrupted(PublishError):
    """Ctrl-C stopped publishing; the message says how much went out and what to do."""
