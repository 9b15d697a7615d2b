"""Daily reports kept in the bucket, and sent from there exactly once per content.

`reports/YYYY-MM-DD/` holds the report as built (`report.txt`, `report.html` with its charts
beside it, `report.json` describing them) and `deliveries.json`, the record of what went out
on which channel and when. Re-running a day replaces the report files but keeps the record,
so sending compares the new content hash with what each channel already received: unchanged
content is not sent again unless forced, changed content is, and a channel that failed last
time gets it on the next try while the channels that succeeded do not get it twice.

Everything is sent from the stored files, by the asset and by `sales-platform send-report`
alike, so what was sent is always what is stored.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sales_platform.domain.daily_report import DailyReport
from sales_platform.domain.outgoing_message import InlineImage, OutgoingMessage
from sales_platform.domain.utc_time import utc_now
from sales_platform.resources.notifier import DeliveryResult, Notifier
from sales_platform.resources.object_store import ObjectNotFound, ObjectStore

DESCRIPTION = "report.json"
DELIVERIES = "deliveries.json"


class ReportNotStored(LookupError):
    pass


@dataclass(frozen=True)
class ReportFolder:
    prefix: str
    day: dt.date

    @property
    def folder(self) -> str:
        return f"{self.prefix}{self.day.isoformat()}/"

    def key(self, file_name: str) -> str:
        return self.folder + file_name


@dataclass(frozen=True)
class DeliveryOutcome:
    status: str  # sent | unchanged | failed | partial
    content_hash: str
    result: DeliveryResult
    skipped: list[str]  # channels that already had this content

    def describe(self) -> str:
        if self.status == "unchanged":
            return f"already sent with this content to {', '.join(self.skipped)}; nothing sent"
        return self.result.summary()


def _write_json(bucket: ObjectStore, key: str, value: Any) -> None:
    bucket.write_bytes(
        key, json.dumps(value, indent=2, sort_keys=True).encode() + b"\n", content_type="application/json"
    )


def _read_json(bucket: ObjectStore, key: str) -> Any | None:
    try:
        return json.loads(bucket.read_bytes(key))
    except ObjectNotFound:
        return None


def store_report(bucket: ObjectStore, folder: ReportFolder, report: DailyReport) -> list[str]:
    """Write the report's files, the description last: a description in place means every file
    it names is there. Files of an earlier version that this one no longer has are removed."""
    written = []
    for chart in report.charts:
        bucket.write_bytes(folder.key(chart.file_name), chart.png, content_type="image/png")
        written.append(folder.key(chart.file_name))
    bucket.write_bytes(folder.key("report.html"), report.file_html.encode(), content_type="text/html; charset=utf-8")
    bucket.write_bytes(folder.key("report.txt"), report.text.encode(), content_type="text/plain; charset=utf-8")
    written += [folder.key("report.html"), folder.key("report.txt")]
    description = {
        "date": report.day.isoformat(),
        "subject": report.subject,
        "content_hash": report.content_hash,
        "recommendations_engine": report.engine,
        "text": "report.txt",
        "html": "report.html",
        "charts": [
            {"name": c.name, "file": c.file_name, "title": c.title, "content_id": c.content_id} for c in report.charts
        ],
        "built_at": utc_now(),
    }
    _write_json(bucket, folder.key(DESCRIPTION), description)
    written.append(folder.key(DESCRIPTION))
    keep = set(written) | {folder.key(DELIVERIES)}
    for info in list(bucket.list(folder.folder)):
        if info.key not in keep:
            bucket.delete(info.key)
    return written


def stored_message(bucket: ObjectStore, folder: ReportFolder) -> tuple[OutgoingMessage, str]:
    """The stored report as a message ready to send, and its content hash."""
    description = _read_json(bucket, folder.key(DESCRIPTION))
    if description is None:
        raise ReportNotStored(f"no report stored for {folder.day.isoformat()} under {folder.folder}")
    page = bucket.read_bytes(folder.key(description["html"])).decode()
    images = []
    for chart in description["charts"]:
        # The stored page points at the chart files beside it; the email at its inline parts.
        page = page.replace(f'src="{chart["file"]}"', f'src="cid:{chart["content_id"]}"')
        images.append(InlineImage(chart["content_id"], chart["file"], bucket.read_bytes(folder.key(chart["file"]))))
    message = OutgoingMessage(
        audience="report",
        subject=description["subject"],
        text=bucket.read_bytes(folder.key(description["text"])).decode(),
        html=page,
        images=tuple(images),
        name=f"report-{folder.day.isoformat()}",
        truncation_note=f"[The rest of this report is cut off here; the full report is in the bucket under {folder.folder}]",
    )
    return message, description["content_hash"]


def delivery_record(bucket: ObjectStore, folder: ReportFolder) -> dict[str, Any]:
    return _read_json(bucket, folder.key(DELIVERIES)) or {"date": folder.day.isoformat(), "sends": [], "alerts": {}}


def deliver_report(
    bucket: ObjectStore, notifier: Notifier, folder: ReportFolder, force: bool = False
) -> DeliveryOutcome:
    """Send the stored report to every channel that has not received this content yet (all of
    them with `force`) and record what went out."""
    message, content_hash = stored_message(bucket, folder)
    record = delivery_record(bucket, folder)
    had_it = {name for send in record["sends"] if send["content_hash"] == content_hash for name in send["channels"]}
    pending = [name for name in notifier.channel_names if force or name not in had_it]
    skipped = [name for name in notifier.channel_names if name not in pending]
    if not pending:
        return DeliveryOutcome("unchanged", content_hash, DeliveryResult(), skipped)
    result = notifier.send(message, only=pending)
    if result.delivered:
        reason = "forced" if force else ("changed" if record["sends"] else "first")
        record["sends"].append(
            {"content_hash": content_hash, "channels": result.delivered, "sent_at": utc_now(), "reason": reason}
        )
        _write_json(bucket, folder.key(DELIVERIES), record)
    status = "sent" if result.ok else ("partial" if result.delivered else "failed")
    return DeliveryOutcome(status, content_hash, result, skipped)


def alert_sent(bucket: ObjectStore, folder: ReportFolder, kind: str) -> bool:
    return kind in delivery_record(bucket, folder).get("alerts", {})


def record_alert(bucket: ObjectStore, folder: ReportFolder, kind: str, result: DeliveryResult) -> None:
    record = delivery_record(bucket, folder)
    record.setdefault("alerts", {})[kind] = {"sent_at": utc_now(), "channels": result.delivered}
    _write_json(bucket, folder.key(DELIVERIES), record)
