"""Helpers shared by the site's plugins (no Pelican imports): the build's notion of today."""
