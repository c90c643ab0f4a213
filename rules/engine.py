"""The rules engine: from a member, an as-of date and their claims to points and a balance.

Pure functions over plain values. The engine knows kinds of rule (rates, caps, hour caps,
repeats, extras, carry forward, diplomas); the numbers come from the scheme file. Claims are
taken in date order (ties by id) so that caps bite the latest claims and the result does not
depend on the order of the input.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from dateutil.relativedelta import relativedelta

from cpd.rules.periods import Period, is_first_cycle, period_for
from cpd.rules.scheme import Category, Cycle, Scheme
from cpd.rules.values import (
    Claim,
    ClaimResult,
    Diploma,
    Evaluation,
    InputError,
    Member,
    check_hours,
    number,
)


@dataclass(slots=True)
class _PeriodState:
    """What has been used up within one period."""

    points_in_category: dict[str, float] = field(default_factory=dict)
    hours_in_category: dict[str, float] = field(default_factory=dict)
    earned: float = 0.0


@dataclass(slots=True)
class _Score:
    category: str | None
    points: float
    note: str


def _title_key(title: str) -> str:
    return re.sub(r"\s+", " ", title).strip().casefold()


def check_claims(scheme: Scheme, claims: Iterable[Claim]) -> None:
    """Refuse claims the scheme cannot take: a category it does not have, impossible hours."""
    for claim in claims:
        if claim.category is not None and scheme.category(claim.category) is None:
            known = ", ".join(c.id for c in scheme.categories)
            raise InputError(
                f"claim {claim.id}: category {claim.category!r} is not in the {scheme.id} "
                f"scheme; known: {known}"
            )
        end = claim.end_date or claim.date
        check_hours(claim.hours, claim.date, end, f"claim {claim.id}: hours")


def standard_target(scheme: Scheme, member: Member, period: Period) -> float:
    """The period's target before exemptions and dispensations (pro rata in a first cycle)."""
    rule = scheme.period
    if isinstance(rule, Cycle) and rule.pro_rata and is_first_cycle(scheme, member, period):
        month = member.joined.month
        return next(row.target for row in rule.pro_rata if month in row.months)
    return scheme.target


def _category_of(scheme: Scheme, claim: Claim) -> Category | None:
    if claim.category is not None:
        return scheme.category(claim.category)
    return scheme.category_for(claim.kind, claim.provider)


