"""docker/ without a Docker engine: hadolint passes, the base is pinned, everything the image
copies exists and is in the build context, every command the image and the ECS task definitions
run is installed by the same lock file and accepts the options given, and the image's default
command really serves the code location over gRPC."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sales_platform_tests.command_line import free_port
from sales_platform_tests.deployment.terraform_config import TerraformConfig

pytestmark = pytest.mark.deployment

BIN = Path(sys.executable).parent


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    logical, current = [], ""
    for line in dockerfile.read_text().splitlines():
        if line.lstrip().startswith("#") and not current:
            continue
        current += line.rstrip("\\").strip() + " " if line.rstrip().endswith("\\") else line.strip()
        if not line.rstrip().endswith("\\"):
            if current.strip():
                logical.append(current.strip())
            current = ""
    return [(text.split(None, 1)[0].upper(), text.split(None, 1)[1] if " " in text else "") for text in logical]


def stages(dockerfile: Path) -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for instruction in instructions(dockerfile):
        if instruction[0] == "FROM":
            result.append([])
        if result:
            result[-1].append(instruction)
    return result


@pytest.fixture(scope="module")
def dockerfiles(repo_root: Path) -> list[Path]:
    found = sorted((repo_root / "docker").glob("Dockerfile*"))
    assert found, "no Dockerfile in docker/"
    return found


def hadolint(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "hadolint"), "--no-color", str(path)], capture_output=True, text=True, timeout=60)


def test_hadolint_passes_on_every_dockerfile(dockerfiles: list[Path]) -> None:
    for dockerfile in dockerfiles:
        result = hadolint(dockerfile)
        assert (result.returncode, result.stdout) == (0, ""), result.stdout
        for line in dockerfile.read_text().splitlines():
            if "hadolint ignore" in line:
                assert re.search(r"hadolint ignore=\S+\s+(--|because|:)\s*\S{10,}", line), (
                    f"ignore without a reason: {line}"
                )


def test_hadolint_really_lints(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install curl\nRUN pip install requests\n")
    result = hadolint(bad)
    assert result.returncode != 0
    assert {"DL3007", "DL3008", "DL3013"} <= set(re.findall(r"DL\d{4}", result.stdout))


def test_base_image_is_pinned_slim_python_311(dockerfiles: list[Path]) -> None:
    for dockerfile in dockerfiles:
        for stage in stages(dockerfile):
            image = stage[0][1].split()[0]
            assert re.fullmatch(r"python:3\.11\.\d+-slim(-\w+)?(@sha256:[0-9a-f]{64})?", image), image


def test_final_stage_is_lean_non_root_and_checks_its_health(repo_root: Path) -> None:
    *build, final = stages(repo_root / "docker" / "Dockerfile")
    assert build, "multi-stage: dependencies are resolved in a separate stage"
    kinds = [kind for kind, _ in final]
    assert "HEALTHCHECK" in kinds and "CMD" in kinds
    (user,) = [args for kind, args in final if kind == "USER"]
    assert user.split(":")[0] not in ("0", "root")
    runs = " ".join(args for kind, args in final if kind == "RUN")
    assert not re.search(r"apt-get|gcc|build-essential|pip install", runs), "the final stage installs nothing"
    copies = [args for kind, args in final if kind == "COPY"]
    assert any("--from=build /opt/venv" in args for args in copies)
    install = " ".join(args for stage in build for kind, args in stage if kind == "RUN")
    assert "--constraint constraints.txt" in install, "installs exactly the lock file's versions"


def _dockerignore_allows(repo_root: Path, path: str) -> bool:
    """The .dockerignore here is an allow-list: `*` then `!path` lines."""
    allowed = False
    for line in (repo_root / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line == "*":
            allowed = False
        elif line.startswith("!") and (path == line[1:].rstrip("/") or path.startswith(line[1:].rstrip("/") + "/")):
            allowed = True
    return allowed


def test_every_copied_file_exists_and_is_in_the_build_context(repo_root: Path, dockerfiles: list[Path]) -> None:
    copied = 0
    for dockerfile in dockerfiles:
        for kind, args in instructions(dockerfile):
            if kind not in ("COPY", "ADD") or "--from=" in args:
                continue
            *sources, _destination = [part for part in shlex.split(args) if not part.startswith("--")]
            for source in sources:
                assert (repo_root / source).exists(), f"{dockerfile.name} copies {source}, which does not exist"
                assert _dockerignore_allows(repo_root, source.rstrip("/")), f"{source} is left out by .dockerignore"
                copied += 1
    assert copied >= 5


def _exec_form(args: str) -> list[str]:
    return json.loads(args[args.index("[") :]) if "[" in args else shlex.split(args)


def image_commands(repo_root: Path, terraform: TerraformConfig) -> list[list[str]]:
    final = stages(repo_root / "docker" / "Dockerfile")[-1]
    commands = [_exec_form(args) for kind, args in final if kind in ("CMD", "HEALTHCHECK")]
    for service in terraform.locals["services"].values():
        commands += [service["command"], service["healthcheck"]]
    return commands


def test_every_command_the_image_runs_is_installed(repo_root: Path, terraform: TerraformConfig) -> None:
    programs = {command[0] for command in image_commands(repo_root, terraform)}
    assert programs == {"dagster", "dagster-webserver", "dagster-daemon", "sales-platform"}
    for program in programs:
        assert (BIN / program).exists(), f"{program} is not a console script of the locked environment"


def _help_for(command: list[str]) -> tuple[list[str], list[str]]:
    """The command's subcommand path and the --options it passes (values dropped)."""
    words = [w for w in command if not w.startswith("${")]
    path = [words[0]]
    for word in words[1:]:
        if word.startswith("-"):
            break
        path.append(word)
    options = [w.split("=")[0] for w in words if w.startswith("--")]
    return path, options


