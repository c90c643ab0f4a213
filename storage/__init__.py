"""SQLModel tables, engine and session set-up, migrations and queries."""

from sqlalchemy import Engine
from sqlmodel import Session

from cpd.storage.database import make_engine, migrate, reading, table_names, transaction
from cpd.storage.errors import Conflict, DuplicateKey
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
    "Conflict",
    "Dispensation",
    "DuplicateKey",
    "Engine",
    "EvidenceFile",
    "InviteToken",
    "MailHold",
    "Member",
    "OutboxMessage",
    "ProcessedMessage",
    "Session",
    "StoredFile",
    "TelegramInboxUpdate",
    "WebToken",
    "make_engine",
    "migrate",
    "reading",
    "safe_display_name",
    "store_bytes",
    "table_names",
    "transaction",
]
