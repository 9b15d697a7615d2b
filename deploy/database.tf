# Dagster's PostgreSQL: runs, event logs, schedules and sensor ticks. Private, encrypted, with a
# master password RDS generates and keeps in Secrets Manager (never in the Terraform state).

resource "aws_db_subnet_group" "dagster" {
  name       = "${local.name}-dagster"
  subnet_ids = local.private_subnet_ids
}

resource "aws_db_parameter_group" "dagster" {
  name   = "${local.name}-dagster-pg${split(".", var.db_engine_version)[0]}"
  family = "postgres${split(".", var.db_engine_version)[0]}"

  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  parameter {
    name  = "log_min_duration_statement"
    value = "2000"
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_db_instance" "dagster" {
  #checkov:skip=CKV_AWS_118:Enhanced monitoring (an extra role and per-second metrics) is not needed at this size; CloudWatch's standard RDS metrics are on.
  #checkov:skip=CKV_AWS_353:Performance Insights is off by default to keep the smallest instance class usable; turn it on in the console when tuning.
  #checkov:skip=CKV_AWS_354:Performance Insights is off (see above), so it has no key to set.
  #checkov:skip=CKV_AWS_157:Multi-AZ is the db_multi_az variable, off by default: it doubles the database cost and Dagster survives a restore from backup.
  identifier     = "${local.name}-dagster"
  engine         = "postgres"
  engine_version = var.db_engine_version
  instance_class = var.db_instance_class

  allocated_storage     = var.db_allocated_storage
  max_allocated_storage = var.db_allocated_storage * 5
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = aws_kms_key.platform.arn

  db_name                       = local.db_name
  username                      = local.db_username
  manage_master_user_password   = true
  master_user_secret_kms_key_id = aws_kms_key.platform.arn

  db_subnet_group_name   = aws_db_subnet_group.dagster.name
  vpc_security_group_ids = [aws_security_group.database.id]
  parameter_group_name   = aws_db_parameter_group.dagster.name
  publicly_accessible    = false
  multi_az               = var.db_multi_az
  port                   = 5432

  iam_database_authentication_enabled = true
  auto_minor_version_upgrade          = true
  backup_retention_period             = var.db_backup_retention_days
  backup_window                       = "07:00-08:00"
  maintenance_window                  = "sun:08:30-sun:09:30"
  copy_tags_to_snapshot               = true
  deletion_protection                 = var.deletion_protection
  skip_final_snapshot                 = false
  final_snapshot_identifier           = "${local.name}-dagster-final"
  enabled_cloudwatch_logs_exports     = ["postgresql", "upgrade"]
  apply_immediately                   = false
}

# RDS rotates the managed password every 7 days unless told otherwise. ECS injects secrets when a
# task starts, so each rotation makes the long-running Dagster tasks fail their health check
# (sales-platform healthcheck --database) and be replaced with the new password: do that monthly.
resource "aws_secretsmanager_secret_rotation" "dagster_database" {
  secret_id = local.db_master_secret_arn

  rotation_rules {
    schedule_expression = "rate(${var.db_password_rotation_days} days)"
  }
}
