"""The secretary's pending queue: oldest first, filtered by scheme, kind, channel and age,
searched by member, fifty a page, read in three queries whatever the page holds (the page
and its count, the members and evidence of the page's claims)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cpd import rules
from cpd.claims import views
from cpd.claims.texts import amount
from cpd.claims.web_access import WebUser, require_secretary
from cpd.claims.web_claims import claim_json
from cpd.storage import claims_repo, reading
from cpd.storage.desk import QUEUE_SORTS, QueueFilter, pending_page
from cpd.storage.web import evidence_of

if TYPE_CHECKING:
    from cpd.claims.service import ClaimsService

PAGE_SIZE = 50
CHANNELS = ("telegram", "email", "web", "cli")
AGES = (1, 3, 7, 14, 30)


@dataclass(frozen=True, slots=True)
class QueueQuery:
    """The queue's filters as the secretary set them (already validated by the channel)."""

    scheme: str | None = None
    kind: str | None = None
    channel: str | None = None
    age_days: int | None = None
    search: str | None = None
    sort: str = "oldest"
    page: int = 1


@dataclass(frozen=True, slots=True)
class QueueChoices:
    """What each filter may be set to: the schemes, kinds, channels, ages and sorts."""

    schemes: tuple[str, ...]
    kinds: tuple[str, ...]
    channels: tuple[str, ...] = CHANNELS
    ages: tuple[int, ...] = AGES
    sorts: tuple[str, ...] = QUEUE_SORTS


@dataclass(frozen=True, slots=True)
class QueuePage:
    """One page of the queue: the claims (the API's claim shape, with ``waiting_days``), how
    many match in all, the page number and count."""

    claims: list[dict[str, Any]]
    total: int
    page: int
    pages: int
    query: QueueQuery
    choices: QueueChoices = field(
        default_factory=lambda: QueueChoices(tuple(rules.scheme_ids()), tuple(rules.KINDS))
    )


def choices() -> QueueChoices:
    """The filters' choices (schemes and kinds from the scheme data)."""
    return QueueChoices(tuple(rules.scheme_ids()), tuple(rules.KINDS))


def queue(service: ClaimsService, user: WebUser, query: QueueQuery) -> QueuePage:
    """The page of pending claims the query asks for (NotAllowed for a member)."""
    require_secretary(user)
    now = service.clock()
    before = None if query.age_days is None else now - dt.timedelta(days=query.age_days)
    wanted = QueueFilter(query.scheme, query.kind, query.channel, before, query.search or None)
    page = max(1, query.page)
    with reading(service.engine) as session:
        claims, total = pending_page(session, wanted, query.sort, PAGE_SIZE, (page - 1) * PAGE_SIZE)
        ids = [claims_repo.id_of(c) for c in claims]
        evidence = evidence_of(session, ids)
        shown = views.views(service, session, claims)
        rows = []
        for view, claim in zip(shown, claims, strict=True):
            row = claim_json(view, claim, evidence[claims_repo.id_of(claim)])
            since = claim.submitted_at or claim.created_at
            if since.tzinfo is None:
                since = since.replace(tzinfo=dt.UTC)
            row["waiting_days"] = max(0, (now - since).days)
            proposed = claim.proposed_points
            row["proposed_text"] = "-" if proposed is None else amount(proposed, view.unit)
            rows.append(row)
    pages = max(1, math.ceil(total / PAGE_SIZE))
    return QueuePage(rows, total, page, pages, query, choices())
