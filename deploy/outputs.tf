output "api_url" {
  description = "Base URL of the REST API: store systems send an API key from api_keys_secret_arn; the dashboard is built with it as REACT_APP_API_URL."
  value       = local.api_url
}

output "dashboard_url" {
  description = "The stores' dashboard, behind the same login as the Dagster UI (ui_access cognito or oidc)."
  value       = var.ui_access == "internal" ? null : "${local.site_url}/"
}

output "dashboard_upload_command" {
  description = "Puts the dashboard's static build (run from its build folder) where the API serves it from."
  value       = "aws s3 sync . s3://${aws_s3_bucket.data.bucket}/${local.dashboard_prefix} --delete --region ${local.region}"
}

output "dagster_ui_url" {
  description = "The Dagster UI (login through the load balancer, or from ui_allowed_cidrs when internal)."
  value       = local.ui_url
}

output "load_balancer_dns_name" {
  description = "Point domain_name at this (CNAME or alias) when Route 53 does not host the zone."
  value       = aws_lb.public.dns_name
}

output "internal_ui_load_balancer_dns_name" {
  description = "With ui_access = internal: point internal_ui_domain_name at this."
  value       = var.ui_access == "internal" ? aws_lb.internal_ui[0].dns_name : null
}

output "ecr_repository_url" {
  description = "Push the image here: <url>:<image_tag>."
  value       = aws_ecr_repository.app.repository_url
}

output "s3_bucket" {
  description = "The data bucket (uploads/, processed/, rejected/, archive/, reports/, quicksight/)."
  value       = aws_s3_bucket.data.bucket
}

output "dynamodb_table" {
  description = "The metrics table."
  value       = aws_dynamodb_table.metrics.name
}

output "alerts_topic_arn" {
  description = "SNS topic of alerts (SNS_ALERT_TOPIC_ARN)."
  value       = aws_sns_topic.alerts.arn
}

output "daily_report_topic_arn" {
  description = "SNS topic of the daily report (SNS_REPORT_TOPIC_ARN)."
  value       = aws_sns_topic.daily_report.arn
}

output "api_keys_secret_arn" {
  description = "Secrets Manager secret holding API_KEYS (read it with aws secretsmanager get-secret-value)."
  value       = aws_secretsmanager_secret.api["api-keys"].arn
}

output "database_endpoint" {
  description = "Private endpoint of Dagster's PostgreSQL (reachable only from the Dagster tasks)."
  value       = aws_db_instance.dagster.endpoint
}

output "ecs_cluster" {
  description = "ECS cluster running the services and the run tasks."
  value       = aws_ecs_cluster.main.name
}

output "glue_table" {
  description = "Athena table over processed/ (database.table), when enable_glue_catalog."
  value       = var.enable_glue_catalog ? "${aws_glue_catalog_database.sales[0].name}.${aws_glue_catalog_table.line_items[0].name}" : null
}

output "upload_command" {
  description = "Drops a store file into the inbox; the upload sensor picks it up within its interval."
  value       = "aws s3 cp store_0001_$(date +%F).json s3://${aws_s3_bucket.data.bucket}/${var.upload_prefix} --region ${local.region}"
}
