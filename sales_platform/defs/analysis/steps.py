"""What every step of the daily analysis shares: the days a run covers, one materialization per
day with its own metadata and checks, the working documents the steps pass on, and which
trigger started the run."""

import datetime as dt
from collections.abc import Callable, Iterator, Mapping

import dagster as dg

from sales_platform.defs.ingest.events import STORE_METRICS
from sales_platform.domain.analysis_items import read_document, render_document
from sales_platform.domain.storage_layout import StorageLayout
from sales_platform.resources.object_store import ObjectStore

ANALYSIS_GROUP = "daily_analysis"
ANALYSIS_ASSETS = ("company_metrics", "product_metrics", "anomalies", "trends", "recommendations", "daily_insights")
# Set by the completeness sensor (`complete`) and the fallback schedule (`scheduled`); a run
# started by hand (UI, backfill, re-execution) has none and counts as `manual`.
TRIGGER_TAG = "sales_platform/analysis_trigger"
DAILY_INSIGHTS = dg.AssetKey("daily_insights")  # the last step: what the report follows
# One run may cover a range of days (a backlog, a backfill), each day its own partition.
ONE_RUN_FOR_A_RANGE = dg.BackfillPolicy.single_run()


def every_store_of_the_day() -> dg.AssetDep:
    return dg.AssetDep(
        STORE_METRICS, partition_mapping=dg.MultiToSingleDimensionPartitionMapping(partition_dimension_name="date")
    )


def business_dates(context: dg.AssetExecutionContext) -> list[dt.date]:
    """The days a run covers, oldest first: one, or a range (a backlog, a backfill), which each
    step goes through in date order so a day's history is in before the day after."""
    return sorted(dt.date.fromisoformat(key) for key in context.partition_keys)


def each_day(
    context: dg.AssetExecutionContext,
    work: Callable[[dt.date], Mapping[str, object]],
    checks: Callable[[dt.date], list[dg.AssetCheckEvaluation]] = lambda day: [],
) -> Iterator[dg.MaterializeResult]:
    """Run `work` for every day of the run, oldest first; each day's materialization carries its
    own metadata and check results, whether the run covers one day or many."""
    for day in business_dates(context):
        context.add_asset_metadata(dict(work(day)), partition_key=day.isoformat())
        for evaluation in checks(day):
            context.log_event(evaluation)
    yield dg.MaterializeResult(asset_key=context.asset_key)


def run_trigger(run: dg.DagsterRun) -> str:
    """`complete`/`scheduled` as the sensor or schedule tagged the run; an automatic retry keeps
    it, a re-execution someone started is `manual`."""
    tags = run.tags
    if run.parent_run_id and "dagster/retry_number" not in tags:
        return "manual"
    return tags.get(TRIGGER_TAG, "manual")


def md_table(header: list[str], rows: list[list[object]], limit: int = 15) -> dg.MetadataValue:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |" for row in rows[:limit]]
    if len(rows) > limit:
        lines.append(f"| and {len(rows) - limit} more |" + " |" * (len(header) - 1))
    return dg.MetadataValue.md("\n".join(lines))


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def publish(
    context: dg.AssetExecutionContext,
    bucket: ObjectStore,
    layout: StorageLayout,
    day: dt.date,
    name: str,
    document: dict,
    notes: tuple[str, ...] | list[str] = (),
) -> dict[str, object]:
    """Write a step's working document for the next steps; log and show what it could not
    look at (too little history, too few days)."""
    key = layout.analysis_document_key(day, name)
    bucket.write_bytes(key, render_document(document), content_type="application/json")
    for note in notes:
        context.log.info(note)
    return {
        "document": dg.MetadataValue.path(key),
        "left_out": dg.MetadataValue.md("\n".join(f"* {note}" for note in notes) or "nothing"),
    }


def read(bucket: ObjectStore, layout: StorageLayout, day: dt.date, name: str) -> dict:
    return read_document(bucket.read_bytes(layout.analysis_document_key(day, name)))
