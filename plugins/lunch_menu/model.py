"""Menu data types shared by the parsers, the weekly view and the calendar writer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from .allergens import sort_labels

MEAL_ORDER = {"breakfast": 0, "brunch": 1, "lunch": 2, "snack": 3, "supper": 4, "dinner": 5}


@dataclass(frozen=True)
class MenuItem:
    name: str
    labels: tuple[str, ...] = ()  # allergen and dietary labels as text: "Contains Milk"
    nutrition: tuple[tuple[str, str], ...] = ()  # ("Calories", "290")
    description: str = ""

    @property
    def allergens(self) -> tuple[str, ...]:
        """The major allergens in it, then any label that is neither an allergen nor a
        diet label, as written (it may be an allergen the list does not know)."""
        sorted_labels = sort_labels(self.labels)
        return sorted_labels.allergens + sorted_labels.unknown

    @property
    def diets(self) -> tuple[str, ...]:
        return sort_labels(self.labels).diets


@dataclass
class MenuSection:
    title: str  # "" for items before any section title
    items: list[MenuItem] = field(default_factory=list)


@dataclass
class MenuDay:
    """One meal at one school on one day."""

    day: date
    school: str
    meal: str
    sections: list[MenuSection] = field(default_factory=list)
    no_school: bool = False
    note: str = ""  # "Thanksgiving Recess - No School", "Early dismissal"
    source: str = ""
    uid: str = ""  # kept from an ICS source; otherwise derived when the calendar is written

    @property
    def key(self) -> tuple[date, str, str]:
        return (self.day, self.school, self.meal)

    @property
    def has_items(self) -> bool:
        return any(section.items for section in self.sections)

    def add_item(self, item: MenuItem, section: str = "") -> None:
        if not self.sections or self.sections[-1].title != section:
            existing = next((s for s in self.sections if s.title == section), None)
            if existing is None:
                existing = MenuSection(section)
                self.sections.append(existing)
            existing.items.append(item)
        else:
            self.sections[-1].items.append(item)


def meal_sort_key(meal: str) -> tuple[int, str]:
    return (MEAL_ORDER.get(meal.lower(), 9), meal.lower())
