"""Helpers shared by the site's plugins (no Pelican imports): the build's notion of today
(site_date), drop-in folders and feeds.toml (config), fetching with a cache (fetch), vendor
embeds (embed, embed_hook), shortcodes in page HTML (shortcodes), calendar files read (ics_in:
the one intake of athletics and events) and written (ics_out), and the pages plugins write
from templates (pages)."""
