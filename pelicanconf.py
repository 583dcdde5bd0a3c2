"""Pelican settings for local development. Production overrides live in publishconf.py."""

import os

AUTHOR = "Cedar Hollow School"
SITENAME = "Cedar Hollow School"
SITESUBTITLE = "A K-12 public school in Millbrook"
SITEURL = ""

PATH = "content"
TIMEZONE = "America/New_York"
DEFAULT_LANG = "en"
DEFAULT_DATE_FORMAT = "%B %-d, %Y"

THEME = "themes/school"
PLUGIN_PATHS = ["plugins"]
# The consent gate must stay last: it scans everything the others wrote.
PLUGINS = ["site_alerts", "lunch_menu", "athletics", "consent_gate"]

ARTICLE_PATHS = ["articles"]
PAGE_PATHS = ["pages"]
STATIC_PATHS = ["images", "extra"]
EXTRA_PATH_METADATA = {
    "extra/robots.txt": {"path": "robots.txt"},
    "extra/favicon.svg": {"path": "favicon.svg"},
}
# content/data holds feeds for the lunch and athletics plugins, not pages.
IGNORE_FILES = [".#*", "data"]

ARTICLE_URL = "news/{date:%Y}/{slug}/"
ARTICLE_SAVE_AS = "news/{date:%Y}/{slug}/index.html"
PAGE_URL = "{slug}/"
PAGE_SAVE_AS = "{slug}/index.html"
CATEGORY_URL = "news/category/{slug}/"
CATEGORY_SAVE_AS = "news/category/{slug}/index.html"
CATEGORIES_SAVE_AS = "news/categories/index.html"
TAG_URL = "news/tag/{slug}/"
TAG_SAVE_AS = "news/tag/{slug}/index.html"
TAGS_SAVE_AS = "news/tags/index.html"
AUTHOR_SAVE_AS = ""
AUTHORS_SAVE_AS = ""
ARCHIVES_SAVE_AS = "news/archive/index.html"
INDEX_SAVE_AS = "news/index.html"
DIRECT_TEMPLATES = ["index", "archives", "categories", "tags"]
TEMPLATE_PAGES = {"home.html": "index.html", "404.html": "404.html"}

DEFAULT_PAGINATION = 6
# /page/N/ paths: Pelican's default pattern collides with names such as tag/u112.html.
PAGINATION_PATTERNS = (
    (1, "{url}", "{save_as}"),
    (2, "{base_name}/page/{number}/", "{base_name}/page/{number}/index.html"),
)

# Feeds (relative URLs are fine locally; publishconf.py sets FEED_DOMAIN).
FEED_ALL_ATOM = "feeds/all.atom.xml"
FEED_ALL_RSS = "feeds/all.rss.xml"
CATEGORY_FEED_ATOM = "feeds/{slug}.atom.xml"
TRANSLATION_FEED_ATOM = None
AUTHOR_FEED_ATOM = None
AUTHOR_FEED_RSS = None

MARKDOWN = {
    "extension_configs": {
        "markdown.extensions.extra": {},
        "markdown.extensions.meta": {},
        "markdown.extensions.toc": {"permalink": False},
    },
    "output_format": "html5",
}

# School details used by the theme.
SCHOOL_ADDRESS = "1200 Orchard Road, Millbrook, NY 12545"
SCHOOL_PHONE = "(555) 014-2200"
SCHOOL_EMAIL = "office@cedarhollow.example.org"
SCHOOL_HOURS = "Office open 7:30 a.m. – 4:00 p.m., Monday to Friday"
MENUITEMS = ()
DISPLAY_PAGES_ON_MENU = False
NAV_LINKS = (
    ("News", "news/"),
    ("Calendar", "calendar/"),
    ("Lunch", "lunch/"),
    ("Athletics", "athletics/"),
    ("Staff", "staff-directory/"),
    ("About", "about/"),
    ("Contact", "contact/"),
)

# Site-wide alert banner; a content file in content/alerts/ can set one too.
ALERTS = []

# Consent gate: the registry and key live outside git (see consent/README.md).
CONSENT_REGISTRY = os.environ.get("CONSENT_REGISTRY", "consent/registry.sqlite3")

RELATIVE_URLS = True
LOAD_CONTENT_CACHE = False
