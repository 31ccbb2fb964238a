"""The event recorder: fewer retries, so faults are answered quickly; rows written in the events' transaction;
the log's table lock held no longer than the server needs; pooled connections checked without a round trip."""

from __future__ import annotations

import select
import time
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import IntegrityError, InterfaceError, Notification, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import retry
from psycopg import Cursor
from psycopg.rows import DictRow, tuple_row
from psycopg.sql import SQL, Composed, Identifier
from psycopg_pool import ConnectionPool

# Called inside the transaction that appends a command's events, with the events and their log positions:
# what it writes is committed with the events or not at all.
SameTransactionHook = Callable[[Cursor[DictRow], Sequence[StoredEvent], Sequence[int]], None]
in_same_transaction: ContextVar[SameTransactionHook | None] = ContextVar("in_same_transaction", default=None)


def check_connection(conn: psycopg.Connection[Any]) -> None:
    """A pool's check of a connection before it is handed out, with a round trip only when needed.

    An idle connection's socket has nothing to read unless the server spoke since its last use, and that
    is how a server that ends a session (a terminated backend, a restart or shutdown) says so: then a ping
    finds out, and the pool replaces the connection. A quiet connection is handed out unpinged, which saves
    a round trip per read and per write (under load, as long as the query itself). Were the server to vanish
    without a word, the query fails instead, and the recorder's second attempt takes another connection."""
    if conn.closed:
        raise psycopg.OperationalError("the connection is closed")
    poller = select.poll()
    poller.register(conn.fileno(), select.POLLIN)
    if poller.poll(0):
        ConnectionPool.check_connection(conn)


# The library retries ten times, each waiting up to the pool timeout: a minute or more with the database away.
# Two attempts still ride over a connection that was dropped once (the pool checks the next one first).
_transient = retry((InterfaceError, OperationalError), max_attempts=2, wait=0.2)
_base = PostgresApplicationRecorder


# Every insert into the log takes its table lock (so positions are committed in order), which makes the
# time the lock is held the bound on commands per second. The library sends LOCK, NOTIFY and INSERT, reads
# the positions back, then sends COMMIT, so the lock stays held across a round trip to the API process and
# while its thread waits for the GIL. This function does the library's same statements inside one
# statement, which in autocommit is its own transaction: the lock is held only while the server inserts
# and flushes the commit. A unique violation (a concurrent writer) rolls it all back as before.
INSERT_EVENTS_FUNCTION = "followup_insert_events"
_CREATE_INSERT_EVENTS_FUNCTION = """CREATE OR REPLACE FUNCTION {schema}.{function}(events {schema}.{event_type}[])
RETURNS SETOF bigint LANGUAGE plpgsql AS $BODY$
BEGIN
    SET LOCAL lock_timeout = '{lock_timeout}s';
    LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE;
    NOTIFY {channel};
    RETURN QUERY
        INSERT INTO {schema}.{table} (originator_id, originator_version, topic, state)
        SELECT originator_id, originator_version, topic, state FROM unnest(events)
        RETURNING notification_id;
END;
$BODY$"""


