"""A member's evidence files in one zip, written to a temporary file and never held whole in
memory, with safe names inside (``claim-7/003-certificate.pdf``): the portal's download and
the bot's /evidence both come from here."""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path

from cpd.storage import Engine, claims_repo, models, reading
from cpd.storage import members as members_repo
from cpd.storage.evidence import safe_display_name
from cpd.storage.queries import claims_of_member


def zip_name(claim_id: int, number: int, original: str) -> str:
    """The name of an evidence file inside the zip: ``claim-7/003-certificate.pdf``. The
    original name is cut to its last part and cleaned (no ``..``, no slashes)."""
    base = safe_display_name(original, 120).replace("/", "_")
    return f"claim-{claim_id}/{number:03d}-{base}"


def write(engine: Engine, member: models.Member, directory: Path | None = None) -> Path:
    """The member's evidence zipped into a new temporary file (the caller deletes it). Files
    are copied in chunks; one gone from disk is left out and the README counts what is in."""
    with reading(engine) as session:
        claims = claims_of_member(session, members_repo.id_of(member))
        files = claims_repo.evidence_of(session, [c.id for c in claims if c.id is not None])
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
            archive.writestr(
                "README.txt",
                f"Evidence of {member.name} ({member.membership_no}), {kept} file(s).\n",
            )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path
