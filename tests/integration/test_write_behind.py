"""The follow-up queue catching up alone: each full batch is written in a thread of its own while the
next is taken in, and the rules of a batch's chunks run in helper processes. What it writes is what
a rebuild writes; a write that fails stops the catch-up, and nothing taken in after it is written.
Catching up together, a read model that writes each page writes behind, one that batches in turn."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest.mock import patch

import orjson
import psycopg
import pytest

from infra.eventstore import open_application
from infra.settings import Settings
from projections import candidacy_batches, helper_processes
from projections.follow_up_queue import FollowUpQueueProjection, QueueBatch
from projections.paging import EventList, ProjectionWorker, apply_next_page
from projections.candidacy_batches import ChunkToEvaluate
from projections.helper_processes import HELPER_APPLICATION_NAME, HelperProcesses
from projections.queue_items import evaluate_chunk
from projections.rebuild import rebuild_projection
from projections.registry import open_projection
from tests.integration.test_projection_guarantees import ACTOR, seed, snapshot

NOW = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)


@pytest.fixture
def app(settings: Settings):
    app = open_application(settings, clock=lambda: NOW)
    candidacies, contacts = seed(app, candidacies=4)
    for candidacy in candidacies:
        app.record_interview(candidacy, NOW - timedelta(days=3), contacts, by=ACTOR)
    yield app
    app.close()


def test_a_full_batch_is_written_behind_while_the_next_is_taken_in(app, settings: Settings):
    ids = [n.id for n in app.recorder.select_notifications(start=1, limit=1000)]
    release, writing = threading.Event(), threading.Event()
    write = QueueBatch.write
    evaluated = []
    evaluate = HelperProcesses.evaluate

    def held_write(batch: QueueBatch, tracking) -> None:
        writing.set()
        assert release.wait(30), "the test never let the write go on"
        write(batch, tracking)

    def counted_evaluate(process: HelperProcesses, chunk):
        evaluated.append(len(orjson.loads(chunk.candidacies)))
        return evaluate(process, chunk)

    worker = ProjectionWorker(app, open_projection("follow_up_queue", app), page_size=2, batch_events=4)
    try:
        # One candidacy a chunk: every batch of several candidacies has its rules run in the helper processes,
        # one chunk out at a time (the next sent as one comes back).
        with patch.object(candidacy_batches, "WRITE_CHUNK", 1), patch.object(helper_processes, "HELPER_CHUNK", 1), \
                patch.object(helper_processes, "CHUNKS_AHEAD", 1), \
                patch.object(QueueBatch, "write", held_write), patch.object(HelperProcesses, "evaluate", counted_evaluate):
            apply_next_page(app, [worker], page_size=2)
            apply_next_page(app, [worker], page_size=2)  # the batch is full: its write starts, and waits
            assert writing.wait(10)
            # The next page is taken in meanwhile; the tracking row has not moved.
            apply_next_page(app, [worker], page_size=2)
            assert worker.known_position() == ids[5]
            assert worker.position() == 0
            release.set()
            assert worker.finish_writing()
            assert worker.position() == ids[3]
            while apply_next_page(app, [worker], page_size=2):
                pass
        assert worker.position() == ids[-1]
        # Every candidacy of every batch was evaluated, each in a chunk of its own.
        assert len(evaluated) >= 4 and set(evaluated) == {1}
    finally:
        worker.close()
    # What was written batch by batch, behind and in the helpers, is what a rebuild writes in one go.
    _assert_a_rebuild_writes_the_same(app, settings)


def test_a_write_behind_that_fails_stops_the_catch_up_and_nothing_after_it_is_written(app, settings: Settings):
    ids = [n.id for n in app.recorder.select_notifications(start=1, limit=1000)]
    write = QueueBatch.write
    calls = []

    def failing_first_write(batch: QueueBatch, tracking) -> None:
        calls.append(tracking.notification_id)
        if len(calls) == 1:
            raise RuntimeError("the database went away")
        write(batch, tracking)

    worker = ProjectionWorker(app, open_projection("follow_up_queue", app), page_size=2, batch_events=4)
    try:
        with patch.object(QueueBatch, "write", failing_first_write):
            with pytest.raises(RuntimeError, match="went away"):
                while apply_next_page(app, [worker], page_size=2):
                    pass
        # Raised when the next batch was to be written: that one was dropped, not written.
        assert calls == [ids[3]]
        assert worker.position() == 0
        # Started again, the worker reads its position from the tracking row and writes it all.
        worker.catch_up()
        assert worker.position() == ids[-1]
    finally:
        worker.close()
    _assert_a_rebuild_writes_the_same(app, settings)


def test_helpers_whose_connections_were_cut_read_on_new_ones(app, settings: Settings):
    ids = [n.id for n in app.recorder.select_notifications(start=1, limit=1000)]
    worker = ProjectionWorker(app, open_projection("follow_up_queue", app), page_size=2, batch_events=4)
    try:
        with patch.object(candidacy_batches, "WRITE_CHUNK", 1), patch.object(helper_processes, "HELPER_CHUNK", 1):
            worker.projection.helpers().evaluate(ChunkToEvaluate(b"[]", b"[]")).result()  # a helper is up
            # As a server restart would: the helpers' connections are cut while they wait for work.
            with psycopg.connect(settings.database_url, autocommit=True) as conn:
                cut = conn.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                   "WHERE application_name = %s", (HELPER_APPLICATION_NAME,)).fetchone()[0]
            assert cut >= 1
            while apply_next_page(app, [worker], page_size=2):
                pass
            assert worker.finish_writing()
        assert worker.position() == ids[-1]
    finally:
        worker.close()
    _assert_a_rebuild_writes_the_same(app, settings)


def test_catching_up_together_a_read_model_that_writes_each_page_writes_behind_and_one_that_batches_in_turn(
    app, settings: Settings,
):
    ids = [n.id for n in app.recorder.select_notifications(start=1, limit=1000)]
    writers: dict[str, list[str]] = {"follow_up_queue": [], "contact_network": []}
    queue_write, page_write = QueueBatch.write, EventList.write

    def recorded_queue_write(batch: QueueBatch, tracking) -> None:
        writers["follow_up_queue"].append(threading.current_thread().name)
        queue_write(batch, tracking)

    def recorded_page_write(batch: EventList, tracking) -> None:
        writers[batch.projection.name].append(threading.current_thread().name)
        page_write(batch, tracking)

    workers = [ProjectionWorker(app, open_projection(name, app), page_size=2, batch_events=4)
               for name in ("follow_up_queue", "contact_network")]
    try:
        with patch.object(QueueBatch, "write", recorded_queue_write), patch.object(EventList, "write", recorded_page_write):
            while apply_next_page(app, workers, page_size=2):
                pass
        assert [worker.position() for worker in workers] == [ids[-1], ids[-1]]
    finally:
        for worker in workers:
            worker.close()
    main = threading.main_thread().name
    # The queue's full batches and the last one, all in turn; the network's full pages behind, the last in turn.
    assert len(writers["follow_up_queue"]) >= 2 and set(writers["follow_up_queue"]) == {main}
    assert len(writers["contact_network"]) >= 3 and writers["contact_network"][-1] == main
    assert all(name.startswith("write-contact_network") for name in writers["contact_network"][:-1])
    written = snapshot(settings)
    for name in ("follow_up_queue", "contact_network"):
        rebuild_projection(name, app)
    assert snapshot(settings) == written


def test_a_batch_idle_in_its_transaction_longer_than_the_librarys_default_timeout_is_written(app, settings: Settings):
    """The library ends a session idle in a transaction for 5 s; a batch's transaction waits that long
    on a loaded machine, for the rules of its chunks (here, run in the storing process, slowed down)."""
    ids = [n.id for n in app.recorder.select_notifications(start=1, limit=1000)]

    def slow_evaluate(conn, schema, chunk, policy):
        evaluated = evaluate_chunk(conn, schema, chunk, policy)
        time.sleep(6)
        return evaluated

    worker = ProjectionWorker(app, open_projection("follow_up_queue", app))
    try:
        with patch.object(FollowUpQueueProjection, "evaluate_in_helpers", staticmethod(slow_evaluate)):
            worker.catch_up()
        assert worker.position() == ids[-1]
    finally:
        worker.close()
    _assert_a_rebuild_writes_the_same(app, settings)


def _assert_a_rebuild_writes_the_same(app, settings: Settings) -> None:
    written = snapshot(settings)
    rebuild_projection("follow_up_queue", app)
    assert snapshot(settings) == written


HELPER_OF_A_PROCESS = """
import multiprocessing, sys, time
from psycopg.conninfo import conninfo_to_dict
from domain.policy import DEFAULT_POLICY
from projections.candidacy_batches import ChunkToEvaluate
from projections.helper_processes import HelperProcesses
from projections.queue_items import evaluate_chunk

