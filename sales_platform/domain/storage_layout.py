"""Where everything lives in the bucket: the same keys on a laptop and on S3."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class StorageLayout:
    upload_prefix: str = "uploads/"
    processed_prefix: str = "processed/"
    rejected_prefix: str = "rejected/"
    archive_prefix: str = "archive/"

    def upload_key(self, file_name: str) -> str:
        return f"{self.upload_prefix}{file_name}"

    def processed_key(self, business_date: dt.date, store_id: str) -> str:
        """Hive-style, so Athena, Glue and DuckDB read the partitions from the path."""
        return (
            f"{self.processed_prefix}year={business_date:%Y}/month={business_date:%m}/day={business_date:%d}/"
            f"store_id={store_id}/data.parquet"
        )

    def rejected_key(self, file_name: str) -> str:
        return f"{self.rejected_prefix}{file_name}"

    def rejection_report_key(self, file_name: str) -> str:
        return f"{self.rejected_prefix}{file_name}.error.json"

    def archive_key(self, file_name: str) -> str:
        """Where an accepted upload's original bytes are kept once it leaves the inbox."""
        return f"{self.archive_prefix}{file_name}"

    def file_name(self, key: str) -> str:
        return key.rsplit("/", 1)[-1]
