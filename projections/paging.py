"""Runs projections page by page: each page of the log is applied in one transaction,
together with the tracking record of the page's last position, so every event is
applied exactly once, across crashes, at the speed of batched writes."""

from __future__ import annotations

import logging
import threading
import time
from abc import abstractmethod
from concurrent.futures import Future, ThreadPoolExecutor, wait
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Generic, NamedTuple, Protocol, TypeVar
from uuid import UUID

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.projection import Projection
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from domain.policy import DEFAULT_POLICY, FollowUpPolicy
from infra.personal_data import decode_page

log = logging.getLogger(__name__)

V = TypeVar("V", bound="PagedView")


# The most events one page (one transaction) applies. Following the log, a page holds what is new;
# behind it (a rebuild, a restart), full pages. In a log written as things happen, a candidacy's events
# and a contact's touches are spread over weeks: a page of 1,000 events held about one of each, so
# each changed candidacy was evaluated again, and each touched contact's items in every closed
# candidacy moved again, nearly once per event; a page of 20,000 takes a candidacy's weeks at once
# (catching the queue up on such a log: 992 events/s with pages of 1,000, 6,000-7,600 with 20,000-40,000).
PAGE_SIZE = 20_000

# Following the log while commands come in, each page costs every read model a transaction of
# several statements whether it holds one event or fifty. After a page short of full, the
# follower waits this long before reading the next, so that what arrives meanwhile is written in
# one go: at 500 commands/s, the projections' and PostgreSQL's CPU per command fell by about half
# (pages of 13 events became pages of 40). A read waiting for its own write is not delayed when
# the log is quiet (the first page after a NOTIFY is read at once), and by at most this much
# under load.
HEAD_BATCH_WAIT_S = 0.05


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

    def record_tracking(self, curs: Cursor[DictRow], tracking: Tracking) -> None:
        """Move the tracking row to the page's end, in the transaction start_page began (its row already
        locked and checked there: locking it again cost two more round trips a page)."""
        super()._insert_tracking(curs, tracking)

    def _insert_tracking(self, curs: Cursor[DictRow], tracking: Tracking) -> None:
        # The library's own path (one event a transaction) locks and checks the row here.
        self.start_page(curs, tracking.application_name)
        super()._insert_tracking(curs, tracking)


class Batch(Protocol):
    """Events of one or more pages of the log, to be applied in one transaction."""

    def add(self, events: Sequence[DomainEventProtocol[UUID]]) -> None:
        """Take in the next events (of the projection's topics, in log order)."""

    def write(self, tracking: Tracking) -> None:
        """Apply everything taken in and record `tracking`, in one transaction."""


class EventList:
    """The batch of a projection that applies its events as they are: it keeps them until written."""

    def __init__(self, projection: PagedProjection[Any]) -> None:
        self.projection = projection
        self.events: list[DomainEventProtocol[UUID]] = []

    def add(self, events: Sequence[DomainEventProtocol[UUID]]) -> None:
        self.events.extend(events)

    def write(self, tracking: Tracking) -> None:
        self.projection.process_page(self.events, tracking)


