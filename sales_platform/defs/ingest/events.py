"""What the Dagster UI shows for each upload of a store-day: the materializations of
`store_sales` and `store_metrics` with their metadata and check results for an accepted file, a
failed check for a refused one, an observation for a file set aside for a newer one. Built from
figures the validation and the metrics already computed: nothing is read back."""

import datetime as dt
from collections.abc import Iterator
from typing import Any

import dagster as dg

from sales_platform.defs.partitions import store_day_partition_key
from sales_platform.domain.money import to_cents
from sales_platform.domain.utc_time import utc_timestamp
from sales_platform.resources.object_store import ObjectInfo
from sales_platform.services.store_day_ingest import Accepted, Refused, Superseded
from sales_platform.services.upload_intake import dated_ahead

STORE_SALES = dg.AssetKey("store_sales")
STORE_METRICS = dg.AssetKey("store_metrics")
UPLOAD_ACCEPTED = "store_sales_upload_accepted"
NET_WITHIN_GROSS = "store_metrics_net_within_gross"
PROBLEMS_SHOWN = 20
Event = dg.AssetMaterialization | dg.AssetCheckEvaluation | dg.AssetObservation


def _problems_table(refused: Refused) -> str:
    rows = ["| row | field | problem |", "| --- | --- | --- |"]
    for problem in refused.refusal.problems[:PROBLEMS_SHOWN]:
        message = problem.message.replace("|", "\\|")
        where = problem.row if problem.row is not None else (f"line {problem.line}" if problem.line else "")
        rows.append(f"| {where} | {problem.field or ''} | {message} |")
    if refused.refusal.problem_count > PROBLEMS_SHOWN:
        rows.append(f"| | | and {refused.refusal.problem_count - PROBLEMS_SHOWN} more |")
    return "\n".join(rows)


def _check(asset: dg.AssetKey, name: str, partition: str, passed: bool, **extra: Any) -> dg.AssetCheckEvaluation:
    return dg.AssetCheckEvaluation(asset_key=asset, check_name=name, passed=passed, partition=partition, **extra)


def clock_note(info: ObjectInfo, now: dt.datetime) -> dict[str, Any]:
    """Metadata saying that the file is dated ahead of the platform's clock, when it is: a clock
    is wrong where it was written (or here), and the store should hear of it."""
    ahead = dated_ahead(info, now)
    if ahead is None:
        return {}
    stamp = utc_timestamp(info.last_modified)
    return {
        "dated_ahead_seconds": round(ahead),
        "clock_note": f"modified {stamp}, {_duration(ahead)} ahead of the platform's clock",
    }


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes / 60
    return f"{hours:.0f} h" if hours < 48 else f"{hours / 24:.0f} days"


def accepted_events(
    accepted: Accepted, now: dt.datetime
) -> Iterator[dg.AssetMaterialization | dg.AssetCheckEvaluation]:
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
        STORE_SALES,
        UPLOAD_ACCEPTED,
        partition,
        accepted.rows > 0 and accepted.duplicate_lines == 0,
        metadata={"upload": accepted.info.key, "rows": accepted.rows, "duplicate_lines": accepted.duplicate_lines},
    )
    top = ["| sku | product | units | net revenue |", "| --- | --- | ---: | ---: |"] + [
        f"| {p.sku} | {p.name.replace('|', '/')} | {p.units} | {to_cents(p.net_revenue)} |"
        for p in metrics.top_products
    ]
    yield _check(
        STORE_METRICS,
        NET_WITHIN_GROSS,
        partition,
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
