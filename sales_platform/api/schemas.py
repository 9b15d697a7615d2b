"""Request and response shapes, as the OpenAPI document shows them.

The field names are those of the legacy API contract (`legacy-api-openapi.yaml`) that the
dashboard and the store upload scripts already use; fields after them are additions.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Message(BaseModel):
    message: str = Field(description="What went wrong, in words a person can act on.")


class UploadUrlRequest(BaseModel):
    filename: str = Field(
        max_length=255, description="The store file's name: store_XXXX_YYYY-MM-DD.json (or .jsonl, .ndjson, .csv)."
    )


class UploadUrlResponse(BaseModel):
    uploadUrl: str = Field(description="PUT the file's bytes here, with no other header needed, before it expires.")
    key: str = Field(description="Where the file lands in the bucket.")
    expiresIn: int = Field(description="Seconds the URL stays valid.")
    method: Literal["PUT"] = "PUT"


class DownloadUrlRequest(BaseModel):
    key: str = Field(max_length=1024, description="Bucket key under processed/, rejected/, reports/ or quicksight/.")
    filename: str | None = Field(None, max_length=200, description="Name the browser saves the file as.")


class DownloadUrlResponse(BaseModel):
    downloadUrl: str
    key: str
    expiresIn: int
    filename: str


class FileEntry(BaseModel):
    model_config = ConfigDict(extra="allow")

    key: str
    name: str
    size: int
    last_modified: str = Field(description="ISO 8601, UTC.")
    status: Literal["processed", "rejected", "pending"]
    partitions: dict[str, str] | None = Field(None, description="year, month, day, store_id and date of a processed file.")
    error: str | None = Field(None, description="Why a rejected file was refused (the first problem, and how many more).")
    error_report_key: str | None = None
    problem_count: int | None = None
    refusal_status: str | None = Field(None, description="rejected, or superseded once a corrected file was accepted.")
    rejected_at: str | None = None
    superseded_by: str | None = None


class FilesResponse(BaseModel):
    files: list[FileEntry]
    count: int


class AnalyticsResponse(BaseModel):
    date: str
    available_dates: list[str] = Field(description="Days with data, newest first.")
    kpis: dict[str, Any]
    stores: list[dict[str, Any]]
    top_products: list[dict[str, Any]]
    anomalies: list[dict[str, Any]]
    trends: list[dict[str, Any]]
    recommendations: list[dict[str, Any]]
    analysis: dict[str, Any] = Field(description="Whether the daily analysis has run for the stores shown (complete, pending, outdated).")


class TrendsResponse(BaseModel):
    stores: list[str]
    dates: list[str] = Field(description="Days with data in the window, oldest first.")
    time_series: list[dict[str, Any]] = Field(
        description="Per date: date, total_sales, total_transactions, <store>_sales, <store>_transactions."
    )
    store_summaries: list[dict[str, Any]]
    product_trends: list[dict[str, Any]]
    days_requested: int
    available_dates: list[str]
    start_date: str | None
    end_date: str | None
    store_id: str | None


class HealthResponse(BaseModel):
    status: Literal["ok", "unavailable"]
    storage: Literal["ok", "unreachable"]
    table: Literal["ok", "unreachable"]
    storage_backend: str
    table_backend: str


class StoredObject(BaseModel):
    key: str
    size: int
