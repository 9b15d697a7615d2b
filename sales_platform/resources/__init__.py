"""The doors to the outside: the bucket (a folder or S3), the table (SQLite or DynamoDB), the
notifier (outbox, SMTP, SNS) and the recommendation engine (rules or Bedrock), each behind one
interface, and their Dagster resources."""
