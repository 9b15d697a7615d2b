"""What a finished run did, read back from the events it recorded: the uploads it processed or
refused, the days it analysed and reported, and, when it failed for good, why. The command
line's summaries and the tests read runs the same way."""

from __future__ import annotations

from dataclasses import dataclass, field

import dagster as dg
from dagster._core.storage.tags import WILL_RETRY_TAG

from sales_platform.defs.analysis.steps import DAILY_INSIGHTS
from sales_platform.defs.ingest.events import STORE_SALES, UPLOAD_ACCEPTED
from sales_platform.defs.ingest.ingest_job import INGEST_JOB
from sales_platform.defs.ingest.upload_sensor import uploads_of
from sales_platform.defs.reporting.automation import DAILY_REPORT
from sales_platform.services.run_errors import readable_error

_READ = {
    dg.DagsterEventType.ASSET_MATERIALIZATION,
    dg.DagsterEventType.ASSET_CHECK_EVALUATION,
    dg.DagsterEventType.ASSET_OBSERVATION,
    dg.DagsterEventType.STEP_FAILURE,
    dg.DagsterEventType.RUN_FAILURE,
}


@dataclass
class FileOutcome:
    upload: str
    status: str  # processed | refused | superseded
    detail: str = ""
    rows: int = 0
    clock_note: str = ""  # dated ahead of the platform's clock: how far


@dataclass
class FailedRun:
    run_id: str
    job_name: str
    what: str
    error: str


@dataclass
class RunReadout:
    files: list[FileOutcome] = field(default_factory=list)
    analysed: list[str] = field(default_factory=list)
    reports: list[str] = field(default_factory=list)
    failure: FailedRun | None = None


def _values(metadata) -> dict[str, object]:
    return {name: value.value for name, value in metadata.items()}


def _outcome(metadata: dict[str, object], status: str, rows: int = 0) -> FileOutcome:
    detail = "" if status == "processed" else str(metadata.get("summary", ""))
    return FileOutcome(str(metadata.get("upload", "")), status, detail, rows, str(metadata.get("clock_note", "")))


def read_run(instance: dg.DagsterInstance, run: dg.DagsterRun) -> RunReadout:
    readout = RunReadout()
    errors = []
    for record in instance.get_records_for_run(run.run_id, of_type=_READ).records:
        event = record.event_log_entry.dagster_event
        if event is None:
            continue
        if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            materialization = event.step_materialization_data.materialization
            metadata = _values(materialization.metadata)
            if materialization.asset_key == STORE_SALES:
                rows = int(metadata.get("dagster/row_count", 0))  # type: ignore[call-overload]
                readout.files.append(_outcome(metadata, "processed", rows=rows))
            elif materialization.asset_key == DAILY_INSIGHTS and materialization.partition:
                readout.analysed.append(materialization.partition)
            elif materialization.asset_key == DAILY_REPORT and materialization.partition:
                readout.reports.append(materialization.partition)
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.asset_check_evaluation_data
            if evaluation.check_name == UPLOAD_ACCEPTED and not evaluation.passed:
                readout.files.append(_outcome(_values(evaluation.metadata), "refused"))
        elif event.event_type == dg.DagsterEventType.ASSET_OBSERVATION:
            metadata = _values(event.asset_observation_data.asset_observation.metadata)
            if metadata.get("status") in ("refused", "superseded"):
                readout.files.append(_outcome(metadata, str(metadata["status"])))
        else:
            error = getattr(event.event_specific_data, "error", None)
            errors.append(readable_error(error).removeprefix("Failure: ") or record.event_log_entry.message or "")
    if run.status == dg.DagsterRunStatus.FAILURE and run.tags.get(WILL_RETRY_TAG) != "true":
        what = run.tags.get("dagster/partition") or (
            f"{len(uploads_of(run))} upload(s)" if run.job_name == INGEST_JOB else run.job_name
        )
        readout.failure = FailedRun(run.run_id, run.job_name, what, next((e for e in errors if e), "the run failed"))
    return readout
