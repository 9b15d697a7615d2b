"""Store-day assets: an upload becomes validated Parquet (`store_sales`), then store metrics in
the table (`store_metrics`). Both are partitioned by business day and store."""


import datetime as dt

import dagster as dg
from pydantic import Field
import duckdb
import pyarrow.compute as pc

from sales_platform.defs.partitions import store_and_day, store_days
from sales_platform.defs.upload_intake import (
    SOURCE_FILE_KEY,
    SOURCE_VERSION_KEY,
    accept,
    find_upload,
    read_line_items,
    refuse,
)
from sales_platform.domain.money import to_cents
from sales_platform.domain.store_metrics import compute_store_metrics
from sales_platform.domain.table_items import store_day_key, store_day_summary_item, upload_tracking_item
from sales_platform.domain.upload_contract import FIELDS, Problem, Refusal, parse_upload_name
from sales_platform.domain.upload_validation import UploadRefused, validate_upload
from sales_platform.resources.metrics_table import MetricsTable
from sales_platform.resources.object_store import ObjectStore
from sales_platform.settings import Settings

INGEST_GROUP = "ingest"
# Storage and network hiccups pass; a refused file or a missing upload does not, and raises
# Failure(allow_retries=False) instead.
TRANSIENT_RETRIES = dg.RetryPolicy(max_retries=3, delay=1, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)


class StoreSalesConfig(dg.Config):
    upload_key: str = Field(
        default="",
        description="Bucket key of the upload to process. Empty: the newest upload for the partition in the "
        "inbox, else its archived original.",
    )


