"""Runs projections page by page: each page of the log is applied in one transaction,
together with the tracking record of the page's last position, so every event is
applied exactly once, across crashes, at the speed of batched writes."""

from __future__ import annotations

import logging
import threading
import time
from abc import abstractmethod
from collections.abc import Sequence
from typing import Any, Generic, TypeVar
from uuid import UUID

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.projection import Projection
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from domain.policy import DEFAULT_POLICY, FollowUpPolicy

log = logging.getLogger(__name__)

V = TypeVar("V", bound="PagedView")


class PositionMoved(Exception):
    """Another worker applied events to the same tables first: re-read the position and go on."""


class PagedView(PostgresTrackingRecorder):
    """A view whose tracking row is locked and checked before a page is recorded.

    The worker says where the page starts (`expected_position`); if the tracking row is
    elsewhere (a second worker, or a rebuilt copy switched in), the page's transaction is
    rolled back instead of applying events twice. Uses single-row tracking."""

    expected_position: int | None = None

    def start_page(self, curs: Cursor[DictRow], application_name: str) -> None:
        """Lock the tracking row first, so concurrent workers queue instead of racing."""
        curs.execute(
            SQL("INSERT INTO {}.{} VALUES (%s, 0) ON CONFLICT DO NOTHING").format(
                Identifier(self.datastore.schema), Identifier(self.tracking_table_name)
            ),
            (application_name,),
        )
        curs.execute(
            SQL("SELECT notification_id FROM {}.{} WHERE application_name = %s FOR UPDATE").format(
                Identifier(self.datastore.schema), Identifier(self.tracking_table_name)
            ),
            (application_name,),
        )
        row = curs.fetchone()
        current = row["notification_id"] if row else 0
        if self.expected_position is not None and current != self.expected_position:
            raise PositionMoved(f"{self.tracking_table_name} is at {current}, not {self.expected_position}")

    def _insert_tracking(self, curs: Cursor[DictRow], tracking: Tracking) -> None:
        self.start_page(curs, tracking.application_name)
        super()._insert_tracking(curs, tracking)


class PagedProjection(Projection[V], Generic[V]):
    """A projection that applies a page of events at a time.

    `topics` lists the event topics it reads; the others are skipped undecoded,
    but their positions are still tracked, so waiting for the log head never hangs."""

    def __init__(self, view: V, policy: FollowUpPolicy = DEFAULT_POLICY) -> None:
        super().__init__(view)
        self.policy = policy

    @abstractmethod
    def process_page(self, events: Sequence[DomainEventProtocol[UUID]], tracking: Tracking) -> None:
        """Apply the events and record `tracking` in one transaction."""

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.process_page([domain_event], tracking)


class ProjectionWorker:
    """Follows the application's log and feeds a projection, page by page."""

    def __init__(self, app: Application[UUID], projection: PagedProjection[Any], *, page_size: int = 1000) -> None:
        self.app = app
        self.projection = projection
        self.page_size = page_size
        self._topics = frozenset(projection.topics)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    @property
    def name(self) -> str:
        return self.projection.name

    def position(self) -> int:
        return self.projection.view.max_tracking_id(self.app.name) or 0

    def run_page(self) -> int:
        """Apply the next page of the log; returns how many notifications it covered."""
        while True:
            position = self.position()
            notifications = self.app.recorder.select_notifications(start=position + 1, limit=self.page_size)
            if not notifications:
                return 0
            events = [
                self.app.mapper.to_domain_event(notification)
                for notification in notifications
                if notification.topic in self._topics
            ]
            self.projection.view.expected_position = position
            try:
                self.projection.process_page(events, Tracking(self.app.name, notifications[-1].id))
            except (PositionMoved, IntegrityError) as moved:
                log.info("projection %s: %s; reading its position again", self.name, moved)
                continue
            return len(notifications)

    def catch_up(self) -> int:
        """Apply every page up to the log head; returns how many notifications that was."""
        total = 0
        while count := self.run_page():
            total += count
        return total

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"projection-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def close(self) -> None:
        """Stop, and give back the view's database connections."""
        self.stop()
        self.projection.view.datastore.close()

    def run_forever(self) -> None:
        """Follow the log until stopped (in this thread)."""
        self._run()

    def _run(self) -> None:
        backoff = 0.5
        while not self._stopping.is_set():
            try:
                with self._listener() as listener:
                    backoff = 0.5
                    while not self._stopping.is_set():
                        if self.catch_up() == 0:
                            # Sleep until the recorder's NOTIFY (or a second, as a safety net).
                            for _ in listener.notifies(timeout=1.0, stop_after=1):
                                pass
            except Exception as error:  # the database went away: retry, the tracking record says where we were
                self.error = error
                log.warning("projection %s stopped on %r; retrying in %.1fs", self.name, error, backoff)
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, 10.0)

    def _listener(self) -> psycopg.Connection[Any]:
        pool_kwargs = self.app.recorder.datastore.pool.kwargs  # type: ignore[attr-defined]
        params = {key: pool_kwargs[key] for key in ("dbname", "host", "port", "user", "password") if key in pool_kwargs}
        conn = psycopg.connect(**params, autocommit=True)
        conn.execute(SQL("LISTEN {}").format(Identifier(self.app.recorder.channel_name)))  # type: ignore[attr-defined]
        return conn

    def wait_for(self, position: int, timeout: float) -> bool:
        """Whether the projection reached `position` within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        delay = 0.002
        while self.position() < position:
            if time.monotonic() >= deadline:
                return False
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
        return True
