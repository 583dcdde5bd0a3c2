"""Helpers shared by the site's plugins (no Pelican imports): the build's notion of today
(site_date), drop-in folders and feeds.toml (config), fetching with a cache (fetch), vendor
embeds (embed, embed_hook), shortcodes in page HTML (shortcodes), calendar files (ics_out) and
the pages plugins write from templates (pages)."""
