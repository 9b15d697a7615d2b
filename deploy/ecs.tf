# The ECS cluster and its four services, all from the one image: the code server (found through
# Cloud Map), the Dagster webserver, the daemon (exactly one) and the API. Run tasks are not a
# service: the daemon's EcsRunLauncher registers and starts them (docker/dagster.yaml).

resource "aws_ecs_cluster" "main" {
  name = local.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_ecs_cluster_capacity_providers" "main" {
  cluster_name       = aws_ecs_cluster.main.name
  capacity_providers = ["FARGATE"]

  default_capacity_provider_strategy {
    capacity_provider = "FARGATE"
    weight            = 1
  }
}

resource "aws_service_discovery_private_dns_namespace" "main" {
  name        = local.service_namespace
  description = "Private names of the ${local.name} services"
  vpc         = local.vpc_id
}

resource "aws_service_discovery_service" "code_server" {
  name = "code-server"

  dns_config {
    namespace_id   = aws_service_discovery_private_dns_namespace.main.id
    routing_policy = "MULTIVALUE"

    dns_records {
      type = "A"
      ttl  = 10
    }
  }

  health_check_custom_config {
    failure_threshold = 1
  }
}

locals {
  # Each long-running container has a read-only root file system; /tmp and the working
  # directory are task volumes (Fargate ephemeral storage).
  scratch_mounts = [
    { sourceVolume = "tmp", containerPath = "/tmp", readOnly = false },
    { sourceVolume = "work", containerPath = "/opt/dagster/work", readOnly = false },
  ]

  services = {
    code-server = {
      desired_count  = 1
      target_group   = null
      cpu            = var.code_server_cpu
      memory         = var.code_server_memory
      task_role      = aws_iam_role.service["code-server"].arn
      execution_role = aws_iam_role.service["dagster-execution"].arn
      port           = local.code_server_port
      command = [
        "dagster", "code-server", "start", "-m", "sales_platform.definitions",
        "--host", "0.0.0.0", "--port", tostring(local.code_server_port), "--location-name", "sales_platform",
      ]
      environment = merge(local.platform_environment, local.dagster_environment, {
        # What the run launcher starts runs from: this image, sized and configured as set here.
        DAGSTER_CONTAINER_IMAGE   = local.image
        DAGSTER_CONTAINER_CONTEXT = local.run_container_context
      })
      secrets     = local.dagster_secrets
      healthcheck = ["sales-platform", "healthcheck", "--database", "--grpc", tostring(local.code_server_port)]
    }
    webserver = {
      desired_count  = 1
      target_group   = aws_lb_target_group.webserver.arn
      cpu            = var.webserver_cpu
      memory         = var.webserver_memory
      task_role      = aws_iam_role.service["webserver"].arn
      execution_role = aws_iam_role.service["dagster-execution"].arn
      port           = local.webserver_port
      command = [
        "dagster-webserver", "--host", "0.0.0.0", "--port", tostring(local.webserver_port),
        "--path-prefix", local.ui_path, "--workspace", local.dagster_workspace,
      ]
      environment = merge(local.platform_environment, local.dagster_environment)
      secrets     = local.dagster_secrets
      healthcheck = [
        "sales-platform", "healthcheck", "--database",
        "--http", "http://127.0.0.1:${local.webserver_port}${local.ui_path}/server_info",
      ]
    }
    daemon = {
      desired_count  = 1
      target_group   = null
      cpu            = var.daemon_cpu
      memory         = var.daemon_memory
      task_role      = aws_iam_role.service["daemon"].arn
      execution_role = aws_iam_role.service["dagster-execution"].arn
      port           = null
      command        = ["dagster-daemon", "run", "--workspace", local.dagster_workspace]
      environment    = merge(local.platform_environment, local.dagster_environment)
      secrets        = local.dagster_secrets
      healthcheck    = ["sales-platform", "healthcheck", "--database"]
    }
    api = {
      desired_count  = var.api_desired_count
      target_group   = aws_lb_target_group.api.arn
      cpu            = var.api_cpu
      memory         = var.api_memory
      task_role      = aws_iam_role.service["api"].arn
      execution_role = aws_iam_role.service["api-execution"].arn
      port           = local.api_port
      command        = ["sales-platform", "api", "--host", "0.0.0.0", "--port", tostring(local.api_port)]
      environment    = merge(local.platform_environment, local.api_environment)
      secrets        = [for key, secret in local.api_secrets : { name = secret.variable, valueFrom = aws_secretsmanager_secret.api[key].arn }]
      healthcheck    = ["sales-platform", "healthcheck", "--http", "http://127.0.0.1:${local.api_port}${local.api_health_path}"]
    }
  }

  container_definitions = {
    for name, service in local.services : name => [
      {
        name                   = name
        image                  = local.image
        essential              = true
        command                = service.command
        user                   = "10001:10001"
        readonlyRootFilesystem = true
        environment            = [for key in sort(keys(service.environment)) : { name = key, value = service.environment[key] }]
        secrets                = service.secrets
        mountPoints            = local.scratch_mounts
        portMappings           = service.port == null ? [] : [{ containerPort = service.port, protocol = "tcp" }]
        healthCheck = {
          command     = concat(["CMD"], service.healthcheck)
          interval    = 30
          timeout     = 15
          retries     = 3
          startPeriod = 120
        }
        logConfiguration = {
          logDriver = "awslogs"
          options = {
            awslogs-group         = aws_cloudwatch_log_group.service[name].name
            awslogs-region        = local.region
            awslogs-stream-prefix = name
          }
        }
      }
    ]
  }
}

resource "aws_ecs_task_definition" "service" {
  for_each = local.services

  family                   = "${local.name}-${each.key}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = each.value.cpu
  memory                   = each.value.memory
  task_role_arn            = each.value.task_role
  execution_role_arn       = each.value.execution_role
  container_definitions    = jsonencode(local.container_definitions[each.key])

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  volume {
    name = "tmp"
  }

  volume {
    name = "work"
  }
}

# Exactly one daemon, ever: its replacement starts only after it has stopped (0% / 100%).
resource "aws_ecs_service" "service" {
  for_each = local.services

  name                               = "${local.name}-${each.key}"
  cluster                            = aws_ecs_cluster.main.id
  task_definition                    = aws_ecs_task_definition.service[each.key].arn
  desired_count                      = each.value.desired_count
  launch_type                        = "FARGATE"
  propagate_tags                     = "SERVICE"
  enable_execute_command             = false
  health_check_grace_period_seconds  = each.value.target_group == null ? null : 120
  deployment_minimum_healthy_percent = each.key == "daemon" ? 0 : 100
  deployment_maximum_percent         = each.key == "daemon" ? 100 : 200

  network_configuration {
    subnets          = local.private_subnet_ids
    security_groups  = [local.task_security_groups[replace(each.key, "-", "_")]]
    assign_public_ip = false
  }

  dynamic "load_balancer" {
    for_each = each.value.target_group == null ? [] : [each.value.target_group]
    content {
      target_group_arn = load_balancer.value
      container_name   = each.key
      container_port   = each.value.port
    }
  }

  # The webserver and the daemon find the code server by name (docker/workspace.yaml).
  dynamic "service_registries" {
    for_each = each.key == "code-server" ? [aws_service_discovery_service.code_server.arn] : []
    content {
      registry_arn = service_registries.value
    }
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  depends_on = [aws_lb_listener.https, aws_lb_listener.internal_ui]
}