class PagedProjection(Projection[V], Generic[V]):
    """A projection that applies a page of events at a time.

    `topics` lists the event topics it reads; the others are skipped undecoded,
    but their positions are still tracked, so waiting for the log head never hangs."""

    # Raised whenever the read model's tables, or what it stores in them, change: a read model
    # built by another version is rebuilt before it is written to (see projections.versions).
    version: ClassVar[int] = 1

    # How many events of the log one transaction may take in, over several pages, while catching
    # up (None: one page). Worth it for a read model that folds each page into per-candidacy state
    # and evaluates the rules once per candidacy per transaction (see start_batch): in a log written
    # as things happen, a candidacy's events are spread over weeks, so over many pages.
    batch_events: ClassVar[int | None] = None

    # Whether a full batch is written in a thread of its own while the next one is taken in: worth it
    # where the write mostly waits (on PostgreSQL, on a helper process), the interpreter then free to
    # read and take in the next pages. Two batches are held at once. A projection that writes each page
    # (batch_events None) holds a page more, and writes behind while catching up with the other read
    # models too (the first `followup serve` on a long log), where its writes' waits on PostgreSQL
    # overlap the others' work. One that takes in many pages writes behind only when it catches up
    # alone: with the other read models, two of its batches held beside theirs took the process over
    # 500 MB (a million events: 514-614 MB, against 461-467 MB), and the run was no faster.
    write_behind: ClassVar[bool] = False

    def __init__(self, view: V, policy: FollowUpPolicy = DEFAULT_POLICY) -> None:
        super().__init__(view)
        self.policy = policy

    def start_batch(self) -> Batch:
        """An empty batch of events for this projection to apply in one transaction."""
        return EventList(self)

    @abstractmethod
    def process_page(self, events: Sequence[DomainEventProtocol[UUID]], tracking: Tracking) -> None:
        """Apply the events and record `tracking` in one transaction."""

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.process_page([domain_event], tracking)

    def at_head(self) -> None:
        """Called when what was taken in up to the log's head is written: catching up is over."""

    def close(self) -> None:
        """Give back what the projection holds besides its view's connections."""


