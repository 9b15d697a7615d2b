# A VPC with public subnets (load balancer, NAT) and private subnets (tasks, database) in two
# AZs, unless an existing VPC is passed in. Tasks never get public IPs: they reach AWS through
# free gateway endpoints (S3, DynamoDB) and the NAT gateway or interface endpoints.

locals {
  create_vpc         = var.vpc_id == null
  vpc_id             = local.create_vpc ? aws_vpc.main[0].id : var.vpc_id
  azs                = slice(data.aws_availability_zones.available.names, 0, 2)
  private_subnet_ids = local.create_vpc ? aws_subnet.private[*].id : var.private_subnet_ids
  public_subnet_ids  = local.create_vpc ? aws_subnet.public[*].id : var.public_subnet_ids

  interface_endpoints = local.create_vpc && var.enable_interface_endpoints ? toset([
    "ecr.api", "ecr.dkr", "logs", "secretsmanager", "sns", "ecs", "ec2", "sts", "bedrock-runtime",
  ]) : toset([])
}

resource "aws_vpc" "main" {
  count = local.create_vpc ? 1 : 0

  cidr_block           = var.vpc_cidr
  enable_dns_hostnames = true
  enable_dns_support   = true

  tags = { Name = local.name }
}

# No rule at all: nothing may use the default security group.
resource "aws_default_security_group" "main" {
  count = local.create_vpc ? 1 : 0

  vpc_id = aws_vpc.main[0].id
}

resource "aws_subnet" "public" {
  count = local.create_vpc ? 2 : 0

  vpc_id                  = aws_vpc.main[0].id
  cidr_block              = cidrsubnet(var.vpc_cidr, 8, count.index)
  availability_zone       = local.azs[count.index]
  map_public_ip_on_launch = false

  tags = { Name = "${local.name}-public-${local.azs[count.index]}" }
}

resource "aws_subnet" "private" {
  count = local.create_vpc ? 2 : 0

  vpc_id            = aws_vpc.main[0].id
  cidr_block        = cidrsubnet(var.vpc_cidr, 8, count.index + 10)
  availability_zone = local.azs[count.index]

  tags = { Name = "${local.name}-private-${local.azs[count.index]}" }
}

resource "aws_internet_gateway" "main" {
  count = local.create_vpc ? 1 : 0

  vpc_id = aws_vpc.main[0].id
}

resource "aws_route_table" "public" {
  count = local.create_vpc ? 1 : 0

  vpc_id = aws_vpc.main[0].id

  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.main[0].id
  }

  tags = { Name = "${local.name}-public" }
}

resource "aws_route_table_association" "public" {
  count = local.create_vpc ? 2 : 0

  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public[0].id
}

resource "aws_eip" "nat" {
  count = local.create_vpc && var.enable_nat_gateway ? 1 : 0

  domain = "vpc"
  tags   = { Name = "${local.name}-nat" }
}

# One NAT gateway for both AZs: light use does not justify two (about $33/month each).
resource "aws_nat_gateway" "main" {
  count = local.create_vpc && var.enable_nat_gateway ? 1 : 0

  allocation_id = aws_eip.nat[0].id
  subnet_id     = aws_subnet.public[0].id

  depends_on = [aws_internet_gateway.main]
}

resource "aws_route_table" "private" {
  count = local.create_vpc ? 1 : 0

  vpc_id = aws_vpc.main[0].id

  dynamic "route" {
    for_each = var.enable_nat_gateway ? [1] : []
    content {
      cidr_block     = "0.0.0.0/0"
      nat_gateway_id = aws_nat_gateway.main[0].id
    }
  }

  tags = { Name = "${local.name}-private" }
}

resource "aws_route_table_association" "private" {
  count = local.create_vpc ? 2 : 0

  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private[0].id
}

resource "aws_vpc_endpoint" "gateway" {
  for_each = local.create_vpc ? toset(["s3", "dynamodb"]) : toset([])

  vpc_id            = aws_vpc.main[0].id
  service_name      = "com.amazonaws.${local.region}.${each.key}"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = [aws_route_table.private[0].id]

  tags = { Name = "${local.name}-${each.key}" }
}

resource "aws_security_group" "endpoints" {
  count = length(local.interface_endpoints) > 0 ? 1 : 0

  name        = "${local.name}-endpoints"
  description = "Interface VPC endpoints: HTTPS from inside the VPC"
  vpc_id      = aws_vpc.main[0].id
}

resource "aws_vpc_security_group_ingress_rule" "endpoints_https" {
  count = length(local.interface_endpoints) > 0 ? 1 : 0

  security_group_id = aws_security_group.endpoints[0].id
  description       = "HTTPS from the VPC"
  cidr_ipv4         = var.vpc_cidr
  from_port         = 443
  to_port           = 443
  ip_protocol       = "tcp"
}

