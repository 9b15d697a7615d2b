"""The rules of retail sales, free of Dagster, boto3 and any storage: upload contract and
validation, store and company metrics, anomalies, trends, recommendations, report and table
shapes. Everything above calls into it; it calls nothing above."""