class ProjectionWorker:
    """Feeds one projection from the application's log, page by page."""

    def __init__(
        self, app: Application[UUID], projection: PagedProjection[Any], *, page_size: int = PAGE_SIZE,
        batch_events: int | None = None,
    ) -> None:
        self.app = app
        self.projection = projection
        self.page_size = page_size
        # The most events one transaction takes in while catching up: at least a page.
        self.batch_events = max(batch_events or projection.batch_events or page_size, page_size)
        self.topics = frozenset(projection.topics)
        # Where this process last left the projection; the tracking row stays the authority.
        self._position: int | None = None
        # Events taken in but not written yet, the position of the last of them, and how many
        # notifications they cover.
        self._batch: Batch | None = None
        self._batch_end = 0
        self._batch_size = 0
        # A full batch being written behind (see PagedProjection.write_behind): where it ends, and its write.
        self._writing: tuple[int, Future[bool]] | None = None
        self._writer: ThreadPoolExecutor | None = None
        self._follower: LogFollower | None = None

    @property
    def name(self) -> str:
        return self.projection.name

    @property
    def error(self) -> BaseException | None:
        return self._follower.error if self._follower is not None else None

    def position(self) -> int:
        """The projection's position, as its tracking row says."""
        return self.projection.view.max_tracking_id(self.app.name) or 0

    def known_position(self) -> int:
        """Where the next page this projection needs starts after (past any events taken in, not yet written)."""
        if self._batch is not None:
            return self._batch_end
        if self._writing is not None:
            return self._writing[0]
        if self._position is None:
            self._position = self.position()
        return self._position

    def apply(
        self, notifications: Sequence[Logged], decoded: dict[int, DomainEventProtocol[UUID]], *,
        more: bool = False, alone: bool = True,
    ) -> None:
        """Take in the part of a page this projection has not applied yet, and write it in one transaction
        with what it took in before, unless `more` (the log goes on past the page) and the batch has room.
        `alone`: no other projection takes the same pages in (see PagedProjection.write_behind)."""
        position = self.known_position()
        # A page is in log order, and most often all of it is new to every projection.
        if notifications and notifications[0].id > position:
            unapplied = notifications
        else:
            unapplied = [n for n in notifications if n.id > position]
        if unapplied:
            if self._batch is None:
                self._batch, self._batch_size = self.projection.start_batch(), 0
            try:
                self._batch.add([decoded[n.id] for n in unapplied if n.topic in self.topics])
            except BaseException:
                self.forget()
                raise
            self._batch_end = unapplied[-1].id
            self._batch_size += len(unapplied)
        if not more:
            self.write_at_head()
        elif self._batch_size >= self.batch_events:
            self.write(behind=self.projection.write_behind and (alone or self.projection.batch_events is None))

    def write_at_head(self) -> None:
        """Write what was taken in: the log ends there (catching up is over)."""
        self.write()
        self.projection.at_head()

    def write(self, *, behind: bool = False) -> None:
        """Apply the events taken in, and their tracking record, in one transaction; `behind`: in a thread
        of its own, while the next batch is taken in (one batch at a time is written)."""
        if not self.finish_writing():
            self._batch = None  # taken in after a batch that was not written: read again from the tracking row
            return
        batch, self._batch = self._batch, None
        if batch is None:
            return
        assert self._position is not None  # read when the batch started
        tracking = Tracking(self.app.name, self._batch_end)
        if behind:
            if self._writer is None:
                self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"write-{self.name}")
            self._writing = (self._batch_end, self._writer.submit(self._write_batch, batch, self._position, tracking))
            return
        try:
            written = self._write_batch(batch, self._position, tracking)
        except BaseException:
            self.forget()
            raise
        self._position = tracking.notification_id if written else None

    def _write_batch(self, batch: Batch, expected_position: int, tracking: Tracking) -> bool:
        """Whether the batch was written: not when another worker moved the tracking row first."""
        self.projection.view.expected_position = expected_position
        try:
            batch.write(tracking)
        except (PositionMoved, IntegrityError) as moved:
            log.info("projection %s: %s; reading its position again", self.name, moved)
            return False
        return True

    def finish_writing(self) -> bool:
        """Wait for the batch being written behind, if any; whether it was written (its error is raised)."""
        writing, self._writing = self._writing, None
        if writing is None:
            return True
        end, future = writing
        try:
            written = future.result()
        except BaseException:
            self.forget()
            raise
        self._position = end if written else None
        return written

    def forget(self) -> None:
        """Drop what was taken in and not written, and read the position from the tracking row next time
        (once the batch being written behind, if any, is written or failed)."""
        writing, self._writing = self._writing, None
        if writing is not None:
            wait([writing[1]])
        self._batch = None
        self._position = None

    def catch_up(self, progress: Callable[[int], None] | None = None) -> int:
        """Apply every page up to the log head; returns how many notifications that was.
        `progress` is called with the position reached after each page."""
        return catch_up_together(self.app, [self], page_size=self.page_size, progress=progress)

    def start(self) -> None:
        """Follow the log in a thread of its own (several projections: share one LogFollower)."""
        self._follower = LogFollower(self.app, [self], page_size=self.page_size)
        self._follower.start()

    def stop(self, timeout: float = 10.0) -> None:
        if self._follower is not None:
            self._follower.stop(timeout)

    def close(self) -> None:
        """Stop, and give back the view's database connections."""
        self.stop()
        self.forget()
        if self._writer is not None:
            self._writer.shutdown()
        self.projection.close()
        self.projection.view.datastore.close()

    def wait_for(self, position: int, timeout: float) -> bool:
        """Whether the projection reached `position` within `timeout` seconds."""
        if self._position is not None and self._position >= position:
            return True  # applied by this process: no need to ask the database
        deadline = time.monotonic() + timeout
        delay = 0.002
        while self.position() < position:
            if time.monotonic() >= deadline:
                return False
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
        return True


def topics_of(workers: Sequence[ProjectionWorker]) -> frozenset[str]:
    """Every topic any of the workers' projections reads."""
    return frozenset().union(*(worker.topics for worker in workers))


class Logged(NamedTuple):
    """Where an event of a page sits in the log, and its topic."""

    id: int
    topic: str


# A page of the log: each of its events' position and topic, and the events decoded from those of the
# topics asked for.
Page = tuple[list[Logged], dict[int, DomainEventProtocol[UUID]]]


