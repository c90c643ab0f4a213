"""SQLModel tables, engine and session set-up, migrations and queries."""

from cpd.storage.database import make_engine, migrate, table_names, transaction
from cpd.storage.evidence import StoredFile, safe_display_name, store_bytes
from cpd.storage.models import (
    AuditEntry,
    Claim,
    Dispensation,
    EvidenceFile,
    InviteToken,
    MailHold,
    Member,
    OutboxMessage,
    ProcessedMessage,
    TelegramInboxUpdate,
    WebToken,
)

__all__ = [
    "AuditEntry",
    "Claim",
    "Dispensation",
    "EvidenceFile",
    "InviteToken",
    "MailHold",
    "Member",
    "OutboxMessage",
    "ProcessedMessage",
    "StoredFile",
    "TelegramInboxUpdate",
    "make_engine",
    "migrate",
    "safe_display_name",
    "store_bytes",
    "table_names",
    "transaction",
    "WebToken",
]
