"""Store-day assets: an upload becomes validated Parquet (`store_sales`), then store metrics in
the table (`store_metrics`), both partitioned by business day and store.

Two ways in, one piece of work (`ingest_store_day`, over `services.store_day_ingest`):

* `ingest_store_uploads` (ingest_job.py), the job the upload sensor starts: every file a sensor
  tick found, in one run (one process locally, one task on ECS). Each store-day still gets its
  own materializations, metadata and check results in the UI, logged as it is done; one bad
  file never stops the others.
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

from sales_platform.defs.ingest.events import (
    NET_WITHIN_GROSS,
    STORE_METRICS,
    STORE_SALES,
    UPLOAD_ACCEPTED,
    Event,
    accepted_events,
    refused_events,
    superseded_events,
)
from sales_platform.defs.loading import load_time_settings
from sales_platform.defs.partitions import store_and_day, store_day_partitions
from sales_platform.resources.configurable import PlatformConfig
from sales_platform.resources.metrics_table import MetricsTable
from sales_platform.resources.object_store import ObjectInfo, ObjectStore
from sales_platform.services.store_day_ingest import (
    Accepted,
    Refused,
    StillWritten,
    finish_upload,
    ingest_upload,
    supersede_upload,
)
from sales_platform.services.upload_intake import find_uploads

INGEST_GROUP = "ingest"


@dataclass
class Tally:
    accepted: int = 0
    refused: int = 0
    superseded: int = 0
    waiting: int = 0
    failed: list[str] = field(default_factory=list)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def ingest_store_day(
    log: dg.DagsterLogManager,
    bucket: ObjectStore,
    table: MetricsTable,
    platform: PlatformConfig,
    files: list[ObjectInfo],
    tally: Tally,
) -> Iterator[Event]:
    """The files of one store-day, newest first: the first accepted is the day's data and the
    older ones are superseded by it, unread; a refused one leaves the day to the next older.
    Each file's events are yielded before it leaves the inbox: the caller records them."""
    winner: Accepted | None = None
    for info in sorted(files, key=lambda info: info.arrival, reverse=True):
        now = _now()
        if winner is not None and not info.is_link:
            superseded = supersede_upload(bucket, platform, info, winner, now)
            log.warning(f"superseded {info.key}: {superseded.refusal.summary}")
            yield from superseded_events(superseded, now)
            finish_upload(bucket, platform, superseded)
            tally.superseded += 1
            continue
        try:
            outcome = ingest_upload(bucket, table, platform, info, now)
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
            finish_upload(bucket, platform, outcome)
            tally.refused += 1
            continue
        yield from accepted_events(outcome, now)
        finish_upload(bucket, platform, outcome)
        tally.accepted += 1
        winner = outcome


def materialize_store_day(
    context: dg.AssetExecutionContext,
    bucket: dg.ResourceParam[ObjectStore],
    table: dg.ResourceParam[MetricsTable],
    platform: PlatformConfig,
) -> Iterator[Event]:
    """One store-day by hand: its files in the inbox, else its latest archived original."""
    store_id, day = store_and_day(context.partition_key)
    layout = platform.storage_layout
    files = find_uploads(bucket, layout, store_id, day)
    if not files:
        raise dg.Failure(
            description=f"no upload for store {store_id} on {day}: nothing named store_{store_id}_{day}.json "
            f"(or .jsonl, .ndjson, .csv) under {layout.upload_prefix} or {layout.archive_prefix}",
            allow_retries=False,
        )
    tally = Tally()
    yield from ingest_store_day(context.log, bucket, table, platform, files, tally)
    if tally.failed:
        raise dg.Failure(description="; ".join(tally.failed), allow_retries=False)
    if tally.waiting:
        raise dg.Failure(
            description=f"an upload for store {store_id} on {day} is still being written; materialize again once it is whole",
            allow_retries=False,
        )


@dg.definitions
def defs() -> dg.Definitions:
    settings = load_time_settings()
    partitions = store_day_partitions(settings.stores)
    store_day = dg.multi_asset(
        name="store_day",
        specs=[
            dg.AssetSpec(
                STORE_SALES,
                partitions_def=partitions,
                group_name=INGEST_GROUP,
                kinds={"parquet", "duckdb"},
                description="The store's validated line items for the day, as Parquet under processed/. A refused "
                "upload moves to rejected/ with its reasons, and the partition keeps its last accepted data.",
            ),
            dg.AssetSpec(
                STORE_METRICS,
                partitions_def=partitions,
                group_name=INGEST_GROUP,
                deps=[STORE_SALES],
                kinds={"duckdb", settings.resolved_table_backend},
                description="The store's day in numbers (gross, discounts, net, distinct transactions, units, top "
                "products, net payment mix), written to the table as the store-day summary and the upload "
                "tracking item.",
            ),
        ],
        check_specs=[
            dg.AssetCheckSpec(
                UPLOAD_ACCEPTED,
                asset=STORE_SALES,
                partitions_def=partitions,
                description="The store-day's latest upload passed validation: at least one line, no line twice, "
                "every field as the contract says (the figures are the validation's). When it did not, the failure "
                "says why and where its report is; the day keeps its last accepted data.",
            ),
            dg.AssetCheckSpec(
                NET_WITHIN_GROSS,
                asset=STORE_METRICS,
                partitions_def=partitions,
                description="Net sales never exceed gross sales in the stored summary.",
            ),
        ],
        # Each store-day's events are logged as it is done, so a step may leave some unyielded.
        can_subset=True,
    )(materialize_store_day)
    return dg.Definitions(assets=[store_day])
