# ---------------------------------------------------------------------------------------------
# The platform: names the operators of the old system know.
# ---------------------------------------------------------------------------------------------

variable "aws_region" {
  type        = string
  description = "AWS region for everything (Bedrock must offer bedrock_model_id there)."
  default     = "us-east-1"
}

variable "project_name" {
  type        = string
  description = "Prefix of every resource name; lower case, at most 12 characters."
  default     = "sales"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,11}$", var.project_name))
    error_message = "project_name: 2 to 12 characters, lower-case letters, digits and '-', starting with a letter."
  }
}

variable "s3_bucket_name" {
  type        = string
  description = "Start of the bucket's name; a random suffix keeps it globally unique."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{2,45}$", var.s3_bucket_name))
    error_message = "s3_bucket_name: 3 to 46 characters of lower-case letters, digits, '.' and '-' (the suffix adds 9)."
  }
}

variable "dynamodb_table_name" {
  type        = string
  description = "Name of the metrics table (DYNAMODB_TABLE)."
  default     = "SalesData"
}

variable "alert_email" {
  type        = string
  description = "Address subscribed to the alerts topic and the daily report topic (AWS sends a confirmation email first)."

  validation {
    condition     = can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alert_email))
    error_message = "alert_email must be an email address."
  }
}

variable "report_email_addresses" {
  type        = list(string)
  description = "More addresses that receive the daily report (each confirms its subscription)."
  default     = []
}

variable "frontend_origin" {
  type        = string
  description = "More browser origins, comma-separated, that the API's CORS and the bucket's CORS (presigned uploads) allow besides https://<domain_name>, where the dashboard is served; empty for none (FRONTEND_ORIGIN)."
  default     = ""
}

variable "upload_prefix" {
  type        = string
  description = "Bucket prefix stores upload into (UPLOAD_PREFIX)."
  default     = "uploads/"
}

variable "processed_prefix" {
  type        = string
  description = "Bucket prefix of the validated Parquet (PROCESSED_PREFIX); the Glue table points here."
  default     = "processed/"
}

variable "rejected_prefix" {
  type        = string
  description = "Bucket prefix of refused uploads and their error reports (REJECTED_PREFIX)."
  default     = "rejected/"
}

variable "expected_stores" {
  type        = list(string)
  description = "Store ids that send a file every day (EXPECTED_STORES), four digits each."
  default     = ["0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008", "0009", "0010", "0011"]

  validation {
    condition     = length(var.expected_stores) > 0 && alltrue([for store in var.expected_stores : can(regex("^[0-9]{4}$", store))])
    error_message = "expected_stores: at least one store id of four digits, e.g. [\"0001\", \"0002\"]."
  }
}

variable "bedrock_model_id" {
  type        = string
  description = "Bedrock model (BEDROCK_MODEL_ID) for recommendations; a geo inference profile id (us.…) works too."
  default     = "amazon.nova-lite-v1:0"
}

variable "log_level" {
  type        = string
  description = "Log level of the platform's own output (LOG_LEVEL)."
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], upper(var.log_level))
    error_message = "log_level: DEBUG, INFO, WARNING, ERROR or CRITICAL."
  }
}

variable "daily_analysis_schedule" {
  type        = string
  description = "Cron of the fallback daily analysis, in daily_analysis_timezone (DAILY_ANALYSIS_SCHEDULE)."
  default     = "0 23 * * *"
}

variable "daily_analysis_timezone" {
  type        = string
  description = "The stores' IANA time zone (DAILY_ANALYSIS_TIMEZONE): business days and the schedule follow it."
  default     = "America/New_York"
}

variable "enable_scheduled_analysis" {
  type        = bool
  description = "Whether the fallback schedule runs the daily analysis when stores are missing (ENABLE_SCHEDULED_ANALYSIS)."
  default     = true
}

# ---------------------------------------------------------------------------------------------
# ECS: image, sizes, concurrency.
# ---------------------------------------------------------------------------------------------

