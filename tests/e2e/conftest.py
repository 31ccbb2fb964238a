"""End-to-end fixtures: a real `followup serve` process on a fresh schema, and HTTP clients for its users."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg import sql

FOLLOWUP = str(Path(sys.executable).parent / "followup")


@dataclass
class Server:
    base_url: str
    admin_key: str
    schema: str
    database_url: str
    log_path: Path | None = None  # the server process's stdout and stderr

    def client(self, key: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server per test module: its tests use their own teams, so they do not interfere."""
    schema = f"e2e_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    env = {**os.environ, "DATABASE_URL": database_url, "FOLLOWUP_SCHEMA": schema,
           "FOLLOWUP_DATA_DIR": str(tmp_path_factory.mktemp("data"))}
    port = _free_port()
    log_path = tmp_path_factory.mktemp("server") / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [FOLLOWUP, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env, stdout=log, stderr=log
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(base_url, process, log_path)
        added = subprocess.run(
            [FOLLOWUP, "users", "add", "Admin", "--role", "admin"], env=env, capture_output=True, text=True, check=True
        )
        yield Server(base_url, added.stdout.strip(), schema, database_url, log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def _wait_until_healthy(base_url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited:\n{log_path.read_text()}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server did not become healthy:\n{log_path.read_text()}")


@pytest.fixture(scope="module")
def admin(server: Server) -> Iterator[httpx.Client]:
    with server.client(server.admin_key) as client:
        yield client


@dataclass
class User:
    id: str
    key: str
    client: httpx.Client


@pytest.fixture(scope="module")
def add_user(server: Server, admin: httpx.Client) -> Iterator[object]:
    """Adds a user through the API and gives back a client holding their key."""
    clients: list[httpx.Client] = []

    def add(name: str, role: str = "recruiter", team: str | None = None) -> User:
        body = {"name": name, "role": role, **({"team": team} if team else {})}
        response = admin.post("/v1/recruiters", json=body)
        assert response.status_code == 201, response.text
        answer = response.json()
        client = server.client(answer["api_key"])
        clients.append(client)
        return User(answer["id"], answer["api_key"], client)

    yield add
    for client in clients:
        client.close()


def assert_problem(response: httpx.Response, status: int, field: str | None = None) -> dict:
    """The answer is an RFC 9457 problem with this status (and, for validation, names the field)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == status
    if field is not None:
        fields = [error["field"] for error in body["errors"]]
        assert any(f == field or f.startswith(f"{field}.") for f in fields), fields
    return body
