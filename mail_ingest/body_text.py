"""The words of a mail's body: HTML made text, quoted replies, forwards and signatures dropped.

Pure functions of text (no mail objects): :func:`html_to_text` for an HTML-only body and
:func:`clean_body` for what the member wrote above the quoted thread. Both work within fixed
bounds (``MAX_SCAN_CHARS``) whatever the sender sends.
"""

from __future__ import annotations

import logging
import re
from html.parser import HTMLParser

from cpd.claims.intake import MAX_TEXT_CHARS
from cpd.mail_ingest.normalise import clean_text

log = logging.getLogger(__name__)

MAX_SCAN_CHARS = 200_000
MAX_BODY_CHARS = MAX_TEXT_CHARS


# -- HTML ---------------------------------------------------------------------------------

BLOCK_TAGS = {
    "br", "p", "div", "li", "tr", "table", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6",
    "blockquote", "hr", "pre", "section", "article", "header", "footer", "dt", "dd",
}  # fmt: skip
SKIPPED_TAGS = {"script", "style", "head", "title", "template"}


class _TextExtractor(HTMLParser):
    """HTML to plain text: block tags break lines, <blockquote> lines become "> " quotes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.quoted = False
        self.skip_depth = 0
        self.quote_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIPPED_TAGS:
            self.skip_depth += 1
        elif tag in BLOCK_TAGS:
            self.flush(keep_empty=tag == "br")
        if tag == "blockquote":
            self.quote_depth += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in BLOCK_TAGS:
            self.flush(keep_empty=tag == "br")

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED_TAGS:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag in BLOCK_TAGS:
            self.flush()
        if tag == "blockquote":
            self.quote_depth = max(0, self.quote_depth - 1)

    def handle_data(self, data: str) -> None:
        if self.skip_depth:
            return
        self.current.append(data)
        if self.quote_depth and data.strip():
            self.quoted = True

    def flush(self, keep_empty: bool = False) -> None:
        """End the current line: block tags end lines; only <br> makes empty lines."""
        line = " ".join("".join(self.current).replace("\xa0", " ").split())
        if self.quoted and line:
            line = "> " + line
        if line or keep_empty:
            self.lines.append(line)
        self.current = []
        self.quoted = False


def html_to_text(html: str) -> str:
    """Readable text from an HTML body (scripts and styles dropped, entities unescaped)."""
    if not html.strip():
        return ""
    parser = _TextExtractor()
    try:
        parser.feed(html[:MAX_SCAN_CHARS])
        parser.close()
    except Exception:  # html.parser is lenient; keep what was read
        log.debug("HTML conversion stopped early", exc_info=True)
    parser.flush()
    return "\n".join(parser.lines).strip()


# -- body cleaning ------------------------------------------------------------------------

FORWARD_MARKERS = (
    re.compile(r"^\s*-{2,}\s*Forwarded message\s*-{2,}\s*$", re.I),
    re.compile(r"^\s*Begin forwarded message:\s*$", re.I),
)
OUTLOOK_ORIGINAL = re.compile(r"^\s*-{3,}\s*Original Message\s*-{3,}\s*$", re.I)
ATTRIBUTION = re.compile(
    r"^\s*(?:On\b.*\bwrote|Am\b.*\bschrieb\b.*|Le\b.*\ba écrit\s*)\s*:\s*$", re.I | re.S
)
HEADER_LINE = re.compile(r"^\s*\*?(From|Sent|Date|To|Cc|Subject|Reply-To)\*?\s*:", re.I)
FORWARD_SUBJECT = re.compile(r"^\s*\*?Subject\*?\s*:\s*(?:fw|fwd|wg|tr)\s*:", re.I)
DIVIDER = re.compile(r"^\s*_{10,}\s*$")
MOBILE_FOOTER = re.compile(
    r"^\s*(?:Sent from my \w[\w -]*|Sent from (?:Outlook|Mail) for \w+|Get Outlook for \w+"
    r"|Sent from Yahoo Mail.*)\s*$",
    re.I,
)
SIGN_OFF = re.compile(
    r"^(?:(?:kind|kindest|best|warm|warmest|many|with)\s+(?:regards|wishes|thanks)"
    r"|regards|best|thanks|thank you|thanks again|cheers|sincerely|all the best|rgds|br"
    r"|yours(?:\s+(?:sincerely|faithfully|truly))?)\s*[.!]?$",
    re.I,
)
NAME = re.compile(r"^[A-Z][\w.'-]*(?:\s+[A-Z][\w.'-]*){0,2}$")
MAX_SIGNATURE_LINES = 6
MAX_SIGNATURE_LINE_CHARS = 80


def clean_body(text: str) -> str:
    """The member's own words: quoted replies, signatures and forwarding headers removed.

    Conservative: when cleaning would leave nothing, the text above any reply attribution is
    kept with its quote marks removed (a reply that only quotes the thread stays empty).
    """
    text = clean_text(text[:MAX_SCAN_CHARS])
    lines = [line.rstrip() for line in text.split("\n")]
    cleaned = _tidy(_clean_lines(lines))
    if not re.search(r"\w", cleaned):  # all quoted: unquote, but never revive a replied thread
        own = next((i for i in range(len(lines)) if _reply_at(lines, i)), len(lines))
        cleaned = _tidy([re.sub(r"^(?:\s*>)+ ?", "", line) for line in lines[:own]])
    return cleaned[:MAX_BODY_CHARS].strip()


def _tidy(lines: list[str]) -> str:
    text = "\n".join(line.rstrip() for line in lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _clean_lines(lines: list[str]) -> list[str]:
    """Handle the first forward or reply marker, then quotes and signatures."""
    for index in range(len(lines)):
        forwarded = _forwarded_at(lines, index)
        if forwarded is not None:
            head = _strip_signature(_drop_quotes(lines[:index]))
            rest = _clean_lines(lines[forwarded:])
            return [*head, "", *rest] if _has_text(head) else rest
        if _reply_at(lines, index):
            return _strip_signature(_drop_quotes(lines[:index]))
    return _strip_signature(_drop_quotes(lines))


def _has_text(lines: list[str]) -> bool:
    return any(re.search(r"\w", line) for line in lines)


def _forwarded_at(lines: list[str], index: int) -> int | None:
    """Where forwarded content starts if ``lines[index]`` opens a forward, else None.

    Outlook uses the same header block for replies and forwards: it is a forward when the
    block's Subject starts with FW:/Fwd:.
    """
    line = lines[index]
    if any(marker.match(line) for marker in FORWARD_MARKERS):
        return _after_headers(lines, index + 1)
    if OUTLOOK_ORIGINAL.match(line) or DIVIDER.match(line):
        start = index + 1
    elif _outlook_block(lines, index):
        start = index
    else:
        return None
    block = lines[start : start + 8]
    if start < len(lines) and _outlook_block(lines, start):
        return _after_headers(lines, start) if any(map(FORWARD_SUBJECT.match, block)) else None
    return None


def _after_headers(lines: list[str], start: int) -> int:
    """The index of the first line after a block of forwarded header lines."""
    index = start
    while index < len(lines) and not lines[index].strip():
        index += 1
    seen_header = False
    while index < len(lines):
        line = lines[index]
        if HEADER_LINE.match(line):
            seen_header = True
        elif not line.strip():
            return index + 1
        elif not seen_header or not line[:1].isspace():
            return index  # the content (a folded header value would be indented)
        index += 1
    return index


def _outlook_block(lines: list[str], index: int) -> bool:
    """Outlook's quote header: ``From: ...`` then, within two lines, ``Sent:`` (or ``Date:``
    when the From line holds an address; "From: 09:00 / Date: 12 Nov" is a claim)."""
    line = lines[index]
    if not re.match(r"^\s*\*?From\*?\s*:", line, re.I):
        return False
    following = lines[index + 1 : index + 3]
    if any(re.match(r"^\s*\*?Sent\*?\s*:", f, re.I) for f in following):
        return True
    return "@" in line and any(re.match(r"^\s*\*?Date\*?\s*:", f, re.I) for f in following)


def _reply_at(lines: list[str], index: int) -> bool:
    """Whether a quoted reply (attribution line, Outlook block) starts at ``lines[index]``."""
    line = lines[index]
    if OUTLOOK_ORIGINAL.match(line) or _outlook_block(lines, index):
        return True
    if DIVIDER.match(line) and index + 1 < len(lines) and _outlook_block(lines, index + 1):
        return True
    if not re.match(r"^\s*(On|Am|Le)\b", line):
        return False
    for span in (1, 2, 3):  # an attribution wrapped over up to three lines
        joined = " ".join(lines[index : index + span])
        if ATTRIBUTION.match(joined):
            return True
    return False


def _drop_quotes(lines: list[str]) -> list[str]:
    return [line for line in lines if not line.lstrip().startswith(">")]


def _strip_signature(lines: list[str]) -> list[str]:
    """Remove a "-- " signature, mobile footers and a trailing sign-off block."""
    for index, line in enumerate(lines):
        if line.rstrip() == "--" and _has_text(lines[:index]):
            lines = lines[:index]
            break
    while lines and (not lines[-1].strip() or MOBILE_FOOTER.match(lines[-1])):
        lines = lines[:-1]
    return _strip_sign_off(lines)


def _strip_sign_off(lines: list[str]) -> list[str]:
    """Drop "Kind regards,\\nJane" (and a few short lines after) at the very end."""
    filled = [i for i, line in enumerate(lines) if line.strip()]
    for position in range(len(filled) - 1, max(-1, len(filled) - 2 - MAX_SIGNATURE_LINES), -1):
        index = filled[position]
        after = [lines[i] for i in filled[position + 1 :]]
        if any(len(line.strip()) > MAX_SIGNATURE_LINE_CHARS for line in after):
            return lines
        if _is_sign_off(lines[index]) and _has_text(lines[:index]):
            return lines[:index]
    return lines


def _is_sign_off(line: str) -> bool:
    """A sign-off alone on a line: "Kind regards," / "Thanks!" / "Cheers, Jane"."""
    phrase, comma, name = line.strip().partition(",")
    if not SIGN_OFF.match(phrase.strip()):
        return False
    return not comma or not name.strip() or bool(NAME.match(name.strip()))