class _Scorer:
    """Scores claims in date order, keeping the state that spans claims and periods."""

    def __init__(self, scheme: Scheme) -> None:
        self.scheme = scheme
        self.last_earning: dict[tuple[str, str], dt.date] = {}

    def _missing_reflection(self, claim: Claim) -> str | None:
        required = self.scheme.reflection_required
        if required == "new_knowledge" and not claim.reflections.has("new_knowledge"):
            return 'missing the "New knowledge and skills" reflection'
        if required == "any" and not claim.reflections.any():
            return "no reflection yet: an activity counts once it is reflected on"
        return None

    def _base(self, cat: Category, claim: Claim, state: _PeriodState) -> tuple[float, str]:
        rate = cat.rate
        if rate.fixed is not None:
            return rate.fixed, f"{number(rate.fixed)} for the activity"
        if rate.per_activity is not None:
            return rate.per_activity, "1 activity"
        if rate.pro_rata is not None:
            authors = claim.co_authors or 1
            share = rate.pro_rata / authors
            return share, f"{number(rate.pro_rata)} shared by {authors} author(s)"
        per_hour = rate.per_hour
        assert per_hour is not None  # a rate sets exactly one field (Rate's validator)
        hours = claim.hours or 0.0
        note = f"{number(hours)} h x {number(per_hour)}"
        if cat.hours_cap is not None:
            used = state.hours_in_category.get(cat.id, 0.0)
            allowed = max(0.0, min(hours, cat.hours_cap - used))
            state.hours_in_category[cat.id] = used + allowed
            if allowed < hours:
                note = (
                    f"{number(allowed)} of {number(hours)} h x {number(per_hour)} "
                    f"(hours capped at {number(cat.hours_cap)} a period)"
                )
            hours = allowed
        return hours * per_hour, note

    def _extras(self, claim: Claim) -> tuple[float, list[str]]:
        extras = self.scheme.extras
        total, parts = 0.0, []
        if extras.test and claim.has_test:
            total += extras.test
            parts.append(f"+{number(extras.test)} test")
        reflected = 0.0
        for name, value in extras.reflections.items():
            if claim.reflections.has(name):
                reflected += value
                parts.append(f"+{number(value)} {name}")
        if extras.reflections_max is not None:
            reflected = min(reflected, extras.reflections_max)
        return total + reflected, parts

    def _repeat_of(self, cat: Category, claim: Claim) -> dt.date | None:
        if cat.repeat is None:
            return None
        last = self.last_earning.get((cat.id, _title_key(claim.title)))
        if last is not None and claim.date < last + relativedelta(months=cat.repeat.within_months):
            return last
        return None

    def score(self, claim: Claim, state: _PeriodState) -> _Score:
        """Points for one eligible (accepted, in-period) claim, updating the period state."""
        cat = _category_of(self.scheme, claim)
        cat_id = cat.id if cat else None
        if claim.points is not None:
            points, note = claim.points, f"{number(claim.points)} as awarded by the secretary"
        elif cat is None:
            return _Score(None, 0.0, self.scheme.unmatched_note)
        else:
            missing = self._missing_reflection(claim)
            if missing:
                return _Score(cat_id, 0.0, missing)
            if cat.rate.per_hour is not None and claim.hours is None:
                return _Score(cat_id, 0.0, "no duration given: hours are needed to earn")
            repeated = self._repeat_of(cat, claim)
            if repeated is not None and cat.repeat is not None:
                return _Score(
                    cat_id,
                    0.0,
                    f"repeat of the same lecture given on {repeated.isoformat()} "
                    f"(within {cat.repeat.within_months} months)",
                )
            base, note = self._base(cat, claim, state)
            extra, parts = self._extras(claim)
            points = base + extra
            note = f"{cat_id}: " + " ".join([note, *parts])
        if cat is not None and cat.cap is not None:
            used = state.points_in_category.get(cat.id, 0.0)
            allowed = max(0.0, min(points, cat.cap - used))
            state.points_in_category[cat.id] = used + allowed
            if allowed < points:
                note += (
                    f"; capped: {number(allowed)} of {number(points)} count "
                    f"({cat.id} cap {number(cat.cap)} a period)"
                )
            points = allowed
        if cat is not None and cat.repeat is not None and points > 0:
            self.last_earning[(cat.id, _title_key(claim.title))] = claim.date
        state.earned += points
        return _Score(cat_id, points, note)


def _ineligible_note(scheme: Scheme, member: Member, claim: Claim, as_of: dt.date) -> str | None:
    if claim.status != "accepted":
        return f"not accepted ({claim.status})"
    if claim.date > as_of:
        return f"dated after as_of {as_of.isoformat()}"
    if scheme.starts is not None and claim.date < scheme.starts:
        return f"before the scheme started on {scheme.starts.isoformat()}"
    if scheme.diploma is not None and member.diploma_start and claim.date < member.diploma_start:
        return f"before the diploma start on {member.diploma_start.isoformat()}"
    return None


