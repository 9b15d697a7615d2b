# Roles. Execution roles let ECS start a container (pull the image, write its logs, read its named
# secrets); task roles are what the code inside may do, one per service, scoped to the bucket
# prefixes, the table, the topics and the model it uses. Resource "*" appears only where AWS
# offers no narrower resource (ecr:GetAuthorizationToken, ecs:RegisterTaskDefinition,
# ecs:DescribeTaskDefinition, ec2:DescribeNetworkInterfaces).

locals {
  bucket_arn = aws_s3_bucket.data.arn

  objects = {
    uploads      = "${local.bucket_arn}/${var.upload_prefix}*"
    processed    = "${local.bucket_arn}/${var.processed_prefix}*"
    rejected     = "${local.bucket_arn}/${var.rejected_prefix}*"
    archive      = "${local.bucket_arn}/${local.archive_prefix}*"
    analysis     = "${local.bucket_arn}/${local.analysis_prefix}*"
    reports      = "${local.bucket_arn}/${local.reports_prefix}*"
    quicksight   = "${local.bucket_arn}/${local.quicksight_prefix}*"
    compute_logs = "${local.bucket_arn}/${local.compute_logs_prefix}*"
    dashboard    = "${local.bucket_arn}/${local.dashboard_prefix}*"
  }

  table_arns = [aws_dynamodb_table.metrics.arn, "${aws_dynamodb_table.metrics.arn}/index/*"]

  cluster_arn       = "arn:${local.partition}:ecs:${local.region}:${local.account_id}:cluster/${local.name}"
  cluster_tasks_arn = "arn:${local.partition}:ecs:${local.region}:${local.account_id}:task/${local.name}/*"
  run_families_arn  = "arn:${local.partition}:ecs:${local.region}:${local.account_id}:task-definition/${local.run_family_prefix}_*"
}

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

# ---------------------------------------------------------------------------------------------
# Execution roles
# ---------------------------------------------------------------------------------------------

data "aws_iam_policy_document" "execution" {
  for_each = {
    dagster = {
      log_groups = ["webserver", "daemon", "code-server", "runs"]
      secrets    = [local.db_master_secret_arn]
    }
    api = {
      log_groups = ["api"]
      secrets    = [for secret in aws_secretsmanager_secret.api : secret.arn]
    }
  }

  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid       = "PullTheImage"
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]
    resources = [aws_ecr_repository.app.arn]
  }

  statement {
    sid       = "WriteItsLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [for group in each.value.log_groups : "${aws_cloudwatch_log_group.service[group].arn}:*"]
  }

  statement {
    sid       = "ReadItsSecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = each.value.secrets
  }

  statement {
    sid       = "DecryptImageAndSecrets"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.platform.arn]
  }
}

# ---------------------------------------------------------------------------------------------
# Run tasks: the pipeline itself (ingest, daily analysis, reports, BI export).
# ---------------------------------------------------------------------------------------------

data "aws_iam_policy_document" "run" {
  statement {
    sid       = "ListItsPrefixes"
    actions   = ["s3:ListBucket"]
    resources = [local.bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values = [
        for prefix in [var.upload_prefix, var.processed_prefix, var.rejected_prefix, local.archive_prefix, local.analysis_prefix, local.reports_prefix, local.quicksight_prefix, local.compute_logs_prefix] : "${prefix}*"
      ]
    }
  }

  statement {
    sid     = "ReadWriteItsObjects"
    actions = ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject"]
    resources = [
      local.objects.uploads, local.objects.processed, local.objects.rejected, local.objects.archive,
      local.objects.analysis, local.objects.reports, local.objects.quicksight, local.objects.compute_logs,
    ]
  }

  statement {
    sid = "ReadWriteTheTable"
    actions = [
      "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem",
      "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:DescribeTable",
    ]
    resources = local.table_arns
  }

  statement {
    sid       = "PublishReportsAndAlerts"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alerts.arn, aws_sns_topic.daily_report.arn]
  }

  # Converse and ConverseStream are authorized by these two actions.
  statement {
    sid       = "AskTheRecommendationModel"
    actions   = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]
    resources = local.bedrock_model_arns
  }

  statement {
    sid       = "UseThePlatformKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.platform.arn]
  }
}

# ---------------------------------------------------------------------------------------------
# Code server: evaluates the sensors (looks at the inbox, reads completeness from the table).
# ---------------------------------------------------------------------------------------------

data "aws_iam_policy_document" "code_server" {
  statement {
    sid       = "ListTheInbox"
    actions   = ["s3:ListBucket"]
    resources = [local.bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.upload_prefix}*"]
    }
  }

  statement {
    sid       = "LookAtUploads"
    actions   = ["s3:GetObject"]
    resources = [local.objects.uploads]
  }

  statement {
    sid       = "ReadTheTable"
    actions   = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:DescribeTable"]
    resources = local.table_arns
  }

  statement {
    sid       = "UseThePlatformKey"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.platform.arn]
  }
}

# ---------------------------------------------------------------------------------------------
# Daemon: starts run tasks (and only with the run roles), watches and stops them.
# ---------------------------------------------------------------------------------------------

