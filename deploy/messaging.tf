# SNS topics for alerts and the daily report, and the API's own secrets.

resource "aws_sns_topic" "alerts" {
  name              = "${local.name}-alerts"
  display_name      = "Sales platform alerts"
  kms_master_key_id = aws_kms_key.platform.arn
}

resource "aws_sns_topic" "daily_report" {
  name              = "${local.name}-daily-report"
  display_name      = "Sales platform daily report"
  kms_master_key_id = aws_kms_key.platform.arn
}

# AWS emails each address a confirmation link; nothing arrives before it is clicked.
resource "aws_sns_topic_subscription" "alert_email" {
  for_each = {
    alerts       = aws_sns_topic.alerts.arn
    daily-report = aws_sns_topic.daily_report.arn
  }

  topic_arn = each.value
  protocol  = "email"
  endpoint  = var.alert_email
}

resource "aws_sns_topic_subscription" "report_emails" {
  for_each = toset(var.report_email_addresses)

  topic_arn = aws_sns_topic.daily_report.arn
  protocol  = "email"
  endpoint  = each.key
}

# ---------------------------------------------------------------------------------------------
# API secrets (API_KEYS, URL_SIGNING_SECRET). Generated here, so they are also in the Terraform
# state: keep the state in an encrypted, access-controlled backend. Replace a value with
# `aws secretsmanager put-secret-value` and force a new API deployment to roll it.
# ---------------------------------------------------------------------------------------------

resource "random_password" "api_key" {
  length  = 40
  special = false
}

resource "random_password" "url_signing_secret" {
  length  = 64
  special = false
}

resource "aws_secretsmanager_secret" "api_keys" {
  #checkov:skip=CKV2_AWS_57:API keys are handed to the dashboard and store systems; they are rolled by the operator (put-secret-value), not by a rotation Lambda that nobody would tell.
  name                    = "${local.name}/api-keys"
  description             = "API_KEYS of the sales_platform API: comma-separated keys clients send"
  kms_key_id              = aws_kms_key.platform.arn
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "api_keys" {
  secret_id     = aws_secretsmanager_secret.api_keys.id
  secret_string = random_password.api_key.result

  lifecycle {
    ignore_changes = [secret_string]
  }
}

resource "aws_secretsmanager_secret" "url_signing_secret" {
  #checkov:skip=CKV2_AWS_57:Rotating it invalidates every download link already sent; the operator rolls it deliberately.
  name                    = "${local.name}/url-signing-secret"
  description             = "URL_SIGNING_SECRET of the sales_platform API: signs download links"
  kms_key_id              = aws_kms_key.platform.arn
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "url_signing_secret" {
  secret_id     = aws_secretsmanager_secret.url_signing_secret.id
  secret_string = random_password.url_signing_secret.result

  lifecycle {
    ignore_changes = [secret_string]
  }
}
