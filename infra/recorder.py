"""The event recorder: fewer retries, so faults are answered quickly, and rows written in the events' transaction."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextvars import ContextVar
from typing import Any

import time

from eventsourcing.persistence import IntegrityError, InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import retry
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

# Called inside the transaction that appends a command's events, with the events and their log positions:
# what it writes is committed with the events or not at all.
SameTransactionHook = Callable[[Cursor[DictRow], Sequence[StoredEvent], Sequence[int]], None]
in_same_transaction: ContextVar[SameTransactionHook | None] = ContextVar("in_same_transaction", default=None)

# The library retries ten times, each waiting up to the pool timeout: a minute or more with the database away.
# Two attempts still ride over a connection that was dropped once (the pool pings the next one first).
_transient = retry((InterfaceError, OperationalError), max_attempts=2, wait=0.2)
_base = PostgresApplicationRecorder


class FollowupRecorder(PostgresApplicationRecorder):
    select_events = _transient(_base.select_events.__wrapped__)  # type: ignore[attr-defined]
    select_notifications = _transient(_base.select_notifications.__wrapped__)  # type: ignore[attr-defined]
    max_notification_id = _transient(_base.max_notification_id.__wrapped__)  # type: ignore[attr-defined]

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        insert_once = _base.insert_events.__wrapped__  # type: ignore[attr-defined]
        try:
            return insert_once(self, stored_events, **kwargs)
        except (InterfaceError, OperationalError):
            time.sleep(0.2)
        # The connection broke, maybe after the commit: a conflict now may be with our own first attempt.
        try:
            return insert_once(self, stored_events, **kwargs)
        except IntegrityError:
            positions = self._positions_if_stored(stored_events)
            if positions is None:
                raise
            return positions

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
