"""deploy/ puts the stores' dashboard on the platform's host behind the login that protects the
Dagster UI: the dashboard's pages ask for the login, the API under /api lets a request without
one through (store systems with X-Api-Key) and trusts the load balancer's signed identity, and
the API task is configured to serve the dashboard's build and to check that identity."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from sales_platform.settings import setting_variables
from sales_platform_tests.api_support import Api
from sales_platform_tests.deployment.terraform_config import TerraformConfig

pytestmark = pytest.mark.deployment

_RULE = re.compile(
    r"(?P<name>\w+) = \{priority = (?P<priority>\d+), paths = \[(?P<paths>[^\]]*)\], "
    r"target_group = (?P<target>[\w.]+), unauthenticated = \"(?P<unauthenticated>\w+)\"\}"
)


def _login_rules(terraform: TerraformConfig) -> dict[str, dict[str, str]]:
    expression = terraform.locals["login_rules"]
    assert expression.startswith('${var.ui_access == "internal" ? {} : {'), "no login rules without a login"
    return {match["name"]: match.groupdict() for match in _RULE.finditer(expression)}


def test_the_dashboard_and_the_ui_ask_for_the_login_and_the_api_lets_keys_through(terraform: TerraformConfig) -> None:
    rules = _login_rules(terraform)
    assert set(rules) == {"dagster", "api", "dashboard"}
    assert (rules["dagster"]["target"], rules["dagster"]["unauthenticated"]) == (
        "aws_lb_target_group.webserver.arn",
        "authenticate",
    )
    assert rules["api"]["paths"] == 'local.api_path, "${local.api_path}/*"'
    assert (rules["api"]["target"], rules["api"]["unauthenticated"]) == ("aws_lb_target_group.api.arn", "allow")
    assert (rules["dashboard"]["paths"], rules["dashboard"]["unauthenticated"]) == ('"/*"', "authenticate")
    assert rules["dashboard"]["target"] == "aws_lb_target_group.api.arn", "the API serves the dashboard's files"
    order = sorted(rules, key=lambda name: int(rules[name]["priority"]))
    assert order[-1] == "dashboard", "the catch-all comes after the UI and the API"
    rule = terraform.resources["aws_lb_listener_rule.login"]
    assert rule["for_each"] == "${local.login_rules}"
    for dynamic in rule["dynamic"]:
        (content,) = dynamic["action"]["content"]
        (authenticate,) = content[content["type"].replace("-", "_")]
        assert authenticate["on_unauthenticated_request"] == "${each.value.unauthenticated}"
    (forward,) = rule["action"]
    assert forward == {"type": "forward", "target_group_arn": "${each.value.target_group}"}


def test_the_api_task_serves_the_dashboard_and_trusts_only_this_load_balancer(terraform: TerraformConfig) -> None:
    environment = terraform.locals["api_environment"]
    known = set(setting_variables())
    assert set(environment) <= known
    assert environment == {
        "API_PATH_PREFIX": "${local.api_path}",
        "DASHBOARD_PREFIX": '${var.ui_access == "internal" ? "" : local.dashboard_prefix}',
        "ALB_ARN": '${var.ui_access == "internal" ? "" : aws_lb.public.arn}',
    }
    assert (
        terraform.locals["services"]["api"]["environment"]
        == "${merge(local.platform_environment, local.api_environment)}"
    )
    assert terraform.locals["platform_environment"]["PUBLIC_API_URL"] == "${local.api_url}"
    assert terraform.locals["api_url"] == "${local.site_url}${local.api_path}"
    (serve,) = [
        s for s in terraform.data["aws_iam_policy_document.api"]["statement"] if s["sid"] == "ServeTheDashboard"
    ]
    assert serve == {
        "sid": "ServeTheDashboard",
        "actions": ["s3:GetObject"],
        "resources": ["${local.objects.dashboard}"],
    }
    assert terraform.locals["objects"]["dashboard"] == "${local.bucket_arn}/${local.dashboard_prefix}*"


def test_browsers_on_the_platforms_host_may_upload_to_the_bucket(terraform: TerraformConfig) -> None:
    (cors,) = terraform.resources["aws_s3_bucket_cors_configuration.data"]["cors_rule"]
    assert cors["allowed_origins"] == "${local.frontend_origins}"
    assert "[local.site_url]" in terraform.locals["frontend_origins"]
    assert terraform.locals["platform_environment"]["FRONTEND_ORIGIN"] == '${join(",", local.frontend_origins)}'


def test_health_checks_reach_the_api_under_its_prefix(terraform: TerraformConfig, make_api: Callable[..., Api]) -> None:
    assert terraform.locals["api_health_path"] == "${local.api_path}/health"
    (check,) = terraform.resources["aws_lb_target_group.api"]["health_check"]
    assert check["path"] == "${local.api_health_path}"
    assert terraform.locals["services"]["api"]["healthcheck"][-1].endswith("${local.api_health_path}")
    api = make_api(API_PATH_PREFIX=terraform.locals["api_path"], DASHBOARD_PREFIX=terraform.locals["dashboard_prefix"])
    assert api.anonymous().get(f"{terraform.locals['api_path']}/health").status_code == 200
