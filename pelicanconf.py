"""Pelican settings for local development. Production overrides live in publishconf.py."""

import os
import sys
from pathlib import Path

# The project's packages (lib/, plugins/, apps/) are installed into the environment
# (`make bootstrap`); this puts them on the path for a checkout that is not installed.
_ROOT = Path(__file__).resolve().parent
for _folder in ("apps", "plugins", "lib"):
    if str(_ROOT / _folder) not in sys.path:
        sys.path.insert(0, str(_ROOT / _folder))

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
# The consent gate must stay last: it scans everything the others wrote. site_search
# indexes the pages just before it, at the same (finalized) signal, so that the gate checks
# the search index too.
PLUGINS = [
    "site_alerts",
    "site_checks",
    "lunch_menu",
    "athletics",
    "school_events",  # after lunch_menu and athletics: it lists their games and closings
    "staff_directory",
    "site_i18n",
    "site_search",
    "consent_gate",
]

ARTICLE_PATHS = ["articles"]
PAGE_PATHS = ["pages"]
STATIC_PATHS = ["images", "extra"]
# content/alerts/ is read by the site_alerts plugin, not by Pelican's readers.
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
ARCHIVES_URL = "news/archive/"
ARCHIVES_SAVE_AS = "news/archive/index.html"
INDEX_URL = "news/"
INDEX_SAVE_AS = "news/index.html"
CATEGORIES_URL = "news/categories/"
TAGS_URL = "news/tags/"
DIRECT_TEMPLATES = ["index", "archives", "categories", "tags"]
TEMPLATE_PAGES = {
    "home.html": "index.html",
    "404.html": "404.html",
    "sitemap.xml": "sitemap.xml",
}

DEFAULT_PAGINATION = 6
# /page/N/ paths: Pelican's default pattern collides with names such as tag/u112.html.
PAGINATION_PATTERNS = (
    (1, "{url}", "{save_as}"),
    (2, "{base_name}/page/{number}/", "{base_name}/page/{number}/index.html"),
)

# Feeds. A feed needs absolute links even in a local build (readers fetch them from
# elsewhere), so local builds point them at the public site; publishconf.py sets
# FEED_DOMAIN to its SITEURL. This is also what keeps Pelican from warning on every build
# that feeds without SITEURL or FEED_DOMAIN may not be valid.
PUBLIC_URL = os.environ.get("SITEURL", "https://www.cedarhollow.example.org")
FEED_DOMAIN = PUBLIC_URL
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

# Default image for link previews (Open Graph) when an article has no `Image:` metadata.
SITE_IMAGE = "theme/images/og-default.png"
# Where the footer's "Accessibility statement" link points.
ACCESSIBILITY_URL = "accessibility/"

# Site-wide alert banner (plugins/site_alerts). Each alert is a dict:
#   {"message": "...", "level": "info" | "warning" | "urgent", "link": "news/...",
#    "link_text": "Read more", "starts": "2026-01-12T05:30", "expires": "2026-01-12T18:00"}
# Times without a zone are school time (TIMEZONE); a bare date for "expires" means the
# end of that day. Content files in content/alerts/*.md add more (see README.md).
ALERTS = []
ALERTS_PATH = "alerts"

# Lunch menus (plugins/lunch_menu/settings.py has every LUNCH_* default): the schools a
# menu may name; any other name (a typo makes a table of its own) is warned about.
LUNCH_SCHOOLS = ["Lower School (K-5)", "Upper School (6-12)"]

# Consent gate: the registry and key live outside git (see consent/README.md). Relative
# CONSENT_* paths (registry, cache, reports) are taken from this folder, whatever folder
# the build, `consent` or `publish` runs from. The registry is consent/registry.sqlite3
# (the default); the CONSENT_REGISTRY environment variable names another (docs/settings.md).
CONSENT_ROOT = str(Path(__file__).resolve().parent)

# Translations (plugins/site_i18n, README "Translations"): each language besides
# DEFAULT_LANG, with its name as its readers write it. A translated article or page is a
# file with `Lang: es` and the English file's `Slug:`; it is published under es/ at the
# English path, which never changes. The theme's strings come from
# themes/school/translations/<lang>/LC_MESSAGES/messages.po.
I18N_LANGUAGES = {"es": "Español"}
I18N_DEFAULT_NAME = "English"
# Template pages written again in every language, under <lang>/ (site_search adds its page).
I18N_TEMPLATE_PAGES = {"home.html": "index.html"}
ARTICLE_LANG_URL = "{lang}/news/{date:%Y}/{slug}/"
ARTICLE_LANG_SAVE_AS = "{lang}/news/{date:%Y}/{slug}/index.html"
PAGE_LANG_URL = "{lang}/{slug}/"
PAGE_LANG_SAVE_AS = "{lang}/{slug}/index.html"
# One Jinja environment renders every language: the functions read the page's language.
from site_i18n.jinja import JINJA_FILTERS, JINJA_GLOBALS  # noqa: E402,F401

JINJA_ENVIRONMENT = {
    "trim_blocks": True,
    "lstrip_blocks": True,
    "extensions": ["jinja2.ext.i18n"],
}

# Site search (plugins/site_search, README "Site search"): a Pagefind index in pagefind/,
# a search page at search/ and a search box in the header, when the plugin is in PLUGINS.
SEARCH_ENABLED = True

RELATIVE_URLS = True
LOAD_CONTENT_CACHE = False
