# HTTPS in front of the API (/api), the stores' dashboard (/) and the Dagster UI (/dagster). The
# UI and the dashboard have no login of their own, so the load balancer authenticates people first
# (Cognito or your OIDC provider), or the UI sits behind an internal load balancer only private
# networks reach.

resource "aws_lb" "public" {
  #checkov:skip=CKV2_AWS_28:No WAF by default: the API requires an API key, the UI is behind Cognito/OIDC, and a web ACL with managed rules adds about $10/month that light use does not need. Associate one with aws_wafv2_web_acl_association when the API is exposed widely.
  name                       = "${local.name}-public"
  load_balancer_type         = "application"
  internal                   = false
  subnets                    = local.public_subnet_ids
  security_groups            = [aws_security_group.alb.id]
  drop_invalid_header_fields = true
  enable_deletion_protection = var.deletion_protection

  access_logs {
    bucket  = aws_s3_bucket.logs.id
    prefix  = "alb"
    enabled = true
  }

  lifecycle {
    precondition {
      condition     = var.ui_access != "oidc" || alltrue([for value in [var.oidc_issuer, var.oidc_authorization_endpoint, var.oidc_token_endpoint, var.oidc_user_info_endpoint, var.oidc_client_id, var.oidc_client_secret] : value != null])
      error_message = "ui_access = \"oidc\" needs oidc_issuer, oidc_authorization_endpoint, oidc_token_endpoint, oidc_user_info_endpoint, oidc_client_id and oidc_client_secret."
    }
    precondition {
      condition     = var.ui_access != "internal" || (var.internal_ui_domain_name != null && length(var.ui_allowed_cidrs) > 0)
      error_message = "ui_access = \"internal\" needs internal_ui_domain_name and at least one ui_allowed_cidrs entry."
    }
    precondition {
      condition     = var.vpc_id == null || (length(var.private_subnet_ids) >= 2 && length(var.public_subnet_ids) >= 2)
      error_message = "With vpc_id, give two private_subnet_ids and two public_subnet_ids (two AZs)."
    }
  }

  depends_on = [aws_s3_bucket_policy.logs]
}

resource "aws_lb_target_group" "api" {
  name                 = "${local.name}-api"
  port                 = local.api_port
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = local.vpc_id
  deregistration_delay = 30

  health_check {
    path                = local.api_health_path
    matcher             = "200"
    interval            = 30
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
}

resource "aws_lb_target_group" "webserver" {
  name                 = "${local.name}-dagster"
  port                 = local.webserver_port
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = local.vpc_id
  deregistration_delay = 30

  health_check {
    path                = "${local.ui_path}/server_info"
    matcher             = "200"
    interval            = 30
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.public.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.api.arn
  }
}

# Behind the login (Cognito or OIDC), all on one host: the Dagster UI, the stores' dashboard at /
# (its static build, served by the API from the bucket) and the API under /api. The API's rule
# lets a request without a login session through, so store systems and scripts keep calling with
# X-Api-Key; for a browser that has logged in, the load balancer adds the signed identity
# (x-amzn-oidc-data) that the API verifies. With ui_access = "internal" the public load balancer
# has no login, and only the default action (the API) is left on it.
locals {
  login_rules = var.ui_access == "internal" ? {} : {
    dagster = {
      priority        = 10
      paths           = [local.ui_path, "${local.ui_path}/*"]
      target_group    = aws_lb_target_group.webserver.arn
      unauthenticated = "authenticate"
    }
    api = {
      priority        = 20
      paths           = [local.api_path, "${local.api_path}/*"]
      target_group    = aws_lb_target_group.api.arn
      unauthenticated = "allow"
    }
    dashboard = {
      priority        = 30
      paths           = ["/*"]
      target_group    = aws_lb_target_group.api.arn
      unauthenticated = "authenticate"
    }
  }
}

resource "aws_lb_listener_rule" "login" {
  for_each = local.login_rules

  listener_arn = aws_lb_listener.https.arn
  priority     = each.value.priority

  condition {
    path_pattern {
      values = each.value.paths
    }
  }

  dynamic "action" {
    for_each = var.ui_access == "cognito" ? [1] : []
    content {
      type = "authenticate-cognito"
      authenticate_cognito {
        user_pool_arn              = aws_cognito_user_pool.ui[0].arn
        user_pool_client_id        = aws_cognito_user_pool_client.ui[0].id
        user_pool_domain           = aws_cognito_user_pool_domain.ui[0].domain
        session_timeout            = 43200
        on_unauthenticated_request = each.value.unauthenticated
      }
    }
  }

  dynamic "action" {
    for_each = var.ui_access == "oidc" ? [1] : []
    content {
      type = "authenticate-oidc"
      authenticate_oidc {
        issuer                     = var.oidc_issuer
        authorization_endpoint     = var.oidc_authorization_endpoint
        token_endpoint             = var.oidc_token_endpoint
        user_info_endpoint         = var.oidc_user_info_endpoint
        client_id                  = var.oidc_client_id
        client_secret              = var.oidc_client_secret
        session_timeout            = 43200
        on_unauthenticated_request = each.value.unauthenticated
      }
    }
  }

  action {
    type             = "forward"
    target_group_arn = each.value.target_group
  }
}

# ---------------------------------------------------------------------------------------------
# ui_access = "internal": the UI on its own load balancer in the private subnets.
# ---------------------------------------------------------------------------------------------

resource "aws_lb" "internal_ui" {
  #checkov:skip=CKV2_AWS_28:Internal load balancer reachable only from ui_allowed_cidrs; a WAF adds nothing there.
  count = var.ui_access == "internal" ? 1 : 0

  name                       = "${local.name}-ui"
  load_balancer_type         = "application"
  internal                   = true
  subnets                    = local.private_subnet_ids
  security_groups            = [aws_security_group.ui_alb[0].id]
  drop_invalid_header_fields = true
  enable_deletion_protection = var.deletion_protection

  access_logs {
    bucket  = aws_s3_bucket.logs.id
    prefix  = "alb"
    enabled = true
  }

  depends_on = [aws_s3_bucket_policy.logs]
}

resource "aws_lb_listener" "internal_ui" {
  count = var.ui_access == "internal" ? 1 : 0

  load_balancer_arn = aws_lb.internal_ui[0].arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.webserver.arn
  }
}

