"""Placeholder until the lunch_menu plugin lands."""


def register():
    pass
