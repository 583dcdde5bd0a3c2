"""Placeholder until the consent gate plugin lands."""


def register():
    pass
