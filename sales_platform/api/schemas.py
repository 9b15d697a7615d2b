"""Request and response shapes, as the OpenAPI document shows them.

The field names are those of the legacy API contract (`legacy-api-openapi.yaml`) that the
dashboard and the store upload scripts already use; fields after them are additions.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from sales_platform.domain.insight_levels import Level, Severity


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
    partitions: dict[str, str] | None = Field(
        None, description="year, month, day, store_id and date of a processed file."
    )
    error: str | None = Field(
        None, description="Why a rejected file was refused (the first problem, and how many more)."
    )
    error_report_key: str | None = None
    problem_count: int | None = None
    refusal_status: str | None = Field(None, description="rejected, or superseded once a corrected file was accepted.")
    rejected_at: str | None = None
    superseded_by: str | None = None


class FilesResponse(BaseModel):
    files: list[FileEntry]
    count: int


# --------------------------------------------------------------------------- GET /analytics
#
# Field names the dashboard reads (contracts/dashboard-fields.md) sit beside the platform's own.
# Items keep the attributes the table gives them (docs/table-items.md), hence extra="allow".

Money = float
Direction = Literal["increasing", "decreasing", "stable", "insufficient_data"]


class PaymentBreakdown(BaseModel):
    """Net amount per payment method; every method of the upload contract, 0 when unused."""

    model_config = ConfigDict(extra="forbid")

    cash: Money
    credit: Money
    debit: Money
    gift_card: Money
    mobile: Money


class StoreNetSales(BaseModel):
    store_id: str
    net_sales: Money


class Kpis(BaseModel):
    total_sales: Money = Field(description="Gross sales of the day (sum of line_total).")
    total_transactions: int = Field(
        description="Distinct transactions of the day (the old API counted line items; see README)."
    )
    total_items: int = Field(description="Units sold (sum of quantity); the same as item_count.")
    avg_transaction: Money = Field(description="Net sales per transaction.")
    store_count: int = Field(description="Stores that reported that day; the same as stores_reported.")
    payment_breakdown: PaymentBreakdown
    total_discount: Money
    net_sales: Money = Field(description="Gross sales less discounts.")
    transaction_count: int = Field(description="Distinct transactions; the same as total_transactions.")
    line_item_count: int
    item_count: int
    avg_net_sales_per_store: Money
    stores_reported: int
    stores_expected: int
    reported_stores: list[str]
    missing_stores: list[str] = Field(description="Expected stores without a file that day.")
    best_store: StoreNetSales | None = Field(description="Highest net sales (ties: lower store id).")
    worst_store: StoreNetSales | None = Field(description="Lowest net sales (ties: lower store id).")


class StoreTopProduct(BaseModel):
    sku: str
    name: str
    units: int
    net_revenue: Money


class StoreDayRow(BaseModel):
    """One reporting store's day, as its store-day summary holds it."""

    model_config = ConfigDict(extra="allow")

    store_id: str
    date: str
    total_sales: Money = Field(description="Gross.")
    total_discount: Money
    net_sales: Money
    transaction_count: int = Field(description="Distinct transactions.")
    line_item_count: int
    item_count: int = Field(description="Units sold.")
    unique_customers: int
    avg_transaction: Money = Field(description="Net per transaction.")
    payment_breakdown: PaymentBreakdown
    top_products: list[StoreTopProduct] = Field(description="The store's 5 best products by net revenue.")
    first_sale_at: str | None
    last_sale_at: str | None
    source_file: str
    processed_key: str
    processed_at: str


class TopProduct(BaseModel):
    model_config = ConfigDict(extra="allow")

    sku: str
    name: str
    units_sold: int = Field(description="Units sold by every store that day; the same as units.")
    revenue: Money = Field(description="Net revenue; the same as net_revenue.")
    units: int
    gross_revenue: Money
    net_revenue: Money
    stores_sold: int
    rank: int = Field(description="1 = highest net revenue of the day.")
    date: str


class InsightFields(BaseModel):
    model_config = ConfigDict(extra="allow")

    date: str
    insight_type: Literal["anomaly", "trend", "recommendation"]
    insight_id: str = Field(description="Stable id: the same insight keeps it when the analysis runs again.")
    engine: Literal["rules", "bedrock"] = Field(description="Who wrote the text.")
    written_at: str
    title: str
    description: str


