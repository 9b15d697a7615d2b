"""A message the platform sends (the daily report, an alert), and its shape on each channel.

Email gets multipart/alternative: a plain-text part and an HTML part whose charts travel as
inline images (multipart/related, referenced by Content-ID), so mail clients show the charts
without fetching anything. SNS carries only text with hard limits, so the text part is fitted
to them.
"""

from __future__ import annotations

import email.policy
import email.utils
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Literal, cast

Audience = Literal["report", "alert"]

# Amazon SNS: a message of at most 256 KiB, a subject under 100 characters, printable ASCII
# without line breaks.
SNS_MESSAGE_LIMIT_BYTES = 262_144
SNS_SUBJECT_LIMIT = 99
# RFC 5322's hard line limit instead of the advisory 78: subjects stay on one line and report
# text stays readable in the raw message (no quoted-printable for a long line).
EMAIL_POLICY = email.policy.default.clone(max_line_length=998)


@dataclass(frozen=True)
class InlineImage:
    content_id: str
    file_name: str
    png: bytes


@dataclass(frozen=True)
class OutgoingMessage:
    audience: Audience
    subject: str
    text: str
    html: str | None = None
    images: tuple[InlineImage, ...] = field(default=())
    # Names the message in file names and logs: `report-2025-11-27`, `alert-run-1a2b3c4d`.
    name: str = "message"
    # Said in place of whatever a size-limited channel had to cut off.
    truncation_note: str = "[The rest is cut off here; the full message went out by email.]"


def to_email(message: OutgoingMessage, sender: str, recipients: list[str]) -> EmailMessage:
    mail = EmailMessage(policy=EMAIL_POLICY)
    mail["Subject"] = message.subject
    mail["From"] = sender
    mail["To"] = ", ".join(recipients) if recipients else "undisclosed-recipients:;"
    mail["Date"] = email.utils.formatdate(localtime=False, usegmt=True)
    domain = sender.rsplit("@", 1)[-1].rstrip(">") or "sales-platform"
    mail["Message-ID"] = email.utils.make_msgid(idstring=message.name, domain=domain)
    mail.set_content(message.text)
    if message.html is not None:
        mail.add_alternative(message.html, subtype="html")
        html_part = cast(list[EmailMessage], mail.get_payload())[-1]
        for image in message.images:
            html_part.add_related(
                image.png, maintype="image", subtype="png", cid=f"<{image.content_id}>", filename=image.file_name
            )
    return mail


def _ascii_line(text: str) -> str:
    cleaned = "".join(ch if 32 <= ord(ch) < 127 else " " for ch in text.replace("\u2013", "-").replace("\u2014", "-"))
    return " ".join(cleaned.split())


def sns_subject(subject: str) -> str:
    line = _ascii_line(subject) or "Sales platform"
    return line if len(line) <= SNS_SUBJECT_LIMIT else line[: SNS_SUBJECT_LIMIT - 3].rstrip() + "..."


def sns_body(message: OutgoingMessage) -> str:
    """The text part, cut at a line boundary with a note when it would not fit in one SNS
    message (email subscribers of a topic receive exactly this)."""
    text = message.text
    if len(text.encode("utf-8")) <= SNS_MESSAGE_LIMIT_BYTES:
        return text
    note = "\n" + message.truncation_note + "\n"
    budget = SNS_MESSAGE_LIMIT_BYTES - len(note.encode("utf-8"))
    head = text.encode("utf-8")[:budget].decode("utf-8", errors="ignore")
    if "\n" in head:
        head = head[: head.rindex("\n")]
    return head + note