data "aws_iam_policy_document" "daemon" {
  statement {
    sid       = "RegisterRunTaskDefinitions"
    actions   = ["ecs:RegisterTaskDefinition", "ecs:DescribeTaskDefinition"]
    resources = ["*"]
  }

  statement {
    sid       = "StartRunTasksInThisCluster"
    actions   = ["ecs:RunTask"]
    resources = [local.run_families_arn, "${local.run_families_arn}:*"]

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [local.cluster_arn]
    }
  }

  statement {
    sid       = "TagRunTasks"
    actions   = ["ecs:TagResource"]
    resources = [local.cluster_tasks_arn]

    condition {
      test     = "StringEquals"
      variable = "ecs:CreateAction"
      values   = ["RunTask"]
    }
  }

  statement {
    sid       = "WatchAndStopTasks"
    actions   = ["ecs:DescribeTasks", "ecs:StopTask"]
    resources = [local.cluster_tasks_arn]
  }

  # Run tasks get the daemon's subnets and security groups, read from its own network interface.
  statement {
    sid       = "ReadOwnNetworkInterface"
    actions   = ["ec2:DescribeNetworkInterfaces"]
    resources = ["*"]
  }

  statement {
    sid       = "PassOnlyTheRunRoles"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.service["run"].arn, aws_iam_role.service["dagster-execution"].arn]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }

  statement {
    sid       = "ReadFailedRunLogs"
    actions   = ["logs:GetLogEvents"]
    resources = ["${aws_cloudwatch_log_group.service["runs"].arn}:*"]
  }
}

# ---------------------------------------------------------------------------------------------
# Webserver: shows step logs, terminates runs.
# ---------------------------------------------------------------------------------------------

data "aws_iam_policy_document" "webserver" {
  statement {
    sid       = "ListStepLogs"
    actions   = ["s3:ListBucket"]
    resources = [local.bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${local.compute_logs_prefix}*"]
    }
  }

  statement {
    sid       = "ReadStepLogs"
    actions   = ["s3:GetObject"]
    resources = [local.objects.compute_logs]
  }

  statement {
    sid       = "TerminateRuns"
    actions   = ["ecs:DescribeTasks", "ecs:StopTask"]
    resources = [local.cluster_tasks_arn]
  }

  statement {
    sid       = "UseThePlatformKey"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.platform.arn]
  }
}

# ---------------------------------------------------------------------------------------------
# API: reads the table, signs upload URLs into the inbox and download URLs for results.
# ---------------------------------------------------------------------------------------------

data "aws_iam_policy_document" "api" {
  statement {
    sid       = "ListResults"
    actions   = ["s3:ListBucket"]
    resources = [local.bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values = [
        for prefix in [var.upload_prefix, var.processed_prefix, var.rejected_prefix, local.reports_prefix, local.quicksight_prefix] : "${prefix}*"
      ]
    }
  }

  statement {
    sid       = "SignUploadsIntoTheInbox"
    actions   = ["s3:PutObject"]
    resources = [local.objects.uploads]
  }

  statement {
    sid       = "ReadResults"
    actions   = ["s3:GetObject"]
    resources = [local.objects.uploads, local.objects.processed, local.objects.rejected, local.objects.reports, local.objects.quicksight]
  }

  statement {
    sid       = "ServeTheDashboard"
    actions   = ["s3:GetObject"]
    resources = [local.objects.dashboard]
  }

  statement {
    sid       = "ReadTheTable"
    actions   = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:DescribeTable"]
    resources = local.table_arns
  }

  statement {
    sid       = "UseThePlatformKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.platform.arn]
  }
}

# ---------------------------------------------------------------------------------------------
# The roles: one per policy document above, each assumable only by ECS tasks of this account.
# ---------------------------------------------------------------------------------------------

locals {
  roles = {
    dagster-execution = {
      description = "Starts the Dagster webserver, daemon, code server and run tasks"
      policy      = data.aws_iam_policy_document.execution["dagster"].json
    }
    api-execution = {
      description = "Starts the API tasks"
      policy      = data.aws_iam_policy_document.execution["api"].json
    }
    run = {
      description = "Dagster run tasks: the pipeline's own rights"
      policy      = data.aws_iam_policy_document.run.json
    }
    code-server = {
      description = "Dagster code server: sensor evaluation"
      policy      = data.aws_iam_policy_document.code_server.json
    }
    daemon = {
      description = "Dagster daemon: launches run tasks"
      policy      = data.aws_iam_policy_document.daemon.json
    }
    webserver = {
      description = "Dagster webserver: step logs, run termination"
      policy      = data.aws_iam_policy_document.webserver.json
    }
    api = {
      description = "API tasks: table reads, presigned bucket URLs"
      policy      = data.aws_iam_policy_document.api.json
    }
  }
}

resource "aws_iam_role" "service" {
  for_each = local.roles

  name               = "${local.name}-${each.key}"
  description        = each.value.description
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

resource "aws_iam_role_policy" "service" {
  for_each = local.roles

  name   = "${each.key}-rights"
  role   = aws_iam_role.service[each.key].id
  policy = each.value.policy
}
