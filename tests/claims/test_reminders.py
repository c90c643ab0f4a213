"""The reminder rule, pure: the pace line, countdown days, the IMI cycle, the IBMS window,
muting, dispensations and a scheme's overrides."""

from __future__ import annotations

import datetime as dt

import pytest

from cpd import rules
from cpd.claims import reminders
from cpd.claims.reminder_texts import HowToClaim, mail_payload, message
from cpd.claims.reminders import Facts, ReminderRule, rule_for

IIMS = rules.load_scheme("iims")
IMI = rules.load_scheme("imi")
IBMS = rules.load_scheme("ibms")
RULE = ReminderRule()


def boat_shows(n: int, day: dt.date) -> list[rules.Claim]:
    """``n`` accepted IIMS boat-show claims (1 point each) on ``day``."""
    return [rules.Claim(id=f"b{i}", kind="exhibition", date=day) for i in range(n)]


def iims(points: int, today: dt.date, dispensations: frozenset[int] = frozenset()) -> Facts:
    member = rules.Member(dt.date(2019, 5, 1), "member", dispensations)
    ev = rules.evaluate(IIMS, member, boat_shows(points, dt.date(today.year, 1, 2)), today)
    return Facts(IIMS, ev, today, last_claim=today, claims_in_period=points)


def test_the_pace_line_runs_from_the_periods_start_to_the_target() -> None:
    jan1 = iims(0, dt.date(2026, 1, 1))
    assert reminders.expected(IIMS, jan1.evaluation, jan1.today) == 0
    mid = iims(0, dt.date(2026, 7, 2))  # 182 of 365 days passed
    assert reminders.expected(IIMS, mid.evaluation, mid.today) == round(10 * 182 / 365, 2)
    dec31 = iims(0, dt.date(2026, 12, 31))
    assert reminders.expected(IIMS, dec31.evaluation, dec31.today) == round(10 * 364 / 365, 2)


def test_a_leap_year_has_366_days_on_the_line() -> None:
    facts = iims(0, dt.date(2028, 3, 1))  # 31 + 29 days passed
    assert reminders.expected(IIMS, facts.evaluation, facts.today) == round(10 * 60 / 366, 2)


def test_behind_when_below_the_line_on_pace_at_or_above_it() -> None:
    # 1 July 2026: 181 days passed, the line is at 4.96 points.
    assert reminders.progress(iims(4, dt.date(2026, 7, 1)), RULE).kind == "progress"
    on_pace = reminders.progress(iims(5, dt.date(2026, 7, 1)), RULE)
    assert on_pace.kind == "encourage" and on_pace.moment == "2026-07"


def test_weeks_without_a_claim_nudge_a_member_on_pace() -> None:
    facts = iims(5, dt.date(2026, 7, 1))
    stale = Facts(IIMS, facts.evaluation, facts.today, last_claim=dt.date(2026, 5, 20))
    assert reminders.progress(stale, RULE).kind == "progress"  # exactly 6 weeks
    fresh = Facts(IIMS, facts.evaluation, facts.today, last_claim=dt.date(2026, 5, 21))
    assert reminders.progress(fresh, RULE).kind == "encourage"  # 5 weeks 6 days


def test_the_first_weeks_of_a_period_are_not_stale_without_a_claim() -> None:
    facts = iims(0, dt.date(2026, 1, 1))
    early = Facts(IIMS, facts.evaluation, facts.today, last_claim=None)
    assert reminders.progress(early, RULE).kind == "encourage"  # on the line, not stale yet


def test_nothing_at_target_with_a_dispensation_or_muted() -> None:
    assert reminders.progress(iims(10, dt.date(2026, 7, 1)), RULE) is None
    dispensed = iims(0, dt.date(2026, 7, 1), frozenset({2026}))
    assert reminders.progress(dispensed, RULE) is None
    assert reminders.daily(iims(0, dt.date(2026, 12, 1), frozenset({2026})), RULE) == []
    behind = iims(0, dt.date(2026, 7, 1))
    muted = Facts(IIMS, behind.evaluation, behind.today, muted=True)
    assert reminders.progress(muted, RULE) is None


@pytest.mark.parametrize(
    ("today", "step"),
    [
        (dt.date(2026, 11, 30), None),  # 31 days left
        (dt.date(2026, 12, 1), "30"),
        (dt.date(2026, 12, 2), "30"),  # late: the 30-day step once, if it was missed
        (dt.date(2026, 12, 24), "7"),
        (dt.date(2026, 12, 28), "3"),
        (dt.date(2026, 12, 31), "3"),
    ],
)
def test_countdown_steps(today: dt.date, step: str | None) -> None:
    due = [r for r in reminders.daily(iims(2, today), RULE) if r.kind == "countdown"]
    assert [r.moment for r in due] == ([step] if step else [])


def test_on_a_countdown_day_the_progress_nudge_gives_way() -> None:
    assert reminders.progress(iims(2, dt.date(2026, 12, 24)), RULE) is None
    assert reminders.progress(iims(2, dt.date(2026, 12, 23)), RULE).kind == "progress"


def test_a_muted_member_still_gets_the_countdown_unless_the_scheme_says_otherwise() -> None:
    facts = iims(2, dt.date(2026, 12, 1))
    muted = Facts(IIMS, facts.evaluation, facts.today, muted=True, claims_in_period=2)
    assert [r.kind for r in reminders.daily(muted, RULE)] == ["countdown"]
    strict = rule_for(
        IIMS.model_copy(update={"reminders": rules.scheme.Reminders(countdown_ignores_mute=False)})
    )
    assert reminders.daily(muted, strict) == []


