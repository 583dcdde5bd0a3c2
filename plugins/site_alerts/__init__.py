"""Placeholder until the site_alerts plugin lands."""


def register():
    pass
