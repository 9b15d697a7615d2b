"""Everything Dagster sees, by domain: `ingest/` (store-day assets, the inbox sensor and its
job), `analysis/` (the daily analysis, its checks, sensor, schedule and job), `reporting/`
(report, BI export, their automation, failure alerts), and `resources.py`. Dagster's
autoloading finds each module's definitions (`dg list defs`)."""
