"""Number words and numerals as members write them ("two", "a couple of", "1.5", "1½")."""

from __future__ import annotations

WORD_NUMBERS: dict[str, float] = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "forty-five": 45, "fifty": 50,
    "sixty": 60, "ninety": 90, "both": 2, "a couple of": 2, "couple of": 2, "a pair of": 2,
    "single": 1, "half": 0.5, "a half": 0.5,
}

FRACTIONS: dict[str, float] = {
    "half": 0.5, "quarter": 0.25, "three quarters": 0.75, "three-quarters": 0.75,
    "three quarter": 0.75,
}

# Longest alternatives first so "a couple of" wins over "a".
_WORDS_ALT = "|".join(
    sorted((w.replace(" ", r"\s+") for w in WORD_NUMBERS if w not in {"half", "a half"}),
           key=len, reverse=True)
)
_LONG_WORDS_ALT = "|".join(
    sorted((w.replace(" ", r"\s+") for w in WORD_NUMBERS if len(w) > 2 and " " not in w
            and w not in {"half", "both", "single"}), key=len, reverse=True)
)
NUM = (
    rf"(?:\d+(?:\.\d+)?\+?\s*½?|½|(?<![a-z])(?:{_LONG_WORDS_ALT})(?=hrs?\b|hours?\b|mins?\b)"
    rf"|(?<![a-z])(?:{_WORDS_ALT})(?![a-z]))"
)
"""Regex alternative for one number, numeral or word (no capture groups)."""

COUNT_WORDS = rf"(?:\d+|(?<![a-z])(?:{_WORDS_ALT})(?![a-z]))"
"""Regex alternative for a whole count ("3", "three", "both")."""


def to_number(token: str) -> float | None:
    """Value of a number as written ("2", "1.5", "two", "1½", "a couple of"); None if unknown."""
    t = " ".join(token.strip().lower().rstrip("+").split())
    if not t:
        return None
    half = 0.0
    if t.endswith("½"):
        half = 0.5
        t = t[:-1].strip()
        if not t:
            return 0.5
    try:
        return float(t) + half
    except ValueError:
        pass
    value = WORD_NUMBERS.get(t)
    return None if value is None else value + half
