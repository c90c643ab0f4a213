"""The desk's pending queue against a real server, on SQLite and PostgreSQL: oldest first,
filters by scheme, kind, channel and age, a member search, sorts, pages of fifty, and the
htmx partial."""

from __future__ import annotations

import datetime as dt

from tests.web.conftest import Web
from tests.web.desk_helpers import listed, pending

DAY = dt.timedelta(days=1)


def test_the_queue_is_oldest_first_and_filters(web: Web) -> None:
    show = pending(web, "M1", "boat show today 4 hours", "telegram", age=10 * DAY)
    course = pending(web, "M2", "course yesterday 3 hours", "web", age=2 * DAY)
    webinar = pending(web, "M1", "webinar today 1 hours", "email", age=5 * DAY)
    sam = web.signed_in("S1")

    def ids(query: str = "") -> list[int]:
        answer = sam.get("/desk" + query)
        assert answer.status_code == 200, answer.text
        return [int(i) for i in listed(answer.text)]

    assert ids() == [show, webinar, course]
    assert ids("?sort=newest") == [course, webinar, show]
    assert ids("?kind=training") == [webinar, course]
    assert ids("?channel=email") == [webinar]
    assert ids("?age=7") == [show]
    assert ids("?age=3&kind=training") == [webinar]
    assert ids("?q=mark") == [course]
    assert ids("?q=M1") == [show, webinar]
    assert ids("?q=%25") == []  # a LIKE wildcard is searched for, not obeyed
    assert ids("?scheme=imi") == []
    assert ids("?scheme=iims&kind=&channel=&age=&q=") == [show, webinar, course]  # a GET form
    bad = sam.get("/desk?age=soon")
    assert bad.status_code == 422 and bad.json()["field"] == "age"

    partial = sam.get(
        "/desk?kind=exhibition", headers={"HX-Request": "true", "HX-Target": "queue-table"}
    )
    assert partial.status_code == 200
    assert partial.text.lstrip().startswith('<div id="queue-table">')
    assert "<html" not in partial.text and [int(i) for i in listed(partial.text)] == [show]


def test_the_queue_pages_fifty_at_a_time(web: Web) -> None:
    made = [pending(web, "M2", f"course {n} today 1 hours", age=(60 - n) * DAY) for n in range(52)]
    sam = web.signed_in("S1")
    first = sam.get("/desk")
    assert [int(i) for i in listed(first.text)] == made[:50]
    assert "52 claims waiting" in first.text and "page=2" in first.text
    second = sam.get("/desk?page=2")
    assert [int(i) for i in listed(second.text)] == made[50:]
