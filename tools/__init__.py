"""Project tasks that are not part of the site: the demo."""
