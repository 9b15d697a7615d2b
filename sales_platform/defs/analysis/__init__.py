"""The daily analysis: company and product metrics, anomalies, trends, recommendations and
insights for each business day, with their checks, and what starts it (the completeness
sensor, the fallback schedule, the job both start)."""
