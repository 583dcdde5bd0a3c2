"""The root of every error this project raises on purpose.

Each package has one base derived from ``SiteError`` (``RegistryError``, ``FaceError``,
``FeedError``, ``GateError``, ``PublishError``, …) and derives its other errors from that
base, keeping a builtin base where callers catch one (``except ValueError``). So a caller
can stop on anything one package refuses with one ``except``, and anything else is a bug.
``tests/test_errors.py`` fails on an error class that starts a root of its own.
"""


class SiteError(Exception):
    """An error the project raises on purpose; its message says what happened and what to
    do."""