resource "aws_vpc_endpoint" "interface" {
  for_each = local.interface_endpoints

  vpc_id              = aws_vpc.main[0].id
  service_name        = "com.amazonaws.${local.region}.${each.key}"
  vpc_endpoint_type   = "Interface"
  subnet_ids          = aws_subnet.private[*].id
  security_group_ids  = [aws_security_group.endpoints[0].id]
  private_dns_enabled = true

  tags = { Name = "${local.name}-${each.key}" }
}

# VPC flow logs: who talked to what, for incident review.
resource "aws_flow_log" "main" {
  count = local.create_vpc ? 1 : 0

  vpc_id          = aws_vpc.main[0].id
  traffic_type    = "ALL"
  log_destination = aws_cloudwatch_log_group.flow_logs[0].arn
  iam_role_arn    = aws_iam_role.flow_logs[0].arn
}

resource "aws_cloudwatch_log_group" "flow_logs" {
  #checkov:skip=CKV_AWS_338:Flow logs are for recent incidents; 14 days (log_retention_days) keeps their cost low.
  count = local.create_vpc ? 1 : 0

  name              = "/vpc/${local.name}/flow-logs"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.platform.arn
}

data "aws_iam_policy_document" "flow_logs_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["vpc-flow-logs.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "flow_logs" {
  count = local.create_vpc ? 1 : 0

  name               = "${local.name}-flow-logs"
  assume_role_policy = data.aws_iam_policy_document.flow_logs_assume.json
}

data "aws_iam_policy_document" "flow_logs" {
  count = local.create_vpc ? 1 : 0

  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = ["${aws_cloudwatch_log_group.flow_logs[0].arn}:*"]
  }
}

resource "aws_iam_role_policy" "flow_logs" {
  count = local.create_vpc ? 1 : 0

  name   = "write-flow-logs"
  role   = aws_iam_role.flow_logs[0].id
  policy = data.aws_iam_policy_document.flow_logs[0].json
}

# ---------------------------------------------------------------------------------------------
# Security groups: each service accepts only what the one before it sends.
# ---------------------------------------------------------------------------------------------

resource "aws_security_group" "alb" {
  name        = "${local.name}-alb"
  description = "Public load balancer: HTTPS in, to the API and the UI"
  vpc_id      = local.vpc_id
}

resource "aws_security_group" "ui_alb" {
  count = var.ui_access == "internal" ? 1 : 0

  name        = "${local.name}-ui-alb"
  description = "Internal load balancer of the Dagster UI"
  vpc_id      = local.vpc_id
}

resource "aws_security_group" "webserver" {
  name        = "${local.name}-webserver"
  description = "Dagster webserver tasks"
  vpc_id      = local.vpc_id
}

resource "aws_security_group" "daemon" {
  name        = "${local.name}-daemon"
  description = "Dagster daemon tasks and the run tasks it starts"
  vpc_id      = local.vpc_id
}

resource "aws_security_group" "code_server" {
  name        = "${local.name}-code-server"
  description = "Dagster code server tasks (gRPC)"
  vpc_id      = local.vpc_id
}

resource "aws_security_group" "api" {
  name        = "${local.name}-api"
  description = "API tasks"
  vpc_id      = local.vpc_id
}

resource "aws_security_group" "database" {
  name        = "${local.name}-database"
  description = "Dagster PostgreSQL: only from the Dagster tasks"
  vpc_id      = local.vpc_id
}

locals {
  # Every task calls AWS APIs over HTTPS (through the NAT gateway or endpoints).
  task_security_groups = {
    webserver   = aws_security_group.webserver.id
    daemon      = aws_security_group.daemon.id
    code_server = aws_security_group.code_server.id
    api         = aws_security_group.api.id
  }
  dagster_security_groups = {
    webserver   = aws_security_group.webserver.id
    daemon      = aws_security_group.daemon.id
    code_server = aws_security_group.code_server.id
  }
}

resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  for_each = toset(var.alb_ingress_cidrs)

  security_group_id = aws_security_group.alb.id
  description       = "HTTPS from ${each.key}"
  cidr_ipv4         = each.key
  from_port         = 443
  to_port           = 443
  ip_protocol       = "tcp"
}

resource "aws_vpc_security_group_egress_rule" "alb_to_api" {
  security_group_id            = aws_security_group.alb.id
  description                  = "To the API tasks"
  referenced_security_group_id = aws_security_group.api.id
  from_port                    = local.api_port
  to_port                      = local.api_port
  ip_protocol                  = "tcp"
}

