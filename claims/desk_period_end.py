"""Period end and audit sampling from the desk: first a preview of who would be told what
(the dry runs of ``period_end.close_periods`` and ``period_end.audit_sample``, which record and
queue nothing), then the same run for real once the secretary confirms. No logic of their own:
both runs are the ones ``cpd period-end`` and ``cpd audit sample`` make."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cpd import rules
from cpd.claims.intake import ClaimError
from cpd.claims.period_end import AuditSample, PeriodEndReport, audit_sample, audit_text
from cpd.claims.period_end import close_periods as run_close
from cpd.claims.web_access import WebUser, require_secretary
from cpd.storage import reading
from cpd.storage.queries import members_by_number

if TYPE_CHECKING:
    from cpd.claims.service import ClaimsService


@dataclass(frozen=True, slots=True)
class AuditNotice:
    """One member an audit draw selects: their address (None: no mail can reach them) and the
    instructions they are sent."""

    membership_no: str
    name: str
    email: str | None
    text: str


def audited_schemes() -> list[tuple[str, str, float]]:
    """(id, short name, default fraction) of the schemes that audit."""
    found = []
    for scheme_id in rules.scheme_ids():
        scheme = rules.load_scheme(scheme_id)
        if scheme.audit is not None:
            found.append((scheme.id, scheme.short_name, scheme.audit.default_fraction))
    return found


def default_fraction(scheme_id: str) -> float:
    """The share of members the scheme's audit selects (0.05 when it names none)."""
    for found, _, fraction in audited_schemes():
        if found == scheme_id:
            return fraction
    return 0.05


def _moment(service: ClaimsService, closing_day: dt.date, for_real: bool) -> dt.datetime:
    today = service.today()
    if closing_day >= today:
        raise ClaimError("closing_day: a period can only be closed once its last day is over.")
    if for_real and closing_day < today - dt.timedelta(days=service.retention.days):
        raise ClaimError(
            f"closing_day: more than {service.retention.days} days ago; the records that keep "
            "a repeated run harmless are gone by then."
        )
    return dt.datetime.combine(closing_day + dt.timedelta(days=1), dt.time(0, 5), service.zone)


def preview_period_end(
    service: ClaimsService, user: WebUser, closing_day: dt.date
) -> PeriodEndReport:
    """Who would be told what if the periods that ended on ``closing_day`` were closed now
    (and which audit samples would be drawn): nothing is queued or recorded."""
    require_secretary(user)
    return run_close(
        service.engine, _moment(service, closing_day, False), service.zone, dry_run=True
    )


def close_periods(service: ClaimsService, user: WebUser, closing_day: dt.date) -> PeriodEndReport:
    """Close the periods that ended on ``closing_day``: the nightly job's own run (repeating
    it queues nothing new)."""
    require_secretary(user)
    return run_close(service.engine, _moment(service, closing_day, True), service.zone)


def _check(service: ClaimsService, scheme_id: str, cycle: int, fraction: float) -> None:
    if scheme_id not in {s[0] for s in audited_schemes()}:
        raise ClaimError(f"scheme: {scheme_id} has no audit.")
    if not 1900 <= cycle <= service.today().year:
        raise ClaimError(f"cycle: {cycle} is not a cycle that has started.")
    if not 0 < fraction <= 1:
        raise ClaimError("fraction: must be above 0 and at most 1.")


def notices(service: ClaimsService, sample: AuditSample) -> list[AuditNotice]:
    """What each member a draw newly selects would be sent."""
    scheme = rules.load_scheme(sample.scheme)
    with reading(service.engine) as session:
        members = members_by_number(session, sample.new)
    return [
        AuditNotice(
            number,
            members[number].name,
            members[number].email,
            audit_text(scheme, sample.cycle, members[number].name),
        )
        for number in sample.new
        if number in members
    ]


def preview_audit(
    service: ClaimsService,
    user: WebUser,
    scheme_id: str,
    cycle: int,
    fraction: float,
    seed: int | None = None,
) -> AuditSample:
    """The draw the audit would make (its seed, so that confirming draws the same members):
    nothing is recorded or queued. A cycle already sampled comes back as ``existing``."""
    require_secretary(user)
    _check(service, scheme_id, cycle, fraction)
    return audit_sample(service.engine, scheme_id, cycle, fraction, seed, dry_run=True)


def draw_audit(
    service: ClaimsService,
    user: WebUser,
    scheme_id: str,
    cycle: int,
    fraction: float,
    seed: int,
    expected: list[str],
) -> AuditSample:
    """Draw the previewed sample for real and mail the selected members. When the register
    changed since the preview (the same seed now selects others), nothing is drawn: ClaimError
    asks for a new preview."""
    require_secretary(user)
    _check(service, scheme_id, cycle, fraction)
    again = audit_sample(service.engine, scheme_id, cycle, fraction, seed, dry_run=True)
    if again.status == "dry-run" and sorted(again.new) != sorted(expected):
        raise ClaimError("The register changed since the preview: preview the draw again.")
    actor = f"web:{user.membership_no}"
    return audit_sample(service.engine, scheme_id, cycle, fraction, seed, actor=actor)
