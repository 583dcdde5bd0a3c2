"""The consent office's workspace: a small web app (`consent serve`) over the consent
registry, for records, the review queue, takedowns, backups and the audit log.

Plain Python (Flask, server-rendered Jinja2 pages, no script); it calls the registry's
API, so the web app and the `consent` command share one store and one audit log.
"""
