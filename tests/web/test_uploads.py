"""Uploads: typed by their bytes (never by the client's Content-Type or name), images and
PDFs only, 25 MB in all, names reduced to a display name."""

from __future__ import annotations

import pytest

from cpd.web.app import create_app
from cpd.web.config import WebConfig
from cpd.web.uploads import shown_name, sniff
from tests.web.conftest import ServerThread, Web

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x00" * 64
PDF = b"%PDF-1.7\n" + b"0" * 64


@pytest.mark.parametrize(
    "data, expected",
    [
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (b"GIF89a" + b"\x00" * 10, "image/gif"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00", "image/heic"),
        (PDF, "application/pdf"),
        (b"#!/bin/sh\nrm -rf /", None),
        (b"<html><script>", None),
        (b"PK\x03\x04zip", None),
        (b"", None),
    ],
)
def test_sniffing(data: bytes, expected: str | None) -> None:
    assert sniff(data) == expected


def test_shown_names() -> None:
    assert shown_name("../../etc/passwd") == "passwd"
    assert shown_name("C:\\Users\\x\\<b>cert.pdf") == "bcert.pdf"
    assert shown_name(None) == "this file"


def test_the_bytes_decide_not_the_client(web: Web) -> None:
    member = web.signed_in("M1")
    made = member.post(
        "/api/claims",
        data={"text": "boat show 4 hours"},
        files=[
            ("files", ("..\\..\\cert.pdf", PNG, "application/pdf")),
            ("files", ("scan", PDF, "application/octet-stream")),
        ],
    )
    assert made.status_code == 201, made.text
    stored = {e["name"]: e["content_type"] for e in made.json()["evidence"]}
    assert stored == {"cert.pdf": "image/png", "scan": "application/pdf"}
    disguised = member.post(
        "/api/claims",
        data={"text": "boat show"},
        files=[("files", ("../photo.png", b"#!/bin/sh\necho hi", "image/png"))],
    )
    assert disguised.status_code == 415
    body = disguised.json()
    assert body["field"] == "files" and "photo.png" in body["error"] and "../" not in body["error"]
    assert len(member.get("/api/claims").json()) == 1  # nothing stored for the refused one


def test_twenty_five_megabytes_in_all_across_files(web: Web) -> None:
    config = WebConfig("127.0.0.1", 0, "http://127.0.0.1", "k" * 48, max_upload_bytes=2**20)
    server = ServerThread(create_app(web.service, config))
    try:
        client = web.signed_in("M1")
        client.base_url = server.url  # the session cookie is for 127.0.0.1: any port
        part = PDF + b"0" * (600 * 1024)
        too_much = client.post(
            "/api/claims",
            data={"text": "boat show"},
            files=[
                ("files", ("a.pdf", part, "application/pdf")),
                ("files", ("b.pdf", part, "application/pdf")),
            ],
        )
        assert too_much.status_code == 413 and "1 MB in all" in too_much.json()["error"]
        one = client.post(
            "/api/claims",
            data={"text": "boat show"},
            files=[("files", ("a.pdf", part, "application/pdf"))],
        )
        assert one.status_code == 201, one.text
    finally:
        server.close()