variable "image_tag" {
  type        = string
  description = "Tag of the image pushed to the ECR repository (tags are immutable: use a new one per build, e.g. the git commit)."

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image_tag)) && var.image_tag != "latest"
    error_message = "image_tag: a Docker tag other than 'latest' (tags are immutable here)."
  }
}

variable "cpu_architecture" {
  type        = string
  description = "CPU architecture the image is built for: X86_64 or ARM64 (Graviton, about 20% cheaper on Fargate)."
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "cpu_architecture: X86_64 or ARM64."
  }
}

variable "webserver_cpu" {
  type        = number
  description = "Fargate CPU units of the Dagster webserver task (1024 = 1 vCPU)."
  default     = 512
}

variable "webserver_memory" {
  type        = number
  description = "Memory (MiB) of the Dagster webserver task."
  default     = 1024
}

variable "daemon_cpu" {
  type        = number
  description = "Fargate CPU units of the Dagster daemon task."
  default     = 256
}

variable "daemon_memory" {
  type        = number
  description = "Memory (MiB) of the Dagster daemon task."
  default     = 1024
}

variable "code_server_cpu" {
  type        = number
  description = "Fargate CPU units of the code server task (it evaluates the sensors)."
  default     = 256
}

variable "code_server_memory" {
  type        = number
  description = "Memory (MiB) of the code server task."
  default     = 1024
}

variable "api_cpu" {
  type        = number
  description = "Fargate CPU units of each API task."
  default     = 256
}

variable "api_memory" {
  type        = number
  description = "Memory (MiB) of each API task."
  default     = 512
}

variable "api_desired_count" {
  type        = number
  description = "Number of API tasks (2 spreads them over both availability zones)."
  default     = 1
}

variable "run_cpu" {
  type        = string
  description = "Fargate CPU units of each Dagster run task (a store upload or a daily analysis)."
  default     = "1024"
}

variable "run_memory" {
  type        = string
  description = "Memory (MiB) of each Dagster run task; a 1,000,000-line upload needs about 600 MB."
  default     = "4096"
}

variable "max_concurrent_runs" {
  type        = number
  description = "Most Dagster runs (ECS tasks) at once; the rest wait in the queue."
  default     = 10
}

# ---------------------------------------------------------------------------------------------
# Network.
# ---------------------------------------------------------------------------------------------

variable "vpc_id" {
  type        = string
  description = "An existing VPC to use; null creates one from vpc_cidr. With an existing VPC, its private subnets must already reach ECR, CloudWatch Logs, Secrets Manager, S3, DynamoDB, SNS, ECS and Bedrock (NAT or endpoints)."
  default     = null
}

variable "private_subnet_ids" {
  type        = list(string)
  description = "Private subnets (two AZs) of the existing vpc_id for the tasks and the database."
  default     = []
}

variable "public_subnet_ids" {
  type        = list(string)
  description = "Public subnets (two AZs) of the existing vpc_id for the load balancer."
  default     = []
}

variable "vpc_cidr" {
  type        = string
  description = "CIDR of the VPC created when vpc_id is null."
  default     = "10.40.0.0/16"
}

variable "enable_nat_gateway" {
  type        = bool
  description = "One NAT gateway so private tasks reach AWS APIs without interface endpoints (S3 and DynamoDB always use free gateway endpoints)."
  default     = true
}

variable "enable_interface_endpoints" {
  type        = bool
  description = "Interface VPC endpoints for ECR, Logs, Secrets Manager, SNS, ECS, EC2, STS and Bedrock (about $15/month each over two AZs); with them the NAT gateway can be off."
  default     = false
}

# ---------------------------------------------------------------------------------------------
# Load balancer and UI access.
# ---------------------------------------------------------------------------------------------

variable "domain_name" {
  type        = string
  description = "Host name of the API and the Dagster UI (https://<domain_name>/ and /dagster); the certificate must cover it."
}

variable "certificate_arn" {
  type        = string
  description = "ACM certificate (same region) for domain_name, and for internal_ui_domain_name when the UI is internal."
}

