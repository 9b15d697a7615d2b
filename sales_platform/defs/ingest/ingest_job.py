"""The job the upload sensor starts: every upload one tick found, in one run (one process
locally, one task on ECS), each store-day its own partition in the UI."""

import dagster as dg
from pydantic import Field

from sales_platform.defs.ingest.store_day import Tally, ingest_store_day
from sales_platform.resources.configurable import PlatformConfig
from sales_platform.resources.metrics_table import MetricsTable
from sales_platform.resources.object_store import ObjectInfo, ObjectStore
from sales_platform.services.upload_intake import inbox_group

INGEST_JOB = "ingest_store_uploads"
INGEST_OP = "ingest_uploads"


class IngestUploadsConfig(dg.Config):
    uploads: list[str] = Field(description="Bucket keys of the uploads to process, in this order.")


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
    platform: PlatformConfig,
):
    layout = platform.storage_layout
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
        for event in ingest_store_day(context.log, bucket, table, platform, files, tally):
            if isinstance(event, dg.AssetMaterialization):
                yield event  # recorded before the next line runs
            else:
                # Check evaluations are logged like observations; the annotation leaves them out.
                context.log_event(event)  # type: ignore[arg-type]
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
def ingest_store_uploads():
    ingest_uploads()
