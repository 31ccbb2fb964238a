"""Idempotency-Key: each actor's first answer to a key, kept in PostgreSQL, replayed to retries."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from api.errors import Problem

# Answers that carry a secret (a new API key) are kept without it: a key is shown once.
SECRET_FIELDS = ("api_key",)


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    replayed: bool = False


class IdempotencyStore:
    """A table of (actor, key) -> (request fingerprint, status, body) in the configured schema."""

    def __init__(self, pool: ConnectionPool[Any], schema: str) -> None:
        self.pool = pool
        self.schema = schema

    def _sql(self, statement: str) -> Composed:
        return SQL(statement).format(schema=Identifier(self.schema))

    def create_table(self) -> None:
        with self.pool.connection() as conn:
            conn.execute(self._sql(
                """CREATE TABLE IF NOT EXISTS {schema}.api_idempotency_keys (
                    actor_id uuid NOT NULL,
                    key text NOT NULL,
                    fingerprint text NOT NULL,
                    status integer NOT NULL,
                    body jsonb NOT NULL,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (actor_id, key))"""
            ))

    def answer_once(
        self, actor_id: UUID, key: str, fingerprint: str, execute: Callable[[], Answer]
    ) -> Answer:
        """The stored answer to (actor, key), or execute's answer, stored.

        A transaction-scoped advisory lock on (actor, key) makes concurrent requests with one key
        wait for the first, in this process or any other; it is released if the process dies."""
        lock_id = int.from_bytes(hashlib.sha256(f"{actor_id}:{key}".encode()).digest()[:8], "big", signed=True)
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_id,))
            row: DictRow | None = conn.execute(
                self._sql("SELECT fingerprint, status, body FROM {schema}.api_idempotency_keys "
                          "WHERE actor_id = %s AND key = %s"),
                (actor_id, key),
            ).fetchone()
            if row is not None:
                if row["fingerprint"] != fingerprint:
                    raise Problem(
                        422,
                        "this Idempotency-Key was already used with a different request",
                        errors=[{"field": "Idempotency-Key", "message": "reused with a different request"}],
                        type_="idempotency-key-reused",
                    )
                return Answer(row["status"], row["body"], replayed=True)
            answer = execute()
            kept = {name: value for name, value in answer.body.items() if name not in SECRET_FIELDS}
            conn.execute(
                self._sql("INSERT INTO {schema}.api_idempotency_keys (actor_id, key, fingerprint, status, body) "
                          "VALUES (%s, %s, %s, %s, %s)"),
                (actor_id, key, fingerprint, answer.status, Jsonb(kept)),
            )
            return answer
