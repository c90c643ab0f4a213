"""The member's progress as the portal shows it: the standing from the rules engine, what is
needed by when, and what the scheme still asks (reflections, category caps, diploma
categories), in the sentences the bot and the reminders already use; and the chart image.

Who may see what is decided here: a member sees their own progress and chart, a secretary
anyone's; for anyone else the member is "not found".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from cpd.claims.chart import evaluation_png
from cpd.claims.members import MemberNotFound
from cpd.claims.notifications import pace
from cpd.claims.reminder_texts import _carry as carry_sentence
from cpd.claims.reminders import days_left, deadline, expected
from cpd.claims.scheme_facts import SchemeFacts, scheme_facts
from cpd.claims.standing import Standing, standing
from cpd.claims.texts import amount, balance_sentence, fmt, long_date, reflection_needed
from cpd.claims.web_access import NotFound, WebUser, may_see_member

if TYPE_CHECKING:
    import datetime as dt

    from cpd.claims.service import ClaimsService


@dataclass(frozen=True, slots=True)
class CapUse:
    """How much of a capped category the member has used this period."""

    name: str
    used: float
    cap: float
    measure: str  # the scheme's unit, or "hours" for an hours cap

    @property
    def full(self) -> bool:
        """Whether more of this category earns nothing this period."""
        return self.used >= self.cap

    @property
    def text(self) -> str:
        """``7 of 10 points``."""
        return f"{fmt(self.used)} of {fmt(self.cap)} {self.measure}"


@dataclass(frozen=True, slots=True)
class DiplomaUse:
    """Where a diploma stands, with the scheme's category names."""

    counted: int
    target: float
    min_categories: int
    categories: tuple[str, ...]
    missing: tuple[str, ...]
    ready: bool


@dataclass(frozen=True, slots=True)
class Progress:
    """Everything ``/me`` shows."""

    name: str
    membership_no: str
    scheme_name: str
    facts: SchemeFacts
    period_start: dt.date
    period_end: dt.date
    deadline: dt.date
    days_left: int
    target: float
    total: float
    carried_in: float
    earned: float
    remaining: float
    met: bool
    compulsory: bool
    dispensation: bool
    balance: str
    pace: str
    on_pace: str
    carry: str
    caps: tuple[CapUse, ...]
    diploma: DiplomaUse | None
    asks: tuple[str, ...]
    drafts: int
    pending: int

    @property
    def unit(self) -> str:
        """The scheme's unit (points, credits, activities)."""
        return self.facts.unit

    @property
    def percent(self) -> int:
        """How far toward the target, 0-100 (100 when there is no target)."""
        if self.target <= 0:
            return 100
        return min(100, round(100 * self.total / self.target))


def _caps(found: Standing) -> tuple[CapUse, ...]:
    scheme, ev = found.scheme, found.evaluation
    results = {r.id: r for r in ev.claims}
    caps: list[CapUse] = []
    for category in scheme.categories:
        counted = [
            c
            for c in found.claims
            if (r := results.get(str(c.id))) is not None and r.counted and r.category == category.id
        ]
        if category.cap is not None:
            used = sum(results[str(c.id)].points for c in counted)
            caps.append(CapUse(category.name, round(used, 2), category.cap, scheme.unit))
        if category.hours_cap is not None:
            hours = sum(c.hours or 0 for c in counted)
            caps.append(CapUse(category.name, round(hours, 2), category.hours_cap, "hours"))
    return tuple(caps)


def _diploma(found: Standing) -> DiplomaUse | None:
    scheme, diploma = found.scheme, found.evaluation.diploma
    if scheme.diploma is None or diploma is None:
        return None
    names = {c.id: c.name for c in scheme.categories}
    have = tuple(names.get(c, c) for c in diploma.categories)
    missing = tuple(n for cid, n in names.items() if cid not in diploma.categories)
    return DiplomaUse(
        diploma.counted, scheme.target, diploma.min_categories, have, missing, diploma.ready
    )


