"""Test fixtures: a real PostgreSQL (TEST_DATABASE_URL, or an embedded server) and a fresh schema per test."""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from infra.settings import Settings

# Every application, server and CLI process the tests start wraps person keys with this master key
# (with DATABASE_URL set, Followup refuses to start without one).
TEST_MASTER_KEY = os.environ.setdefault("FOLLOWUP_MASTER_KEY", base64.b64encode(os.urandom(32)).decode())


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    from infra.database import embedded_database_url

    return embedded_database_url(Path(tmp_path_factory.mktemp("embedded-pg")))


@pytest.fixture
def schema(database_url: str) -> Iterator[str]:
    """A schema of its own, so that no test sees another's events or rows."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    yield name
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))


@pytest.fixture
def settings(database_url: str, schema: str, tmp_path: Path) -> Settings:
    return Settings(DATABASE_URL=database_url, FOLLOWUP_SCHEMA=schema, data_dir=tmp_path / "data",
                    FOLLOWUP_MASTER_KEY=TEST_MASTER_KEY)


@pytest.fixture
def workers():
    """open_workers(...) whose view connections are given back when the test ends."""
    from projections.registry import open_workers

    opened = []

    def open_(app, names=None):
        new = open_workers(app, names=names)
        opened.extend(new)
        return new

    yield open_
    for worker in opened:
        worker.close()
