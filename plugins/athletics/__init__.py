"""Placeholder until the athletics plugin lands."""


def register():
    pass