# ---------------------------------------------------------------------------------------------
# ui_access = "cognito": a user pool only administrators add people to.
# ---------------------------------------------------------------------------------------------

resource "aws_cognito_user_pool" "ui" {
  count = var.ui_access == "cognito" ? 1 : 0

  name                     = "${local.name}-dagster-ui"
  deletion_protection      = var.deletion_protection ? "ACTIVE" : "INACTIVE"
  auto_verified_attributes = ["email"]
  username_attributes      = ["email"]
  mfa_configuration        = "OPTIONAL"

  admin_create_user_config {
    allow_admin_create_user_only = true
  }

  software_token_mfa_configuration {
    enabled = true
  }

  password_policy {
    minimum_length                   = 14
    require_lowercase                = true
    require_uppercase                = true
    require_numbers                  = true
    require_symbols                  = true
    temporary_password_validity_days = 7
  }

  account_recovery_setting {
    recovery_mechanism {
      name     = "verified_email"
      priority = 1
    }
  }
}

resource "random_id" "cognito_domain" {
  byte_length = 4
}

resource "aws_cognito_user_pool_domain" "ui" {
  count = var.ui_access == "cognito" ? 1 : 0

  domain       = "${local.name}-ui-${random_id.cognito_domain.hex}"
  user_pool_id = aws_cognito_user_pool.ui[0].id
}

resource "aws_cognito_user_pool_client" "ui" {
  count = var.ui_access == "cognito" ? 1 : 0

  name                                 = "dagster-ui-load-balancer"
  user_pool_id                         = aws_cognito_user_pool.ui[0].id
  generate_secret                      = true
  allowed_oauth_flows_user_pool_client = true
  allowed_oauth_flows                  = ["code"]
  allowed_oauth_scopes                 = ["openid", "email"]
  supported_identity_providers         = ["COGNITO"]
  callback_urls                        = ["https://${var.domain_name}/oauth2/idpresponse"]
  prevent_user_existence_errors        = "ENABLED"
}

resource "aws_cognito_user" "ui_admin" {
  for_each = var.ui_access == "cognito" ? toset(var.ui_admin_emails) : toset([])

  user_pool_id             = aws_cognito_user_pool.ui[0].id
  username                 = each.key
  desired_delivery_mediums = ["EMAIL"]

  attributes = {
    email          = each.key
    email_verified = "true"
  }
}

# ---------------------------------------------------------------------------------------------
# DNS (optional): alias records when Route 53 hosts the zone.
# ---------------------------------------------------------------------------------------------

resource "aws_route53_record" "public" {
  count = var.route53_zone_id == null ? 0 : 1

  zone_id = var.route53_zone_id
  name    = var.domain_name
  type    = "A"

  alias {
    name                   = aws_lb.public.dns_name
    zone_id                = aws_lb.public.zone_id
    evaluate_target_health = false
  }
}

resource "aws_route53_record" "internal_ui" {
  count = var.route53_zone_id != null && var.ui_access == "internal" ? 1 : 0

  zone_id = var.route53_zone_id
  name    = local.ui_host
  type    = "A"

  alias {
    name                   = aws_lb.internal_ui[0].dns_name
    zone_id                = aws_lb.internal_ui[0].zone_id
    evaluate_target_health = false
  }
}
