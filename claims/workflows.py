"""Scheme workflows beyond single claims: dispensations, the IIM annual declaration, the IBMS
diploma (ready, submitted, validated), and a member's records and evidence on request.

Like the claims service, every change is one transaction with its audit row and its
notifications in the outbox.
"""

from __future__ import annotations

import datetime as dt

from cpd import rules
from cpd.claims import decisions, evaluation, identity, recipients
from cpd.claims import evidence_zip as evidence_zip_file
from cpd.claims.dispensations import request_in
from cpd.claims.intake import ClaimError, Sender
from cpd.claims.notifications import queue, tell
from cpd.claims.period_end import PeriodEndReport, close_periods
from cpd.claims.records import member_records, standings_csv, to_csv, to_pdf
from cpd.claims.service import ClaimsService
from cpd.claims.texts import long_date
from cpd.storage import Session, claims_repo, models, reading, transaction
from cpd.storage import members as members_repo
from cpd.storage.queries import (
    add_audit,
    member_audit_details,
)


class Workflows:
    """Dispensations, declarations, diplomas and exports, on top of the claims service."""

    def __init__(self, service: ClaimsService) -> None:
        self.service = service
        self.engine = service.engine

    # -- dispensations ---------------------------------------------------------------------

    def request_dispensation(self, sender: Sender, reason: str) -> models.Dispensation:
        """Ask for relief from this period's target; the secretary decides with buttons."""
        with transaction(self.engine) as session:
            member = identity.require_member(session, sender)
            return request_in(
                session,
                member,
                reason,
                self.service.today(),
                sender.key(),
                self.service.secretary_chat_id,
                self.service.clock(),
            )

    def decide_dispensation(self, dispensation_id: int, sender: Sender, grant: bool) -> str:
        """Grant or refuse a request (secretaries only); the member is told."""
        with transaction(self.engine) as session:
            secretary = decisions.require_secretary(session, sender, "decide dispensations")
            request = claims_repo.dispensation(session, dispensation_id)
            if request is None:
                raise ClaimError(f"There is no dispensation request #{dispensation_id}.")
            if request.status != "requested":
                return f"Request #{dispensation_id} was already {request.status}."
            member = members_repo.get(session, request.member_id)
            assert member is not None
            request.status = "granted" if grant else "refused"
            request.decided_by, request.decided_at = secretary.id, self.service.clock()
            add_audit(
                session,
                sender.key(),
                f"dispensation.{request.status}",
                member_id=member.id,
                details={"period": request.period_key},
            )
            text = (
                f"Your dispensation for {request.period_key} was granted: there is no target "
                "and there are no reminders for that period."
                if grant
                else f"Your dispensation request for {request.period_key} was refused by the "
                "membership secretary."
            )
            tell(session, member, f"dispensation:{request.id}:{request.status}", text)
            return f"Dispensation #{dispensation_id} {request.status}."

    # -- IIM annual declaration ---------------------------------------------------------------

    def declare(self, sender: Sender) -> str:
        """Record the member's annual CPD declaration (once a year, idempotent)."""
        with transaction(self.engine) as session:
            member = identity.require_member(session, sender)
            scheme = rules.load_scheme(member.scheme)
            if scheme.declaration != "annual":
                raise ClaimError(f"The {scheme.short_name} scheme has no annual declaration.")
            year = self.service.today().year
            if year in self._declared_years(session, members_repo.id_of(member)):
                return f"You have already made your CPD declaration for {year}. Thank you."
            add_audit(
                session,
                sender.key(),
                "member.declared",
                member_id=member.id,
                details={"year": year},
            )
            return (
                f"Thank you: your CPD declaration for {year} is recorded (you confirm that "
                "you keep your skills and knowledge up to date)."
            )

    def _declared_years(self, session: Session, member_id: int) -> set[int]:
        rows = member_audit_details(session, member_id, "member.declared")
        return {year for d in rows if isinstance(year := d.get("year"), int)}

    def queue_declaration_prompts(self, year: int | None = None) -> int:
        """Ask every linked member of an annual-declaration scheme who has not declared this
        year to confirm with one tap (idempotent per member and year)."""
        year = year or self.service.today().year
        queued = 0
        with transaction(self.engine) as session:
            for member in members_repo.all_members(session):
                scheme = rules.load_scheme(member.scheme)
                if (
                    scheme.declaration != "annual"
                    or scheme.is_exempt(member.grade)
                    or member.telegram_user_id is None
                    or year in self._declared_years(session, members_repo.id_of(member))
                ):
                    continue
                queue(
                    session,
                    f"declaration:{member.id}:{year}",
                    "telegram",
                    recipients.member(member),
                    "declaration_prompt",
                    {
                        "year": year,
                        "text": f"Your {scheme.short_name} CPD declaration for "
                        f"{year}: do you confirm that you keep your knowledge and skills up to "
                        "date? Tap to confirm.",
                    },
                )
                queued += 1
        return queued

    def missing_declarations(self, year: int) -> list[str]:
        """Membership numbers of members of annual-declaration schemes who have not declared."""
        with reading(self.engine) as session:
            members = members_repo.all_members(session)
            return [
                m.membership_no
                for m in members
                if rules.load_scheme(m.scheme).declaration == "annual"
                and not rules.load_scheme(m.scheme).is_exempt(m.grade)
                and year not in self._declared_years(session, members_repo.id_of(m))
            ]

    # -- IBMS diploma -------------------------------------------------------------------------

    def diploma_status(self, sender: Sender) -> dict[str, object]:
        """The member's current diploma (``cpd rules evaluate``'s ``diploma`` object)."""
        _, scheme, current = self.service.progress(sender)
        if scheme.diploma is None or current.diploma is None:
            raise ClaimError(f"The {scheme.short_name} scheme has no diploma.")
        return current.diploma.to_json()

    def notify_if_diploma_ready(self, member_no: str) -> bool:
        """Tell the member once when their diploma has become ready to submit."""
        with transaction(self.engine) as session:
            member = members_repo.by_number(session, member_no)
            if member is None:
                return False
            standing = self._evaluate(session, member)
            if standing.diploma is None or not standing.diploma.ready:
                return False
            start = member.diploma_start or member.joined
            scheme = rules.load_scheme(member.scheme)
            tell(
                session,
                member,
                f"diploma-ready:{member.id}:{start}",
                f"Your CPD diploma is ready: it holds {scheme.target:g} reflected activities "
                f"over at least {standing.diploma.min_categories} categories. Send /submit to "
                "send it for validation.",
            )
            return True

    def submit_diploma(self, sender: Sender) -> str:
        """Send a ready diploma for validation (the secretary validates it)."""
        with transaction(self.engine) as session:
            member = identity.require_member(session, sender)
            diploma = self._evaluate(session, member).diploma
            if diploma is None:
                raise ClaimError("Your scheme has no diploma to submit.")
            if not diploma.ready:
                target = rules.load_scheme(member.scheme).target
                raise ClaimError(
                    f"Not ready yet: {diploma.counted} of {target:g} reflected activities over "
                    f"{len(diploma.categories)} of {diploma.min_categories} categories."
                )
            add_audit(
                session,
                sender.key(),
                "diploma.submitted",
                member_id=member.id,
                details=diploma.to_json(),
            )
            if self.service.secretary_chat_id is not None:
                queue(
                    session,
                    f"diploma:{member.id}:{diploma.start.isoformat()}:card",
                    "telegram",
                    recipients.SECRETARIES,
                    "diploma_card",
                    {
                        "membership_no": member.membership_no,
                        "member_id": member.id,
                        "text": f"CPD diploma submitted by {member.name} "
                        f"({member.membership_no}): {diploma.counted} reflected "
                        f"activities in {', '.join(diploma.categories)}, since "
                        f"{diploma.start.isoformat()}.",
                    },
                )
            return "Your diploma was sent for validation. You will hear when it is issued."

    def validate_diploma(self, member_ref: str | int, sender: Sender) -> str:
        """Issue the diploma (member by number, or by id from a button): a new one starts
        today; earlier activities no longer count."""
        with transaction(self.engine) as session:
            decisions.require_secretary(session, sender, "validate diplomas")
            if isinstance(member_ref, int):
                member = members_repo.get(session, member_ref)
            else:
                member = members_repo.by_number(session, member_ref)
            if member is None:
                raise ClaimError(f"No member {member_ref}.")
            standing = self._evaluate(session, member)
            if standing.diploma is None or not standing.diploma.ready:
                return f"{member.name}'s diploma is not ready; nothing was issued."
            today = self.service.today()
            previous = member.diploma_start
            member.diploma_start = today
            add_audit(
                session,
                sender.key(),
                "diploma.validated",
                member_id=member.id,
                details={
                    "previous_start": str(previous),
                    "new_start": str(today),
                    "diploma": standing.diploma.to_json(),
                },
            )
            tell(
                session,
                member,
                f"diploma-issued:{member.id}:{today}",
                f"Your CPD diploma was validated and issued on {long_date(today)}. A new "
                "diploma starts today: activities dated before it are kept but no "
                "longer count.",
            )
            return f"Diploma issued to {member.name}; a new one starts {today}."

    # -- period ends ------------------------------------------------------------------------------

    def close_periods(self, now: dt.datetime | None = None) -> PeriodEndReport:
        """Run the nightly period-end work (idempotent); see ``claims.period_end``. In January
        it also asks for the annual declarations that are still missing."""
        moment = now or self.service.clock()
        report = close_periods(self.engine, moment, self.service.zone)
        if moment.astimezone(self.service.zone).month == 1:
            self.queue_declaration_prompts(moment.astimezone(self.service.zone).year)
        return report

    def standings_csv(self) -> bytes:
        """Every member's standing today as CSV bytes (for the secretary)."""
        return standings_csv(self.engine, self.service.today()).encode("utf-8")

    # -- records on request ---------------------------------------------------------------------

    def export(self, sender: Sender, format: str = "pdf", period: str = "current") -> bytes:
        """The member's own records as PDF or CSV bytes."""
        member = self.service.member_for(sender)
        if member is None:
            raise ClaimError("I don't know you yet: link your account first.")
        records = member_records(self.engine, member.membership_no, period, self.service.today())
        return to_pdf(records) if format == "pdf" else to_csv(records).encode("utf-8")

    def evidence_zip(self, sender: Sender) -> bytes:
        """A zip of the member's evidence files (named by claim and cleaned original name)."""
        with reading(self.engine) as session:
            member = identity.require_member(session, sender)
        path = evidence_zip_file.write(self.engine, member)
        try:
            return path.read_bytes()
        finally:
            path.unlink(missing_ok=True)

    # -- helpers ------------------------------------------------------------------------------

    def _evaluate(self, session: Session, member: models.Member) -> rules.Evaluation:
        return evaluation.standing(session, member, self.service.today())
