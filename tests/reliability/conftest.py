"""Reliability fixtures: server processes that tests may kill and restart, on a database of their own."""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from tests.e2e.conftest import FOLLOWUP, _free_port, _wait_until_healthy, add_user, admin, server  # noqa: F401


@dataclass
class ServerProcess:
    """A `followup serve` process that can be SIGKILLed and started again on the same schema."""

    database_url: str
    schema: str
    log_path: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=_free_port)
    process: subprocess.Popen[bytes] | None = None
    admin_key: str = ""

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "DATABASE_URL": self.database_url, "FOLLOWUP_SCHEMA": self.schema,
                "FOLLOWUP_DATA_DIR": str(self.log_path.parent / "data"), **self.extra_env}

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [FOLLOWUP, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=self.env, stdout=log, stderr=log,
            )
        _wait_until_healthy(self.base_url, self.process, self.log_path)
        if not self.admin_key:
            added = subprocess.run([FOLLOWUP, "users", "add", "Admin", "--role", "admin"], env=self.env,
                                   capture_output=True, text=True, check=True)
            self.admin_key = added.stdout.strip()

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def client(self, key: str | None = None, timeout: float = 30) -> httpx.Client:
        key = self.admin_key if key is None else key
        return httpx.Client(base_url=self.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=timeout)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def own_database(database_url: str) -> Iterator[tuple[str, str]]:
    """A database of the test's own (name, URI): cutting its connections touches no other test."""
    name = f"rel_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield name, make_conninfo(database_url, dbname=name)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS true").format(sql.Identifier(name)))
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[object]:
    """Starts servers on a (database URI, schema), with extra environment; stops them at the end."""
    started: list[ServerProcess] = []
    created: list[tuple[str, str]] = []

    def start(database_url: str, schema: str | None = None, **extra_env: str) -> ServerProcess:
        if schema is None:
            schema = f"rel_{uuid.uuid4().hex[:10]}"
            created.append((database_url, schema))
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        log_dir = tmp_path / f"server-{len(started)}"
        log_dir.mkdir()
        server_process = ServerProcess(database_url, schema, log_dir / "server.log", extra_env)
        started.append(server_process)
        server_process.start()
        return server_process

    yield start
    for server_process in started:
        server_process.stop()
    for database_url, schema in created:
        try:
            with psycopg.connect(database_url, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
        except psycopg.OperationalError:
            pass  # the test's own database, already dropped with everything in it


def terminate_backends(admin_url: str, database: str) -> int:
    """Ends every connection to `database` but this one; returns how many were ended."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        ).fetchall()
    return len(rows)


def set_connections_allowed(admin_url: str, database: str, allowed: bool) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS {}").format(
            sql.Identifier(database), sql.Literal(allowed)))