def test_every_command_accepts_the_options_it_is_given(repo_root: Path, terraform: TerraformConfig) -> None:
    for command in image_commands(repo_root, terraform):
        path, options = _help_for(command)
        result = subprocess.run(
            [str(BIN / path[0]), *path[1:], "--help"],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "DAGSTER_HOME": ""},
        )
        assert result.returncode == 0, f"{' '.join(path)} --help: {result.stderr[-500:]}"
        for option in options:
            assert option in result.stdout, f"{' '.join(path)} has no option {option}"


def test_the_default_command_serves_the_code_location_and_reports_healthy(
    repo_root: Path, tmp_path: Path, clean_env: Path
) -> None:
    """The image's CMD, as written in the Dockerfile (on 127.0.0.1 and a free port), loads
    sales_platform.definitions, and the image's HEALTHCHECK command then says healthy."""
    final = stages(repo_root / "docker" / "Dockerfile")[-1]
    (cmd,) = [_exec_form(args) for kind, args in final if kind == "CMD"]
    (healthcheck,) = [_exec_form(args) for kind, args in final if kind == "HEALTHCHECK"]
    port = free_port()
    cmd = [str(port) if word == "4000" else "127.0.0.1" if word == "0.0.0.0" else word for word in cmd]
    healthcheck = [str(port) if word == "4000" else word for word in healthcheck]
    (tmp_path / "dagster_home").mkdir()
    env = {
        **os.environ,
        "SALES_PLATFORM_HOME": str(tmp_path / "home"),
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
    }

    def check() -> subprocess.CompletedProcess:
        return subprocess.run(healthcheck, capture_output=True, text=True, env=env, timeout=60)

    assert check().returncode == 1, "healthy before the server started?"
    server = subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            result = check()
            if result.returncode == 0 or time.monotonic() > deadline or server.poll() is not None:
                break
            time.sleep(1)
        assert server.poll() is None, "the code server exited"
        assert (result.returncode, result.stdout.strip()) == (0, "healthy"), result.stderr
        # What the webserver and daemon see through docker/workspace.yaml: the platform's jobs.
        listing = subprocess.run(
            [str(BIN / "dagster"), "job", "list", "--workspace", str(repo_root / "docker" / "workspace.yaml")],
            capture_output=True,
            text=True,
            timeout=120,
            env={**env, "DAGSTER_CODE_SERVER_HOST": "127.0.0.1", "DAGSTER_CODE_SERVER_PORT": str(port)},
        )
        assert listing.returncode == 0, listing.stderr[-2000:]
        assert "ingest_store_uploads" in listing.stdout and "daily_analysis" in listing.stdout
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    assert check().returncode == 1, "still healthy after the server stopped"
