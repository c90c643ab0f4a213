"""Prometheus metrics of the whole product, read from the database at scrape time.

A custom collector asks the claims service for its counts (``GROUP BY`` queries in storage/)
on every scrape, so any instance on a shared database reports the same numbers and none of
them keeps state of its own; only mail refused at SMTP time (nothing is stored for it) is
counted in the process that refused it.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from cpd.claims.ops_metrics import Snapshot
from cpd.claims.service import ClaimsService

OUTBOX_STATUSES = ("pending", "sent", "dead")


class ProductCollector(Collector):
    """Claims, the outbox and inbound mail, as the database has them now."""

    def __init__(self, service: ClaimsService) -> None:
        self.service = service

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        """One snapshot per scrape, turned into metric families."""
        yield from families(self.service.ops_snapshot())


def families(snap: Snapshot) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
    """The metric families of a snapshot."""
    claims = GaugeMetricFamily(
        "cpd_claims", "Claims stored, by status and channel.", labels=["status", "channel"]
    )
    for status, channel, count in snap.claims:
        claims.add_metric([status, channel], count)
    yield claims

    messages = GaugeMetricFamily(
        "cpd_outbox_messages",
        "Outbox messages by channel and status (pending: the backlog; sent: delivered; "
        "dead: given up).",
        labels=["channel", "status"],
    )
    retrying = GaugeMetricFamily(
        "cpd_outbox_retrying",
        "Pending outbox messages with at least one failed delivery attempt.",
        labels=["channel"],
    )
    age = GaugeMetricFamily(
        "cpd_outbox_oldest_pending_age_seconds",
        "Age of the oldest pending outbox message (0 when none waits).",
        labels=["channel"],
    )
    for box in snap.outbox:
        for status in sorted(set(OUTBOX_STATUSES) | set(box.by_status)):
            messages.add_metric([box.channel, status], box.by_status.get(status, 0))
        retrying.add_metric([box.channel], box.retrying)
        waited = 0.0
        if box.oldest_pending is not None:
            waited = max(0.0, (snap.at - box.oldest_pending).total_seconds())
        age.add_metric([box.channel], waited)
    yield messages
    yield retrying
    yield age

    mail = GaugeMetricFamily(
        "cpd_inbound_mail",
        "Inbound mail handled, by result (accepted/refused) and stored outcome.",
        labels=["result", "outcome"],
    )
    for outcome, count in snap.inbound_mail:
        mail.add_metric([snap.mail_result(outcome), outcome], count)
    yield mail

    refused = CounterMetricFamily(
        "cpd_smtp_refused",
        "Mail refused at SMTP time by this process (nothing stored), by reason.",
        labels=["reason"],
    )
    for reason, count in sorted(snap.smtp_refused.items()):
        refused.add_metric([reason], count)
    yield refused


def registry_for(service: ClaimsService) -> CollectorRegistry:
    """A registry of its own for one app (no process-wide default registry)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ProductCollector(service))
    return registry
