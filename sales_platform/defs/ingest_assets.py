"""Store-day assets: an upload becomes validated Parquet (`store_sales`), then store metrics in
the table (`store_metrics`), both partitioned by business day and store.

Two ways in, one piece of work (`services.store_day_ingest`):

* `ingest_store_uploads`, the job the upload sensor starts: every file a sensor tick found, in
  one run (one process locally, one task on ECS). Each store-day still gets its own
  materializations, metadata and check results in the UI, logged as it is done; one bad file
  never stops the others.
* materializing a partition by hand (UI, backfill, re-execution): the newest upload for that
  store-day in the inbox, else its archived original.

Both write and record a store-day completely before its original leaves the inbox, so a run
killed at any moment is simply done again.
"""


import datetime as dt
from collections.abc import Iterator

import dagster as dg
from pydantic import Field

from sales_platform.defs.partitions import store_and_day, store_day_key, store_days
from sales_platform.domain.money import to_cents
from sales_platform.resources.metrics_table import MetricsTable
from sales_platform.resources.object_store import ObjectStore
from sales_platform.services.store_day_ingest import Accepted, Refused, finish_upload, ingest_upload
from sales_platform.services.upload_intake import find_upload
from sales_platform.settings import Settings

INGEST_GROUP = "ingest"
INGEST_JOB = "ingest_store_uploads"
INGEST_OP = "ingest_uploads"
STORE_SALES = dg.AssetKey("store_sales")
STORE_METRICS = dg.AssetKey("store_metrics")
UPLOAD_ACCEPTED = "store_sales_upload_accepted"
NET_WITHIN_GROSS = "store_metrics_net_within_gross"
PROBLEMS_SHOWN = 20


class IngestUploadsConfig(dg.Config):
    uploads: list[str] = Field(description="Bucket keys of the uploads to process, in this order.")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _problems_table(refused: Refused) -> str:
    rows = ["| row | field | problem |", "| --- | --- | --- |"]
    for problem in refused.refusal.problems[:PROBLEMS_SHOWN]:
        message = problem.message.replace("|", "\\|")
        where = problem.row if problem.row is not None else (f"line {problem.line}" if problem.line else "")
        rows.append(f"| {where} | {problem.field or ''} | {message} |")
    if refused.refusal.problem_count > PROBLEMS_SHOWN:
        rows.append(f"| | | and {refused.refusal.problem_count - PROBLEMS_SHOWN} more |")
    return "\n".join(rows)


def _check(asset: dg.AssetKey, name: str, partition: str, passed: bool, **extra: object) -> dg.AssetCheckEvaluation:
    return dg.AssetCheckEvaluation(asset_key=asset, check_name=name, passed=passed, partition=partition, **extra)


def accepted_events(accepted: Accepted) -> Iterator[dg.AssetMaterialization | dg.AssetCheckEvaluation]:
    """What the UI shows for an accepted store-day: both materializations and their checks, from
    figures the validation and the metrics already computed (nothing is read back)."""
    partition = str(store_day_key(accepted.upload.store_id, accepted.upload.business_date))
    metrics = accepted.metrics
    yield dg.AssetMaterialization(
        STORE_SALES,
        partition=partition,
        metadata={
            "dagster/row_count": accepted.rows,
            "bytes": accepted.bytes,
            "net_sales": float(to_cents(metrics.net_sales)),
            "upload": accepted.info.key,
            "upload_version": accepted.info.version,
            "path": dg.MetadataValue.path(accepted.processed_key),
        },
    )
    yield _check(
        STORE_SALES, UPLOAD_ACCEPTED, partition, accepted.rows > 0 and accepted.duplicate_lines == 0,
        metadata={"upload": accepted.info.key, "rows": accepted.rows, "duplicate_lines": accepted.duplicate_lines},
    )
    top = ["| sku | product | units | net revenue |", "| --- | --- | ---: | ---: |"] + [
        f"| {p.sku} | {p.name.replace('|', '/')} | {p.units} | {to_cents(p.net_revenue)} |" for p in metrics.top_products
    ]
    yield _check(
        STORE_METRICS, NET_WITHIN_GROSS, partition,
        metrics.net_sales <= metrics.total_sales and metrics.total_discount >= 0,
        metadata={"net_sales": float(to_cents(metrics.net_sales)), "total_sales": float(to_cents(metrics.total_sales))},
    )
    yield dg.AssetMaterialization(
        STORE_METRICS,
        partition=partition,
        metadata={
            "net_sales": float(to_cents(metrics.net_sales)),
            "total_sales": float(to_cents(metrics.total_sales)),
            "total_discount": float(to_cents(metrics.total_discount)),
            "transaction_count": metrics.transaction_count,
            "line_item_count": metrics.line_item_count,
            "item_count": metrics.item_count,
            "avg_transaction": float(to_cents(metrics.avg_transaction)),
            "top_products": dg.MetadataValue.md("\n".join(top)),
        },
    )


def refused_events(refused: Refused) -> Iterator[dg.AssetCheckEvaluation | dg.AssetObservation]:
    """A refusal is a failed check on its store-day (the partition keeps its last accepted data);
    a file whose name gives it no store-day is an observation of `store_sales`."""
    metadata = {
        "upload": refused.info.key,
        "rejected_key": refused.rejected_key,
        "error_report": refused.report_key,
        "problem_count": refused.refusal.problem_count,
        "summary": refused.refusal.summary,
        "problems": dg.MetadataValue.md(_problems_table(refused)),
    }
    if refused.upload is None:
        yield dg.AssetObservation(STORE_SALES, metadata={"status": "refused", **metadata})
        return
    partition = str(store_day_key(refused.upload.store_id, refused.upload.business_date))
    yield _check(STORE_SALES, UPLOAD_ACCEPTED, partition, False, description=refused.refusal.summary, metadata=metadata)