class AnomalyInsight(InsightFields):
    type: str
    severity: Severity
    store_id: str
    metric_value: Money
    historical_average: Money | None
    deviation_percent: Money | None


class TrendInsight(InsightFields):
    trend_type: str = Field(description="The badge: the same as type.")
    type: str
    significance: Level
    trend_direction: Literal["up", "down", "flat"]
    metric_change_percent: float
    affected_items: list[str]


class RecommendationInsight(InsightFields):
    priority: Level
    category: Literal["inventory", "marketing", "operations", "strategy"]
    expected_impact: str
    affected_stores: list[str]
    affected_products: list[str]


class AnalysisState(BaseModel):
    status: Literal["complete", "pending", "outdated"] = Field(
        description="complete: the analysis covers the stores shown; outdated: a store reported after it ran."
    )
    trigger: str | None
    analyzed_at: str | None
    stores_analyzed: list[str]


class AnalyticsResponse(BaseModel):
    message: str | None = Field(None, description="Only when there is no data at all: 'No data available'.")
    date: str | None = Field(description="The day shown (null only when there is no data at all).")
    requested_date: str | None = Field(
        description="The day asked for; when it differs from date, that day had no data and the latest one is shown."
    )
    available_dates: list[str] = Field(description="Days with data, newest first.")
    kpis: Kpis
    stores: list[StoreDayRow] = Field(description="One row per reporting store, by store id.")
    top_products: list[TopProduct] = Field(description="The day's 10 best products by net revenue.")
    anomalies: list[AnomalyInsight] = Field(description="Most severe first.")
    trends: list[TrendInsight] = Field(description="Most significant first.")
    recommendations: list[RecommendationInsight] = Field(description="Highest priority first.")
    analysis: AnalysisState = Field(description="Whether the daily analysis has run for the stores shown.")


# --------------------------------------------------------------------------- GET /trends


class TimeSeriesPoint(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "patternProperties": {"^[0-9]{4}_(sales|transactions)$": {"type": "number"}},
            "additionalProperties": False,
        },
    )

    date: str
    total_sales: Money = Field(description="Gross sales of the stores shown.")
    total_transactions: int = Field(description="Distinct transactions.")
    reported_stores: list[str] = Field(
        description="Stores that sent a file that day; every other store of `stores` has 0 on this point."
    )


class DayNetSales(BaseModel):
    date: str
    net_sales: Money


class StoreTrend(BaseModel):
    store_id: str
    days_with_data: int = Field(description="Days of the window the store reported; the same as days_reported.")
    days_reported: int
    total_sales: Money = Field(description="Gross over the window.")
    total_discount: Money
    net_sales: Money
    total_transactions: int = Field(description="Distinct transactions over the window.")
    avg_daily_sales: Money = Field(description="Gross per reported day.")
    avg_daily_net_sales: Money
    avg_transaction: Money
    best_day: DayNetSales | None
    worst_day: DayNetSales | None
    trend_percent: float = Field(
        description="Change of gross daily sales over the window along a robust straight line (Theil-Sen), "
        "in percent of the average day; see README."
    )
    trend_direction: Direction


class ProductDayPoint(BaseModel):
    date: str
    units_sold: int
    revenue: Money = Field(description="Net revenue.")


class ProductTrend(BaseModel):
    sku: str
    name: str
    total_units_sold: int
    total_revenue: Money = Field(description="Net revenue over the window; the same as net_revenue.")
    avg_daily_units: float = Field(description="Per day of the window with product figures (analysed days).")
    avg_daily_revenue: Money
    days_sold: int
    trend_direction: Direction
    trend_percent: float = Field(description="As a store's trend_percent, on the product's daily net revenue.")
    daily_history: list[ProductDayPoint] = Field(description="One point per analysed day of the window, oldest first.")
    units: int
    gross_revenue: Money
    net_revenue: Money


class TrendsResponse(BaseModel):
    message: str | None = Field(None, description="Only when the window has no data: 'No data available'.")
    stores: list[str]
    dates: list[str] = Field(description="Days with data in the window, oldest first.")
    time_series: list[TimeSeriesPoint]
    store_summaries: list[StoreTrend]
    product_trends: list[ProductTrend] = Field(description="The 10 best products of the window by net revenue.")
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
