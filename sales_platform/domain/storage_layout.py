"""Where everything lives in the bucket: the same keys on a laptop and on S3."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, fields

# `store_0001_2025-11-27.json` kept as `store_0001_2025-11-27.20251128T010203Z.json`: the original
# name with the UTC time that version was stored, before its extension (so its format still shows).
_KEPT = re.compile(r"(?P<stem>.+)\.\d{8}T\d{6}(?:\.\d{6})?Z(?P<extension>\.[^.]*)?", re.DOTALL)


def _stamp(moment: dt.datetime) -> str:
    moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y%m%dT%H%M%S") + (f".{moment.microsecond:06d}" if moment.microsecond else "") + "Z"


def kept_version_name(file_name: str, stored_at: dt.datetime) -> str:
    """The name an earlier version of `file_name` is kept under once a newer one takes its place."""
    stem, dot, extension = file_name.rpartition(".")
    if not stem:
        return f"{file_name}.{_stamp(stored_at)}"
    return f"{stem}.{_stamp(stored_at)}{dot}{extension}"


def original_name(file_name: str) -> str:
    """The name a kept version was stored under first (the name itself when it is no kept version)."""
    match = _KEPT.fullmatch(file_name)
    return match["stem"] + (match["extension"] or "") if match else file_name


@dataclass(frozen=True)
class StorageLayout:
    """Every prefix of the bucket (each one a setting, these are the defaults) and the keys below
    them."""

    upload_prefix: str = "uploads/"  # the inbox
    processed_prefix: str = "processed/"  # validated line items, Hive layout
    rejected_prefix: str = "rejected/"  # refused files and their reports
    archive_prefix: str = "archive/"  # accepted originals once they leave the inbox
    analysis_prefix: str = "analysis/"  # the daily analysis' working documents
    reports_prefix: str = "reports/"  # every daily report as sent
    quicksight_prefix: str = "quicksight/"  # the BI export

    @classmethod
    def of(cls, source: object) -> StorageLayout:
        """The layout whose prefixes `source` names by the same names (the settings, or the
        configuration the assets get)."""
        return cls(**{field.name: getattr(source, field.name) for field in fields(cls)})

    @property
    def download_prefixes(self) -> tuple[str, ...]:
        """What the API hands out download links for: results, never the inbox or the archive."""
        return (self.processed_prefix, self.rejected_prefix, self.reports_prefix, self.quicksight_prefix)

    def upload_key(self, file_name: str) -> str:
        return f"{self.upload_prefix}{file_name}"

    def processed_key(self, business_date: dt.date, store_id: str) -> str:
        """Hive-style, so Athena, Glue and DuckDB read the partitions from the path."""
        return (
            f"{self.processed_prefix}year={business_date:%Y}/month={business_date:%m}/day={business_date:%d}/"
            f"store_id={store_id}/data.parquet"
        )

    def rejected_key(self, file_name: str) -> str:
        """The latest refused version of a name; earlier ones are kept beside it under
        `kept_version_name`."""
        return f"{self.rejected_prefix}{file_name}"

    def rejection_report_key(self, file_name: str) -> str:
        return f"{self.rejected_prefix}{file_name}.error.json"

    def archive_key(self, file_name: str) -> str:
        """Where an accepted upload's original bytes are kept once it leaves the inbox: the day's
        latest original at its own name, the ones it replaced under `kept_version_name`."""
        return f"{self.archive_prefix}{file_name}"

    def analysis_document_key(self, business_date: dt.date, name: str) -> str:
        """A working document one analysis step leaves for the next (`anomalies`, `store_products`...)."""
        return f"{self.analysis_prefix}{business_date.isoformat()}/{name}.json"

    def file_name(self, key: str) -> str:
        return key.rsplit("/", 1)[-1]

    # ------------------------------------------------------------------ what the inbox holds

    def hidden_in_inbox(self, key: str) -> bool:
        """A file of another program's making: a name, or a folder on its way, starting with a
        dot (an editor's swap file, rsync's or a script's temporary file before its rename)."""
        return any(part.startswith(".") for part in key[len(self.upload_prefix) :].split("/"))

    def in_inbox_subfolder(self, key: str) -> bool:
        """Uploads go at the top of the inbox; anything deeper is refused with that reason."""
        return key.startswith(self.upload_prefix) and "/" in key[len(self.upload_prefix) :]
