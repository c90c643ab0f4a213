"""The member's downloads: the PDF and CSV record (the content ``cpd export`` and the bot's
/export give) and the evidence zip, built in a temporary file (never whole in memory) with
safe names inside.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from cpd.claims.intake import ClaimError
from cpd.claims.workflows import Workflows
from cpd.storage import claims_repo, reading
from cpd.storage import members as members_repo
from cpd.storage.evidence import safe_display_name
from cpd.storage.queries import claims_of_member, member_by_number

if TYPE_CHECKING:
    from cpd.claims.service import ClaimsService
    from cpd.claims.web_access import WebUser

FORMATS = ("pdf", "csv")
PERIODS = ("current", "all")


def record(service: ClaimsService, user: WebUser, fmt: str, period: str = "current") -> bytes:
    """The signed-in member's own record as PDF or CSV bytes (ClaimError for an unknown
    format or period)."""
    if fmt not in FORMATS:
        raise ClaimError(f"format: {fmt!r} is not one of {', '.join(FORMATS)}")
    if period not in PERIODS:
        raise ClaimError(f"period: {period!r} is not one of {', '.join(PERIODS)}")
    return Workflows(service).export(user.sender, fmt, period)


def zip_name(claim_id: int, number: int, original: str) -> str:
    """The name of an evidence file inside the zip: ``claim-7/003-certificate.pdf``. The
    original name is cut to its last part and cleaned (no ``..``, no slashes)."""
    base = safe_display_name(original, 120).replace("/", "_")
    return f"claim-{claim_id}/{number:03d}-{base}"


def evidence_zip(service: ClaimsService, user: WebUser, directory: Path | None = None) -> Path:
    """A zip of the signed-in member's own evidence files, written to a new temporary file
    (the caller deletes it once sent). Files are copied in chunks, never read whole."""
    with reading(service.engine) as session:
        member = member_by_number(session, user.membership_no)
        if member is None:
            raise ClaimError("I don't know you yet.")
        claims = claims_of_member(session, members_repo.id_of(member))
        files = claims_repo.evidence_of(session, [c.id for c in claims if c.id is not None])
        name, number = member.name, member.membership_no
    fd, name_on_disk = tempfile.mkstemp(prefix="cpd-evidence-", suffix=".zip", dir=directory)
    path = Path(name_on_disk)
    try:
        with (
            os.fdopen(fd, "wb") as handle,
            zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive,
        ):
            kept = 0
            for n, file in enumerate(files, start=1):
                source = Path(file.stored_path)
                if not source.is_file():
                    continue
                archive.write(source, zip_name(file.claim_id, n, file.original_name))
                kept += 1
            archive.writestr("README.txt", f"Evidence of {name} ({number}), {kept} file(s).\n")
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path
