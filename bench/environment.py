"""A benchmark's own schema on the configured PostgreSQL, dropped afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql

from infra.eventstore import database_url
from infra.person_keys import new_master_key
from infra.settings import Settings

# Benchmarks run on an external database too, which needs a master key: a throwaway one unless given.
# Set in the environment, so the servers and workers a benchmark starts use the same one.
os.environ.setdefault("FOLLOWUP_MASTER_KEY", new_master_key())


@contextmanager
def bench_settings(keep: bool = False) -> Iterator[Settings]:
    url = database_url(Settings())
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield Settings(DATABASE_URL=url, FOLLOWUP_SCHEMA=schema)
    finally:
        if not keep:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory (VmHWM), in MB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0
