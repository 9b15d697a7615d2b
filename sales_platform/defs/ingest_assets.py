"""Store-day assets: an upload becomes validated Parquet (`store_sales`), then store metrics in
the table (`store_metrics`), both partitioned by business day and store.

Two ways in, one piece of work (`services.store_day_ingest`):

* `ingest_store_uploads`, the job the upload sensor starts: every file a sensor tick found, in
  one run (one process locally, one task on ECS). Each store-day still gets its own
  materializations, metadata and check results in the UI, logged as it is done; one bad file
  never stops the others.
* materializing a partition by hand (UI, backfill, re-execution): the store-day's files in the
  inbox, else its latest archived original.

A store-day is one file, the newest: when several files for it wait together (a .json and a
.csv, say), the newest one that passes validation is the day's data and the older ones are set
aside unread, each with a report naming the file used instead. Both ways write and record a
store-day completely before its original leaves the inbox, so a run killed at any moment is
simply done again.
"""


import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field

import dagster as dg
from pydantic import Field

from sales_platform.defs.partitions import store_and_day, store_day_partition_key, store_day_partitions
from sales_platform.domain.money import to_cents
from sales_platform.domain.utc_time import utc_timestamp
from sales_platform.resources.metrics_table import MetricsTable
from sales_platform.resources.object_store import ObjectInfo, ObjectStore
from sales_platform.services.store_day_ingest import (
    Accepted,
    Refused,
    StillWritten,
    Superseded,
    finish_upload,
    ingest_upload,
    supersede_upload,
)
from sales_platform.services.upload_intake import dated_ahead, find_uploads, inbox_group
from sales_platform.settings import Settings

INGEST_GROUP = "ingest"
INGEST_JOB = "ingest_store_uploads"
INGEST_OP = "ingest_uploads"
STORE_SALES = dg.AssetKey("store_sales")
STORE_METRICS = dg.AssetKey("store_metrics")
UPLOAD_ACCEPTED = "store_sales_upload_accepted"
NET_WITHIN_GROSS = "store_metrics_net_within_gross"
PROBLEMS_SHOWN = 20
Event = dg.AssetMaterialization | dg.AssetCheckEvaluation | dg.AssetObservation


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


def clock_note(info: ObjectInfo, now: dt.datetime) -> dict[str, object]:
    """Metadata saying that the file is dated ahead of the platform's clock, when it is: a clock
    is wrong where it was written (or here), and the store should hear of it."""
    ahead = dated_ahead(info, now)
    if ahead is None:
        return {}
    stamp = utc_timestamp(info.last_modified)
    return {"dated_ahead_seconds": round(ahead), "clock_note": f"modified {stamp}, {_duration(ahead)} ahead of the platform's clock"}


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes / 60
    return f"{hours:.0f} h" if hours < 48 else f"{hours / 24:.0f} days"


def accepted_events(accepted: Accepted, now: dt.datetime) -> Iterator[dg.AssetMaterialization | dg.AssetCheckEvaluation]:
    """What the UI shows for an accepted store-day: both materializations and their checks, from
    figures the validation and the metrics already computed (nothing is read back)."""
    partition = str(store_day_partition_key(accepted.upload.store_id, accepted.upload.business_date))
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
            **clock_note(accepted.info, now),
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


def refused_events(refused: Refused, now: dt.datetime) -> Iterator[dg.AssetCheckEvaluation | dg.AssetObservation]:
    """A refusal is a failed check on its store-day (the partition keeps its last accepted data);
    a file whose name gives it no store-day is an observation of `store_sales`."""
    metadata = {
        "upload": refused.info.key,
        "rejected_key": refused.rejected_key,
        "error_report": refused.report_key,
        "problem_count": refused.refusal.problem_count,
        "summary": refused.refusal.summary,
        "problems": dg.MetadataValue.md(_problems_table(refused)),
        **clock_note(refused.info, now),
    }
    if refused.upload is None:
        yield dg.AssetObservation(STORE_SALES, metadata={"status": "refused", **metadata})
        return
    partition = str(store_day_partition_key(refused.upload.store_id, refused.upload.business_date))
    yield _check(STORE_SALES, UPLOAD_ACCEPTED, partition, False, description=refused.refusal.summary, metadata=metadata)


def superseded_events(superseded: Superseded, now: dt.datetime) -> Iterator[dg.AssetObservation]:
    """An older file of a store-day set aside for a newer one: an observation on its partition,
    whose check passed with the newer file."""
    yield dg.AssetObservation(
        STORE_SALES,
        partition=str(store_day_partition_key(superseded.upload.store_id, superseded.upload.business_date)),
        metadata={
            "status": "superseded",
            "upload": superseded.info.key,
            "superseded_by": superseded.by.info.key,
            "rejected_key": superseded.rejected_key,
            "error_report": superseded.report_key,
            "summary": superseded.refusal.summary,
            **clock_note(superseded.info, now),
        },
    )


