"""A real PostgreSQL server on 127.0.0.1 for the deployment tests, in a throwaway data directory.

PostgreSQL refuses to run as root, and CI runs as root: then the server runs as the unprivileged
`nobody` user (through `setpriv`), in a directory handed to that user. Password authentication
(scram-sha-256) over TCP, as on RDS.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sales_platform_tests.command_line import free_port

UNPRIVILEGED_USER = "nobody"


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    username: str
    password: str
    database: str

    @property
    def environment(self) -> dict[str, str]:
        """The DAGSTER_PG_* variables docker/dagster.yaml reads."""
        return {
            "DAGSTER_PG_HOST": self.host,
            "DAGSTER_PG_PORT": str(self.port),
            "DAGSTER_PG_USERNAME": self.username,
            "DAGSTER_PG_PASSWORD": self.password,
            "DAGSTER_PG_DB": self.database,
        }


def postgres_bin_dir() -> Path:
    """Where initdb and pg_ctl are: on PATH, or Debian's /usr/lib/postgresql/<major>/bin."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not candidates:
        raise RuntimeError("PostgreSQL is not installed: apt-get install postgresql (.ci/run does this)")
    return Path(candidates[-1]).parent


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    user = pwd.getpwnam(UNPRIVILEGED_USER)
    return ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups", "--", *command]


@contextlib.contextmanager
def running_postgres(database: str = "dagster", username: str = "dagster") -> Iterator[PostgresServer]:
    bin_dir = postgres_bin_dir()
    root = Path(tempfile.mkdtemp(prefix="sales-platform-pg-"))
    if os.geteuid() == 0:
        user = pwd.getpwnam(UNPRIVILEGED_USER)
        os.chown(root, user.pw_uid, user.pw_gid)
    data, password_file, log = root / "data", root / "password", root / "server.log"
    password = "test-" + os.urandom(8).hex()
    password_file.write_text(password + "\n")
    if os.geteuid() == 0:
        os.chown(password_file, user.pw_uid, user.pw_gid)
    port = free_port()
    run = dict(check=True, capture_output=True, text=True, cwd=root)
    subprocess.run(
        _as_server_user(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                username,
                f"--pwfile={password_file}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--no-sync",
            ]
        ),
        **run,
    )
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        _as_server_user(
            [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start"]
        ),
        **run,
    )
    try:
        import psycopg2

        admin = psycopg2.connect(host="127.0.0.1", port=port, user=username, password=password, dbname="postgres")
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{database}"')
        admin.close()
        yield PostgresServer("127.0.0.1", port, username, password, database)
    finally:
        subprocess.run(
            _as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
            capture_output=True,
            cwd=root,
        )
        shutil.rmtree(root, ignore_errors=True)
