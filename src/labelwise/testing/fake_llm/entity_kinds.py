"""What kind of thing an entity type names, and the kind of a stretch of text.

An entity type's name or description suggests a kind (`PER`, "a person's name": person; `LOC`,
"city": place; `ORG`: organization; dates, amounts of money, email addresses). Capitalised word
runs are the candidates for person, place and organization types; the words around a run (a
title before it, "in" before it, "Inc" at its end) suggest which of those it is. Dates, money and
emails are found by their patterns. Pure functions.
"""

from __future__ import annotations

import re

PROPER = ("person", "place", "organization")

_KIND_WORDS: dict[str, set[str]] = {
    "person": {"per", "person", "persons", "people", "name", "individual", "human", "author",
               "patient", "character", "speaker"},
    "place": {"loc", "location", "locations", "place", "places", "city", "cities", "country",
              "countries", "gpe", "region", "geo", "geography"},
    "organization": {"org", "organization", "organisation", "organizations", "company",
                     "companies", "institution", "agency", "brand", "business", "corporation",
                     "employer", "vendor"},
    "date": {"date", "dates", "day", "time", "datetime"},
    "money": {"money", "amount", "price", "cost", "currency", "monetary"},
    "email": {"email", "e-mail", "mail"},
}  # fmt: skip

PATTERNS: dict[str, re.Pattern[str]] = {
    "date": re.compile(
        r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b|\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug"
        r"|Sep|Sept|Oct|Nov|Dec)[a-z]*\.? \d{1,2}(?:, \d{4})?\b"
    ),
    "money": re.compile(r"[$€£]\s?\d[\d,]*(?:\.\d+)?|\b\d[\d,]*(?:\.\d+)? ?(?:USD|EUR|GBP)\b"),
    "email": re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"),
}

_TITLES = {"mr", "mrs", "ms", "dr", "prof", "sir", "president", "senator", "judge", "king",
           "queen", "minister", "ceo", "st"}  # fmt: skip
_SAID = {"said", "says", "told", "wrote", "argued", "added", "explained"}
_PLACE_BEFORE = {"in", "at", "from", "to", "near", "into", "across", "visited"}
_ORG_ENDINGS = {"inc", "corp", "corporation", "ltd", "llc", "co", "company", "group", "bank",
                "university", "institute", "foundation", "agency", "bureau", "ministry",
                "association", "club", "labs", "systems", "technologies", "airlines",
                "gmbh"}  # fmt: skip
_PLACE_ENDINGS = {"city", "river", "street", "mountain", "lake", "island", "county", "avenue",
                  "valley", "bay", "park"}  # fmt: skip
# Capitalised only because they start a sentence, or never names.
STOPWORDS = {
    "the", "a", "an", "this", "that", "these", "those", "it", "its", "he", "she", "we", "they",
    "i", "you", "my", "our", "his", "her", "their", "in", "on", "at", "but", "and", "or", "if",
    "when", "while", "after", "before", "then", "there", "here", "also", "yesterday", "today",
    "tomorrow", "however", "meanwhile", "for", "from", "to", "of", "with", "as", "by", "is",
    "was", "are", "not", "no", "yes", "so", "thanks", "thank", "hello", "hi", "dear", "please",
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "what", "who",
    "why", "how", "where", "which", "all", "some", "every", "each", "one", "mr", "mrs", "ms",
    "dr", "prof", "sir",
}  # fmt: skip


def label_kind(name: str, description: str = "") -> str | None:
    """The kind an entity type names: by its name's words first, then its description's."""
    for text in (name, description):
        words = set(re.findall(r"[a-z]+(?:-[a-z]+)?", text.lower()))
        for kind, kind_words in _KIND_WORDS.items():
            if words & kind_words:
                return kind
    return None


def proper_kind(text: str, words: list[str], before: str, after: str) -> str | None:
    """The kind the surroundings of a capitalised run suggest; None when they say nothing."""
    first, last = words[0].lower(), words[-1].lower()
    if last in _ORG_ENDINGS or (len(words) == 1 and len(text) >= 2 and text.isupper()):
        return "organization"
    if last in _PLACE_ENDINGS:
        return "place"
    if before.lower().rstrip(".") in _TITLES or after.lower() in _SAID:
        return "person"
    if before.lower() in _PLACE_BEFORE:
        return "place"
    if first in _TITLES or (len(words) in (2, 3) and not text.isupper()):
        return "person"  # a first name and a surname, most often
    return None
