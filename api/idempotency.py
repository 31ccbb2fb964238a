"""Idempotency-Key: each actor's first answer to a key, kept in PostgreSQL, replayed to retries.

A command's answer is written in the same transaction as its events, so a process that dies after
appending cannot leave a key whose retry would append again."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from api.errors import Problem
from infra.database import advisory_lock_id
from infra.recorder import SameTransactionHook, in_same_transaction

# Answers that carry a secret (a new API key) are kept without it: a key is shown once.
SECRET_FIELDS = ("api_key",)


def created_body(aggregate_id: UUID | str, version: int, position: int) -> dict[str, Any]:
    """The 201 answer to a command: the resource's id, its new version, and the event's log position."""
    return {"id": str(aggregate_id), "version": version, "position": position}


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
        wait for the first, in this process or any other; it is released if the process dies.
        execute must append with at most one save: its answer is stored in that save's transaction."""
        lock_id = advisory_lock_id(f"{actor_id}:{key}")
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_id,))
            row = self._stored(conn, actor_id, key)
            if row is not None:
                if row["fingerprint"] != fingerprint:
                    raise Problem(
                        422,
                        "this Idempotency-Key was already used with a different request",
                        errors=[{"field": "Idempotency-Key", "message": "reused with a different request"}],
                        type_="idempotency-key-reused",
                    )
                return Answer(row["status"], row["body"], replayed=True)
            token = in_same_transaction.set(self._store_with_events(actor_id, key, fingerprint))
            try:
                answer = execute()
            finally:
                in_same_transaction.reset(token)
            # A refusal appended nothing, so it is stored here; a success is already stored with its events.
            kept = {name: value for name, value in answer.body.items() if name not in SECRET_FIELDS}
            conn.execute(
                self._sql("INSERT INTO {schema}.api_idempotency_keys (actor_id, key, fingerprint, status, body) "
                          "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (actor_id, key) DO NOTHING"),
                (actor_id, key, fingerprint, answer.status, Jsonb(kept)),
            )
            stored = self._stored(conn, actor_id, key)
            if stored is not None and (stored["status"], stored["body"]) != (answer.status, kept):
                # The events were committed but the acknowledgement was lost, and the library's own retry was
                # refused as a conflict: the committed answer is the true one.
                return Answer(stored["status"], stored["body"])
            return answer

    def _stored(self, conn: Any, actor_id: UUID, key: str) -> DictRow | None:
        return conn.execute(
            self._sql("SELECT fingerprint, status, body FROM {schema}.api_idempotency_keys "
                      "WHERE actor_id = %s AND key = %s"),
            (actor_id, key),
        ).fetchone()

    def _store_with_events(self, actor_id: UUID, key: str, fingerprint: str) -> SameTransactionHook:
        """Writes the 201 answer inside the transaction that appends the command's events."""
        statement = self._sql("INSERT INTO {schema}.api_idempotency_keys (actor_id, key, fingerprint, status, body) "
                              "VALUES (%s, %s, %s, 201, %s)")

        def store(curs: Cursor[DictRow], events: Sequence[StoredEvent], positions: Sequence[int]) -> None:
            # The first aggregate saved is the command's resource, as in FollowupApplication._save.
            resource = events[0].originator_id
            version = max(event.originator_version for event in events if event.originator_id == resource)
            curs.execute(statement, (actor_id, key, fingerprint, Jsonb(created_body(resource, version, positions[-1]))))

        return store
