"""Alert messages: a run that failed, and a day whose recommendations fell back from Bedrock to
the rules. Each says what happened, where, and where to look, so whoever reads it on a phone
knows what to do before opening anything."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sales_platform.domain.outgoing_message import OutgoingMessage
from sales_platform.domain.utc_time import utc_timestamp

_ERROR_LIMIT = 4000  # characters of an error kept in an alert; tracebacks are in the Dagster UI


@dataclass(frozen=True)
class FailedStep:
    step_key: str
    assets: tuple[str, ...]
    error: str


@dataclass(frozen=True)
class RunFailure:
    run_id: str
    job_name: str
    partition_key: str | None
    failed_steps: tuple[FailedStep, ...] = field(default=())
    run_error: str | None = None  # why the run failed when no step did (or Dagster's summary)
    failed_at: dt.datetime | None = None
    attempt: int = 1


def run_link(ui_url: str, run_id: str) -> str:
    return f"{ui_url.rstrip('/')}/runs/{run_id}"


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def _clip(text: str) -> str:
    text = text.strip()
    return (
        text if len(text) <= _ERROR_LIMIT else text[:_ERROR_LIMIT] + "\n[... cut; the whole error is in the Dagster UI]"
    )


def run_failure_alert(failure: RunFailure, ui_url: str) -> OutgoingMessage:
    assets = [asset for step in failure.failed_steps for asset in step.assets]
    what = ", ".join(dict.fromkeys(assets)) or ", ".join(s.step_key for s in failure.failed_steps) or failure.job_name
    first_error = failure.failed_steps[0].error if failure.failed_steps else (failure.run_error or "unknown error")
    last_line = first_error.strip().splitlines()[-1] if first_error.strip() else "unknown error"
    partition = f" [{failure.partition_key}]" if failure.partition_key else ""
    subject = _short(f"Run failed: {what}{partition}: {last_line}", 150)
    link = run_link(ui_url, failure.run_id)
    lines = [
        "A sales platform run failed.",
        "",
        f"Run:        {failure.run_id}",
        f"Job:        {failure.job_name}",
        f"Asset:      {what}",
        f"Partition:  {failure.partition_key or '(not partitioned)'}",
    ]
    if failure.failed_at is not None:
        lines.append(f"Failed at:  {utc_timestamp(failure.failed_at)}")
    if failure.attempt > 1:
        lines.append(f"Attempt:    {failure.attempt} (Dagster retried it; this was the last try)")
    lines += [f"Run in the Dagster UI: {link}", ""]
    for step in failure.failed_steps:
        assets_text = f" (asset {', '.join(step.assets)})" if step.assets else ""
        lines += [f"Step {step.step_key}{assets_text} failed with:", _clip(step.error), ""]
    if not failure.failed_steps:
        lines += ["Error:", _clip(failure.run_error or "unknown error"), ""]
    lines += [
        "Nothing the run had not finished was changed or lost; once the cause is fixed, re-execute the run",
        "from the link above (or let the next sensor tick or `sales-platform process` pick the work up again).",
    ]
    return OutgoingMessage(
        audience="alert",
        subject=subject,
        text="\n".join(lines) + "\n",
        name=f"alert-run-{failure.run_id[:8]}",
        truncation_note=f"[The rest is cut off here; see {link}]",
    )


def engine_fallback_alert(day: dt.date, reason: str | None, ui_url: str) -> OutgoingMessage:
    link = f"{ui_url.rstrip('/')}/assets/recommendations"
    lines = [
        f"Amazon Bedrock was not available for the daily analysis of {day.isoformat()}.",
        "The recommendations in today's report were written by the platform's rules instead.",
        "",
        f"Reason: {reason or 'not recorded'}",
        f"Recommendations in the Dagster UI: {link}",
        "",
        "Nothing is missing from the report. Once Bedrock answers again, re-materialize the",
        "day's recommendations to have them written by Bedrock; the report is sent again if it changes.",
        "This alert goes out once per day.",
    ]
    return OutgoingMessage(
        audience="alert",
        subject=f"Bedrock unavailable: recommendations for {day.isoformat()} written by rules",
        text="\n".join(lines) + "\n",
        name=f"alert-engine-fallback-{day.isoformat()}",
    )


def engine_fell_back(
    recommendation_engines: set[str], requested_engine: str | None, recorded: dict[str, object]
) -> tuple[bool, str | None]:
    """Whether the day's recommendations came from the rules although Bedrock was asked for,
    and why if the analysis recorded it.

    The analysis records its choice in the recommendations materialization's metadata
    (`requested_engine`/`engine`, `fallback_reason`); the configured engine stands in when the
    metadata does not say what was asked for. Recommendations written by Bedrock never count.
    """
    if not recommendation_engines or recommendation_engines != {"rules"}:
        return False, None
    reason = recorded.get("fallback_reason")
    requested = recorded.get("requested_engine") or requested_engine
    fell_back = requested == "bedrock" or bool(reason) or recorded.get("fallback") is True
    return fell_back, (str(reason) if reason else None)