variable "route53_zone_id" {
  type        = string
  description = "Hosted zone in which to create the alias records for the domain names; null to manage DNS yourself."
  default     = null
}

variable "alb_ingress_cidrs" {
  type        = list(string)
  description = "Networks allowed to reach the public load balancer (HTTPS only)."
  default     = ["0.0.0.0/0"]
}

variable "ui_access" {
  type        = string
  description = "How people reach the Dagster UI (it has no login of its own): cognito (user pool login on the public load balancer), oidc (your identity provider), or internal (a private load balancer reachable only from ui_allowed_cidrs)."
  default     = "cognito"

  validation {
    condition     = contains(["cognito", "oidc", "internal"], var.ui_access)
    error_message = "ui_access: cognito, oidc or internal."
  }
}

variable "ui_admin_emails" {
  type        = list(string)
  description = "With ui_access = cognito: people invited to the UI's user pool (each gets a temporary password by email)."
  default     = []
}

variable "ui_allowed_cidrs" {
  type        = list(string)
  description = "With ui_access = internal: networks (VPN, office) allowed to reach the internal UI load balancer."
  default     = []
}

variable "internal_ui_domain_name" {
  type        = string
  description = "With ui_access = internal: host name of the internal UI load balancer (covered by certificate_arn)."
  default     = null
}

variable "oidc_issuer" {
  type        = string
  description = "With ui_access = oidc: the identity provider's issuer URL."
  default     = null
}

variable "oidc_authorization_endpoint" {
  type        = string
  description = "With ui_access = oidc: authorization endpoint URL."
  default     = null
}

variable "oidc_token_endpoint" {
  type        = string
  description = "With ui_access = oidc: token endpoint URL."
  default     = null
}

variable "oidc_user_info_endpoint" {
  type        = string
  description = "With ui_access = oidc: user info endpoint URL."
  default     = null
}

variable "oidc_client_id" {
  type        = string
  description = "With ui_access = oidc: client id registered for https://<domain_name>/oauth2/idpresponse."
  default     = null
}

variable "oidc_client_secret" {
  type        = string
  description = "With ui_access = oidc: client secret (kept in the load balancer's configuration and the Terraform state)."
  default     = null
  sensitive   = true
}

# ---------------------------------------------------------------------------------------------
# Database, retention, protection.
# ---------------------------------------------------------------------------------------------

variable "db_instance_class" {
  type        = string
  description = "RDS instance class of the Dagster database."
  default     = "db.t4g.micro"
}

variable "db_engine_version" {
  type        = string
  description = "PostgreSQL major version of the Dagster database."
  default     = "16"
}

variable "db_allocated_storage" {
  type        = number
  description = "Initial storage (GiB) of the Dagster database; it grows up to 5 times this on its own."
  default     = 20
}

variable "db_multi_az" {
  type        = bool
  description = "A standby database in the second AZ (doubles the database cost)."
  default     = false
}

variable "db_backup_retention_days" {
  type        = number
  description = "Days of automated database backups (point-in-time restore window)."
  default     = 7
}

variable "db_password_rotation_days" {
  type        = number
  description = "Days between rotations of the RDS-managed master password; tasks holding the old one fail their health check and are replaced."
  default     = 30
}

variable "deletion_protection" {
  type        = bool
  description = "Protect the database, the table and the load balancer from deletion (turn off only to tear everything down)."
  default     = true
}

variable "log_retention_days" {
  type        = number
  description = "Days CloudWatch keeps the container and VPC flow logs."
  default     = 14
}

variable "archive_retention_days" {
  type        = number
  description = "Days accepted originals (archive/) and refused files (rejected/) are kept; they move to infrequent access after 30 days."
  default     = 730
}

variable "report_retention_days" {
  type        = number
  description = "Days sent daily reports (reports/) are kept."
  default     = 365
}

variable "enable_glue_catalog" {
  type        = bool
  description = "A Glue database and table over processed/ (partition projection) so Athena can query the Parquet."
  default     = true
}
