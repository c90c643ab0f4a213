"""Parsing real mails into intakes: bodies cleaned, evidence kept, hostile input survived."""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from email.message import EmailMessage
from email.mime.application import MIMEApplication
from email.mime.image import MIMEImage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import SMTP

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cpd.claims.intake import Intent, MailThread
from cpd.mail_ingest.body_text import clean_body
from cpd.mail_ingest.parse import (
    MalformedMail,
    ParsedMail,
    parse_mail,
    to_intake,
)
from tests.mail_ingest.pdfs import make_pdf

RECEIVED = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 200 + b"\xff\xd9"  # ~50 KB


def message(body: str = "Boat show yesterday, 5 hours", **headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = headers.pop("From", "Jane Surveyor <Jane@Example.com>")
    msg["To"] = "claims@cpd.example.org"
    msg["Subject"] = headers.pop("Subject", "CPD claim")
    msg["Message-ID"] = headers.pop("Message_ID", "<m1@example.com>")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg


def parse(msg: EmailMessage | MIMEMultipart) -> ParsedMail:
    return parse_mail(msg.as_bytes(policy=SMTP))


def test_a_phone_photo_mail_keeps_the_photo_and_the_short_body() -> None:
    msg = message("Boat show today 3 hrs\n\nSent from my iPhone")
    msg.add_attachment(JPEG, maintype="image", subtype="jpeg", filename="IMG_0042.JPG")
    parsed = parse(msg)
    assert parsed.sender == "jane@example.com"
    assert parsed.body == "Boat show today 3 hrs"
    assert [(a.content_type, a.name, a.data) for a in parsed.attachments] == [
        ("image/jpeg", "IMG_0042.JPG", JPEG)
    ]
    intake = to_intake(parsed, msg.as_bytes(), RECEIVED)
    assert intake.channel == "email" and intake.source_key == "email:<m1@example.com>"
    assert intake.sender.email == "jane@example.com"
    assert intake.text == "CPD claim\nBoat show today 3 hrs"
    assert intake.received_at == RECEIVED and intake.attachments == parsed.attachments
    assert intake.reply_to == MailThread("<m1@example.com>", "<m1@example.com>")
    assert intake.intent is Intent.CLAIM and intake.subject == "CPD claim"
    assert intake.body == "Boat show today 3 hrs" and not intake.automatic
    assert intake.recipients == ("claims@cpd.example.org",)
    assert intake.delivery_reports == () and intake.confirm_secret is None


def test_a_pdf_certificate_gives_the_facts_when_the_body_has_none() -> None:
    pdf = make_pdf(["Certificate of Attendance", "IIMS Hull Survey course", "6 hours, 14 Nov 2026"])
    msg = message("Please find my certificate attached.\n\nKind regards,\nJane")
    msg.add_attachment(pdf, maintype="application", subtype="pdf", filename="certificate.pdf")
    parsed = parse(msg)
    assert parsed.body == "Please find my certificate attached."
    assert parsed.attachments[0].content_type == "application/pdf"
    assert "IIMS Hull Survey course" in parsed.pdf_text and "6 hours" in parsed.pdf_text
    text = to_intake(parsed, b"raw", RECEIVED).text
    assert text.endswith(parsed.pdf_text) and text.startswith("CPD claim\nPlease find")


def test_pdf_text_is_not_added_when_the_body_states_the_facts() -> None:
    msg = message("Hull survey course, 6 hours on 14 November")
    msg.add_attachment(make_pdf(["Certificate"]), maintype="application", subtype="pdf")
    parsed = parse(msg)
    assert parsed.pdf_text == "Certificate"
    assert to_intake(parsed, b"raw", RECEIVED).text == (
        "CPD claim\nHull survey course, 6 hours on 14 November"
    )


def test_a_broken_pdf_is_evidence_without_text() -> None:
    msg = message("Certificate attached")
    msg.add_attachment(b"%PDF-1.4\n1 0 obj garbage", maintype="application", subtype="pdf")
    parsed = parse(msg)
    assert parsed.pdf_text == "" and len(parsed.attachments) == 1


def test_an_html_only_mail_becomes_text() -> None:
    html = (
        "<html><head><style>p {color: red}</style><title>x</title></head><body>"
        "<script>alert('x')</script><p>Attended the <b>IIMS</b> webinar&nbsp;&amp; quiz</p>"
        "<div>2 hours<br>yesterday</div><ul><li>hull</li><li>engines</li></ul></body></html>"
    )
    msg = message()
    msg.set_content(html, subtype="html")
    parsed = parse(msg)
    assert parsed.body == "Attended the IIMS webinar & quiz\n2 hours\nyesterday\nhull\nengines"


def test_an_html_reply_drops_the_blockquoted_thread() -> None:
    msg = message()
    msg.set_content(
        "<div>Also 2 hours of reading</div><div class='gmail_quote'>"
        "<div>On Mon, 23 Nov 2026 at 09:00, CPD &lt;cpd@example.org&gt; wrote:</div>"
        "<blockquote><div>Your claim was received.</div></blockquote></div>",
        subtype="html",
    )
    assert parse(msg).body == "Also 2 hours of reading"


def test_a_forwarded_mail_keeps_the_forwarded_claim_without_its_headers() -> None:
    body = (
        "Forwarding my course confirmation.\n\n"
        "---------- Forwarded message ---------\n"
        "From: Training Team <training@iims.org.uk>\n"
        "Date: Fri, 13 Nov 2026 at 16:02\n"
        "Subject: Your course: Hull Survey\n"
        "To: <jane@example.com>\n\n"
        "Thank you for attending Hull Survey on 12 November (6 hours).\n"
    )
    parsed = parse(message(body, Subject="Fwd: Your course"))
    assert parsed.body == (
        "Forwarding my course confirmation.\n\n"
        "Thank you for attending Hull Survey on 12 November (6 hours)."
    )


def test_an_apple_forward_with_no_note_is_the_forwarded_content() -> None:
    body = (
        "\nBegin forwarded message:\n\n"
        "From: IIMS <events@iims.org.uk>\n"
        "Subject: Boat show ticket\n"
        "Date: 10 November 2026 at 09:00:00 GMT\n"
        "To: jane@example.com\n\n"
        "Your ticket for the Southampton boat show, 5 hours.\n"
    )
    assert parse(message(body)).body == "Your ticket for the Southampton boat show, 5 hours."


def test_a_reply_drops_the_quoted_thread_and_the_signature() -> None:
    body = (
        "It was 4 hours, not 3.\n\n"
        "Thanks,\nJane\n\n"
        "On Mon, 23 Nov 2026 at 10:00, CPD Claims <cpd@example.org>\n"
        "wrote:\n"
        "> Here is what we understood: boat show, 3 hours.\n"
        "> Reply to correct it.\n"
    )
    assert parse(message(body)).body == "It was 4 hours, not 3."
    signed = "Webinar 1 hour today\n-- \nJane Surveyor MIIMS\nSurveyor, Example Marine Ltd\n"
    assert parse(message(signed)).body == "Webinar 1 hour today"


def test_an_outlook_reply_drops_the_original_message() -> None:
    body = (
        "Conference in Bristol, 7 hours on 20 Nov.\n\n"
        "Kind regards,\nJane Surveyor\nExample Marine Ltd | +44 1234 567890\n\n"
        "________________________________\n"
        "From: CPD Claims <cpd@example.org>\n"
        "Sent: Monday, November 23, 2026 9:00 AM\n"
        "To: Jane Surveyor <jane@example.com>\n"
        "Subject: RE: CPD claim\n\n"
        "Your claim was received.\n"
    )
    assert parse(message(body)).body == "Conference in Bristol, 7 hours on 20 Nov."
    old = "Two hours reading.\n\n-----Original Message-----\nFrom: a@b.c\nSent: x\n\nquoted\n"
    assert parse(message(old)).body == "Two hours reading."


def test_an_outlook_forward_keeps_the_forwarded_content() -> None:
    body = (
        "________________________________\n"
        "From: IIMS Events <events@iims.org.uk>\n"
        "Sent: 12 November 2026 17:00\n"
        "To: Jane Surveyor\n"
        "Subject: FW: Attendance confirmed\n\n"
        "You attended the marine engines seminar, 3 hours.\n"
    )
    assert parse(message(body)).body == "You attended the marine engines seminar, 3 hours."


def test_cleaning_never_drops_the_claim_itself() -> None:
    assert clean_body("Thanks,\nJane") == "Thanks,\nJane"
    assert clean_body("> 3 hours boat show") == "3 hours boat show"
    assert clean_body("On Monday I went to the boat show for 4 hours.") == (
        "On Monday I went to the boat show for 4 hours."
    )
    long_tail = "Regards,\n" + "\n".join(f"Line {n} of my claim about the course" for n in range(8))
    assert clean_body("Course\n" + long_tail) == "Course\n" + long_tail


def test_a_calendar_invite_a_vcard_and_a_signature_logo_are_not_evidence() -> None:
    msg = MIMEMultipart("mixed")
    msg["From"] = "jane@example.com"
    msg["Subject"] = "Course"
    related = MIMEMultipart("related")
    alternative = MIMEMultipart("alternative")
    alternative.attach(MIMEText("Course 2 hours today", "plain"))
    alternative.attach(MIMEText('<p>Course 2 hours today</p><img src="cid:logo@x">', "html"))
    related.attach(alternative)
    logo = MIMEImage(b"\x89PNG\r\n\x1a\n" + b"\0" * 30_000, "png")
    logo.add_header("Content-ID", "<logo@x>")
    related.attach(logo)
    tiny = MIMEImage(b"\x89PNG\r\n\x1a\n" + b"\0" * 500, "png")
    tiny.add_header("Content-ID", "<facebook@x>")
    related.attach(tiny)
    msg.attach(related)
    for part, name in (
        (MIMEText("BEGIN:VCALENDAR\nEND:VCALENDAR", "calendar"), "invite.ics"),
        (MIMEText("BEGIN:VCARD\nEND:VCARD", "vcard"), "jane.vcf"),
        (MIMEApplication(b"\x78\x9f\x3e\x22", "ms-tnef"), "winmail.dat"),
        (MIMEApplication(b"TNEF", "octet-stream"), "winmail.dat"),
        (MIMEText("This e-mail is confidential.", "plain"), "disclaimer.txt"),
        (MIMEImage(JPEG, "jpeg"), "photo.jpg"),
    ):
        part.add_header("Content-Disposition", "attachment", filename=name)
        msg.attach(part)
    parsed = parse(msg)
    assert [a.name for a in parsed.attachments] == ["photo.jpg"]
    assert parsed.body == "Course 2 hours today"


def test_office_documents_and_generic_types_by_extension_are_evidence() -> None:
    msg = message("Reflection attached")
    msg.add_attachment(
        b"PK\x03\x04docx",
        maintype="application",
        subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
        filename="reflection.docx",
    )
    msg.add_attachment(b"\0\0\0\x18ftypheic", "application", "octet-stream", filename="a.HEIC")
    msg.add_attachment(b"binary", "application", "octet-stream", filename="setup.exe")
    types = [a.content_type for a in parse(msg).attachments]
    assert types == [
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "image/heic",
    ]


def test_a_hostile_file_name_is_only_a_display_name() -> None:
    msg = message("Photo")
    msg.add_attachment(JPEG, maintype="image", subtype="jpeg", filename="../../etc/passwd")
    msg.add_attachment(JPEG, maintype="image", subtype="jpeg", filename="a\x07b\x1b.jpg")
    names = [a.name for a in parse(msg).attachments]
    assert names == ["../../etc/passwd", "ab.jpg"]


def test_a_mail_with_no_from_is_malformed() -> None:
    msg = message()
    del msg["From"]
    with pytest.raises(MalformedMail, match="From"):
        parse(msg)
    with pytest.raises(MalformedMail):
        parse(message(From="undisclosed-recipients:;"))
    with pytest.raises(MalformedMail):
        parse_mail(b"")
    with pytest.raises(MalformedMail):
        parse_mail(b"\x00\xff garbage without any header at all")


MALFORMED = {
    "broken boundary": (
        b"From: jane@example.com\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="abc"\r\n\r\n'
        b"--abc\r\nContent-Type: text/plain\r\n\r\nCourse 3 hours\r\n--abX\r\n"
        b"Content-Type: image/jpeg\r\nContent-Transfer-Encoding: base64\r\n\r\n/9j/4AAQ\r\n"
    ),
    "bad base64": (
        b"From: jane@example.com\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"Q291cnNlIDMgaG91cnM=!!!%%%not base64***\r\n"
    ),
    "missing headers": b"From: jane@example.com\r\n\r\nCourse 3 hours\r\n",
    "8-bit garbage": (
        b"From: \xff\xfe Jane \xc3 <jane@example.com>\r\nSubject: \xe9t\xe9 \x80\x81\r\n"
        b"Content-Type: text/plain; charset=no-such-charset\r\n\r\nCourse 3 hours \xff\xfe\xa0\r\n"
    ),
    "no body, no boundary": (b"From: jane@example.com\r\nContent-Type: multipart/mixed\r\n\r\n"),
    "bad encoded words": (
        b"From: =?utf-8?q?J=C3=A9?= =?bogus?x?zz?= <jane@example.com>\r\n"
        b"Subject: =?utf-8?b?!!!?=\r\nMessage-ID:   <a b@c>  \r\nDate: not a date\r\n\r\nhi\r\n"
    ),
}


@pytest.mark.parametrize("raw", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_mime_does_not_crash(raw: bytes) -> None:
    parsed = parse_mail(raw)
    assert parsed.sender == "jane@example.com"
    intake = to_intake(parsed, raw, RECEIVED)
    assert intake.source_key.startswith("email:")


def test_malformed_mime_keeps_what_can_be_read() -> None:
    assert parse_mail(MALFORMED["broken boundary"]).body.startswith("Course 3 hours")
    assert "Course" in parse_mail(MALFORMED["8-bit garbage"]).body
    assert parse_mail(MALFORMED["bad encoded words"]).message_id == "<ab@c>"


AUTOMATIC = {
    "auto-submitted": {"Auto_Submitted": "auto-replied"},
    "precedence bulk": {"Precedence": "bulk"},
    "precedence list": {"Precedence": "list"},
    "x-autoreply": {"X_Autoreply": "yes"},
    "mailer-daemon": {"From": "Mail Delivery System <MAILER-DAEMON@mx.example.com>"},
    "empty return-path": {"Return_Path": "<>"},
}


@pytest.mark.parametrize("headers", AUTOMATIC.values(), ids=AUTOMATIC.keys())
def test_auto_replies_and_bounces_are_flagged(headers: dict[str, str]) -> None:
    parsed = parse(message("I am out of the office until Monday.", **headers))
    assert parsed.automatic
    assert to_intake(parsed, b"raw", RECEIVED).automatic is True


def test_ordinary_mail_is_not_automatic() -> None:
    headers = {"Auto_Submitted": "no", "Return_Path": "<jane@example.com>"}
    assert not parse(message(**headers)).automatic


def test_without_a_message_id_the_key_is_the_hash_of_the_raw_bytes() -> None:
    msg = message()
    del msg["Message-ID"]
    raw = msg.as_bytes(policy=SMTP)
    parsed = parse_mail(raw)
    assert parsed.message_id is None
    intake = to_intake(parsed, raw, RECEIVED)
    assert intake.source_key == "email:sha256:" + hashlib.sha256(raw).hexdigest()
    assert intake.thread is not None and intake.thread.references is None


def test_threading_headers_are_carried_into_the_intakes_thread() -> None:
    msg = message(
        Message_ID=" <reply2@example.com> ",
        In_Reply_To="<r1@cpd.example.org>",
        References="<m0@example.com>   <r1@cpd.example.org>",
    )
    parsed = parse(msg)
    assert parsed.in_reply_to == "<r1@cpd.example.org>"
    assert parsed.references == "<m0@example.com> <r1@cpd.example.org>"
    thread = to_intake(parsed, b"raw", RECEIVED).thread
    assert thread is not None and thread.message_id == "<reply2@example.com>"
    assert thread.references == "<m0@example.com> <r1@cpd.example.org> <reply2@example.com>"
    assert thread.answers == () and not thread.reminder


def test_a_very_long_message_id_still_fits_the_key_column() -> None:
    parsed = parse(message(Message_ID="<" + "x" * 400 + "@example.com>"))
    key = to_intake(parsed, b"raw", RECEIVED).source_key
    assert key.startswith("email:mid-sha256:") and len(key) <= 255


def test_a_naive_received_at_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        to_intake(parse(message()), b"raw", dt.datetime(2026, 11, 23, 10, 0))


def test_a_ten_megabyte_body_is_bounded() -> None:
    body = "Boat show 5 hours.\n" + ("padding " * 16 + "\n") * 80_000
    msg = message(body)
    raw = msg.as_bytes(policy=SMTP)
    assert len(raw) > 10_000_000
    started = time.perf_counter()
    parsed = parse_mail(raw)
    elapsed = time.perf_counter() - started
    assert len(parsed.body) <= 20_000 and parsed.body.startswith("Boat show 5 hours.")
    assert elapsed < 5, elapsed


def test_a_structured_claim_with_from_and_date_lines_is_not_a_quote() -> None:
    body = "Course: hull survey\nFrom: 09:00\nTo: 17:00\nDate: 12 Nov 2026"
    assert clean_body(body) == body


def test_a_reply_that_only_quotes_the_thread_has_an_empty_body() -> None:
    body = "On Mon, 23 Nov 2026, CPD <cpd@example.org> wrote:\n> Boat show, 3 hours.\n"
    assert clean_body(body) == ""


def _sample_mail() -> bytes:
    msg = message("Course 3 hours\n\nOn Mon, x wrote:\n> quoted")
    msg.add_alternative("<p>Course <b>3</b> hours</p><blockquote>q</blockquote>", subtype="html")
    msg.add_attachment(make_pdf(["Certificate 3 hours"]), "application", "pdf", filename="c.pdf")
    msg.add_attachment(JPEG[:3000], "image", "jpeg", filename="p.jpg")
    return msg.as_bytes(policy=SMTP)


SAMPLE = _sample_mail()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(SAMPLE) - 1), st.integers(0, 255)), max_size=40))
def test_mangled_mail_parses_or_is_malformed_never_crashes(edits: list[tuple[int, int]]) -> None:
    raw = bytearray(SAMPLE)
    for position, value in edits:
        raw[position] = value
    try:
        parsed = parse_mail(bytes(raw))
    except MalformedMail:
        return
    to_intake(parsed, bytes(raw), RECEIVED)


def test_a_bounce_by_smtp_is_automatic_once_the_return_path_is_recorded() -> None:
    from email.message import EmailMessage

    from cpd.mail_ingest.parse import parse_mail
    from cpd.mail_ingest.smtp_server import with_return_path

    message = EmailMessage()
    message["From"] = "Jane@Example.com"
    message["Subject"] = "Undelivered: your receipt"
    message.set_content("could not deliver")
    raw = bytes(message)
    assert not parse_mail(with_return_path(raw, "jane@example.com")).automatic
    assert parse_mail(with_return_path(raw, "")).automatic
    stamped = with_return_path(raw, "jane@example.com")
    # the product's own line always goes on top: a Return-Path the sender wrote is not read
    restamped = with_return_path(stamped, "other@example.com")
    assert restamped == b"Return-Path: <other@example.com>\r\n" + stamped
