"""Strings the theme translates that come from settings and data, not from the templates
themselves (navigation titles, the subtitle, office hours, categories, week titles, meal
names, the language switcher's note), listed here so that `pybabel extract` finds them."""

_ = str

NAVIGATION = [
    _("News"),
    _("Calendar"),
    _("Events"),
    _("Lunch"),
    _("Athletics"),
    _("Staff"),
    _("About"),
    _("Contact"),
]
SETTINGS = [
    _("A K-12 public school in Millbrook"),
    _("Office open 7:30 a.m. – 4:00 p.m., Monday to Friday"),
]
CATEGORIES = [_("News"), _("Events"), _("Academics"), _("Arts"), _("Community")]
LUNCH = [
    _("This week"),
    _("Next week"),
    _("Coming week"),
    _("The week after"),
    _("Breakfast"),
    _("Lunch"),
]
ATHLETICS = [
    _("Home"),
    _("Away"),
    _("Neutral site"),
    _("Cancelled"),
    _("Postponed"),
    _("Time to be announced"),
]
SWITCHER = [_("This page is not translated: home page")]
