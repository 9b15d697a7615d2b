"""The job the completeness sensor and the fallback schedule start: a business day's analysis,
then its report and the BI export, in one run (one task on ECS)."""

import dagster as dg

from sales_platform.defs.analysis.steps import ANALYSIS_ASSETS
from sales_platform.defs.reporting.automation import BI_EXPORT, DAILY_REPORT

ANALYSIS_JOB = "daily_analysis"
# Named on every run the sensor and schedule ask for, as a person's launch from the UI names
# them: the report's automation tells a run that already reported by its asset selection.
JOB_ASSETS = [*map(dg.AssetKey, ANALYSIS_ASSETS), DAILY_REPORT, BI_EXPORT]

daily_analysis = dg.define_asset_job(
    ANALYSIS_JOB,
    selection=dg.AssetSelection.assets(*JOB_ASSETS),
    description="A business day's analysis (company and product metrics, anomalies, trends, recommendations "
    "and insights, with their checks), then its report and the BI export.",
)
