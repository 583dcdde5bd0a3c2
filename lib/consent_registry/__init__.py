"""The consent registry: the consent office's records (SQLite, templates encrypted), the
student-system import, the consent settings shared by the build, `consent` and `publish`,
and the `consent` command.

Plain Python (no Pelican); it uses the face engine for reference templates and checks.
"""
