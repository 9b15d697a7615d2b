"""sales_platform: validated store uploads, metrics, daily analysis and reports on Dagster."""