def _asks(found: Standing, facts: SchemeFacts, diploma: DiplomaUse | None) -> list[str]:
    scheme, ev = found.scheme, found.evaluation
    drafts = [c for c in found.claims if c.status == "draft"]
    asks: list[str] = []
    reflection_missing = [
        c
        for c in drafts
        if (
            scheme.reflection_required == "new_knowledge"
            and not (c.reflections or {}).get("new_knowledge")
        )
        or (scheme.reflection_required == "any" and not any((c.reflections or {}).values()))
    ]
    if reflection_missing:
        numbers = ", ".join(f"#{c.id}" for c in reflection_missing)
        asks.append(f"Draft {numbers}: {reflection_needed(scheme)}")
    credited = [r for r in facts.reflections if r.credit > 0]
    if credited:
        offers = ", ".join(f'"{r.label}" +{fmt(r.credit)}' for r in credited)
        asks.append(f"Each activity can earn more {scheme.unit} with a reflection: {offers}.")
    if diploma is not None and not diploma.ready:
        still = max(0, diploma.min_categories - len(diploma.categories))
        if still:
            asks.append(
                f"Your diploma needs activities in {still} more categor"
                f"{'y' if still == 1 else 'ies'} (of: {', '.join(diploma.missing)})."
            )
        asks.append("Every activity needs a reflection to count toward the diploma.")
    if drafts:
        asks.append(
            f"{len(drafts)} draft{'s' if len(drafts) != 1 else ''} not submitted yet: "
            "open it in your claims and submit it."
        )
    if not ev.compulsory:
        asks.append("CPD is optional for your grade: there is no target to reach.")
    return asks


def progress(service: ClaimsService, user: WebUser) -> Progress:
    """The signed-in member's progress today."""
    found = standing(service.engine, user.membership_no, service.today())
    scheme, ev, today = found.scheme, found.evaluation, service.today()
    facts = scheme_facts(scheme.id)
    due = deadline(scheme, ev)
    owes = ev.compulsory and not ev.dispensation and ev.remaining > 0
    on_pace = ""
    if scheme.diploma is None and owes:
        on_pace = (
            f"To be on pace you would have {amount(expected(scheme, ev, today), scheme.unit)} "
            f"by today; you have {fmt(ev.total)}."
        )
    diploma = _diploma(found)
    return Progress(
        name=found.member.name,
        membership_no=found.member.membership_no,
        scheme_name=scheme.name,
        facts=facts,
        period_start=ev.period_start,
        period_end=ev.period_end,
        deadline=due,
        days_left=max(0, days_left(scheme, ev, today)),
        target=ev.target,
        total=ev.total,
        carried_in=ev.carried_in,
        earned=ev.earned,
        remaining=ev.remaining,
        met=ev.met,
        compulsory=ev.compulsory,
        dispensation=ev.dispensation,
        balance=balance_sentence(scheme, ev),
        pace=pace(ev.remaining, due, today, scheme.unit) if owes else "",
        on_pace=on_pace,
        carry=carry_sentence(scheme, ev) if scheme.diploma is None else "",
        caps=_caps(found),
        diploma=diploma,
        asks=tuple(_asks(found, facts, diploma)),
        drafts=sum(1 for c in found.claims if c.status == "draft"),
        pending=sum(1 for c in found.claims if c.status == "pending"),
    )


def due_line(item: Progress) -> str:
    """``by 31 December 2026 (38 days left)``."""
    return f"by {long_date(item.deadline)} ({item.days_left} days left)"


def chart_png(service: ClaimsService, user: WebUser, membership_no: str) -> bytes:
    """The member's progress chart as PNG (NotFound unless it is the user's own chart or
    the user is a secretary, or when there is no such member). Slow (matplotlib): call it
    in a worker thread."""
    if not may_see_member(user, membership_no):
        raise NotFound(f"There is no member {membership_no}.")
    try:
        found = standing(service.engine, membership_no, service.today())
    except MemberNotFound:
        raise NotFound(f"There is no member {membership_no}.") from None
    scheme = found.scheme
    return evaluation_png(scheme.short_name, scheme.unit, found.evaluation, service.today())
