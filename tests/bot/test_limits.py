"""Telegram's limits: texts cut on a boundary with an ellipsis, messages chunked, photos that
Telegram would refuse sent as documents instead; and the strict grammar of callback data."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from cpd.bot import callbacks, limits


def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("L", (width, height)).save(out, "PNG")
    return out.getvalue()


def test_a_text_that_fits_is_unchanged() -> None:
    assert limits.fit("boat show") == "boat show"
    assert limits.fit("x" * limits.TEXT_MAX) == "x" * limits.TEXT_MAX


def test_a_long_text_is_cut_on_a_word_boundary_with_an_ellipsis() -> None:
    cut = limits.fit("word " * 2000)
    assert limits.utf16_len(cut) <= limits.TEXT_MAX
    assert cut.endswith("word…") and len(cut) > limits.TEXT_MAX - 10


def test_length_is_counted_as_telegram_counts_it() -> None:
    emoji = "😀" * 3000  # 2 UTF-16 units each: 6000 > 4096
    cut = limits.fit(emoji)
    assert limits.utf16_len(cut) <= limits.TEXT_MAX and cut.endswith("…")
    assert limits.utf16_len(limits.fit("é" * 1500, limits.CAPTION_MAX)) <= limits.CAPTION_MAX


def test_lines_are_chunked_into_messages_that_fit() -> None:
    lines = [f"#{i} Jane Surveyor (M1): boat show, proposed 1 point" for i in range(500)]
    messages = limits.chunks(lines)
    assert all(limits.utf16_len(m) <= limits.TEXT_MAX for m in messages)
    assert "\n".join(messages).split("\n") == lines
    assert limits.chunks(["x" * 9000]) == [limits.fit("x" * 9000)]


@pytest.mark.parametrize(
    ("data", "content_type", "fits"),
    [
        (_png(800, 600), "image/png", True),
        (_png(9000, 1001), "image/png", False),  # width + height over 10,000
        (_png(4200, 200), "image/png", False),  # ratio 21
        (_png(4000, 200), "image/png", True),  # ratio 20
        (_png(10, 10), "image/heic", False),  # not a type sendPhoto takes
        (b"\xff\xd8 not really a jpeg", "image/jpeg", True),  # unreadable: Telegram decides
        (b"\xff\xd8" + bytes(limits.PHOTO_MAX_BYTES), "image/jpeg", False),  # over 10 MB
    ],
)
def test_photos_telegram_would_refuse_go_as_documents(
    data: bytes, content_type: str, fits: bool
) -> None:
    assert limits.photo_fits(data, content_type) is fits


@pytest.mark.parametrize(
    ("data", "decoded"),
    [
        ("s:12:accept", ("s", 12, "accept")),
        ("k:3:7", ("k", 3, "7")),
        ("c:3:self-directed", ("c", 3, "self-directed")),
        ("y:2026:ok", ("y", 2026, "ok")),
        ("k:3:999", None),
        ("s:" + "9" * 25 + ":accept", None),
        ("s:" + "9" * 19 + ":accept", None),
        ("d:12:explode", None),
        ("d:-1:submit", None),
        ("zz:1:x", None),
        ("s:12:accept:extra", None),
        ("", None),
        (None, None),
    ],
)
def test_callback_data_is_read_strictly(
    data: str | None, decoded: tuple[str, int, str] | None
) -> None:
    pressed = callbacks.decode(data)
    assert (None if pressed is None else (pressed.prefix, pressed.claim_id, pressed.arg)) == decoded


def test_every_button_the_bot_makes_matches_its_handler_pattern() -> None:
    pattern = callbacks.pattern(*callbacks.ARGS)
    for prefix, arg in (("d", "submit"), ("k", "0"), ("w", "x"), ("g", "grant"), ("v", "ok")):
        data = callbacks.encode(prefix, 10**18 - 1, arg)
        assert pattern.fullmatch(data) and callbacks.decode(data) is not None
