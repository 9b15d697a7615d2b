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

locals {
  api_secrets = {
    api-keys = {
      variable    = "API_KEYS"
      description = "API_KEYS of the sales_platform API: comma-separated keys clients send"
      length      = 40
    }
    url-signing-secret = {
      variable    = "URL_SIGNING_SECRET"
      description = "URL_SIGNING_SECRET of the sales_platform API: signs download links"
      length      = 64
    }
  }
}

resource "random_password" "api" {
  for_each = local.api_secrets

  length  = each.value.length
  special = false
}

resource "aws_secretsmanager_secret" "api" {
  #checkov:skip=CKV2_AWS_57:API keys are handed to the dashboard and store systems and the signing secret backs links already sent: the operator rolls them deliberately (put-secret-value), not a rotation Lambda nobody would tell.
  for_each = local.api_secrets

  name                    = "${local.name}/${each.key}"
  description             = each.value.description
  kms_key_id              = aws_kms_key.platform.arn
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "api" {
  for_each = local.api_secrets

  secret_id     = aws_secretsmanager_secret.api[each.key].id
  secret_string = random_password.api[each.key].result

  lifecycle {
    ignore_changes = [secret_string]
  }
}
