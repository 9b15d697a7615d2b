"""After the analysis: the daily report, the BI export, the automation that asks for them when
insights change outside the analysis job, and the failure alerts."""
