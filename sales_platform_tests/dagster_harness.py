"""Driving the platform's Dagster definitions in a test the way Dagster's own testing guide does:
sensors evaluated with `build_sensor_context`, automation conditions with
`evaluate_automation_conditions`, and what they request executed in this process against the
test's instance, round after round until nothing more is asked for.

This is the fast way to test what the sensors, assets and checks do. How runs are launched for
real (queue, launcher, monitoring, retries) is tested through `sales-platform process`, `dev`
and the Dagster webserver elsewhere.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from sales_platform.runtime.run_readout import FileOutcome, RunReadout, read_run
from sales_platform.services.run_errors import error_line

_MAX_ROUNDS = 50


@dataclass
class RunOutcome:
    job_name: str
    run_id: str
    partition_key: str | None
    status: str  # done | failed
    detail: str = ""
    readout: RunReadout = field(default_factory=RunReadout)


@dataclass
class PassReport:
    outcomes: list[RunOutcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(outcome.status == status for outcome in self.outcomes)

    @property
    def failed(self) -> list[RunOutcome]:
        return [outcome for outcome in self.outcomes if outcome.status == "failed"]

    @property
    def files(self) -> list[FileOutcome]:
        return [file for outcome in self.outcomes for file in outcome.readout.files]

    def statuses(self) -> dict[str, str]:
        """Each upload's outcome in this pass: processed or refused."""
        return {file.upload: file.status for file in self.files}


@dataclass
class Harness:
    definitions: dg.Definitions
    instance: dg.DagsterInstance
    cursors: dict[str, str | None] = field(default_factory=dict)
    automation_cursor: Any = None

    def __post_init__(self) -> None:
        # As a daemon running since the platform started: automation conditions react to what
        # changes from here on.
        self._automation(PassReport())

    def sensor_tick(self, name: str) -> Any:
        sensor = self.definitions.resolve_sensor_def(name)
        context = dg.build_sensor_context(
            instance=self.instance,
            cursor=self.cursors.get(name),
            definitions=self.definitions,
            sensor_name=name,
            resources=self.definitions.resources,
        )
        logging.disable(logging.INFO)
        try:
            data = sensor.evaluate_tick(context)
        finally:
            logging.disable(logging.NOTSET)
        self.cursors[name] = data.cursor
        return data

    def process(self) -> PassReport:
        report = PassReport()
        sensors = [
            sensor
            for sensor in self.definitions.sensors or []
            if sensor.default_status == dg.DefaultSensorStatus.RUNNING
            and not isinstance(sensor, dg.AutomationConditionSensorDefinition)
        ]
        seen: set[str] = set()
        for _ in range(_MAX_ROUNDS):
            # As the daemon does: every sensor looks, then the runs asked for are launched; a run
            # status sensor sees the runs of one round at its next look.
            requested = [
                (sensor, request) for sensor in sensors for request in self.sensor_tick(sensor.name).run_requests or []
            ]
            launched = 0
            for sensor, request in requested:
                if request.run_key in seen:
                    continue
                seen.add(request.run_key)
                tags = {**(request.tags or {}), "dagster/sensor_name": sensor.name}
                if request.run_key:
                    tags["dagster/run_key"] = request.run_key
                report.outcomes.append(
                    self._execute(
                        request.job_name or sensor.job_name,
                        request.run_config,
                        request.partition_key,
                        tags,
                        asset_selection=request.asset_selection,
                    )
                )
                launched += 1
            launched += self._automation(report)
            if not launched:
                if report.failed and not self._alerts_caught_up():
                    continue
                return report
        raise AssertionError(f"still requesting runs after {_MAX_ROUNDS} rounds")

    def _alerts_caught_up(self) -> bool:
        """The failure alert sensor handles a few failures per look: look again while it moves on."""
        names = [s.name for s in self.definitions.sensors or [] if isinstance(s, dg.RunStatusSensorDefinition)]
        before = {name: self.cursors.get(name) for name in names}
        for name in names:
            self.sensor_tick(name)
        return all(self.cursors.get(name) == cursor for name, cursor in before.items())

    def _automation(self, report: PassReport) -> int:
        result = dg.evaluate_automation_conditions(self.definitions, self.instance, cursor=self.automation_cursor)
        self.automation_cursor = result.cursor
        by_partition: dict[str | None, list[dg.AssetKey]] = {}
        for key in self.definitions.resolve_asset_graph().get_all_asset_keys():
            for partition in result.get_requested_partitions(key):
                by_partition.setdefault(partition, []).append(key)
        for partition, keys in sorted(by_partition.items(), key=lambda item: str(item[0])):
            job = self.definitions.resolve_implicit_global_asset_job_def()
            report.outcomes.append(self._execute(job.name, {}, partition, {}, asset_selection=keys))
        return len(by_partition)

    def _execute(self, job_name, run_config, partition_key, tags, asset_selection=None) -> RunOutcome:
        job = self.definitions.resolve_job_def(job_name)
        result = job.execute_in_process(
            run_config=dict(run_config or {}),
            instance=self.instance,
            partition_key=str(partition_key) if partition_key else None,
            tags=tags,
            asset_selection=asset_selection,
            raise_on_error=False,
        )
        detail = ""
        for event in result.all_events:
            if event.is_step_failure:
                detail = error_line(event.step_failure_data.error) or event.message or ""
        run = self.instance.get_run_by_id(result.run_id)
        return RunOutcome(
            job_name,
            result.run_id,
            str(partition_key) if partition_key else None,
            "done" if result.success else "failed",
            detail,
            read_run(self.instance, run),
        )