@dataclass
class Tally:
    accepted: int = 0
    refused: int = 0
    superseded: int = 0
    waiting: int = 0
    failed: list[str] = field(default_factory=list)


def _age_order(info: ObjectInfo) -> tuple[dt.datetime, str]:
    return info.last_modified, info.key


def build_ingest_definitions(settings: Settings) -> tuple[dg.AssetsDefinition, dg.JobDefinition]:
    partitions = store_day_partitions(settings)
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
        files = find_uploads(bucket, layout, store_id, day)
        if not files:
            raise dg.Failure(
                description=f"no upload for store {store_id} on {day}: nothing named store_{store_id}_{day}.json "
                f"(or .jsonl, .ndjson, .csv) under {layout.upload_prefix} or {layout.archive_prefix}",
                allow_retries=False,
            )
        tally = Tally()
        yield from ingest_store_day(context.log, bucket, table, files, tally)
        if tally.failed:
            raise dg.Failure(description="; ".join(tally.failed), allow_retries=False)
        if tally.waiting:
            raise dg.Failure(
                description=f"an upload for store {store_id} on {day} is still being written; materialize again once it is whole",
                allow_retries=False,
            )

    def ingest_store_day(
        log: dg.DagsterLogManager, bucket: ObjectStore, table: MetricsTable, files: list[ObjectInfo], tally: Tally
    ) -> Iterator[Event]:
        """The files of one store-day, newest first: the first accepted is the day's data and the
        older ones are superseded by it, unread; a refused one leaves the day to the next older.
        Each file's events are yielded before it leaves the inbox: the caller records them."""
        winner: Accepted | None = None
        for info in sorted(files, key=_age_order, reverse=True):
            now = _now()
            if winner is not None and not info.is_link:
                superseded = supersede_upload(bucket, settings, info, winner, now)
                log.warning(f"superseded {info.key}: {superseded.refusal.summary}")
                yield from superseded_events(superseded, now)
                finish_upload(bucket, settings, superseded)
                tally.superseded += 1
                continue
            try:
                outcome = ingest_upload(bucket, table, settings, info, now)
            except Exception as error:  # one file's storage or data error must not stop the other days
                log.exception(f"{info.key} could not be processed; it stays in the inbox for the next attempt")
                tally.failed.append(f"{info.name}: {type(error).__name__}: {error}")
                return  # the day's older files wait with it
            if isinstance(outcome, StillWritten):
                log.info(f"{info.key} changed while it was read: it is still being written and waits for the next look")
                tally.waiting += 1
                return
            if isinstance(outcome, Refused):
                log.warning(f"refused {info.key}: {outcome.refusal.summary}")
                yield from refused_events(outcome, now)
                finish_upload(bucket, settings, outcome)
                tally.refused += 1
                continue
            yield from accepted_events(outcome, now)
            finish_upload(bucket, settings, outcome)
            tally.accepted += 1
            winner = outcome

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
        tally = Tally()
        groups: dict[str, list[ObjectInfo]] = {}
        for key in config.uploads:
            info = bucket.head(key)
            if info is None and not layout.in_inbox_subfolder(key):
                # Handled by an earlier attempt of this run, which stopped before it finished.
                info = bucket.head(layout.archive_key(layout.file_name(key)))
            if info is None:
                context.log.info(f"{key} is gone from the inbox and the archive (replaced or removed); nothing to do")
                continue
            groups.setdefault(inbox_group(layout, key), []).append(info)
        for files in groups.values():
            for event in ingest_store_day(context.log, bucket, table, files, tally):
                if isinstance(event, dg.AssetMaterialization):
                    yield event  # recorded before the next line runs
                else:
                    context.log_event(event)
        superseded = f", {tally.superseded} superseded" if tally.superseded else ""
        waiting = f", {tally.waiting} still being written" if tally.waiting else ""
        context.log.info(
            f"{tally.accepted} accepted, {tally.refused} refused{superseded}{waiting}, {len(tally.failed)} failed "
            f"of {len(config.uploads)}"
        )
        failed = tally.failed
        if failed:
            more = f"; and {len(failed) - 10} more" if len(failed) > 10 else ""
            raise dg.Failure(
                description="; ".join(failed[:10]) + more + f" ({len(failed)} of {len(config.uploads)} upload(s) could "
                "not be processed; they stay in the inbox for the next attempt)",
                metadata={"failed": len(failed), "accepted": tally.accepted, "refused": tally.refused},
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