def read_page(app: Application[UUID], start: int, topics: frozenset[str], page_size: int) -> Page:
    notifications = app.recorder.select_notifications(start=start, limit=page_size)
    wanted = [n for n in notifications if n.topic in topics]
    decoded = {n.id: event for n, event in zip(wanted, decode_page(app.mapper, wanted), strict=True)}
    # The stored events are let go once decoded: a page read ahead and the one being applied held
    # about 40 MB of them at 20,000 events a page.
    return [Logged(n.id, n.topic) for n in notifications], decoded


class PageReader:
    """Reads the log page by page for a set of projections. While they apply a full page (and
    wait on PostgreSQL to write it), the next page is already being selected and decoded in a
    thread of its own: catching up, reading and writing overlap instead of taking turns."""

    def __init__(self, app: Application[UUID], topics: frozenset[str], page_size: int) -> None:
        self.app = app
        self.topics = topics
        self.page_size = page_size
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="log-read-ahead")
        self._ahead: tuple[int, Future[Page]] | None = None

    def read(self, start: int) -> Page:
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead[0] == start:
            page = ahead[1].result()
        else:
            if ahead is not None:
                ahead[1].cancel()  # the projections went elsewhere (a worker's position moved)
            page = read_page(self.app, start, self.topics, self.page_size)
        notifications = page[0]
        # Only a full page says there is more to read: following the log's head, nothing is read ahead.
        if len(notifications) == self.page_size:
            next_start = notifications[-1].id + 1
            self._ahead = (next_start, self._executor.submit(read_page, self.app, next_start, self.topics,
                                                              self.page_size))
        return page

    def close(self) -> None:
        self._ahead = None
        self._executor.shutdown(wait=True, cancel_futures=True)


def apply_next_page(
    app: Application[UUID], workers: Sequence[ProjectionWorker], page_size: int = PAGE_SIZE,
    reader: PageReader | None = None,
) -> int:
    """Read the next page of the log once, decode what any of the projections reads, and
    let each apply its part; returns how many notifications the page held."""
    start = min(worker.known_position() for worker in workers) + 1
    if reader is not None:
        notifications, decoded = reader.read(start)
    else:
        notifications, decoded = read_page(app, start, topics_of(workers), page_size)
    if not notifications:
        for worker in workers:
            worker.write_at_head()  # what a full page left taken in
        return 0
    # Only a full page says there is more to read: a worker writes what it took in when it reaches
    # the head, or when its batch is full.
    more = len(notifications) == page_size
    for worker in workers:
        worker.apply(notifications, decoded, more=more, alone=len(workers) == 1)
    return len(notifications)


def catch_up_together(
    app: Application[UUID], workers: Sequence[ProjectionWorker], *, page_size: int = PAGE_SIZE,
    progress: Callable[[int], None] | None = None, analyze_after: int | None = None,
) -> int:
    """Apply every page up to the log head to each of the workers, reading each page once;
    returns how many notifications that was."""
    total = 0
    reader = PageReader(app, topics_of(workers), page_size)
    try:
        while count := apply_next_page(app, workers, page_size, reader):
            total += count
            if progress is not None:
                progress(min(worker.known_position() for worker in workers))
    finally:
        reader.close()
    if total >= (analyze_after if analyze_after is not None else ANALYZE_AFTER_EVENTS):
        analyze_tables(workers)
    return total


# A catch-up this long changes the read models' tables enough to mislead the query planner (with
# the statistics of the empty tables it scans a team's whole queue for a page of it), and leaves
# rows moved many times behind in the indexes (the stay-in-touch schedules': a page of the queue
# in due order then steps over thousands of dead entries before its first live one).
ANALYZE_AFTER_EVENTS = 10_000


def analyze_tables(workers: Sequence[ProjectionWorker]) -> None:
    """VACUUM and ANALYZE the tables of the workers' schemas now, rather than when autovacuum gets there."""
    for datastore in {worker.projection.view.datastore.schema: worker.projection.view.datastore
                      for worker in workers}.values():
        with connect_apart(datastore) as conn:  # VACUUM runs outside a transaction
            tables = [row[0] for row in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
                "AND table_type = 'BASE TABLE' ORDER BY table_name", (datastore.schema,)).fetchall()]
            for table in tables:
                conn.execute(SQL("VACUUM (ANALYZE) {}.{}").format(Identifier(datastore.schema), Identifier(table)))
        log.info("vacuumed and analyzed the %s tables of %s after a catch-up", len(tables), datastore.schema)