resource "aws_vpc_security_group_egress_rule" "alb_to_webserver" {
  count = var.ui_access == "internal" ? 0 : 1

  security_group_id            = aws_security_group.alb.id
  description                  = "To the Dagster webserver tasks"
  referenced_security_group_id = aws_security_group.webserver.id
  from_port                    = local.webserver_port
  to_port                      = local.webserver_port
  ip_protocol                  = "tcp"
}

# The ALB calls the identity provider's token and user info endpoints itself.
resource "aws_vpc_security_group_egress_rule" "alb_to_identity_provider" {
  count = var.ui_access == "internal" ? 0 : 1

  security_group_id = aws_security_group.alb.id
  description       = "HTTPS to the identity provider (authenticate action)"
  cidr_ipv4         = "0.0.0.0/0"
  from_port         = 443
  to_port           = 443
  ip_protocol       = "tcp"
}

resource "aws_vpc_security_group_ingress_rule" "ui_alb_https" {
  for_each = var.ui_access == "internal" ? toset(var.ui_allowed_cidrs) : toset([])

  security_group_id = aws_security_group.ui_alb[0].id
  description       = "HTTPS from ${each.key}"
  cidr_ipv4         = each.key
  from_port         = 443
  to_port           = 443
  ip_protocol       = "tcp"
}

resource "aws_vpc_security_group_egress_rule" "ui_alb_to_webserver" {
  count = var.ui_access == "internal" ? 1 : 0

  security_group_id            = aws_security_group.ui_alb[0].id
  description                  = "To the Dagster webserver tasks"
  referenced_security_group_id = aws_security_group.webserver.id
  from_port                    = local.webserver_port
  to_port                      = local.webserver_port
  ip_protocol                  = "tcp"
}

resource "aws_vpc_security_group_ingress_rule" "webserver_from_alb" {
  security_group_id            = aws_security_group.webserver.id
  description                  = "From the load balancer in front of the UI"
  referenced_security_group_id = var.ui_access == "internal" ? aws_security_group.ui_alb[0].id : aws_security_group.alb.id
  from_port                    = local.webserver_port
  to_port                      = local.webserver_port
  ip_protocol                  = "tcp"
}

resource "aws_vpc_security_group_ingress_rule" "api_from_alb" {
  security_group_id            = aws_security_group.api.id
  description                  = "From the public load balancer"
  referenced_security_group_id = aws_security_group.alb.id
  from_port                    = local.api_port
  to_port                      = local.api_port
  ip_protocol                  = "tcp"
}

resource "aws_vpc_security_group_ingress_rule" "code_server_from_dagster" {
  for_each = {
    webserver = aws_security_group.webserver.id
    daemon    = aws_security_group.daemon.id
  }

  security_group_id            = aws_security_group.code_server.id
  description                  = "gRPC from the Dagster ${each.key}"
  referenced_security_group_id = each.value
  from_port                    = local.code_server_port
  to_port                      = local.code_server_port
  ip_protocol                  = "tcp"
}

resource "aws_vpc_security_group_egress_rule" "to_code_server" {
  for_each = {
    webserver = aws_security_group.webserver.id
    daemon    = aws_security_group.daemon.id
  }

  security_group_id            = each.value
  description                  = "gRPC to the code server"
  referenced_security_group_id = aws_security_group.code_server.id
  from_port                    = local.code_server_port
  to_port                      = local.code_server_port
  ip_protocol                  = "tcp"
}

resource "aws_vpc_security_group_ingress_rule" "database_from_dagster" {
  for_each = local.dagster_security_groups

  security_group_id            = aws_security_group.database.id
  description                  = "PostgreSQL from the Dagster ${each.key}"
  referenced_security_group_id = each.value
  from_port                    = 5432
  to_port                      = 5432
  ip_protocol                  = "tcp"
}

resource "aws_vpc_security_group_egress_rule" "to_database" {
  for_each = local.dagster_security_groups

  security_group_id            = each.value
  description                  = "PostgreSQL to the Dagster database"
  referenced_security_group_id = aws_security_group.database.id
  from_port                    = 5432
  to_port                      = 5432
  ip_protocol                  = "tcp"
}

resource "aws_vpc_security_group_egress_rule" "tasks_https" {
  for_each = local.task_security_groups

  security_group_id = each.value
  description       = "HTTPS to AWS APIs (ECR, S3, DynamoDB, SNS, Bedrock, ...)"
  cidr_ipv4         = "0.0.0.0/0"
  from_port         = 443
  to_port           = 443
  ip_protocol       = "tcp"
}
