"""Text clean-up shared by every rule: bounded length, mail furniture removed, dashes unified.

Members write in chat or by mail. Mail adds a greeting ("Dear IIMS Membership team,") and a
sign-off ("Kind regards, Marie") that name bodies and people without saying anything about the
activity, so they are dropped before any rule looks at the text.
"""

from __future__ import annotations

import re
import unicodedata


def _words(block: str) -> list[str]:
    """The whitespace-separated words of a block of text."""
    return block.split()


MAX_CHARS = 2000
"""Longest text the rules and the classifier look at; longer input is cut (and flagged)."""

_GREETING = re.compile(
    r"^\s*(dear|hi|hello|hey|good (morning|afternoon|evening)|to whom it may concern)\b[^\n]*$",
    re.IGNORECASE,
)
_SIGNOFF = re.compile(
    r"^\s*(kind regards|best regards|warm regards|regards|many thanks|thanks|thank you|cheers|"
    r"best wishes|best|all the best|yours sincerely|yours faithfully|yours|sent from my)\b",
    re.IGNORECASE,
)
_DASHES = str.maketrans({"\u2013": "-", "\u2014": "-", "\u2012": "-", "\u2212": "-",
                         "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                         "\u00a0": " "})


def truncate(text: str, limit: int = MAX_CHARS) -> tuple[str, bool]:
    """Cut ``text`` to at most ``limit`` characters at a word boundary; say whether it was cut."""
    if len(text) <= limit:
        return text, False
    cut = text[:limit]
    space = cut.rfind(" ", limit - 200)
    return (cut[:space] if space > 0 else cut), True


def strip_mail_furniture(text: str) -> str:
    """Drop a leading greeting line and everything from a sign-off line onwards."""
    lines = text.splitlines()
    if len(lines) <= 1:
        return text
    while lines and not lines[0].strip():
        lines.pop(0)
    if lines and _GREETING.match(lines[0]) and len(lines[0]) < 80:
        lines.pop(0)
    for i, line in enumerate(lines):
        if i > 0 and _SIGNOFF.match(line) and len(line) < 60:
            lines = lines[:i]
            break
    return "\n".join(lines)


def clean(text: str) -> str:
    """Normalise unicode punctuation, remove mail furniture and collapse whitespace."""
    text = re.sub(r"(\d)\s*½", r"\1.5", text).replace("½", "0.5")
    text = unicodedata.normalize("NFKC", text).translate(_DASHES)
    text = strip_mail_furniture(text)
    return re.sub(r"\s+", " ", text).strip()


_LETTER = re.compile(r"[^\W\d_]")
_NON_ASCII_LETTER = re.compile(r"[^\W\d_a-zA-Z]")


def has_letters(text: str) -> bool:
    """True when the text holds at least one letter (emoji-only and empty input do not)."""
    return any(ch.isalpha() for ch in text)


_EN_WORDS = frozenset(
    _words(
        """
        the and to of on at for with my our did was were went read reading hours hour hrs hr
        day days course attended today yesterday week this last from by it is i we me about
        spent wrote gave took passed morning evening afternoon night mins minutes
        """
    )
)


_FOREIGN_WORDS = frozenset(
    _words(
        """ich habe und der die das einer einem mit für über gestern heute nicht ist bei
        je j'ai le la les et une des avec pour hier aujourd'hui dans sur est
        el los las con para ayer hoy una por del fue
        ik het een voor gisteren vandaag niet
        il ho con per ieri oggi della sono"""
    )
)


def looks_english(text: str) -> bool:
    """Rough check that the text is English: mostly ASCII letters and no more foreign function
    words than English ones (short chat-style English without function words passes)."""
    words = re.findall(r"[^\W\d_]+(?:'[^\W\d_]+)?", text.lower())
    if not words:
        return False
    letters = len(_LETTER.findall(text)) or 1
    if len(_NON_ASCII_LETTER.findall(text)) / letters > 0.3:
        return False
    english = sum(1 for w in words if w in _EN_WORDS)
    foreign = sum(1 for w in words if w in _FOREIGN_WORDS)
    return not (foreign >= 2 and foreign > english)