def build_ingest_definitions(settings: Settings) -> tuple[dg.AssetsDefinition, dg.JobDefinition]:
    partitions = store_days(settings)
    layout = settings.storage_layout

    def checks() -> list[dg.AssetCheckSpec]:
        return [
            dg.AssetCheckSpec(UPLOAD_ACCEPTED, asset=STORE_SALES, partitions_def=partitions,
                              description="The store-day's latest upload passed validation: at least one line, no "
                              "line twice, every field as the contract says (the figures are the validation's). When "
                              "it did not, the failure says why and where its report is; the day keeps its last "
                              "accepted data."),
            dg.AssetCheckSpec(NET_WITHIN_GROSS, asset=STORE_METRICS, partitions_def=partitions,
                              description="Net sales never exceed gross sales in the stored summary."),
        ]

    @dg.multi_asset(
        specs=[
            dg.AssetSpec(
                STORE_SALES, partitions_def=partitions, group_name=INGEST_GROUP, kinds={"parquet", "duckdb"},
                description="The store's validated line items for the day, as Parquet under processed/. A refused "
                "upload moves to rejected/ with its reasons, and the partition keeps its last accepted data.",
            ),
            dg.AssetSpec(
                STORE_METRICS, partitions_def=partitions, group_name=INGEST_GROUP, deps=[STORE_SALES],
                kinds={"duckdb", "sqlite" if settings.resolved_table_backend == "sqlite" else "dynamodb"},
                description="The store's day in numbers (gross, discounts, net, distinct transactions, units, top "
                "products, net payment mix), written to the table as the store-day summary and the upload "
                "tracking item.",
            ),
        ],
        check_specs=checks(),
        # Each store-day's events are logged as it is done, so a step may leave some unyielded.
        can_subset=True,
        name="store_day",
    )
    def store_day(context: dg.AssetExecutionContext, bucket: dg.ResourceParam[ObjectStore], table: dg.ResourceParam[MetricsTable]):
        store_id, day = store_and_day(context.partition_key)
        info = find_upload(bucket, layout, store_id, day)
        if info is None:
            raise dg.Failure(
                description=f"no upload for store {store_id} on {day}: nothing named store_{store_id}_{day}.json "
                f"(or .jsonl, .ndjson, .csv) under {layout.upload_prefix} or {layout.archive_prefix}",
                allow_retries=False,
            )
        outcome = ingest_upload(bucket, table, settings, info, _now())
        if isinstance(outcome, Refused):
            context.log.warning(f"refused {info.key}: {outcome.refusal.summary}; moved to {outcome.rejected_key}")
            yield from refused_events(outcome)
            return
        yield from accepted_events(outcome)
        finish_upload(bucket, settings, outcome)

    @dg.op(
        name=INGEST_OP,
        out=dg.Out(dg.Nothing),
        description="Validates every upload a sensor tick found and writes each store-day's Parquet and metrics.",
    )
    def ingest_uploads(
        context: dg.OpExecutionContext,
        config: IngestUploadsConfig,
        bucket: dg.ResourceParam[ObjectStore],
        table: dg.ResourceParam[MetricsTable],
    ):
        failed: list[str] = []
        accepted = refused = 0
        for key in config.uploads:
            info = bucket.head(key) or bucket.head(layout.archive_key(layout.file_name(key)))
            if info is None:
                context.log.info(f"{key} is gone from the inbox and the archive (replaced or removed); nothing to do")
                continue
            try:
                outcome = ingest_upload(bucket, table, settings, info, _now())
            except Exception as error:  # one file's storage or data error must not stop the others
                context.log.exception(f"{key} could not be processed; it stays in the inbox for the next attempt")
                failed.append(f"{layout.file_name(key)}: {type(error).__name__}: {error}")
                continue
            if isinstance(outcome, Refused):
                refused += 1
                context.log.warning(f"refused {key}: {outcome.refusal.summary}")
                for event in refused_events(outcome):
                    context.log_event(event)
                continue
            for event in accepted_events(outcome):
                if isinstance(event, dg.AssetCheckEvaluation):
                    context.log_event(event)
                else:
                    yield event  # recorded before the next line runs
            finish_upload(bucket, settings, outcome)
            accepted += 1
        context.log.info(f"{accepted} accepted, {refused} refused, {len(failed)} failed of {len(config.uploads)}")
        if failed:
            more = f"; and {len(failed) - 10} more" if len(failed) > 10 else ""
            raise dg.Failure(
                description="; ".join(failed[:10]) + more + f" ({len(failed)} of {len(config.uploads)} upload(s) could "
                "not be processed; they stay in the inbox for the next attempt)",
                metadata={"failed": len(failed), "accepted": accepted, "refused": refused},
                allow_retries=False,
            )

    @dg.job(
        name=INGEST_JOB,
        executor_def=dg.in_process_executor,
        description="Validates the uploads one sensor tick found, each store-day its own partition in the UI.",
        tags={"sales_platform/kind": "ingest"},
    )
    def ingest_job():
        ingest_uploads()

    return store_day, ingest_job