class FollowupRecorder(PostgresApplicationRecorder):
    max_notification_id = _transient(_base.max_notification_id.__wrapped__)  # type: ignore[attr-defined]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.datastore.pre_ping:
            # The library's pool pings every connection it hands out (POSTGRES_PRE_PING): check it as above.
            self.datastore.pool._check = check_connection  # the pool takes its check only when built
        names = {
            "schema": Identifier(self.datastore.schema),
            "function": Identifier(INSERT_EVENTS_FUNCTION),
            "event_type": Identifier(self.stored_event_type_name),
            "table": Identifier(self.events_table_name),
            "channel": Identifier(self.channel_name),
            "lock_timeout": self.datastore.lock_timeout,
        }
        self.sql_create_statements.append(SQL(_CREATE_INSERT_EVENTS_FUNCTION).format(**names))
        self._call_insert_events = SQL("SELECT * FROM {schema}.{function}(%s)").format(**names)
        self._select_events_statements: dict[tuple[bool, bool, bool, bool], bytes] = {}

    @_transient
    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        """The library's query, its rows read as tuples and in binary, its statement composed once per
        shape: every command reads its caller's recruiter and its aggregate through here, and the
        library composed the statement and made a dict of each row on every call."""
        shape = (gt is not None, lte is not None, desc, limit is not None)
        params = [originator_id, *(value for value in (gt, lte, limit) if value is not None)]
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            statement = self._select_events_statements.get(shape)
            if statement is None:
                statement = self._select_events_statements[shape] = self._select_events_sql(*shape).as_bytes(conn)
            curs.execute(statement, params, prepare=True, binary=True)
            return [
                StoredEvent(originator_id=row[0], originator_version=row[1], topic=row[2], state=bytes(row[3]))
                for row in curs.fetchall()
            ]

    def _select_events_sql(self, gt: bool, lte: bool, desc: bool, limit: bool) -> Composed:
        statement = SQL(
            "SELECT originator_id, originator_version, topic, state FROM {}.{} WHERE originator_id = %s"
        ).format(Identifier(self.datastore.schema), Identifier(self.events_table_name))
        if gt:
            statement += SQL(" AND originator_version > %s")
        if lte:
            statement += SQL(" AND originator_version <= %s")
        statement += SQL(" ORDER BY originator_version DESC" if desc else " ORDER BY originator_version ASC")
        if limit:
            statement += SQL(" LIMIT %s")
        return statement

    @_transient
    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        """The library's query, its rows read as tuples and in binary: every projection's catch-up reads
        the whole log through here. A dict per row (to read five fields of it) was a sixth of that read,
        and parsing the ids and states from text half the rest."""
        conditions, params = [], []
        if start is not None:
            conditions.append(SQL("notification_id >= %s" if inclusive_of_start else "notification_id > %s"))
            params.append(start)
        if stop is not None:
            conditions.append(SQL("notification_id <= %s"))
            params.append(stop)
        if topics:
            conditions.append(SQL("topic = ANY(%b)"))
            params.append(list(topics))
        statement = SQL("SELECT notification_id, originator_id, originator_version, topic, state FROM {}.{}").format(
            Identifier(self.datastore.schema), Identifier(self.events_table_name))
        if conditions:
            statement += SQL(" WHERE ") + SQL(" AND ").join(conditions)
        statement += SQL(" ORDER BY notification_id LIMIT %s")
        params.append(limit)
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            curs.execute(statement, params, prepare=True, binary=True)
            return [
                Notification(id=row[0], originator_id=row[1], originator_version=row[2], topic=row[3],
                             state=bytes(row[4]))
                for row in curs.fetchall()
            ]

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        try:
            return self._insert_once(stored_events, **kwargs)
        except (InterfaceError, OperationalError):
            time.sleep(0.2)
        # The connection broke, maybe after the commit: a conflict now may be with our own first attempt.
        try:
            return self._insert_once(stored_events, **kwargs)
        except IntegrityError:
            positions = self._positions_if_stored(stored_events)
            if positions is None:
                raise
            return positions

    def _insert_once(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        if not stored_events or in_same_transaction.get() is not None:
            # A same-transaction hook writes beside the events, so it needs the transaction open after
            # the insert: the library's way.
            return _base.insert_events.__wrapped__(self, stored_events, **kwargs)  # type: ignore[attr-defined]
        events = [self.construct_pg_stored_event(e.originator_id, e.originator_version, e.topic, e.state)
                  for e in stored_events]
        with self.datastore.get_connection() as conn:
            rows = conn.execute(self._call_insert_events, (events,), prepare=True).fetchall()
        return [row[INSERT_EVENTS_FUNCTION] for row in rows]

    def _positions_if_stored(self, stored_events: Sequence[StoredEvent]) -> list[int] | None:
        """The log positions of exactly these events (same stream, version, topic and state), if all are stored."""
        statement = SQL(
            "SELECT notification_id, topic, state FROM {}.{} WHERE originator_id = %s AND originator_version = %s"
        ).format(Identifier(self.datastore.schema), Identifier(self.events_table_name))
        positions = []
        with self.datastore.get_connection() as conn:
            for event in stored_events:
                row = conn.execute(statement, (event.originator_id, event.originator_version)).fetchone()
                if row is None or row["topic"] != event.topic or bytes(row["state"]) != event.state:
                    return None
                positions.append(row["notification_id"])
        return positions

    def _fetch_ids_after_insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        notification_ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        hook = in_same_transaction.get()
        if hook is not None and notification_ids:
            hook(curs, stored_events, notification_ids)
        return notification_ids
