# One log group per service, plus one for all run tasks (the EcsRunLauncher writes there).

locals {
  log_groups = toset(["webserver", "daemon", "code-server", "api", "runs"])
}

resource "aws_cloudwatch_log_group" "service" {
  #checkov:skip=CKV_AWS_338:The issue fixes 14 days (log_retention_days); run history stays in Dagster's database and step output in S3.
  for_each = local.log_groups

  name              = "/ecs/${local.name}/${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.platform.arn
}