def test_the_duty_reminder_goes_to_muted_members_with_no_claim_every_four_weeks() -> None:
    facts = iims(0, dt.date(2026, 3, 5))  # 63 days into the year: interval 2
    muted = Facts(IIMS, facts.evaluation, facts.today, muted=True)
    assert [(r.kind, r.moment) for r in reminders.daily(muted, RULE)] == [("duty", "2")]
    unmuted = Facts(IIMS, facts.evaluation, facts.today)  # told in their progress nudge
    assert reminders.daily(unmuted, RULE) == []
    january = iims(0, dt.date(2026, 1, 20))
    assert reminders.daily(Facts(IIMS, january.evaluation, january.today, muted=True), RULE) == []


def test_the_imi_cycle_is_the_members_three_years() -> None:
    member = rules.Member(dt.date(2024, 5, 1), "member", frozenset())
    today = dt.date(2025, 10, 1)  # cycle 1 April 2024 - 31 March 2027 (1095 days)
    ev = rules.evaluate(IMI, member, [], today)
    assert (ev.period_start, ev.period_end) == (dt.date(2024, 4, 1), dt.date(2027, 3, 31))
    assert reminders.expected(IMI, ev, today) == round(90 * 548 / 1095, 2)
    assert reminders.countdown_step(IMI, RULE, reminders.days_left(IMI, ev, today)) is None
    last_week = rules.evaluate(IMI, member, [], dt.date(2027, 3, 24))
    assert reminders.days_left(IMI, last_week, dt.date(2027, 3, 24)) == 7


def test_the_ibms_window_paces_over_two_years_from_the_diploma_start_and_never_counts_down() -> (
    None
):
    member = rules.Member(dt.date(2020, 1, 1), None, frozenset(), dt.date(2026, 1, 1))
    today = dt.date(2027, 1, 1)
    ev = rules.evaluate(IBMS, member, [], today)
    assert reminders.deadline(IBMS, ev) == dt.date(2027, 12, 31)
    assert reminders.expected(IBMS, ev, today) == 12.0  # half way, 24 activities
    assert reminders.countdown_step(IBMS, RULE, 3) is None
    no_start = rules.evaluate(IBMS, rules.Member(dt.date(2020, 1, 1), None, frozenset()), [], today)
    assert reminders.expected(IBMS, no_start, today) == round(24 * 730 / 731, 2)  # a full window


def test_a_scheme_overrides_the_numbers_and_an_old_scheme_file_keeps_the_defaults() -> None:
    assert rule_for(IIMS) == ReminderRule()
    data = IIMS.model_dump()
    data["reminders"] = {"weeks_without_claim": 3, "countdown_days": [14, 60, 1]}
    custom = rules.Scheme.model_validate(data)
    rule = rule_for(custom)
    assert rule.weeks_without_claim == 3 and rule.countdown_days == (60, 14, 1)
    assert rule.countdown_ignores_mute is True
    data["reminders"] = {"weeks_without_claim": 0}
    with pytest.raises(ValueError, match="weeks_without_claim"):
        rules.Scheme.model_validate(data)
    data["reminders"] = {"nag": True}
    with pytest.raises(ValueError, match="nag"):
        rules.Scheme.model_validate(data)


def test_the_countdown_says_what_is_missing_and_what_would_be_carried() -> None:
    facts = iims(7, dt.date(2026, 12, 24))
    (countdown,) = [r for r in reminders.daily(facts, RULE) if r.kind == "countdown"]
    text = message(facts, countdown)
    assert text.startswith("7 days left until 31 December 2026: you have 7 points of 10")
    assert "3 points still needed" in text
    assert "nothing would carry into the next period" in text and "at most 3 points" in text


def test_the_mail_payload_has_the_agreed_keys_and_escapes_html() -> None:
    facts = iims(2, dt.date(2026, 12, 1))
    (countdown,) = reminders.daily(facts, RULE)
    how = HowToClaim("claims@iims.example", "https://cpd.iims.example/")
    payload = mail_payload(facts, countdown, 42, "Jane <O'Brien>", how)
    assert set(payload) == {"subject", "text", "html", "sender_name", "kind", "member_id"}
    assert payload["kind"] == "reminder" and payload["member_id"] == 42
    assert payload["sender_name"] == "International Institute of Marine Surveying"
    assert (
        "claims@iims.example" in payload["text"] and "https://cpd.iims.example/" in payload["text"]
    )
    assert "Jane &lt;O&#x27;Brien&gt;" in payload["html"] and "<O'Brien>" not in payload["html"]
    assert "30 days left" in payload["subject"]


@pytest.mark.parametrize(
    ("local", "release"),
    [
        (dt.datetime(2026, 11, 23, 21, 0), dt.datetime(2026, 11, 24, 8, 0)),
        (dt.datetime(2026, 11, 24, 7, 59), dt.datetime(2026, 11, 24, 8, 0)),
        (dt.datetime(2026, 11, 23, 20, 0), dt.datetime(2026, 11, 24, 8, 0)),
        (dt.datetime(2026, 11, 23, 19, 59), None),
        (dt.datetime(2026, 11, 24, 8, 0), None),
        (dt.datetime(2026, 6, 1, 23, 0), dt.datetime(2026, 6, 2, 8, 0)),  # BST
    ],
)
def test_quiet_hours(local: dt.datetime, release: dt.datetime | None) -> None:
    import zoneinfo

    london = zoneinfo.ZoneInfo("Europe/London")
    got = reminders.quiet_release(local.replace(tzinfo=london), london)
    assert got == (release.replace(tzinfo=london) if release else None)