def _problems_table(refusal: Refusal, limit: int = 20) -> str:
    rows = ["| row | field | problem |", "| --- | --- | --- |"]
    for problem in refusal.problems[:limit]:
        message = problem.message.replace("|", "\\|")
        where = problem.row if problem.row is not None else (f"line {problem.line}" if problem.line else "")
        rows.append(f"| {where} | {problem.field or ''} | {message} |")
    if refusal.problem_count > limit:
        rows.append(f"| | | and {refusal.problem_count - limit} more |")
    return "\n".join(rows)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def build_ingest_assets(settings: Settings) -> tuple[list[dg.AssetsDefinition], list[dg.AssetChecksDefinition]]:
    layout = settings.storage_layout
    rules = settings.validation_rules
    partitions = store_days(settings)

    @dg.asset(
        partitions_def=partitions,
        group_name=INGEST_GROUP,
        kinds={"parquet", "duckdb"},
        output_required=False,
        retry_policy=TRANSIENT_RETRIES,
        description="The store's validated line items for the day, as Parquet under processed/. A refused upload "
        "moves to rejected/ with its reasons, and the partition keeps its last accepted data.",
    )
    def store_sales(context: dg.AssetExecutionContext, config: StoreSalesConfig, bucket: dg.ResourceParam[ObjectStore]):
        store_id, day = store_and_day(context.partition_key)
        info = find_upload(bucket, layout, store_id, day, config.upload_key or None)
        if info is None:
            raise dg.Failure(
                description=f"no upload for store {store_id} on {day}: nothing named store_{store_id}_{day}.json "
                f"(or .jsonl, .ndjson, .csv) under {layout.upload_prefix} or {layout.archive_prefix}",
                allow_retries=False,
            )
        upload = parse_upload_name(info.name)
        if (upload.store_id, upload.business_date) != (store_id, day):
            raise dg.Failure(description=f"{info.key} belongs to another partition", allow_retries=False)
        context.log.info(f"validating {info.key} ({info.size:,} bytes)")
        try:
            if info.size > settings.max_upload_bytes:
                raise UploadRefused(
                    Refusal(
                        [Problem(f"the file has {info.size:,} bytes, over the {settings.max_upload_bytes:,}-byte limit")], 1
                    )
                )
            with bucket.local_copy(info.key) as path:
                line_items = validate_upload(path, upload, rules)
        except UploadRefused as refused:
            if info.key.startswith(layout.archive_prefix):
                raise dg.Failure(
                    description=f"the archived original {info.key} no longer passes validation: {refused.refusal.summary}",
                    allow_retries=False,
                ) from None
            rejected_key, report_key = refuse(bucket, layout, info, refused.refusal, upload, _now())
            context.log.warning(f"refused {info.key}: {refused.refusal.summary}; moved to {rejected_key}")
            context.log_event(
                dg.AssetObservation(
                    asset_key=context.asset_key,
                    partition=context.partition_key,
                    metadata={
                        "status": "rejected",
                        "upload": info.key,
                        "rejected_key": rejected_key,
                        "error_report": report_key,
                        "problem_count": refused.refusal.problem_count,
                        "summary": refused.refusal.summary,
                        "problems": dg.MetadataValue.md(_problems_table(refused.refusal)),
                    },
                )
            )
            return
        accepted = accept(bucket, layout, info, upload, line_items)
        net = pc.sum(line_items.column("line_total")).as_py() - pc.sum(line_items.column("discount_amount")).as_py()
        context.log.info(f"accepted {info.key}: {accepted.rows:,} lines -> {accepted.processed_key}")
        yield dg.MaterializeResult(
            metadata={
                "rows": accepted.rows,
                "bytes": accepted.bytes,
                "net_sales": float(to_cents(net)),
                "upload": info.key,
                "upload_version": info.version,
                "archived_as": accepted.archived_key,
                "path": dg.MetadataValue.path(accepted.processed_key),
            }
        )

    @dg.asset_check(asset=store_sales, description="The processed file holds at least one line.")
    def store_sales_has_rows(context: dg.AssetCheckExecutionContext, bucket: dg.ResourceParam[ObjectStore]):
        store_id, day = store_and_day(context.partition_key)
        line_items, _ = read_line_items(bucket, layout.processed_key(day, store_id))
        return dg.AssetCheckResult(passed=line_items.num_rows > 0, metadata={"rows": line_items.num_rows})

    @dg.asset_check(asset=store_sales, description="No line appears twice in the processed file.")
    def store_sales_has_no_duplicate_lines(
        context: dg.AssetCheckExecutionContext, bucket: dg.ResourceParam[ObjectStore]
    ):
        store_id, day = store_and_day(context.partition_key)
        line_items, _ = read_line_items(bucket, layout.processed_key(day, store_id))
        connection = duckdb.connect()
        try:
            connection.register("lines", line_items)
            repeated = connection.execute(
                f"SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM lines GROUP BY {', '.join(FIELDS)})"
            ).fetchone()[0]
        finally:
            connection.close()
        return dg.AssetCheckResult(passed=repeated == 0, metadata={"duplicate_lines": int(repeated)})

    @dg.asset(
        partitions_def=partitions,
        deps=[store_sales],
        group_name=INGEST_GROUP,
        kinds={"duckdb", "sqlite" if settings.resolved_table_backend == "sqlite" else "dynamodb"},
        retry_policy=TRANSIENT_RETRIES,
        description="The store's day in numbers (gross, discounts, net, distinct transactions, units, top "
        "products, net payment mix), written to the table as the store-day summary and the upload tracking item.",
    )
    def store_metrics(
        context: dg.AssetExecutionContext,
        bucket: dg.ResourceParam[ObjectStore],
        table: dg.ResourceParam[MetricsTable],
    ) -> dg.MaterializeResult:
        store_id, day = store_and_day(context.partition_key)
        processed_key = layout.processed_key(day, store_id)
        line_items, origin = read_line_items(bucket, processed_key)
        metrics = compute_store_metrics(line_items)
        source_file = origin.get(SOURCE_FILE_KEY, b"").decode()
        now = _now()
        table.put_items(
            [
                store_day_summary_item(
                    store_id, day, metrics, source_file=source_file, processed_key=processed_key, processed_at=now
                ),
                upload_tracking_item(
                    store_id,
                    day,
                    source_file=source_file,
                    source_version=origin.get(SOURCE_VERSION_KEY, b"").decode(),
                    rows=metrics.line_item_count,
                    processed_at=now,
                ),
            ]
        )
        top = ["| sku | product | units | net revenue |", "| --- | --- | ---: | ---: |"] + [
            f"| {p.sku} | {p.name} | {p.units} | {to_cents(p.net_revenue)} |" for p in metrics.top_products
        ]
        return dg.MaterializeResult(
            metadata={
                "net_sales": float(to_cents(metrics.net_sales)),
                "total_sales": float(to_cents(metrics.total_sales)),
                "total_discount": float(to_cents(metrics.total_discount)),
                "transaction_count": metrics.transaction_count,
                "line_item_count": metrics.line_item_count,
                "item_count": metrics.item_count,
                "avg_transaction": float(to_cents(metrics.avg_transaction)),
                "top_products": dg.MetadataValue.md("\n".join(top)),
            }
        )

    @dg.asset_check(asset=store_metrics, description="Net sales never exceed gross sales in the stored summary.")
    def store_metrics_net_within_gross(context: dg.AssetCheckExecutionContext, table: dg.ResourceParam[MetricsTable]):
        store_id, day = store_and_day(context.partition_key)
        item = table.get_item(*store_day_key(store_id, day))
        if item is None:
            return dg.AssetCheckResult(passed=False, metadata={"reason": "no store-day summary in the table"})
        return dg.AssetCheckResult(
            passed=item["net_sales"] <= item["total_sales"] and item["total_discount"] >= 0,
            metadata={"net_sales": float(item["net_sales"]), "total_sales": float(item["total_sales"])},
        )

    return [store_sales, store_metrics], [store_sales_has_rows, store_sales_has_no_duplicate_lines, store_metrics_net_within_gross]
