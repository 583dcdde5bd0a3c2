"""Strings the theme translates that come from settings and data, not from the templates
themselves (navigation titles, the subtitle, office hours, categories, week titles, meal
names, allergen and diet labels, calendar names, the language switcher's note), listed here
so that `pybabel extract` finds them. tests/i18n checks that the plugins' own lists
(lunch_menu.allergens, the EVENTS_CATEGORIES defaults) are all here."""

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
# lunch_menu.allergens: MAJOR_ALLERGENS and the values of DIET_LABELS.
ALLERGENS = [
    _("Milk"),
    _("Eggs"),
    _("Fish"),
    _("Shellfish"),
    _("Tree nuts"),
    _("Peanuts"),
    _("Wheat"),
    _("Soybeans"),
    _("Sesame"),
]
DIETS = [
    _("Vegetarian"),
    _("Vegan"),
    _("Gluten free"),
    _("Halal"),
    _("Kosher"),
    _("Pork free"),
    _("Whole grain"),
    _("Local"),
    _("Plant-based"),
    _("Spicy"),
    _("Contains pork"),
]
# school_events.settings.CATEGORIES, and the names of the calendars to subscribe to
# (school_feeds.subscribe.Subscription.message).
EVENT_CATEGORIES = [_("School-wide"), _("PTA"), _("Arts"), _("Athletics"), _("Closings")]
CALENDARS = [
    _("all school events"),
    _("the %(category)s calendar"),
    _("all games"),
    _("%(team)s games"),
    _("the lunch menus"),
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
