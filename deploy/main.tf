# Names, derived values and the environment every container shares. The container settings use
# exactly the variable names of sales_platform/settings.py and the conventions of the project.

resource "random_id" "bucket_suffix" {
  byte_length = 4
}

locals {
  name       = var.project_name
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = var.aws_region

  bucket_name = "${var.s3_bucket_name}-${random_id.bucket_suffix.hex}"
  image       = "${aws_ecr_repository.app.repository_url}:${var.image_tag}"

  # Bucket prefixes the Terraform variables do not name keep the settings' defaults.
  archive_prefix      = "archive/"
  analysis_prefix     = "analysis/"
  reports_prefix      = "reports/"
  quicksight_prefix   = "quicksight/"
  compute_logs_prefix = "dagster-compute-logs/"

  ui_path              = "/dagster"
  site_url             = "https://${var.domain_name}"
  api_path             = "/api"
  api_url              = "${local.site_url}${local.api_path}"
  api_health_path      = "${local.api_path}/health"
  dashboard_prefix     = "dashboard/"
  ui_host              = var.ui_access == "internal" ? coalesce(var.internal_ui_domain_name, var.domain_name) : var.domain_name
  ui_url               = "https://${local.ui_host}${local.ui_path}"
  service_namespace    = "${local.name}.internal"
  code_server_port     = 4000
  webserver_port       = 3000
  api_port             = 8000
  run_family_prefix    = "${local.name}-run"
  dagster_workspace    = "/opt/dagster/dagster_home/workspace.yaml"
  db_name              = "dagster"
  db_username          = "dagster"
  db_master_secret_arn = aws_db_instance.dagster.master_user_secret[0].secret_arn

  # Browser origins CORS allows: the platform's own host, where the dashboard is served, and any
  # more that frontend_origin names.
  frontend_origins = distinct(concat(
    [local.site_url], [for origin in split(",", var.frontend_origin) : trimspace(origin) if trimspace(origin) != ""],
  ))

  # Bedrock: a plain model id is a foundation model in this region; a geo inference profile
  # (us.…, eu.…, apac.…, global.…) routes to the same model in several regions.
  bedrock_uses_profile = can(regex("^(us|eu|apac|us-gov|global)\\.", var.bedrock_model_id))
  bedrock_base_model   = local.bedrock_uses_profile ? join(".", slice(split(".", var.bedrock_model_id), 1, length(split(".", var.bedrock_model_id)))) : var.bedrock_model_id
  bedrock_model_arns = local.bedrock_uses_profile ? [
    "arn:${local.partition}:bedrock:${local.region}:${local.account_id}:inference-profile/${var.bedrock_model_id}",
    "arn:${local.partition}:bedrock:*::foundation-model/${local.bedrock_base_model}",
    ] : [
    "arn:${local.partition}:bedrock:${local.region}::foundation-model/${var.bedrock_model_id}",
  ]

  # What sales_platform's settings read, identical in every container and run task.
  platform_environment = {
    SALES_PLATFORM_ENV        = "aws"
    AWS_REGION                = local.region
    AWS_DEFAULT_REGION        = local.region # boto3 clients created outside the settings (Dagster's) read this
    S3_BUCKET                 = aws_s3_bucket.data.bucket
    DYNAMODB_TABLE            = aws_dynamodb_table.metrics.name
    UPLOAD_PREFIX             = var.upload_prefix
    PROCESSED_PREFIX          = var.processed_prefix
    REJECTED_PREFIX           = var.rejected_prefix
    ARCHIVE_PREFIX            = local.archive_prefix
    ANALYSIS_PREFIX           = local.analysis_prefix
    REPORTS_PREFIX            = local.reports_prefix
    QUICKSIGHT_PREFIX         = local.quicksight_prefix
    EXPECTED_STORES           = join(",", var.expected_stores)
    DAILY_ANALYSIS_TIMEZONE   = var.daily_analysis_timezone
    DAILY_ANALYSIS_SCHEDULE   = var.daily_analysis_schedule
    ENABLE_SCHEDULED_ANALYSIS = tostring(var.enable_scheduled_analysis)
    LOG_LEVEL                 = upper(var.log_level)
    RECOMMENDATION_ENGINE     = "bedrock"
    BEDROCK_MODEL_ID          = var.bedrock_model_id
    NOTIFY_CHANNELS           = "sns"
    SNS_REPORT_TOPIC_ARN      = aws_sns_topic.daily_report.arn
    SNS_ALERT_TOPIC_ARN       = aws_sns_topic.alerts.arn
    DAGSTER_UI_URL            = local.ui_url
    FRONTEND_ORIGIN           = join(",", local.frontend_origins)
    PUBLIC_API_URL            = local.api_url
    # The run queue's limit (docker/dagster.yaml) and how many runs a backlog of uploads is split into.
    MAX_CONCURRENT_RUNS = tostring(var.max_concurrent_runs)
  }

  # What only the API reads: where its paths start, the dashboard's build it serves at /, and the
  # load balancer whose signed login header it trusts (none without a login on the public one).
  api_environment = {
    API_PATH_PREFIX  = local.api_path
    DASHBOARD_PREFIX = var.ui_access == "internal" ? "" : local.dashboard_prefix
    ALB_ARN          = var.ui_access == "internal" ? "" : aws_lb.public.arn
  }

  # What docker/dagster.yaml and docker/workspace.yaml read. The database user and password are
  # not here: they reach containers only as ECS secrets (local.dagster_secrets).
  dagster_environment = {
    DAGSTER_PG_HOST                = aws_db_instance.dagster.address
    DAGSTER_PG_PORT                = tostring(aws_db_instance.dagster.port)
    DAGSTER_PG_DB                  = local.db_name
    DAGSTER_PG_USERNAME_SECRET_ARN = "${local.db_master_secret_arn}:username::"
    DAGSTER_PG_PASSWORD_SECRET_ARN = "${local.db_master_secret_arn}:password::"
    DAGSTER_RUN_TASK_FAMILY_PREFIX = local.run_family_prefix
    DAGSTER_RUN_TASK_ROLE_ARN      = aws_iam_role.service["run"].arn
    DAGSTER_RUN_EXECUTION_ROLE_ARN = aws_iam_role.service["dagster-execution"].arn
    DAGSTER_RUN_LOG_GROUP          = aws_cloudwatch_log_group.service["runs"].name
    DAGSTER_RUN_CPU_ARCHITECTURE   = var.cpu_architecture
    DAGSTER_COMPUTE_LOGS_BUCKET    = aws_s3_bucket.data.bucket
    DAGSTER_COMPUTE_LOGS_PREFIX    = trimsuffix(local.compute_logs_prefix, "/")
    DAGSTER_CODE_SERVER_HOST       = "code-server.${local.service_namespace}"
    DAGSTER_CODE_SERVER_PORT       = tostring(local.code_server_port)
  }

  dagster_secrets = [
    { name = "DAGSTER_PG_USERNAME", valueFrom = local.dagster_environment.DAGSTER_PG_USERNAME_SECRET_ARN },
    { name = "DAGSTER_PG_PASSWORD", valueFrom = local.dagster_environment.DAGSTER_PG_PASSWORD_SECRET_ARN },
  ]

  # Run tasks get the platform's settings through the code location's container context (the
  # code server passes it to the run launcher with every run), sized by run_cpu/run_memory.
  run_container_context = jsonencode({
    ecs = {
      run_resources = {
        cpu    = var.run_cpu
        memory = var.run_memory
      }
      env_vars = [for key, value in local.platform_environment : "${key}=${value}"]
    }
  })
}
