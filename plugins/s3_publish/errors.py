"""The one error type publishing raises: its message says what happened and what to do."""


class PublishError(Exception):
    """Publishing stopped; the message is meant for the person running `publish`."""