if __name__ == "__main__":
    helper = HelperProcesses(DEFAULT_POLICY, conninfo_to_dict(sys.argv[1]), "public", evaluate_chunk)
    # Chunks at once, so that every helper process is up.
    chunks = [helper.evaluate(ChunkToEvaluate(b"[]", b"[]")) for _ in range(10)]
    for chunk in chunks:
        chunk.result()
    print(" ".join(str(child.pid) for child in multiprocessing.active_children()), flush=True)
    time.sleep(120)
"""


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as status:
            return not any(line.startswith("State:") and "Z" in line.split()[1] for line in status)
    except FileNotFoundError:
        return False


def test_the_helper_processes_end_when_the_process_they_work_for_is_killed(tmp_path, database_url: str):
    script = tmp_path / "helper_of_a_process.py"
    script.write_text(HELPER_OF_A_PROCESS)
    project = Path(__file__).resolve().parents[2]
    process = subprocess.Popen([sys.executable, str(script), database_url], stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(project)})
    try:
        helper_pids = [int(pid) for pid in process.stdout.readline().split()]
        assert helper_pids and all(_running(pid) for pid in helper_pids)
        process.send_signal(signal.SIGKILL)  # it has no chance to stop its helpers
        process.wait(10)
        deadline = time.monotonic() + 10
        while any(_running(pid) for pid in helper_pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_running(pid) for pid in helper_pids)
    finally:
        process.kill()
        process.wait()
