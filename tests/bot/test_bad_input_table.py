"""A table of input the bot cannot use, each row naming the input and what the product answers.

One `cpd run` serves the whole table (a module-scoped world): each row sends its input to the
running bot and waits for the answer (a message, or the text of a callback answer), so the
rows are quick and every answer is the real one. Rows run in order; a few use what earlier
rows set up (a draft, a pending claim), which the fixture creates first.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cpd.claims.members import create_invite, import_members, parse_members_csv
from cpd.storage import make_engine, migrate
from tests.bot.conftest import JPEG, MEMBERS, SECRETARY_CHAT, TOKEN, USERS, BotWorld
from tests.support.cpd_run import cpd_run_env
from tests.support.telegram_api import SEND_METHODS, Call, FakeTelegramServer

JANE, IVY, SAM = USERS["M1"], USERS["I1"], USERS["S1"]
STRANGER = 999
CHANNEL = -1005550001
UNSUPPORTED = "I can read text, photos and documents"
STALE = "button is no longer valid"
BIG = "9" * 25


@dataclass
class Table:
    """The running bot and what the fixture set up for the rows."""

    world: BotWorld
    draft: Call  # Jane's draft card
    ivy_draft: Call  # another member's draft card
    pending_card: Call  # the secretary's card of Jane's pending claim
    pending_id: int
    ids: dict[str, int] = field(default_factory=dict)

    @property
    def server(self) -> FakeTelegramServer:
        return self.world.server


def _answer(table: Table, chat: int, words: str, mark: int, timeout: float = 20) -> str:
    """The first message to ``chat`` (or callback answer) after ``mark`` containing ``words``."""

    def wanted(c: Call) -> bool:
        if c.method == "answerCallbackQuery":
            return words in (c.params.get("text") or "")
        return (
            c.chat_id == chat
            and (c.method.lower() in SEND_METHODS or c.method.startswith("edit"))
            and words in (c.text or "")
        )

    try:
        found = table.server.wait_for(wanted, timeout=timeout, after=mark)
    except TimeoutError as exc:
        said = [(c.method, c.chat_id, c.text or c.params.get("text")) for c in table.server.sent]
        raise AssertionError(f"{exc}; after mark: {said[mark:]}") from None
    return found.params.get("text") if found.method == "answerCallbackQuery" else found.text


def _claim_id(call: Call) -> int:
    match = re.search(r"#(\d+)", call.text or "")
    assert match, call.text
    return int(match.group(1))


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Table]:
    """`cpd run` with Jane, Ivy and the secretary linked; a draft each and a pending claim."""
    data_dir: Path = tmp_path_factory.mktemp("table") / "data"
    engine = make_engine(f"sqlite:///{data_dir / 'cpd.sqlite3'}")
    migrate(engine)
    import_members(engine, parse_members_csv(MEMBERS, "iims"))
    tokens = {n: create_invite(engine, n, dt.timedelta(days=1))[0] for n in USERS}
    engine.dispose()
    server = FakeTelegramServer(rate_limits=False)
    server.start_in_thread()
    for number, user in USERS.items():
        server.add_user(user, number)
    server.add_user(STRANGER, "Stranger")
    server.add_group(SECRETARY_CHAT, "CPD secretaries")
    server.add_group(CHANNEL, "News", kind="channel")
    world = BotWorld(server, data_dir, cpd_run_env(server, data_dir, TOKEN, SECRETARY_CHAT), tokens)
    try:
        world.start()
        for number in ("M1", "I1", "S1"):
            world.link(number)
        mark = len(server.sent)
        server.send_text(JANE, "boat show yesterday 2 hours")
        submitted = world.expect(JANE, "here is what I understood", after=mark)
        mark = len(server.sent)
        server.press_button(JANE, submitted.message_id, world.button(submitted, "Submit"))
        pending_card = world.expect(SECRETARY_CHAT, "Jane Surveyor", after=mark)
        mark = len(server.sent)
        server.send_text(JANE, "boat show today 2 hours")
        draft = world.expect(JANE, "here is what I understood", after=mark)
        mark = len(server.sent)
        server.send_text(IVY, "read the IIM journal today 1 hour")
        ivy_draft = world.expect(IVY, "here is what I understood", after=mark)
        yield Table(world, draft, ivy_draft, pending_card, _claim_id(pending_card))
    finally:
        if world.process is not None:
            world.process.kill()
            world.process.wait(timeout=30)
        server.stop_thread()


Act = Callable[[Table], str]


@dataclass(frozen=True)
class Row:
    """One input and the words its answer must contain."""

    name: str
    act: Act
    answer: str


def message(content: dict[str, object], user: int = JANE) -> Act:
    """A private message of another kind (sticker, voice...) from ``user``."""

    def act(t: Table) -> str:
        mark = len(t.server.sent)
        t.server.send_raw_message(user, content)
        return _answer(t, user, UNSUPPORTED, mark)

    return act


def text(words: str, expect: str, user: int = JANE, chat: int | None = None) -> Act:
    """``user`` writes ``words`` (in private, or in ``chat``)."""

    def act(t: Table) -> str:
        mark = len(t.server.sent)
        t.server.send_text(user, words, chat_id=chat)
        return _answer(t, chat or user, expect, mark)

    return act


def answer_to(button: str, reply: str, expect: str) -> Act:
    """Jane taps ``button`` on her draft and answers the question with ``reply`` (then with a
    good answer, which ends the question)."""

    def act(t: Table) -> str:
        mark = len(t.server.sent)
        card = t.draft
        t.server.press_button(JANE, card.message_id, t.world.button(card, button))
        _answer(t, JANE, "?", mark)
        mark = len(t.server.sent)
        t.server.send_text(JANE, reply)
        got = _answer(t, JANE, expect, mark)
        mark = len(t.server.sent)  # a good answer ends the question, for the rows after
        t.server.send_text(JANE, "today" if button == "Change date" else "2")
        _answer(t, JANE, "here is what I understood", mark)
        return got

    return act


def press(data: Callable[[Table], str], expect: str, user: int = JANE, group: bool = False) -> Act:
    """``user`` sends a button press with this callback data (forged: any data)."""

    def act(t: Table) -> str:
        mark = len(t.server.sent)
        card = t.pending_card if group else t.draft
        chat = SECRETARY_CHAT if group else JANE
        t.server.press_button(user, card.message_id, data(t), chat_id=chat, strict=False)
        return _answer(t, chat, expect, mark)

    return act


def points(reply: str) -> Act:
    """The secretary taps Other points on the pending card and replies ``reply``."""

    def act(t: Table) -> str:
        mark = len(t.server.sent)
        card = t.pending_card
        t.server.press_button(
            SAM, card.message_id, t.world.button(card, "Other points"), chat_id=SECRETARY_CHAT
        )
        _answer(t, SECRETARY_CHAT, "How many points", mark)
        mark = len(t.server.sent)
        t.server.send_text(SAM, reply, chat_id=SECRETARY_CHAT)
        return _answer(t, SECRETARY_CHAT, "number of points from 0 to 100", mark)

    return act


def accept_twice(t: Table) -> str:
    card = t.pending_card
    data = t.world.button(card, "Accept")
    mark = len(t.server.sent)
    t.server.press_button(SAM, card.message_id, data, chat_id=SECRETARY_CHAT, strict=False)
    _answer(t, SECRETARY_CHAT, "accepted", mark)
    mark = len(t.server.sent)
    t.server.press_button(SAM, card.message_id, data, chat_id=SECRETARY_CHAT, strict=False)
    return _answer(t, SECRETARY_CHAT, "already accepted", mark)


def same_update_twice(t: Table) -> str:
    mark = len(t.server.sent)
    update_id = t.server.send_text(JANE, "exhibition visit today 1 hour")
    _answer(t, JANE, "here is what I understood", mark)
    t.server.inject_raw(t.server.update(update_id))
    t.server.send_text(JANE, "/help")
    _answer(t, JANE, "I record your CPD activities", mark)
    cards = [c for c in t.server.sent[mark:] if "here is what I understood" in (c.text or "")]
    return f"{len(cards)} card"


def edited(t: Table) -> str:
    mark = len(t.server.sent)
    update_id = t.server.send_text(JANE, "site visit today 1 hour")
    _answer(t, JANE, "here is what I understood", mark)
    original = t.server.update(update_id)["message"]
    mark = len(t.server.sent)
    t.server.inject_raw(
        {"edited_message": original | {"text": "site visit today 9 hours", "edit_date": 1}}
    )
    return _answer(t, JANE, "an edit doesn't change a claim", mark)


def channel_post(t: Table) -> str:
    mark = len(t.server.sent)
    post = {"message_id": 1, "chat": t.server.chats[CHANNEL], "date": int(time.time())}
    t.server.inject_raw({"channel_post": post | {"text": "/pending"}})
    t.server.inject_raw({"channel_post": post | {"message_id": 2, "text": "/help"}})
    t.server.send_text(JANE, "/help")  # the bot is still alive and answers the next one
    _answer(t, JANE, "I record your CPD activities", mark)
    to_channel = [c for c in t.server.sent[mark:] if c.chat_id == CHANNEL]
    return f"{len(to_channel)} answers in the channel"


def big_photo(t: Table) -> str:
    mark = len(t.server.sent)
    t.server.send_photo(JANE, JPEG + bytes(21 * 2**20), caption="boat show today 1 hour")
    _answer(t, JANE, "here is what I understood", mark)
    return _answer(t, JANE, "saved without it", mark)


STICKER = {"file_id": "CAACAgI", "file_unique_id": "AgAD1", "type": "regular"}
STICKER |= {"width": 512, "height": 512, "is_animated": False, "is_video": False}
FILE = {"file_id": "AwACAgQ", "file_unique_id": "AgAD2", "duration": 3}
LOCATION = {"latitude": 50.9, "longitude": -1.4}

ROWS = [
    Row("sticker", message({"sticker": STICKER}), UNSUPPORTED),
    Row("voice note", message({"voice": FILE}), UNSUPPORTED),
    Row("video note", message({"video_note": FILE | {"length": 240}}), UNSUPPORTED),
    Row("audio", message({"audio": FILE}), UNSUPPORTED),
    Row("video", message({"video": FILE | {"width": 640, "height": 480}}), UNSUPPORTED),
    Row("location", message({"location": LOCATION}), UNSUPPORTED),
    Row(
        "venue",
        message(
            {
                "location": LOCATION,
                "venue": {"location": LOCATION, "title": "Boat show", "address": "Quay"},
            }
        ),
        UNSUPPORTED,
    ),
    Row(
        "contact",
        message({"contact": {"phone_number": "+441234", "first_name": "Al"}}),
        UNSUPPORTED,
    ),
    Row(
        "poll",
        message(
            {
                "poll": {
                    "id": "1",
                    "question": "Hours?",
                    "options": [
                        {"text": "1", "voter_count": 0, "persistent_id": "o1"},
                        {"text": "2", "voter_count": 0, "persistent_id": "o2"},
                    ],
                    "total_voter_count": 0,
                    "is_closed": False,
                    "is_anonymous": True,
                    "type": "regular",
                    "allows_multiple_answers": False,
                    "allows_revoting": False,
                    "members_only": False,
                }
            }
        ),
        UNSUPPORTED,
    ),
    Row("dice", message({"dice": {"emoji": "🎲", "value": 4}}), UNSUPPORTED),
    Row("a sticker from an unlinked user", message({"sticker": STICKER}, STRANGER), UNSUPPORTED),
    Row(
        "emoji-only text", text("🚤📸👍", "couldn't find an activity"), "couldn't find an activity"
    ),
    Row(
        "5,000-character text",
        text("boat show today 2 hours " + "x" * 5000, "here is what"),
        "here is what",
    ),
    Row(
        "unknown command", text("/frobnicate", "don't know that command"), "don't know that command"
    ),
    Row(
        "/withdraw with junk",
        text("/withdraw junk", "takes no claim number"),
        "takes no claim number",
    ),
    Row(
        "/withdraw 23 digits",
        text("/withdraw " + "9" * 23, "takes no claim number"),
        "takes no claim number",
    ),
    Row("/start with a bad token", text("/start not-a-token", "not valid"), "not valid"),
    Row(
        "unlinked user's claim",
        text("boat show 4 hours", "I don't know you yet", STRANGER),
        "I don't know you yet",
    ),
    Row(
        "unlinked user's /progress",
        text("/progress", "I don't know you yet", STRANGER),
        "I don't know you yet",
    ),
    Row(
        "/pending by a member",
        text("/pending", "Only the membership secretary"),
        "Only the membership secretary",
    ),
    Row(
        "negative hours", answer_to("Change hours", "-3", "can't be negative"), "can't be negative"
    ),
    Row(
        "400 nines as hours",
        answer_to("Change hours", "9" * 400, "far more hours"),
        "far more hours",
    ),
    Row("hours in words", answer_to("Change hours", "lots", "as a number"), "as a number"),
    Row("hours 'nan'", answer_to("Change hours", "nan", "as a number"), "as a number"),
    Row(
        "400 hours in a day",
        answer_to("Change hours", "400", "more than 24 hours"),
        "more than 24 hours",
    ),
    Row(
        "a date in the future",
        answer_to("Change date", "31/12/2099", "in the future"),
        "in the future",
    ),
    Row("a date that is no date", answer_to("Change date", "32/13", "not a date"), "not a date"),
    Row("k:<id>:999", press(lambda t: f"k:{_claim_id(t.draft)}:999", STALE), STALE),
    Row("k:<id>:99", press(lambda t: f"k:{_claim_id(t.draft)}:99", STALE), STALE),
    Row("25-digit id in d:", press(lambda t: f"d:{BIG}:submit", STALE), STALE),
    Row("25-digit id in s:", press(lambda t: f"s:{BIG}:accept", STALE, SAM, True), STALE),
    Row("25-digit id in g:", press(lambda t: f"g:{BIG}:grant", STALE, SAM, True), STALE),
    Row("25-digit id in v:", press(lambda t: f"v:{BIG}:ok", STALE, SAM, True), STALE),
    Row("25-digit year in y:", press(lambda t: f"y:{BIG}:ok", STALE), STALE),
    Row("unknown callback prefix", press(lambda t: "zz:1:x", STALE), STALE),
    Row("unknown draft action", press(lambda t: f"d:{_claim_id(t.draft)}:explode", STALE), STALE),
    Row(
        "forged: another member's claim",
        press(lambda t: f"d:{_claim_id(t.ivy_draft)}:submit", "no claim"),
        "no claim",
    ),
    Row(
        "secretary button pressed by a member",
        press(lambda t: f"s:{t.pending_id}:accept", "Only the membership secretary", JANE, True),
        "Only the membership secretary",
    ),
    Row(
        "Accept of a claim that does not exist",
        press(lambda t: "s:999999:accept", "There is no claim #999999", SAM, True),
        "There is no claim #999999",
    ),
    Row("400 nines as other points", points("9" * 400), "number of points from 0 to 100"),
    Row("'nan' as other points", points("nan"), "number of points from 0 to 100"),
    Row("negative other points", points("-5"), "number of points from 0 to 100"),
    Row("a repeated Accept", accept_twice, "already accepted"),
    Row("the same update twice", same_update_twice, "1 card"),
    Row("an edited message", edited, "an edit doesn't change a claim"),
    Row("channel posts", channel_post, "0 answers in the channel"),
    Row("a 21 MB photo", big_photo, "Telegram lets me fetch files up to 20.0 MB"),
]


def test_the_table_has_enough_rows() -> None:
    assert len(ROWS) >= 35 and len({row.name for row in ROWS}) == len(ROWS)


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_bad_input(table: Table, row: Row) -> None:
    got = row.act(table)
    assert row.answer in got, f"{row.name}: {got!r}"
    assert table.world.process is not None and table.world.process.poll() is None