def evaluate(scheme: Scheme, member: Member, claims: Sequence[Claim], as_of: dt.date) -> Evaluation:
    """The member's standing on ``as_of``: period, target, carried in, earned, per-claim results."""
    current = period_for(scheme, member, as_of)
    ordered = sorted(claims, key=lambda c: (c.date, c.id))
    scorer = _Scorer(scheme)
    notes: dict[str, ClaimResult] = {}
    earned_by_key: dict[int, float] = {}
    periods: dict[int, Period] = {current.key: current}
    states: dict[int, _PeriodState] = {}
    rolling = scheme.period.kind == "rolling_window"
    # Earlier periods only matter through carry forward and repeat rules; skip scoring them
    # otherwise (they are listed as outside the period either way).
    history_matters = scheme.carry_forward is not None or any(c.repeat for c in scheme.categories)
    period_of_day: dict[dt.date, Period] = {}

    for claim in ordered:
        reason = _ineligible_note(scheme, member, claim, as_of)
        if reason is not None:
            notes[claim.id] = ClaimResult(claim.id, _cat_id(scheme, claim), 0.0, False, reason)
            continue
        if rolling:
            if claim.date not in current:
                notes[claim.id] = _outside(scheme, claim, current)
                continue
            period = current
        elif not history_matters and claim.date < current.start:
            notes[claim.id] = _outside(scheme, claim, current)
            continue
        else:
            known = period_of_day.get(claim.date)
            if known is None:
                known = period_of_day[claim.date] = period_for(scheme, member, claim.date)
            period = known
            periods.setdefault(period.key, period)
        state = states.setdefault(period.key, _PeriodState())
        scored = scorer.score(claim, state)
        if period.key == current.key:
            notes[claim.id] = ClaimResult(
                claim.id, scored.category, scored.points, scored.points > 0, scored.note
            )
        else:
            notes[claim.id] = _outside(scheme, claim, current, scored.category)
    for key, state in states.items():
        earned_by_key[key] = state.earned

    carried_in = _carried_in(scheme, member, periods, earned_by_key, current)
    standard = standard_target(scheme, member, current)
    exempt = scheme.is_exempt(member.grade)
    dispensed = scheme.dispensations and current.key in member.dispensations
    earned = round(earned_by_key.get(current.key, 0.0), 2)
    evaluation = Evaluation(
        scheme=scheme.id,
        unit=scheme.unit,
        period_start=current.start,
        period_end=current.end,
        period_key=current.key,
        target=0.0 if (exempt or dispensed) else standard,
        carried_in=carried_in,
        earned=earned,
        compulsory=not exempt,
        dispensation=bool(dispensed),
        claims=[notes[c.id] for c in claims],
    )
    if scheme.carry_forward is not None:
        surplus = evaluation.total - standard
        evaluation.carry_out = min(scheme.carry_forward.max, max(0.0, round(surplus, 2)))
    if scheme.diploma is not None:
        evaluation.diploma = _diploma(scheme, claims, evaluation, current)
    return evaluation


def _cat_id(scheme: Scheme, claim: Claim) -> str | None:
    cat = _category_of(scheme, claim)
    return cat.id if cat else None


def _outside(
    scheme: Scheme, claim: Claim, current: Period, category: str | None = None
) -> ClaimResult:
    return ClaimResult(
        claim.id,
        category if category is not None else _cat_id(scheme, claim),
        0.0,
        False,
        f"outside the period {current.start.isoformat()} to {current.end.isoformat()}",
    )


def _carried_in(
    scheme: Scheme,
    member: Member,
    periods: dict[int, Period],
    earned_by_key: dict[int, float],
    current: Period,
) -> float:
    """Carry forward chained from the first period with claims up to the current one."""
    rule = scheme.carry_forward
    if rule is None:
        return 0.0
    earlier = [periods[k] for k in earned_by_key if k < current.key]
    if not earlier:
        return 0.0
    period = min(earlier, key=lambda p: p.start)
    carried = 0.0
    while period.key < current.key:
        total = carried + earned_by_key.get(period.key, 0.0)
        surplus = total - standard_target(scheme, member, period)
        carried = min(rule.max, max(0.0, round(surplus, 2)))
        period = period_for(scheme, member, period.end + dt.timedelta(days=1))
    return carried


def _diploma(
    scheme: Scheme, claims: Sequence[Claim], evaluation: Evaluation, window: Period
) -> Diploma:
    assert scheme.diploma is not None
    by_id = {c.id: c for c in claims}
    in_window = [c for c in claims if c.status == "accepted" and c.date in window]
    counted = [r for r in evaluation.claims if r.counted]
    categories = sorted({r.category for r in counted if r.category})
    with_reflection = len(counted)
    ready = with_reflection >= scheme.target and len(categories) >= scheme.diploma.min_categories
    return Diploma(
        start=window.start,
        activities=len(in_window),
        with_reflection=sum(1 for c in in_window if by_id[c.id].reflections.any()),
        categories=tuple(categories),
        ready=ready,
        counted=with_reflection,
        min_categories=scheme.diploma.min_categories,
    )


def propose(
    scheme: Scheme, member: Member, claims: Sequence[Claim], proposed: Claim, as_of: dt.date
) -> tuple[ClaimResult, Evaluation]:
    """What ``proposed`` would earn if it were accepted now, and the standing with it."""
    candidate = replace(proposed, status="accepted")
    others = [c for c in claims if c.id != proposed.id]
    evaluation = evaluate(scheme, member, [*others, candidate], as_of)
    return evaluation.result(candidate.id), evaluation
