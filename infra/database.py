"""PostgreSQL: the external server named by DATABASE_URL, or an embedded one under the data directory."""

from __future__ import annotations

import atexit
import hashlib
import logging
import threading
import warnings
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

log = logging.getLogger(__name__)

_embedded_lock = threading.Lock()
_embedded_servers: dict[Path, object] = {}


def embedded_database_url(data_dir: Path) -> str:
    """Start (or reuse) the embedded PostgreSQL under data_dir and return its URI.

    The server is stopped when this process exits, unless another process is using it."""
    pgdata = (data_dir / "pgdata").resolve()
    with _embedded_lock:
        server = _embedded_servers.get(pgdata)
        if server is None:
            pgdata.parent.mkdir(parents=True, exist_ok=True)
            log.info("starting embedded PostgreSQL in %s", pgdata)
            with warnings.catch_warnings():
                # pgserver asks platformdirs for a runtime dir it does not need here.
                warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
                import pgserver  # the embedded binaries are only needed when no DATABASE_URL is given

                server = pgserver.get_server(pgdata, cleanup_mode="stop")
            _embedded_servers[pgdata] = server
            atexit.register(_stop_embedded, pgdata)
        return server.get_uri()


def _stop_embedded(pgdata: Path) -> None:
    server = _embedded_servers.pop(pgdata, None)
    if server is not None:
        server.cleanup()


def resolve_database_url(database_url: str | None, data_dir: Path) -> str:
    return database_url or embedded_database_url(data_dir)


def eventsourcing_env(
    database_url: str, schema: str, *, pool_size: int = 2, max_overflow: int = 10, pool_timeout: int = 2
) -> dict[str, str]:
    """The eventsourcing library's PostgreSQL settings for a libpq URI and a schema."""
    params = conninfo_to_dict(database_url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": str(params.get("dbname") or "postgres"),
        "POSTGRES_HOST": str(params.get("host") or "localhost"),
        "POSTGRES_PORT": str(params.get("port") or "5432"),
        "POSTGRES_USER": str(params.get("user") or "postgres"),
        "POSTGRES_PASSWORD": str(params.get("password") or ""),
        "POSTGRES_SCHEMA": schema,
        # The library uses it as the wait for a pooled connection, not only for connecting.
        "POSTGRES_CONNECT_TIMEOUT": str(pool_timeout),
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": str(max_overflow),
        "POSTGRES_PRE_PING": "y",
        "CREATE_TABLE": "y",
        "APPLICATION_RECORDER_TOPIC": "infra.recorder:FollowupRecorder",
        "TRANSCODER_TOPIC": "infra.transcoder:FollowupTranscoder",
    }


def ensure_schema(database_url: str, schema: str) -> None:
    """The library creates tables but not schemas: make sure ours exists."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))


def advisory_lock_id(name: str) -> int:
    """The 64-bit key of PostgreSQL's advisory lock for a name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