class LogFollower:
    """One thread that keeps several projections up to date: it wakes on the recorder's
    NOTIFY, reads each new page of the log once, and hands it to every projection; after a
    page short of full it waits `head_batch_wait` before reading the next."""

    def __init__(self, app: Application[UUID], workers: Sequence[ProjectionWorker], *, page_size: int = PAGE_SIZE,
                 head_batch_wait: float = HEAD_BATCH_WAIT_S) -> None:
        self.app = app
        self.workers = list(workers)
        self.page_size = page_size
        self.head_batch_wait = head_batch_wait
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._vacuum: threading.Thread | None = None
        self.error: BaseException | None = None

    def start(self) -> None:
        names = ",".join(worker.name for worker in self.workers)
        self._thread = threading.Thread(target=self.run_forever, name=f"projections-{names}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._vacuum is not None:
            self._vacuum.join(timeout)

    def _vacuum_aside(self) -> None:
        """VACUUM and ANALYZE the read models in a thread of their own, one at a time: they take
        seconds on large tables, and meanwhile this thread goes on applying what is written (a
        read waits for it to catch up). VACUUM does not block the pages' writes, nor they it."""
        if self._vacuum is not None and self._vacuum.is_alive():
            return

        def vacuum() -> None:
            try:
                analyze_tables(self.workers)
            except Exception:  # the database went away: autovacuum gets there later, and so does the next catch-up
                log.warning("vacuuming the read models after a catch-up failed", exc_info=True)

        self._vacuum = threading.Thread(target=vacuum, daemon=True, name="read-model-vacuum")
        self._vacuum.start()

    def run_forever(self) -> None:
        """Follow the log until stopped (in this thread)."""
        backoff = 0.5
        topics = topics_of(self.workers)
        while not self._stopping.is_set():
            reader = PageReader(self.app, topics, self.page_size)
            try:
                with self._listener() as listener:
                    backoff = 0.5
                    while not self._stopping.is_set():
                        applied = 0
                        while count := apply_next_page(self.app, self.workers, self.page_size, reader):
                            applied += count
                            at_head = count < self.page_size
                            if self._stopping.wait(self.head_batch_wait if at_head else 0):
                                return
                        if applied >= ANALYZE_AFTER_EVENTS:
                            self._vacuum_aside()
                        # Sleep until the recorder's NOTIFY (or a second, as a safety net).
                        for _ in listener.notifies(timeout=1.0, stop_after=1):
                            pass
            except Exception as error:  # the database went away: retry; the tracking rows say where we were
                self.error = error
                for worker in self.workers:
                    worker.forget()
                log.warning("projections stopped on %r; retrying in %.1fs", error, backoff)
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, 10.0)
            finally:
                reader.close()

    def _listener(self) -> psycopg.Connection[Any]:
        conn = connect_apart(self.app.recorder.datastore)  # type: ignore[attr-defined]
        conn.execute(SQL("LISTEN {}").format(Identifier(self.app.recorder.channel_name)))  # type: ignore[attr-defined]
        return conn


def conninfo_of(datastore: PostgresDatastore) -> dict[str, Any]:
    """The connection parameters of the datastore's database."""
    pool_kwargs = datastore.pool.kwargs
    return {key: pool_kwargs[key] for key in ("dbname", "host", "port", "user", "password") if key in pool_kwargs}


def connect_apart(datastore: PostgresDatastore) -> psycopg.Connection[Any]:
    """A connection of its own to the datastore's database, outside its pool, in autocommit: for what
    holds a connection for long (LISTEN, a session's lock)."""
    return psycopg.connect(**conninfo_of(datastore), autocommit=True)
