"""Menu labels sorted into the nine major US food allergens and diet labels.

Feeds spell allergens many ways ("Contains Milk", "Dairy", "Soy", "Egg"); families need one
word per allergen, the same on every menu, and apart from diet labels such as Vegetarian.
The nine are the FDA's major food allergens (FASTER Act, 2021), in its order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAJOR_ALLERGENS = (
    "Milk",
    "Eggs",
    "Fish",
    "Shellfish",
    "Tree nuts",
    "Peanuts",
    "Wheat",
    "Soybeans",
    "Sesame",
)
_ALLERGEN_WORDS = {
    "milk": "Milk",
    "dairy": "Milk",
    "egg": "Eggs",
    "eggs": "Eggs",
    "fish": "Fish",
    "shellfish": "Shellfish",
    "crustacean shellfish": "Shellfish",
    "crustaceans": "Shellfish",
    "tree nut": "Tree nuts",
    "tree nuts": "Tree nuts",
    "treenuts": "Tree nuts",
    "peanut": "Peanuts",
    "peanuts": "Peanuts",
    "wheat": "Wheat",
    "soy": "Soybeans",
    "soya": "Soybeans",
    "soybean": "Soybeans",
    "soybeans": "Soybeans",
    "sesame": "Sesame",
}
DIET_LABELS = {
    "vegetarian": "Vegetarian",
    "vegan": "Vegan",
    "gluten free": "Gluten free",
    "gluten-free": "Gluten free",
    "halal": "Halal",
    "kosher": "Kosher",
    "pork free": "Pork free",
    "no pork": "Pork free",
    "whole grain": "Whole grain",
    "whole grain rich": "Whole grain",
    "local": "Local",
    "locally grown": "Local",
    "plant based": "Plant-based",
    "plant-based": "Plant-based",
    "spicy": "Spicy",
    "contains pork": "Contains pork",
}
_PREFIX = re.compile(r"^(?:contains|allergen|allergens|may contain)\s*:?\s+", re.I)


@dataclass(frozen=True)
class SortedLabels:
    allergens: tuple[str, ...]  # in MAJOR_ALLERGENS order, each once
    diets: tuple[str, ...]
    unknown: tuple[str, ...]  # as written in the source


def sort_labels(labels: tuple[str, ...] | list[str]) -> SortedLabels:
    """("Contains Milk", "Vegetarian", "Soy", "Milk") -> Milk, Soybeans | Vegetarian."""
    allergens: set[str] = set()
    diets: list[str] = []
    unknown: list[str] = []
    for label in labels:
        text = " ".join(label.split())
        key = _PREFIX.sub("", text).lower().strip(" .")
        if key in _ALLERGEN_WORDS:
            allergens.add(_ALLERGEN_WORDS[key])
        elif text.lower().strip(" .") in DIET_LABELS:
            diet = DIET_LABELS[text.lower().strip(" .")]
            if diet not in diets:
                diets.append(diet)
        elif text and text not in unknown:
            unknown.append(text)
    ordered = tuple(name for name in MAJOR_ALLERGENS if name in allergens)
    return SortedLabels(ordered, tuple(diets), tuple(unknown))
