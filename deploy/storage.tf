# The data bucket (same layout as locally), the log bucket, the metrics table and the Glue table.

# ---------------------------------------------------------------------------------------------
# Data bucket: uploads/, processed/, rejected/, archive/, reports/, quicksight/, Dagster step logs,
# and dashboard/ (the stores' dashboard's static build, which the API serves).
# ---------------------------------------------------------------------------------------------

resource "aws_s3_bucket" "data" {
  #checkov:skip=CKV_AWS_144:Cross-region replication doubles storage cost; versioning, backups of the originals in archive/ and deletion protection cover light use. Add replication for disaster recovery if needed.
  bucket = local.bucket_name
}

resource "aws_s3_bucket_server_side_encryption_configuration" "data" {
  bucket = aws_s3_bucket.data.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.platform.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_logging" "data" {
  bucket        = aws_s3_bucket.data.id
  target_bucket = aws_s3_bucket.logs.id
  target_prefix = "s3-access/${local.bucket_name}/"
}

# Object events go to EventBridge (free to emit) for anyone who wants to react to uploads;
# the platform itself watches uploads/ with its Dagster sensor.
resource "aws_s3_bucket_notification" "data" {
  bucket      = aws_s3_bucket.data.id
  eventbridge = true
}

# The dashboard (on the platform's host, and any frontend_origin) uploads store files with
# presigned PUT URLs from the API and downloads reports with presigned GET URLs.
resource "aws_s3_bucket_cors_configuration" "data" {
  bucket = aws_s3_bucket.data.id

  cors_rule {
    allowed_origins = local.frontend_origins
    allowed_methods = ["GET", "PUT", "HEAD"]
    allowed_headers = ["Content-Type", "Content-MD5", "x-amz-*"]
    expose_headers  = ["ETag"]
    max_age_seconds = 3000
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "data" {
  bucket = aws_s3_bucket.data.id

  rule {
    id     = "archived-uploads"
    status = "Enabled"

    filter {
      prefix = local.archive_prefix
    }

    transition {
      days          = 30
      storage_class = "STANDARD_IA"
    }

    expiration {
      days = var.archive_retention_days
    }
  }

  rule {
    id     = "refused-uploads"
    status = "Enabled"

    filter {
      prefix = var.rejected_prefix
    }

    transition {
      days          = 30
      storage_class = "STANDARD_IA"
    }

    expiration {
      days = var.archive_retention_days
    }
  }

  rule {
    id     = "daily-reports"
    status = "Enabled"

    filter {
      prefix = local.reports_prefix
    }

    transition {
      days          = 30
      storage_class = "STANDARD_IA"
    }

    expiration {
      days = var.report_retention_days
    }
  }

  rule {
    id     = "dagster-step-logs"
    status = "Enabled"

    filter {
      prefix = local.compute_logs_prefix
    }

    expiration {
      days = 90
    }
  }

  # Overwritten and deleted objects stay recoverable for 30 days (uploads leave the inbox
  # with a delete, and a re-upload overwrites): then they go.
  rule {
    id     = "old-versions-and-broken-uploads"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = 30
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.bucket]
}

# Both buckets refuse plain HTTP.
data "aws_iam_policy_document" "tls_only" {
  for_each = { data = aws_s3_bucket.data.arn, logs = aws_s3_bucket.logs.arn }

  statement {
    sid       = "DenyPlainHttp"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [each.value, "${each.value}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "data" {
  bucket = aws_s3_bucket.data.id
  policy = data.aws_iam_policy_document.tls_only["data"].json

  depends_on = [aws_s3_bucket_public_access_block.bucket]
}

# ---------------------------------------------------------------------------------------------
# Log bucket: load balancer access logs and the data bucket's access logs.
# ---------------------------------------------------------------------------------------------

resource "aws_s3_bucket" "logs" {
  #checkov:skip=CKV_AWS_18:This is the access-log bucket itself; logging it into itself would log its own log writes.
  #checkov:skip=CKV_AWS_144:Access logs are not worth replicating to another region.
  #checkov:skip=CKV_AWS_145:Load balancer access logs can only be delivered to SSE-S3 buckets, not SSE-KMS.
  #checkov:skip=CKV2_AWS_62:Nothing reacts to new log objects.
  bucket = "${local.bucket_name}-logs"
}

resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id

  rule {
    id     = "expire-logs"
    status = "Enabled"

    filter {}

    expiration {
      days = 90
    }

    noncurrent_version_expiration {
      noncurrent_days = 7
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.bucket]
}

data "aws_elb_service_account" "current" {}

data "aws_iam_policy_document" "logs_bucket" {
  source_policy_documents = [data.aws_iam_policy_document.tls_only["logs"].json]

  statement {
    sid       = "LoadBalancerAccessLogs"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.logs.arn}/alb/AWSLogs/${local.account_id}/*"]

    principals {
      type        = "AWS"
      identifiers = [data.aws_elb_service_account.current.arn]
    }
  }

  statement {
    sid       = "S3ServerAccessLogs"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.logs.arn}/s3-access/*"]

    principals {
      type        = "Service"
      identifiers = ["logging.s3.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [aws_s3_bucket.data.arn]
    }
  }
}

resource "aws_s3_bucket_policy" "logs" {
  bucket = aws_s3_bucket.logs.id
  policy = data.aws_iam_policy_document.logs_bucket.json

  depends_on = [aws_s3_bucket_public_access_block.bucket]
}

# ---------------------------------------------------------------------------------------------
# Both buckets: never public, objects owned by the account, every version kept.
# ---------------------------------------------------------------------------------------------

resource "aws_s3_bucket_public_access_block" "bucket" {
  for_each = { data = aws_s3_bucket.data.id, logs = aws_s3_bucket.logs.id }

  bucket                  = each.value
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "bucket" {
  for_each = { data = aws_s3_bucket.data.id, logs = aws_s3_bucket.logs.id }

  bucket = each.value

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "bucket" {
  for_each = { data = aws_s3_bucket.data.id, logs = aws_s3_bucket.logs.id }

  bucket = each.value

  versioning_configuration {
    status = "Enabled"
  }
}

# ---------------------------------------------------------------------------------------------
# Metrics table: the same keys as dynamodb_metrics_table.table_definition().
# ---------------------------------------------------------------------------------------------

resource "aws_dynamodb_table" "metrics" {
  name                        = var.dynamodb_table_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "PK"
  range_key                   = "SK"
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = "PK"
    type = "S"
  }

  attribute {
    name = "SK"
    type = "S"
  }

  attribute {
    name = "GSI1PK"
    type = "S"
  }

  attribute {
    name = "GSI1SK"
    type = "S"
  }

  global_secondary_index {
    name            = "GSI1"
    hash_key        = "GSI1PK"
    range_key       = "GSI1SK"
    projection_type = "ALL"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.platform.arn
  }
}

# ---------------------------------------------------------------------------------------------
# Glue catalog over processed/: Athena queries the Parquet without a crawler. Partition
# projection knows the layout (year=/month=/day=/store_id=), so new days need no registration.
# ---------------------------------------------------------------------------------------------

resource "aws_glue_catalog_database" "sales" {
  count = var.enable_glue_catalog ? 1 : 0

  name        = replace("${local.name}_sales", "-", "_")
  description = "sales_platform: validated store line items"
}

resource "aws_glue_catalog_table" "line_items" {
  count = var.enable_glue_catalog ? 1 : 0

  name          = "line_items"
  database_name = aws_glue_catalog_database.sales[0].name
  description   = "Validated line items, one Parquet file per store and business day"
  table_type    = "EXTERNAL_TABLE"

  parameters = {
    "EXTERNAL"                   = "TRUE"
    "classification"             = "parquet"
    "projection.enabled"         = "true"
    "projection.year.type"       = "integer"
    "projection.year.range"      = "2020,2099"
    "projection.month.type"      = "integer"
    "projection.month.range"     = "1,12"
    "projection.month.digits"    = "2"
    "projection.day.type"        = "integer"
    "projection.day.range"       = "1,31"
    "projection.day.digits"      = "2"
    "projection.store_id.type"   = "enum"
    "projection.store_id.values" = join(",", var.expected_stores)
    "storage.location.template"  = "s3://${aws_s3_bucket.data.bucket}/${var.processed_prefix}year=$${year}/month=$${month}/day=$${day}/store_id=$${store_id}/"
    "parquet.compression"        = "SNAPPY"
    "has_encrypted_data"         = "true"
  }

  partition_keys {
    name = "year"
    type = "string"
  }

  partition_keys {
    name = "month"
    type = "string"
  }

  partition_keys {
    name = "day"
    type = "string"
  }

  partition_keys {
    name = "store_id"
    type = "string"
  }

  storage_descriptor {
    location      = "s3://${aws_s3_bucket.data.bucket}/${var.processed_prefix}"
    input_format  = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"

    ser_de_info {
      serialization_library = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
    }

    # The columns of sales_platform.domain.upload_contract.LINE_ITEM_SCHEMA.
    columns {
      name = "transaction_id"
      type = "string"
    }
    columns {
      name = "transaction_timestamp"
      type = "timestamp"
    }
    columns {
      name = "item_sku"
      type = "string"
    }
    columns {
      name = "item_name"
      type = "string"
    }
    columns {
      name = "quantity"
      type = "int"
    }
    columns {
      name = "unit_price"
      type = "decimal(10,2)"
    }
    columns {
      name = "line_total"
      type = "decimal(10,2)"
    }
    columns {
      name = "discount_amount"
      type = "decimal(10,2)"
    }
    columns {
      name = "payment_method"
      type = "string"
    }
    columns {
      name = "customer_id"
      type = "string"
    }
  }
}
